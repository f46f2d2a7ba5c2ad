"""The JavaScript package (js/): its node test suite and the demo page's headless-Chromium test, run from pytest so
that the README's test command and CI run them; and the committed JS fixtures still match the Python runtime.

Skipped only where node is not installed (or, outside CI, where `npm ci` has not been run in js/ or chromium is
missing); under CI=true a missing piece fails instead.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from wavenet_edge.runtime import WavenetModel

ROOT = Path(__file__).resolve().parent.parent
JS = ROOT / "js"
FIXTURES = JS / "test" / "fixtures"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
IN_CI = bool(os.environ.get("CI"))
INSTALL = "cd js && ONNXRUNTIME_NODE_INSTALL=skip npm ci --ignore-scripts"


def _need(condition: bool, reason: str) -> None:
    if not condition:
        if IN_CI:
            pytest.fail(f"CI must run the JS tests: {reason}")
        pytest.skip(reason)


@pytest.fixture(scope="module")
def npm() -> str:
    if shutil.which("node") is None:
        pytest.skip("node is not installed")
    _need(shutil.which("npm") is not None, "npm is not installed")
    _need((JS / "node_modules" / "onnxruntime-node").is_dir(), f"js/node_modules is missing: run `{INSTALL}`")
    return str(shutil.which("npm"))


def _run(npm: str, script: list[str]) -> None:
    result = subprocess.run([npm, *script], cwd=JS, capture_output=True, text=True, timeout=600)
    tail = (result.stdout + result.stderr)[-6000:]
    assert result.returncode == 0, tail
    assert "# fail 0" in result.stdout and "# pass 0" not in result.stdout, tail


def test_npm_test(npm):
    _run(npm, ["test"])


def test_demo_page_in_headless_chromium(npm):
    _need(Path(CHROMIUM).is_file(), f"{CHROMIUM} is missing: apt-get install -y chromium")
    _run(npm, ["run", "test:browser"])


@pytest.mark.parametrize("name", ["step", "window", "shipped"])
def test_js_fixtures_are_the_python_runtimes_names(name):
    """The committed fixtures are what this runtime generates (else: python js/scripts/make_fixtures.py)."""
    data = json.loads((FIXTURES / f"{name}.json").read_text())
    model = WavenetModel.load(ROOT / data["model"], provider="cpu", threads=1)
    names = {"topK": "top_k", "topP": "top_p", "maxLen": "max_len"}
    for case in data["generate"]:
        kwargs = {names.get(k, k): v for k, v in case["options"].items()}
        kwargs["seed"] = int(kwargs["seed"])
        assert model.generate(case["n"], **kwargs) == case["names"], case["label"]
    assert model.score(data["score"]["items"]).nll_per_char == pytest.approx(data["score"]["nll_per_char"], abs=1e-12)
