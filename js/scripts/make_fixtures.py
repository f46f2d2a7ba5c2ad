"""Regenerate the JavaScript tests' fixtures from the Python runtime (the reference the JS twin must match).

    python js/scripts/make_fixtures.py              # after any change to the models or the Python runtime

Writes js/test/fixtures/ (torch-free: only the runtime and the committed models):
  step.json      names for several option sets (checked equal at batch 1 and 64 here), wn-generate's stdout for a
                 few command lines, step-by-step logits, scores, wn-eval's line for each split; for --step (the
                 tests' tiny step-graph model)
  window.json    the same for --window (the tests' tiny window-graph model)
  shipped.json   the same for --shipped (the shipped model, models/wavenet.onnx)
  browser.json   what the demo page must show: wn-generate's names for its query parameters, with the page's
                 own model (--shipped)
  int8.json      names of both int8 files (models/*.int8.onnx) for a few option sets, checked equal at batch
                 1 and 64 here; js/test/int8.test.js also runs them without session.disable_quant_qdq

    python js/scripts/make_fixtures.py --only int8   # one of them
Paths inside the JSON files are relative to the repository root.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np
from click.testing import CliRunner

from wavenet_edge.runtime import WavenetModel
from wavenet_edge.runtime.cli import eval_command, generate_command

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "models" / "wavenet.onnx"  # the demo page's default model
TINY_STEP = ROOT / "tests" / "fixtures" / "tiny-step.onnx"
TINY_WINDOW = ROOT / "tests" / "fixtures" / "tiny-window.onnx"
CLI_LINES = [["-n", "50", "--seed", "7", "--temperature", "0.8"],
             ["-n", "30", "--seed", "3", "--top-k", "4", "--top-p", "0.9", "--unique", "--batch-size", "1"],
             ["-n", "40", "--seed", "11", "--max-len", "2", "--batch-size", "7"],
             ["-n", "60", "--seed", "5", "--format", "jsonl"]]
SPLITS = ("train", "val", "test", "all")
INT8 = (ROOT / "models" / "wavenet.int8.onnx", ROOT / "models" / "wavenet-large.int8.onnx")
INT8_CASES = (("like wn-generate -n 200 --seed 1", 200, {"seed": 1, "exclude": [""]}),
              ("temperature + top-k + top-p", 100, {"seed": 2, "temperature": 0.8, "top_k": 10, "top_p": 0.95}))
FIXTURE_NAMES = ("step", "window", "shipped", "browser", "int8")
OUT = ROOT / "js" / "test" / "fixtures"
BATCHES = (1, 64)
BROWSER_CASES = ({"n": 24, "seed": 1}, {"n": 24, "seed": 7, "temperature": 0.8}, {"n": 5000, "seed": 1})


def option_sets(model: WavenetModel) -> list[tuple[str, int, dict]]:
    """(label, n, Python keyword arguments): plain, temperature + top-k, prefix + top-p, unique, short max-len..."""
    first = next(name for name in model.generate(50, seed=1) if len(name) >= 2)
    return [
        ("plain", 100, {"seed": 1}),
        ("temperature + top-k", 100, {"seed": 2, "temperature": 0.8, "top_k": 5}),
        ("prefix + top-p", 100, {"seed": 3, "prefix": first[:2], "top_p": 0.9}),
        ("unique", 150, {"seed": 4, "unique": True, "temperature": 0.7}),
        ("short max-len", 100, {"seed": 5, "max_len": 3}),
        ("greedy with a prefix", 20, {"seed": 6, "top_k": 1, "prefix": first[:1]}),
        ("everything, a large seed", 100, {"seed": 2**63 + 12345, "temperature": 1.3, "top_k": 10, "top_p": 0.85}),
        ("negative seed, exclude", 100, {"seed": -42, "exclude": sorted(set(model.generate(30, seed=1)))}),
        ("prefix as long as max-len", 5, {"seed": 8, "prefix": first[:2], "max_len": 2}),
    ]


def js_options(kwargs: dict) -> dict:
    """Python keyword arguments -> the JS API's options (seed as a decimal string: it may not fit a double)."""
    names = {"top_k": "topK", "top_p": "topP", "max_len": "maxLen"}
    out = {names.get(k, k): v for k, v in kwargs.items()}
    out["seed"] = str(kwargs["seed"])
    return out


def cli_stdout(args: list[str]) -> str:
    result = CliRunner().invoke(generate_command, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def eval_stdout(path: Path, items: list[str]) -> dict[str, str]:
    """wn-eval's text line for every split of `items` (written to a file, one per line)."""
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder) / "items.txt"
        data.write_text("".join(f"{item}\n" for item in items), encoding="utf-8")
        out = {}
        for split in SPLITS:
            result = CliRunner().invoke(eval_command, ["--onnx", str(path), "--data", str(data), "--split", split],
                                        catch_exceptions=False)
            assert result.exit_code == 0, result.output
            out[split] = result.stdout
        return out


