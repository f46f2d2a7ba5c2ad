"""Write js/test/fixtures/complete.json: the Python runtime's completions, constrained names, command output and
error messages (issue 21), which the JavaScript twin must reproduce (js/test/complete.test.js).

    python js/scripts/make_complete_fixtures.py     # after any change to the models or runtime/complete.py,
                                                    # runtime/constraints.py; tests/test_js_complete.py checks it

For each model (the tests' tiny models of every graph kind, and the shipped model): model.complete lists for a
few prefixes and options; constrained names (min_len, max_len, suffix, contains, prefix), checked equal at
batch 1 and 64 here; the stdout of a few wn-complete and wn-generate command lines. Then error messages of
model.complete and wn-complete (exit status and stderr) for bad values: the JS runtime must give the same
words. And what the demo page's autocomplete must list for ?complete=ka&k=8 (wn-complete's stdout on the
shipped model: js/test/browser/demo.test.js). (Bad values of generate's constraint options are in the shared
hostile table, tests/fixtures/hostile.json.)
Torch-free: only the runtime and the committed models. Paths are relative to the repository root.
"""

from __future__ import annotations

import sys
from pathlib import Path

from click.testing import CliRunner

from wavenet_edge.runtime import WavenetModel
from wavenet_edge.runtime.cli import complete_command, generate_command

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "js" / "scripts"))  # make_fixtures.py: write_json
from make_fixtures import write_json  # noqa: E402

OUT = ROOT / "js" / "test" / "fixtures" / "complete.json"
MODELS = ("tests/fixtures/tiny-step.onnx", "tests/data/format1-step.onnx", "tests/fixtures/tiny-window.onnx",
          "tests/fixtures/tiny-lecture-window.onnx", "models/wavenet.onnx")
STEP = MODELS[0]
SHIPPED = MODELS[-1]  # the demo page's default model
BROWSER = {"prefix": "ka", "k": 8}  # the demo page's ?complete=ka&k=8
BATCHES = (1, 64)
JS_NAMES = {"max_len": "maxLen", "max_nodes": "maxNodes", "min_len": "minLen", "max_samples": "maxSamples",
            "top_k": "topK", "top_p": "topP", "batch_size": "batchSize"}


def js_options(kwargs: dict) -> dict:
    """Python keyword arguments -> the JS API's option names (a seed as a decimal string)."""
    out = {JS_NAMES.get(key, key): value for key, value in kwargs.items()}
    if "seed" in out:
        out["seed"] = str(out["seed"])
    return out


def complete_cases(model: WavenetModel) -> list[tuple[str, int, dict]]:
    """(prefix, k, keyword arguments): from the empty prefix to one as long as max_len."""
    first = next(name for name in model.generate(50, seed=1) if len(name) >= 2)
    return [("", 10, {}), (first[:1], 25, {}), (first[:2], 8, {}), (first[:2], 40, {"max_len": 4}),
            ("", 300, {"max_len": 3}), (first[:2], 5, {"max_len": 2}), (first[:1], 3, {"max_nodes": 500})]


def constrained_cases(model: WavenetModel) -> list[tuple[str, int, dict]]:
    """(label, n, keyword arguments) of constrained generation."""
    names = [name for name in model.generate(200, seed=2) if len(name) >= 3]
    last, middle = names[0][-1], names[1][1:3]
    return [
        ("min-len 5, max-len 7, suffix", 40, {"seed": 1, "min_len": 5, "max_len": 7, "suffix": last}),
        ("contains", 40, {"seed": 2, "contains": middle, "temperature": 0.9}),
        ("max-len 3: short complete names", 60, {"seed": 3, "max_len": 3}),
        ("prefix, suffix and min-len", 20, {"seed": 4, "prefix": names[2][:1], "suffix": last, "min_len": 4}),
        ("unique, max-len and contains", 30, {"seed": 5, "unique": True, "max_len": 6, "contains": middle[:1]}),
        ("top-k with a length range", 30, {"seed": 6, "top_k": 5, "min_len": 4, "max_len": 5}),
    ]


def run(command, args: list[str]) -> dict:
    result = CliRunner().invoke(command, [str(a) for a in args])
    return {"stdout": result.stdout, "stderr": result.stderr, "exit_code": result.exit_code}


