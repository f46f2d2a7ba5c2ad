"""ORT format: an exported .onnx file -> `model.ort` and the operator list of an ONNX Runtime minimal build.

    report = convert_to_ort(Path("models/wavenet.onnx"))   # models/wavenet.ort + wavenet.required_operators.config
    report.max_abs_diff                                    # logits of the .ort against the .onnx (0.0 here)

ONNX Runtime's mobile and minimal builds load only the ORT format (a flatbuffer of the optimized graph)
and can be compiled with only the operators a model needs; both files come from onnxruntime's own
converter (`onnxruntime.tools.convert_onnx_models_to_ort`, optimization style "Fixed"). The
`wavenet_edge.*` metadata travels inside the .ort file, so the runtime loads it like the .onnx; the
conversion is checked by loading both with the runtime and comparing metadata and logits.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from wavenet_edge.runtime.common.errors import WavenetEdgeError
from wavenet_edge.runtime.model import WavenetModel

from .quiet import quiet

__all__ = ["CONFIG_SUFFIX", "ORT_SUFFIX", "OrtReport", "convert_to_ort", "ort_paths"]

ORT_SUFFIX = ".ort"
CONFIG_SUFFIX = ".required_operators.config"
TOLERANCE = 1e-5  # max abs logit difference allowed between the .ort and the .onnx
CHECK_BATCH, CHECK_STEPS = 7, 12


@dataclass(frozen=True)
class OrtReport:
    path: Path  # the .ort file
    config_path: Path  # operators a minimal build needs, one "domain;opset;op,op" line per opset
    file_size: int
    operators: list[str]
    max_abs_diff: float


def ort_paths(onnx_path: Path) -> tuple[Path, Path]:
    """`model.ort` and `model.required_operators.config` beside `model.onnx`."""
    return onnx_path.with_suffix(ORT_SUFFIX), onnx_path.with_name(onnx_path.stem + CONFIG_SUFFIX)


def _max_logit_diff(reference: Path, candidate: Path) -> float:
    """Largest |logit difference| over CHECK_STEPS random tokens at batch CHECK_BATCH; metadata must be equal."""
    a = WavenetModel.load(reference, provider="cpu", threads=1)
    b = WavenetModel.load(candidate, provider="cpu", threads=1)
    if a.metadata.to_props() != b.metadata.to_props():
        raise WavenetEdgeError(f"{candidate}: the wavenet_edge metadata did not survive the ORT conversion")
    ra, rb = a.runner, b.runner
    state_a, state_b = ra.initial_state(CHECK_BATCH), rb.initial_state(CHECK_BATCH)
    rng = np.random.default_rng(0)
    worst = 0.0
    for _ in range(CHECK_STEPS):
        tokens = rng.integers(0, a.metadata.vocab.size, CHECK_BATCH).astype(np.int64)
        logits_a, state_a = ra.advance(state_a, tokens)
        logits_b, state_b = rb.advance(state_b, tokens)
        worst = max(worst, float(np.abs(logits_a.astype(np.float64) - logits_b).max()))
    return worst


def convert_to_ort(onnx_path: Path, ort_path: Path | None = None) -> OrtReport:
    """Write the ORT-format copy of `onnx_path` and its required-operators config (default: beside it, see
    `ort_paths`), atomically, after checking metadata and logits against the .onnx. WavenetEdgeError otherwise."""
    try:
        from onnxruntime.tools.convert_onnx_models_to_ort import OptimizationStyle, convert_onnx_models_to_ort
    except ImportError as err:
        raise WavenetEdgeError(f"--ort needs onnxruntime's conversion tools, which are not available: {err}") from None
    onnx_path = Path(onnx_path)
    ort_path = ort_paths(onnx_path)[0] if ort_path is None else Path(ort_path)
    config_path = ort_paths(ort_path)[1]
    with tempfile.TemporaryDirectory(prefix=".wn-ort-", dir=ort_path.parent) as tmp:
        work = Path(tmp)
        source = work / (ort_path.stem + ".onnx")  # the converter names its outputs after its input
        source.write_bytes(onnx_path.read_bytes())
        out = work / "out"
        try:
            with quiet("ort_format_model.utils"), contextlib.redirect_stdout(io.StringIO()):
                convert_onnx_models_to_ort(source, output_dir=out, optimization_styles=[OptimizationStyle.Fixed])
        except Exception as err:  # the converter raises whatever onnxruntime raised
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise WavenetEdgeError(f"{onnx_path}: ORT conversion failed: {first}") from None
        produced, produced_config = out / ort_path.name, out / config_path.name
        if not produced.is_file() or not produced_config.is_file():
            raise WavenetEdgeError(f"{onnx_path}: ORT conversion wrote no {ort_path.name} or {config_path.name}")
        diff = _max_logit_diff(onnx_path, produced)
        if diff > TOLERANCE:
            raise WavenetEdgeError(
                f"{produced.name}: logits differ from {onnx_path} by {diff:.2e} (limit {TOLERANCE:g})"
            )
        # the converter's comment names the temporary file: name the real one
        lines = [f"# - {ort_path.name}" if line.startswith("# - ") else line
                 for line in produced_config.read_text().splitlines()]
        produced_config.write_text("\n".join(lines) + "\n")
        os.replace(produced, ort_path)
        os.replace(produced_config, config_path)
    operators = [line for line in lines if line and not line.startswith("#")]
    return OrtReport(ort_path, config_path, ort_path.stat().st_size, operators, diff)
