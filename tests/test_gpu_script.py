"""benchmarks/gpu.py: one line and exit 0 without a GPU; its checks run end to end through the stand-in
session (tests/bind_copy.py), and the correctness goals pass there."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import onnxruntime as ort
import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "benchmarks" / "gpu.py"


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=300)


@pytest.mark.skipif("CUDAExecutionProvider" in ort.get_available_providers(), reason="a CUDA build is installed")
def test_without_a_gpu_one_line_and_exit_0():
    result = _run()
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("\n") == 1 and result.stdout.startswith("no GPU: ")
    assert result.stderr == ""


def test_the_checks_run_through_the_stand_in(tmp_path):
    out = tmp_path / "gpu.txt"
    result = _run("--stand-in", "--quick", "--no-train", "--model", str(ROOT / "tests" / "fixtures" / "tiny-step.onnx"),
                  "--out", str(out))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert out.read_text(encoding="utf-8").splitlines() == lines
    correctness = [line for line in lines if "CPU's" in line or "mean NLL" in line]
    assert len(correctness) == 4 and all(line.startswith("PASS") for line in correctness), correctness
    goals = [line for line in lines if line.startswith(("PASS", "MISS"))]
    assert len(goals) == 9  # the device check, 4 correctness + 3 speed goals, the sampler's share: PASS or MISS
    assert goals[0].startswith("PASS  load-time device check: the device path against the CPU 0.0e+00"), goals[0]
    assert any("state on the host" in line for line in lines)  # the device state against the host state
