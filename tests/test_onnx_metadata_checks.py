"""Hand-edited ONNX metadata that contradicts the graph or itself: one exact line in every runtime command.

Runs on the committed fixtures, edited without onnx (model_files.rewrite_props), so it needs no torch. Moved
from tests/test_bad_input_matrix.py (item 9 of its matrix).
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from cli_checks import assert_error, invoke
from model_files import FIXTURES, read_props, rewrite_props

from wavenet_edge.runtime import cli
from wavenet_edge.runtime.contract import METADATA_PREFIX


def props_of(path: Path) -> dict[str, str]:
    return {key[len(METADATA_PREFIX):]: value for key, value in read_props(path.read_bytes()).items()}


def onnx_cases(step: Path, window: Path, root: Path) -> dict[str, tuple[Path, str]]:
    props = props_of(step)
    config = json.loads(props["config"])
    vocab = json.loads(props["vocab"])
    state = base64.b64decode(props["initial_state"])
    wider = {**vocab, "chars": [*vocab["chars"], "#"]}
    cases = {
        "vocab wider than the graph": (
            {"vocab": json.dumps(wider), "config": json.dumps({**config, "vocab_size": len(wider["chars"]) + 1}),
             "io": None},
            f"the graph's logits has {config['vocab_size']} logits per row (the vocabulary size); the metadata "
            f"says {config['vocab_size'] + 1}"),
        "vocab and vocab_size disagree": (
            {"vocab": json.dumps(wider)},
            f"vocabulary of {config['vocab_size'] + 1} ids does not match config vocab_size {config['vocab_size']}"),
        "state width": (  # format 2: one more layer in the metadata than queues in the graph
            {"config": json.dumps({**config, "dilations": [1, 2, 4, 8]}), "io": None, "receptive_field": None,
             "initial_state": base64.b64encode(bytes(4 * 8 * 15)).decode()},
            "graph inputs ['tokens', 'oldest_0', 'oldest_1', 'oldest_2'] do not match the step graph contract "
            "['tokens', 'oldest_0', 'oldest_1', 'oldest_2', 'oldest_3']"),
        "initial state odd length": (
            {"initial_state": base64.b64encode(state[:-1]).decode()},
            f"metadata wavenet_edge.initial_state holds {len(state) - 1} bytes, not a whole number of float32 "
            "values"),
        "initial state count": (
            {"initial_state": base64.b64encode(state[:-4]).decode()},
            f"initial state holds {len(state) // 4 - 1} values, the config needs {len(state) // 4}"),
        "initial state NaN": (
            {"initial_state": base64.b64encode(b"\x00\x00\xc0\x7f" + state[4:]).decode()},
            "metadata wavenet_edge.initial_state holds NaN or infinite values"),
        "data a list": ({"data": "[1, 2]"}, "metadata wavenet_edge.data must be a JSON object, got list: [1, 2]"),
        "metrics a string": ({"metrics": '"good"'},
                             "metadata wavenet_edge.metrics must be a JSON object, got str: \"good\""),
        "metrics not JSON": ({"metrics": "{nan"}, "metadata wavenet_edge.metrics is not valid JSON"),
        "parameters not an int": ({"parameters": "12.5"},
                                  "metadata wavenet_edge.parameters must be a non-negative integer, got '12.5'"),
        "receptive field": ({"receptive_field": "99"},
                            "metadata wavenet_edge.receptive_field 99 does not match the config's 8"),
        "io": ({"io": json.dumps({"inputs": []})},
               "metadata wavenet_edge.io does not match the config (the graph's inputs, outputs and state layout "
               "follow from it)"),
        "config a list": ({"config": "[]"}, "metadata wavenet_edge.config must be a JSON object, got list: []"),
        "dropout a string": ({"config": json.dumps({**config, "dropout": "0.1"})},
                             "malformed wavenet_edge metadata: dropout must be a number in [0, 1), got '0.1'"),
        "channels huge": ({"config": json.dumps({**config, "channels": 10**6})},
                          "malformed wavenet_edge metadata: channels must be an integer in 1..4096, got 1000000"),
        "vocab chars a number": ({"vocab": json.dumps({"boundary_id": 0, "chars": 5})},
                                 "malformed wavenet_edge metadata: 'int' object is not iterable"),
    }
    out = {}
    for i, (name, (changes, message)) in enumerate(cases.items()):
        path = rewrite_props(step, root / f"case{i}.onnx", **changes)
        out[name] = path, f"{path}: {message}"
    window_props = props_of(window)
    wide = json.loads(window_props["config"])
    path = rewrite_props(window, root / "window.onnx", config=json.dumps({**wide, "dilations": [1, 2, 4, 8]}),
                         io=None, receptive_field=None)
    out["window width"] = path, f"{path}: the graph's tokens has 8 tokens per row (the receptive field); the " \
                                "metadata says 16"
    return out


ONNX_CASES = ["vocab wider than the graph", "vocab and vocab_size disagree", "state width",
              "initial state odd length", "initial state count", "initial state NaN", "data a list",
              "metrics a string", "metrics not JSON", "parameters not an int", "receptive field", "io",
              "config a list", "dropout a string", "channels huge", "vocab chars a number", "window width"]


@pytest.fixture(scope="module")
def onnx_files(tmp_path_factory):
    return onnx_cases(FIXTURES.step, FIXTURES.window, tmp_path_factory.mktemp("hand-edited"))


@pytest.mark.parametrize("case", ONNX_CASES)
def test_hand_edited_onnx_metadata_is_one_line_in_every_runtime_command(onnx_files, case):
    path, message = onnx_files[case]
    before = path.read_bytes()
    assert_error(invoke(cli.info_command, [path]), message)
    assert_error(invoke(cli.generate_command, ["--onnx", path, "-n", 2]), message)
    assert_error(invoke(cli.eval_command, ["--onnx", path, "--data", path.with_name("data.txt")]),
                 f"{path.with_name('data.txt')}: no such file")  # the data is read first
    assert path.read_bytes() == before
