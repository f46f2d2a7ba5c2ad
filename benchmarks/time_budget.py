"""What a wall-clock budget buys: `wn-train --time T` on the same data for a few budgets, one after the other;
prints, for each, the steps it chose, the time it took and its best val loss (mean NLL per character, end token
included), then the test loss of that checkpoint.

    python benchmarks/time_budget.py                                  # names (data/names.txt, fetched): 1m 5m 10m 30m
    python benchmarks/time_budget.py --data ../shared/data/names.txt --budgets 2m,10m --threads 1
    python benchmarks/time_budget.py --budgets 5s,10s --out-dir /tmp/tb      # a quick check that it works

Each run is the model wn-train chooses from the data (no --recipe), with every option left to it but --time,
--threads and --seed; the runs are separate processes, so the time includes the start-up as a user sees it. Run
it alone on the machine: other jobs change the speed, and so the steps a budget buys.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from wavenet_edge.runtime.common.dataset import read_items, split_items
from wavenet_edge.train.auto import describe_duration, parse_duration
from wavenet_edge.train.checkpoint import load_checkpoint, model_from_checkpoint
from wavenet_edge.train.download import resolve_data


def test_loss(checkpoint: Path, items: list[str]) -> float:
    """The best-val checkpoint's loss on the test split of `items`."""
    from wavenet_edge.train.batches import SequenceBatcher
    from wavenet_edge.train.evaluate import mean_nll

    ckpt = load_checkpoint(checkpoint)
    model = model_from_checkpoint(ckpt)
    batcher = SequenceBatcher(split_items(items).test, ckpt.vocab, ckpt.config.receptive_field)
    import torch

    return mean_nll(model, batcher, torch.device("cpu"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default="names", help="data file, or a known data set name (default: names)")
    parser.add_argument("--budgets", default="1m,5m,10m,30m", help="comma-separated --time values")
    parser.add_argument("--out-dir", default="runs/time-budget", help="where the checkpoints go")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--json", default=None, help="also write the rows to this JSON file")
    args = parser.parse_args(argv)

    budgets = [b.strip() for b in args.budgets.split(",") if b.strip()]
    for budget in budgets:
        parse_duration(budget)  # a bad value is refused before any run
    data = resolve_data(args.data)
    items = read_items(data)
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    wn_train = str(Path(sys.executable).parent / "wn-train")
    print(f"data: {data} ({len(items):,} items); wn-train --time T --threads {args.threads} --seed {args.seed}, "
          f"the model chosen from the data")
    print(f"{'budget':>8} {'wall':>10} {'steps':>8} {'steps/s':>8} {'params':>8} {'best val':>9} {'test':>7}")
    rows = []
    for budget in budgets:
        out = out_dir / f"budget-{budget}.pt"
        command = [wn_train, "--data", str(data), "--out", str(out), "--time", budget, "--threads",
                   str(args.threads), "--seed", str(args.seed), "--samples", "0", "--overwrite", "-q"]
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True)
        wall = time.perf_counter() - start
        if done.returncode != 0:
            print(f"{budget}: wn-train failed ({done.returncode}): {done.stderr.strip().splitlines()[-1:]}",
                  file=sys.stderr)
            return 1
        ckpt = load_checkpoint(out)
        state = ckpt.train_state or {}
        steps = int(state.get("step", 0))
        row = {"budget": budget, "budget_s": parse_duration(budget), "wall_s": round(wall, 1), "steps": steps,
               "steps_per_s": round(steps / max(float(state.get("elapsed", wall)), 1e-9), 1),
               "parameters": int(ckpt.metrics.get("parameters", 0)), "best_val": round(ckpt.metrics["val_loss"], 4),
               "best_step": int(ckpt.metrics["step"]), "test": round(test_loss(out, items), 4)}
        rows.append(row)
        print(f"{budget:>8} {describe_duration(wall):>10} {steps:>8,} {row['steps_per_s']:>8} "
              f"{row['parameters']:>8,} {row['best_val']:>9.4f} {row['test']:>7.4f}", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps({"data": str(data), "threads": args.threads, "rows": rows}, indent=2)
                                   + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
