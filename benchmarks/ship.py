"""Ship a trained checkpoint: models/NAME.pt, models/NAME.onnx, models/NAME.int8.onnx (NAME: wavenet, the default).

    python benchmarks/ship.py runs/benchmark/default.pt                        # data: data/names.txt
    python benchmarks/ship.py runs/default.pt --data /path/names.txt --out-dir models
    python benchmarks/ship.py runs/large.pt --name wavenet-large     # the large model: wn-generate --model large
    python benchmarks/ship.py --int8-only --name wavenet-large      # only NAME.int8.onnx, from the shipped NAME.onnx

wavenet.pt keeps what a user needs to run, benchmark or fine-tune the model (best-val weights, config,
vocabulary, metrics, data fingerprint and split) and drops the training state (optimizer, scheduler, RNG,
latest weights): it is what `load_checkpoint` and `torch.load(weights_only=True)` read, a fraction of the
size. The .onnx files are exported from that very file, verified against torch, with the int8 copy's val
loss change measured on the data's val split (as `wn-export --quantize int8` does). Every file is
written atomically. The checkpoint stays out of the runtime wheel (package data lists only *.onnx).
--int8-only writes NAME.int8.onnx again from the shipped NAME.onnx (as wn-export --quantize int8 would,
val loss change measured) and leaves the .pt and .onnx as they are: for a change of the int8 form alone.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from wavenet_edge.export.cli import runtime_scorer
from wavenet_edge.export.exporter import export_checkpoint
from wavenet_edge.export.quantize import quantize_int8
from wavenet_edge.runtime.common.dataset import read_items, split_items
from wavenet_edge.train.checkpoint import Checkpoint, load_checkpoint, save_checkpoint


def ship_checkpoint(source: Path, out: Path, data_source: str | None = None) -> Checkpoint:
    """Write `source`'s best-val weights, config, vocabulary, metrics and data info to `out` (no training state).
    data_source: what the data info names as its source (the training run's path is local to its machine)."""
    ckpt = load_checkpoint(source)
    data = dict(ckpt.data) if data_source is None else {**ckpt.data, "source": data_source}
    shipped = Checkpoint(ckpt.config, ckpt.vocab, ckpt.state_dict, dict(ckpt.metrics), data)
    save_checkpoint(shipped, out)
    return shipped


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint", type=Path, nargs="?", help="the trained checkpoint (wn-train's .pt)")
    parser.add_argument("--data", type=Path, default=Path("data/names.txt"), help="its training data (val split)")
    parser.add_argument("--out-dir", type=Path, default=Path("models"))
    parser.add_argument("--source", default="names", help="the data's source in the metadata (wn-data's name)")
    parser.add_argument("--name", default="wavenet", help="the files' stem: wavenet (the default model), wavenet-large")
    parser.add_argument("--int8-only", action="store_true", help="only NAME.int8.onnx, from the shipped NAME.onnx")
    args = parser.parse_args()
    if (args.checkpoint is None) != args.int8_only:
        parser.error("give a checkpoint, or --int8-only without one")
    pt, fp32, int8 = (args.out_dir / f"{args.name}{suffix}" for suffix in (".pt", ".onnx", ".int8.onnx"))
    val = split_items(read_items(args.data)).val
    if not args.int8_only:
        ckpt = ship_checkpoint(args.checkpoint, pt, args.source)
        print(f"wrote {pt} ({pt.stat().st_size:,} bytes; val {ckpt.metrics.get('val_loss')}, "
              f"step {ckpt.metrics.get('step')})")
        report = export_checkpoint(pt, fp32, items=val)
        print(f"wrote {fp32} ({report.file_size:,} bytes, {report.node_count} nodes; logits match torch to "
              f"{report.max_abs_diff:.2e})")
    q = quantize_int8(fp32, int8, val, runtime_scorer())
    print(f"wrote {int8} ({q.file_size:,} bytes, {q.file_size / q.fp32_file_size:.0%} of fp32); val "
          f"{q.fp32_loss:.6f} -> {q.int8_loss:.6f} nats/char ({q.delta:+.6f})")


if __name__ == "__main__":
    main()
