"""The shared table of hostile inputs (tests/fixtures/hostile.json), through WavenetModel.load / generate and
wn-generate: the JavaScript package runs the same table (js/test/hostile.test.js), so a check added to one
runtime fails the other's tests until it is added there too, with the same words.

Cases marked "python_gap" are checks only the JavaScript runtime has: they are strict xfails here, so adding
the check to this runtime turns them into failures that ask for the mark to be removed. The table is written
by js/scripts/make_hostile.py (its docstring describes the fields); edited model files are made here, without
onnx (model_files.rewrite_props).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_checks import assert_error, invoke
from model_files import rewrite_props

from wavenet_edge.runtime import WavenetModel, cli

ROOT = Path(__file__).resolve().parent.parent
TABLE = json.loads((ROOT / "tests" / "fixtures" / "hostile.json").read_text(encoding="utf-8"))
CASES = TABLE["cases"]


def expected(case: dict) -> str | None:
    error = case["error"]
    return error["python"] if isinstance(error, dict) else error


def params(kind: str) -> list:
    out = []
    for case in CASES:
        if kind not in case:
            continue
        marks = [pytest.mark.xfail(strict=True, reason=f"not checked by the Python runtime: {case['python_gap']}")] \
            if "python_gap" in case else []
        out.append(pytest.param(case, id=case["id"], marks=marks))
    return out


def python_values(options: dict) -> dict:
    """The table's option values as Python takes them: {"$int": "digits"} is an int (beyond a JSON number)."""
    return {key: int(value["$int"]) if isinstance(value, dict) and "$int" in value else value
            for key, value in options.items()}


def check_message(message: str, case: dict, prefix: str = "") -> None:
    want = expected(case)
    assert want is not None, f"expected no error, got: {message}"
    if case.get("contains"):
        assert message.startswith(prefix) and want in message, message
    else:
        assert message == prefix + want


def test_the_table_is_well_formed():
    ids = [case["id"] for case in CASES]
    assert len(ids) == len(set(ids))
    for case in CASES:
        assert sum(kind in case for kind in ("props", "load", "generate", "score", "cli")) == 1, case["id"]
        assert (ROOT / case["model"]).is_file(), case["model"]
    assert len(CASES) >= 100


@pytest.mark.parametrize("case", params("props"))
def test_edited_metadata_through_load_and_wn_generate(case, tmp_path):
    path = rewrite_props(ROOT / case["model"], tmp_path / "edited.onnx", **case["props"])
    result = invoke(cli.generate_command, ["--onnx", path, "-n", 2, "--seed", 1])
    if expected(case) is None:
        model = WavenetModel.load(path, provider="cpu", threads=1)
        assert len(model.generate(2, seed=1)) == 2
        assert result.exit_code == 0, result.output
        return
    with pytest.raises(Exception) as caught:
        WavenetModel.load(path, provider="cpu", threads=1)
    check_message(str(caught.value), case, f"{path}: ")
    assert result.exit_code == 2, result.output
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("Error: "), result.stderr
    check_message(result.stderr[len("Error: "):-1], case, f"{path}: ")


@pytest.fixture(scope="module")
def models() -> dict[str, WavenetModel]:
    return {}


@pytest.mark.parametrize("case", params("generate"))
def test_generate_options(case, models):
    model = models.setdefault(case["model"], WavenetModel.load(ROOT / case["model"], provider="cpu", threads=1))
    n, options = case["generate"]["n"], python_values(case["generate"]["options"])
    if expected(case) is None:
        assert len(model.generate(n, **options)) == n
        return
    with pytest.raises(Exception) as caught:
        model.generate(n, **options)
    check_message(str(caught.value), case)


@pytest.mark.parametrize("case", params("score"))
def test_score_items(case, models):
    model = models.setdefault(case["model"], WavenetModel.load(ROOT / case["model"], provider="cpu", threads=1))
    items = case["score"]["items"]
    if expected(case) is None:
        assert model.score(items).n_items == len(items)
        return
    with pytest.raises(Exception) as caught:
        model.score(items)
    check_message(str(caught.value), case)


@pytest.mark.parametrize("case", params("load"))
def test_load_options(case):
    with pytest.raises(Exception) as caught:
        WavenetModel.load(ROOT / case["model"], **{"provider": "cpu", **case["load"]})
    check_message(str(caught.value), case)


@pytest.mark.parametrize("case", params("cli"))
def test_wn_generate_options(case):
    result = invoke(cli.generate_command, ["--onnx", ROOT / case["model"], *case["cli"]])
    if expected(case) is None:
        assert result.exit_code == 0, result.output
        return
    assert_error(result, expected(case)) if not case.get("contains") else check_message(result.stderr, case)
