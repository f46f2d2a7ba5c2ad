"""The committed JS fixture of completions and constrained names (js/test/fixtures/complete.json, which
js/test/complete.test.js holds the JavaScript runtime to) is what this runtime gives now: else rerun
python js/scripts/make_complete_fixtures.py. Names, messages and text output exactly; floats to 1e-9."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "js" / "scripts" / "make_complete_fixtures.py"


def _script():
    spec = importlib.util.spec_from_file_location("make_complete_fixtures", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _same(actual, expected, where: str) -> None:
    """Equal, floats to 1e-9 (another CPU's last bits), JSON lines by value."""
    if isinstance(expected, float):
        assert actual == pytest.approx(expected, rel=1e-9, abs=1e-12), where
    elif isinstance(expected, dict):
        assert actual.keys() == expected.keys(), where
        for key in expected:
            _same(actual[key], expected[key], f"{where}.{key}")
    elif isinstance(expected, list):
        assert len(actual) == len(expected), where
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            _same(a, e, f"{where}[{i}]")
    elif isinstance(expected, str) and expected.startswith('{"name": '):  # wn-complete --format jsonl
        _same([json.loads(line) for line in actual.splitlines()], [json.loads(line) for line in expected.splitlines()],
              where)
    else:
        assert actual == expected, where


def test_the_js_complete_fixture_is_this_runtimes_output():
    module = _script()
    committed = json.loads(module.OUT.read_text(encoding="utf-8"))
    _same(module.fixture(), committed, "complete.json")
