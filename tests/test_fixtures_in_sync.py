"""The committed fixtures (tests/fixtures/tiny-*.onnx) are what the exporter writes today.

The runtime tests run on those files without torch; this test (torch) exports the committed weights of the
tiny models (tests/fixtures/tiny-weights.npz, written with them by tests/fixtures/make_fixtures.py) as that
script does and compares: metadata, graph inputs, outputs and nodes exactly, weights within 1e-5 (the step
graph's rearranged weights and initial state may differ in the last bits on another CPU). It does not retrain:
300 training steps turn another CPU's last-bit differences into different weights.
"""

from __future__ import annotations

import base64
import json

import numpy as np
import onnx
import pytest
from model_files import FIXTURE_WEIGHTS, FIXTURES
from onnx import numpy_helper
from tiny_models import write_fixtures

from wavenet_edge.runtime.contract import METADATA_PREFIX

RERUN = "python tests/fixtures/make_fixtures.py"
IGNORED_PROPS = {METADATA_PREFIX + "package_version"}  # a version bump alone does not change what the file holds
WEIGHT_TOL = 1e-5


def describe(path) -> tuple[dict, dict[str, np.ndarray]]:
    """(everything but the weights, as comparable values; the weights by name)."""
    proto = onnx.load(str(path))
    props = {p.key: p.value for p in proto.metadata_props if p.key not in IGNORED_PROPS}
    state = props.pop(METADATA_PREFIX + "initial_state", None)
    graph = proto.graph
    shape = [[d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim] for v in (*graph.input, *graph.output)]
    structure = {
        "opset": sorted((o.domain, o.version) for o in proto.opset_import),
        "metadata": props,
        "io": [(v.name, v.type.tensor_type.elem_type) for v in (*graph.input, *graph.output)],
        "io shapes": shape,
        "nodes": [(n.op_type, list(n.input), list(n.output), [onnx.helper.printable_attribute(a) for a in n.attribute])
                  for n in graph.node],
        "weights": sorted((t.name, list(t.dims), t.data_type) for t in graph.initializer),
    }
    weights = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    if state is not None:
        weights["metadata initial_state"] = np.frombuffer(base64.b64decode(state), dtype="<f4")
    return structure, weights


def differences(committed, fresh) -> list[str]:
    (old, old_weights), (new, new_weights) = describe(committed), describe(fresh)
    found = []
    for key in old:
        if old[key] != new[key]:
            if key == "metadata":
                keys = sorted(k for k in old[key].keys() | new[key].keys() if old[key].get(k) != new[key].get(k))
                found.append(f"metadata {', '.join(keys)}")
            else:
                found.append(key)
    if not found:
        for name, value in old_weights.items():
            fresh_value = new_weights[name]
            if value.shape != fresh_value.shape or not np.allclose(value, fresh_value, rtol=0, atol=WEIGHT_TOL):
                found.append(f"weight {name}")
    return found


@pytest.fixture(scope="module")
def remade(tmp_path_factory, one_thread):
    out = tmp_path_factory.mktemp("fixtures")
    assert FIXTURE_WEIGHTS.is_file(), f"{FIXTURE_WEIGHTS} is missing: run `{RERUN}` and commit tests/fixtures/"
    write_fixtures(out, weights=FIXTURE_WEIGHTS)
    return out


@pytest.mark.parametrize("name", ["step", "window", "lecture_window"])
def test_committed_fixture_matches_the_exporter(remade, name):
    committed = getattr(FIXTURES, name)
    fresh = remade / committed.name
    assert committed.is_file(), f"{committed} is missing: run `{RERUN}` and commit tests/fixtures/"
    found = differences(committed, fresh)
    assert not found, (f"{committed.name} is out of date with the exporter ({'; '.join(found)} differ): "
                       f"run `{RERUN}` and commit tests/fixtures/")


def test_the_fixture_metadata_is_the_tiny_models():
    """What the runtime tests take for granted about the fixtures (tiny_data.py) is what the files say."""
    from tiny_data import MAX_LEN, METRICS, VOCAB
    from tiny_models import LECTURE, WAVENET

    for path, config, graph in ((FIXTURES.step, WAVENET, "step"), (FIXTURES.window, WAVENET, "window"),
                                (FIXTURES.lecture_window, LECTURE, "window")):
        props = {p.key[len(METADATA_PREFIX):]: p.value for p in onnx.load(str(path)).metadata_props}
        assert props["graph"] == graph
        assert json.loads(props["config"]) == config.to_dict() and config.max_len == MAX_LEN
        assert json.loads(props["vocab"])["chars"] == list(VOCAB.chars)
        assert json.loads(props["metrics"]) == METRICS