def model_fixture(path: Path, model: WavenetModel, cli_lines: list[list[str]]) -> dict:
    cases = []
    for label, n, kwargs in option_sets(model):
        per_batch = [model.generate(n, batch_size=b, **kwargs) for b in BATCHES]
        assert all(names == per_batch[0] for names in per_batch), f"{label}: Python's names depend on the batch size"
        cases.append({"label": label, "n": n, "options": js_options(kwargs), "names": per_batch[0]})
    rng = np.random.default_rng(0)
    runner, vocab = model.runner, model.metadata.vocab
    state = runner.initial_state(4)
    steps = []
    for t in range(12):
        tokens = np.zeros(4, dtype=np.int64) if t == 0 else rng.integers(1, vocab.size, 4).astype(np.int64)
        logits, state = runner.advance(state, tokens)
        steps.append({"tokens": tokens.tolist(), "logits": logits.astype(np.float64).tolist()})
    items = sorted({*model.generate(40, seed=9, exclude={""}), vocab.chars[0], vocab.chars[-1] * 5})
    scored = model.score(items)
    cli = [{"args": ["--onnx", str(path.relative_to(ROOT)), *args], "stdout": cli_stdout(["--onnx", str(path), *args])}
           for args in cli_lines]
    eval_items = [*items, *model.generate(200, seed=10)]
    return {"model": str(path.relative_to(ROOT)), "generate": cases, "cli": cli, "steps": steps,
            "score": {"items": items, "logprobs": scored.logprobs, "nll_per_char": scored.nll_per_char},
            "eval": {"items": eval_items, "stdout": eval_stdout(path, eval_items)}}


def int8_fixture() -> dict:
    """Names of the int8 files, the same at every batch size."""
    models = []
    for path in INT8:
        model = WavenetModel.load(path, provider="cpu", threads=1)
        cases = []
        for label, n, kwargs in INT8_CASES:
            per_batch = [model.generate(n, batch_size=b, **kwargs) for b in BATCHES]
            assert all(names == per_batch[0] for names in per_batch), f"{path.name} {label}: depends on the batch size"
            cases.append({"label": label, "n": n, "options": js_options(kwargs), "names": per_batch[0]})
        models.append({"model": str(path.relative_to(ROOT)), "generate": cases})
    return {"models": models}


def write_json(path: Path, data: dict) -> None:
    with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, suffix=".tmp") as handle:
        json.dump(data, handle, ensure_ascii=False, indent=1)
        handle.write("\n")
    Path(handle.name).chmod(0o644)
    Path(handle.name).replace(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--step", type=Path, default=TINY_STEP, help="step-graph .onnx (step.json)")
    parser.add_argument("--window", type=Path, default=TINY_WINDOW, help="window-graph .onnx (window.json)")
    parser.add_argument("--shipped", type=Path, default=SHIPPED,
                        help="the demo page's model (shipped.json, browser.json)")
    parser.add_argument("--only", choices=FIXTURE_NAMES, action="append",
                        help="write only this fixture (repeatable; default: all)")
    args = parser.parse_args()
    only = set(args.only or FIXTURE_NAMES)
    OUT.mkdir(parents=True, exist_ok=True)
    for name, path in (("step", args.step), ("window", args.window), ("shipped", args.shipped)):
        if name in only:
            model = WavenetModel.load(path.resolve(), provider="cpu", threads=1)
            write_json(OUT / f"{name}.json", model_fixture(path.resolve(), model, CLI_LINES))
    if "browser" in only:
        shipped = WavenetModel.load(args.shipped.resolve(), provider="cpu", threads=1)
        browser = [{"query": case, "names": shipped.generate(case["n"], seed=case["seed"],
                                                            temperature=case.get("temperature", 1.0))}
                   for case in BROWSER_CASES]
        for case, entry in zip(BROWSER_CASES, browser, strict=True):  # the API gives wn-generate's names
            line = ["--onnx", str(args.shipped.resolve()), "-n", str(case["n"]), "--seed", str(case["seed"]),
                    "--temperature", str(case.get("temperature", 1.0))]
            assert cli_stdout(line).splitlines() == entry["names"], case
        write_json(OUT / "browser.json", {"model": str(args.shipped.resolve().relative_to(ROOT)), "cases": browser})
    if "int8" in only:
        write_json(OUT / "int8.json", int8_fixture())
    print(f"wrote {', '.join(f'{name}.json' for name in FIXTURE_NAMES if name in only)} in {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