def model_fixture(relative: str) -> dict:
    model = WavenetModel.load(ROOT / relative, provider="cpu", threads=1)
    completions = []
    for prefix, k, kwargs in complete_cases(model):
        found = model.complete(prefix, k, **kwargs)
        completions.append({"prefix": prefix, "k": k, "options": js_options(kwargs),
                            "names": [c.name for c in found], "logprobs": [float(c.logprob) for c in found]})
    constrained = []
    for label, n, kwargs in constrained_cases(model):
        per_batch = [model.generate(n, batch_size=b, **kwargs) for b in BATCHES]
        assert all(names == per_batch[0] for names in per_batch), f"{relative} {label}: depends on the batch size"
        constrained.append({"label": label, "n": n, "options": js_options(kwargs), "names": per_batch[0]})
    first = completions[2]["prefix"]
    suffix = constrained[0]["options"]["suffix"]
    lines = [["complete", "--prefix", first, "-k", "8"], ["complete", "-k", "20", "--format", "jsonl"],
             ["complete", "--prefix", first[:1], "-k", "30", "--max-len", "4", "--max-nodes", "5000"],
             ["generate", "-n", "25", "--seed", "7", "--min-len", "4", "--max-len", "6", "--suffix", suffix],
             ["generate", "-n", "25", "--seed", "8", "--contains", constrained[1]["options"]["contains"],
              "--batch-size", "3", "--max-samples", "100000"]]
    cli = []
    for command, *args in lines:
        body = complete_command if command == "complete" else generate_command
        result = run(body, ["--onnx", ROOT / relative, *args])
        assert result["exit_code"] == 0, result
        cli.append({"args": [command, "--onnx", relative, *args], "stdout": result["stdout"]})
    return {"model": relative, "complete": completions, "generate": constrained, "cli": cli}


def error_fixture() -> dict:
    """model.complete's and wn-complete's messages for bad values (on the tiny step model)."""
    model = WavenetModel.load(ROOT / STEP, provider="cpu", threads=1)
    api = []
    for prefix, k, kwargs in [("", 0, {}), ("", 1001, {}), ("", 2.5, {}), ("", 5, {"max_nodes": 0}),
                              ("", 5, {"max_nodes": 10_000_001}), ("", 5, {"max_len": 0}), ("Q!", 5, {}),
                              ("ka", 5, {"max_len": 1}), ("", 50, {"max_nodes": 3}), ("k", 1000, {"max_nodes": 70})]:
        try:
            model.complete(prefix, k, **kwargs)
        except Exception as err:  # noqa: BLE001  (the message is what is recorded)
            api.append({"prefix": prefix, "k": k, "options": js_options(kwargs), "error": str(err)})
        else:
            raise AssertionError(f"complete({prefix!r}, {k}, {kwargs}) was accepted")
    cli = []
    for args in (["-k", "0"], ["-k", "1001"], ["-k", "x"], ["--max-nodes", "0"], ["--max-len", "0"],
                 ["--max-len", "20000"], ["--format", "xml"], ["--prefix", "Q"], ["--prefix", "kaa", "--max-len", "2"],
                 ["--max-nodes", "1", "-k", "5"], ["--zzz"], ["-k"]):
        result = run(complete_command, ["--onnx", ROOT / STEP, *args])
        assert result["exit_code"] != 0 and not result["stdout"], result
        cli.append({"args": ["complete", "--onnx", STEP, *args], "stderr": result["stderr"],
                    "exit_code": result["exit_code"]})
    return {"model": STEP, "complete": api, "cli": cli}


def browser_fixture() -> dict:
    args = ["--onnx", ROOT / SHIPPED, "--prefix", BROWSER["prefix"], "-k", str(BROWSER["k"])]
    return {"model": SHIPPED, **BROWSER, "stdout": run(complete_command, args)["stdout"]}


def fixture() -> dict:
    return {"models": [model_fixture(relative) for relative in MODELS], "errors": error_fixture(),
            "browser": browser_fixture()}


def main() -> None:
    write_json(OUT, fixture())
    print(f"wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
