"""wn-export: a training checkpoint -> a verified, self-describing .onnx file (and optionally an int8 copy).

    wn-export model.pt model.onnx                           # step graph (wavenet) / window graph (lecture)
    wn-export model.pt model.onnx --graph window --opset 18
    wn-export model.pt model.onnx --quantize int8 --data names.txt   # + model.int8.onnx, val-loss change checked
    wn-export model.pt model.onnx --ort                     # + model.ort and model.required_operators.config
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import click

from wavenet_edge.runtime.common.commands import command
from wavenet_edge.runtime.common.dataset import read_items, split_items
from wavenet_edge.runtime.common.errors import WavenetEdgeError
from wavenet_edge.runtime.common.files import check_output_path
from wavenet_edge.runtime.contract import GRAPH_KINDS

from .exporter import OPSET, ExportReport, export_checkpoint
from .quantize import MAX_LOSS_CHANGE, QuantizeReport, Scorer, default_int8_path, quantize_int8

__all__ = ["main", "runtime_scorer"]


def runtime_scorer() -> Scorer:
    """Mean NLL per character of items under a model file, measured by the runtime (ONNX Runtime, CPU)."""
    try:
        from wavenet_edge.runtime.model import WavenetModel
    except ImportError as err:
        raise WavenetEdgeError(f"--quantize needs the runtime's scorer, which is not available: {err}") from None

    def scorer(path: Path, items: Sequence[str]) -> float:
        return float(WavenetModel.load(path, provider="cpu").score(items).nll_per_char)

    return scorer


def refuse_shipped(path: Path, what: str) -> None:
    """The models installed with the package (wavenet_edge/models/) are replaced only by benchmarks/ship.py:
    an export there would change what `wn-generate` prints for a seed, silently, in a checkout or an
    editable install."""
    import wavenet_edge.models

    shipped = Path(wavenet_edge.models.__file__).resolve().parent
    if path.resolve().parent == shipped:
        raise WavenetEdgeError(f"{what} {path} is in the shipped models' folder {shipped}: write it elsewhere "
                               f"(e.g. runs/); python benchmarks/ship.py replaces the shipped models")


def _describe_export(report: ExportReport) -> str:
    where = f"{report.path} ({report.file_size:,} bytes, {report.graph} graph, opset {report.opset}, " \
            f"{report.node_count} nodes, {report.parameters:,} parameters)"
    if not report.verified:
        return f"wrote {where}; not verified (--no-verify)"
    batches = ", ".join(str(b) for b in report.batch_sizes)
    return (f"wrote {where}\nverified: onnx checker and shape inference passed; logits match torch to "
            f"max abs diff {report.max_abs_diff:.2e} (limit {report.tolerance:g}) at batch {batches}")


def _describe_int8(report: QuantizeReport) -> str:
    return (f"wrote {report.path} ({report.file_size:,} bytes, {report.file_size / report.fp32_file_size:.0%} of "
            f"fp32); val loss {report.fp32_loss:.4f} -> {report.int8_loss:.4f} nats/char "
            f"({report.delta:+.5f}, limit {MAX_LOSS_CHANGE:g})")


@command()
@click.argument("checkpoint", type=click.Path(path_type=Path))
@click.argument("output", type=click.Path(path_type=Path))
@click.option("--graph", type=click.Choice(GRAPH_KINDS), default=None,
              help="step (Fast WaveNet, wavenet only; the wavenet default) or window (the lecture default).")
@click.option("--opset", type=int, default=OPSET, show_default=True, help="ONNX opset.")
@click.option("--no-verify", "no_verify", is_flag=True, help="Skip the checker and the parity checks against torch.")
@click.option("--quantize", type=click.Choice(["int8"]), default=None,
              help="Also write a weight-only int8 copy (rows stay independent); needs --data.")
@click.option("--quantized-output", type=click.Path(path_type=Path), default=None,
              help="Where the int8 copy goes (default: OUTPUT with .int8.onnx).")
@click.option("--data", "data_path", type=click.Path(path_type=Path), default=None,
              help="The training data: its val split measures the int8 loss change and joins the parity items.")
@click.option("--force", is_flag=True,
              help=f"Keep the int8 copy even if it changes the val loss by more than {MAX_LOSS_CHANGE} nats/char.")
@click.option("--ort", "ort_format", is_flag=True,
              help="Also write OUTPUT as .ort (ONNX Runtime's format for mobile and minimal builds) and the "
                   "operators such a build needs (.required_operators.config).")
@click.option("--quiet", "-q", is_flag=True, help="Print nothing on success.")
def main(checkpoint: Path, output: Path, graph: str | None, opset: int, no_verify: bool, quantize: str | None,
         quantized_output: Path | None, data_path: Path | None, force: bool, ort_format: bool, quiet: bool) -> None:
    """Export CHECKPOINT (from wn-train) to the ONNX file OUTPUT, with its config, vocabulary and metrics
    inside, after checking it against the torch model."""
    if quantize and data_path is None:
        raise click.UsageError("--quantize int8 needs --data FILE (the val split measures the loss change)")
    int8_path = (quantized_output or default_int8_path(output)) if quantize else None
    inputs = {"checkpoint": checkpoint, "--data": data_path}
    check_output_path(output, "output", inputs=inputs)  # every output, before any work
    refuse_shipped(output, "output")
    if int8_path is not None:
        check_output_path(int8_path, "quantized output", inputs={**inputs, "output": output})
        refuse_shipped(int8_path, "quantized output")
    if ort_format:
        refuse_shipped(output.with_suffix(".ort"), "--ort output")
    val = split_items(read_items(data_path)).val if data_path is not None else []
    scorer = runtime_scorer() if quantize else None
    report = export_checkpoint(checkpoint, output, graph=graph, opset=opset, verify=not no_verify, items=val)
    if not quiet:
        click.echo(_describe_export(report))
    if int8_path is not None:
        try:
            assert scorer is not None  # made above: int8_path is set only with --quantize
            int8 = quantize_int8(output, int8_path, val, scorer, force=force)
        except WavenetEdgeError as err:
            raise WavenetEdgeError(f"{err} ({output} was written)") from None
        if not quiet:
            click.echo(_describe_int8(int8))
    if ort_format:
        from .ort import convert_to_ort  # onnxruntime's converter tools load only when asked for

        ort = convert_to_ort(output)
        if not quiet:
            click.echo(f"wrote {ort.path} ({ort.file_size:,} bytes, logits match the .onnx to {ort.max_abs_diff:.1e}) "
                       f"and {ort.config_path} ({'; '.join(ort.operators)})")
