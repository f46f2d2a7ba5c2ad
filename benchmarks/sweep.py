"""A planned, resumable sweep of training configurations on names.txt, one or two runs at a time, each
appended to benchmarks/results/sweep.jsonl as it finishes (issue 18).

    python benchmarks/sweep.py --list                          # the plan: every configuration, by size class
    python benchmarks/sweep.py --only noise --jobs 2           # the noise floor: the default recipe at 3 seeds
    python benchmarks/sweep.py --class default --jobs 2        # every default-class configuration (hours)
    python benchmarks/sweep.py --report                        # the table and the seed spread, from the file
    python benchmarks/sweep.py --from-shipped large-s42        # a noise run that is the shipped recipe's own run

A run is `wn-train --data names --recipe R [overrides] --seed S --threads 1`; its record holds the command,
parameters, best val (the checkpoint's), test (measured once on that checkpoint) and the wall time. A
configuration already in the results file is skipped, so an interrupted sweep continues where it stopped.
A lever counts as a gain only beyond the seed spread of its recipe (the noise floor, `--report`).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "sweep.jsonl"
RUNS = ROOT / "runs" / "sweep"
DATA = ROOT.parent / "shared" / "data" / "names.txt"

OLD_DEFAULT = ["--batch-size", "128", "--lr", "3e-3"]  # recipe default's settings until this sweep
OLD_LARGE = ["--weight-decay", "0.1"]  # recipe large's weight decay until l-wd0.2 and its second seed

# (name, size class, recipe, overrides, seed): the noise floor first, then the levers of each class
PLAN: list[tuple[str, str, str, list[str], int]] = [
    # the recipe default before this sweep (batch 128, lr 3e-3); its levers below are relative to it
    ("default-s42", "noise", "default", OLD_DEFAULT, 42),
    ("default-s43", "noise", "default", OLD_DEFAULT, 43),
    ("default-s44", "noise", "default", OLD_DEFAULT, 44),
    ("large-s42", "noise", "large", OLD_LARGE, 42),
    ("large-s43", "noise", "large", OLD_LARGE, 43),
    # default class (<= 80k parameters)
    ("d-b256-lr4e-3", "default", "default", ["--batch-size", "256", "--lr", "4e-3"], 42),
    ("d-b512-lr6e-3", "default", "default", ["--batch-size", "512", "--lr", "6e-3"], 42),
    ("d-steps45k", "default", "default", [*OLD_DEFAULT, "--steps", "45000"], 42),
    ("d-c28-skip112", "default", "default",
     [*OLD_DEFAULT, "--channels", "28", "--skip-channels", "112", "--head-channels", "112"], 42),
    ("d-c24-skip128", "default", "default",
     [*OLD_DEFAULT, "--channels", "24", "--skip-channels", "128", "--head-channels", "128"], 42),
    ("d-dropout0.15", "default", "default", [*OLD_DEFAULT, "--dropout", "0.15"], 42),
    ("d-dropout0.35", "default", "default", [*OLD_DEFAULT, "--dropout", "0.35"], 42),
    ("d-wd0.05", "default", "default", [*OLD_DEFAULT, "--weight-decay", "0.05"], 42),
    ("d-wd0.2", "default", "default", [*OLD_DEFAULT, "--weight-decay", "0.2"], 42),
    ("d-ema0.9995", "default", "default", [*OLD_DEFAULT, "--ema", "0.9995"], 42),
    ("d-minlr0.01", "default", "default", [*OLD_DEFAULT, "--min-lr-ratio", "0.01"], 42),
    ("d-dil1-16", "default", "default",
     [*OLD_DEFAULT, "--dilations", "1,2,4,8,16", "--stacks", "1", "--channels", "40"], 42),
    # the best three at a second seed (the first is the recipe default since this sweep)
    ("d-b256-lr4e-3-s43", "default", "default", ["--batch-size", "256", "--lr", "4e-3"], 43),
    ("d-b512-lr6e-3-s43", "default", "default", ["--batch-size", "512", "--lr", "6e-3"], 43),
    ("d-steps45k-s43", "default", "default", [*OLD_DEFAULT, "--steps", "45000"], 43),
    # the two levers that held at both seeds, together: batch 256 with lr 4e-3 (the recipe since) and 45,000 steps
    ("d-b256-steps45k", "default", "default", ["--batch-size", "256", "--lr", "4e-3", "--steps", "45000"], 42),
    ("d-b256-steps45k-s43", "default", "default", ["--batch-size", "256", "--lr", "4e-3", "--steps", "45000"], 43),
    # large class (<= 250k parameters); the runs made before the recipe took weight decay 0.2 name the old 0.1,
    # the rest are relative to the recipe as it is
    ("l-c48-skip224", "large", "large", [*OLD_LARGE, "--channels", "48", "--skip-channels", "224",
                                         "--head-channels", "224"], 42),
    ("l-b256-lr4e-3", "large", "large", ["--batch-size", "256", "--lr", "4e-3"], 42),
    ("l-dropout0.35", "large", "large", [*OLD_LARGE, "--dropout", "0.35"], 42),
    ("l-dropout0.4", "large", "large", [*OLD_LARGE, "--dropout", "0.4"], 42),
    ("l-wd0.2", "large", "large", ["--weight-decay", "0.2"], 42),
    ("l-steps20k", "large", "large", [*OLD_LARGE, "--steps", "20000"], 42),
    ("l-ema0.9995", "large", "large", ["--ema", "0.9995"], 42),
    ("l-c56-skip160", "large", "large", ["--channels", "56", "--skip-channels", "160", "--head-channels", "160"], 42),
    ("l-b256-dropout0.35", "large", "large", ["--batch-size", "256", "--lr", "4e-3", "--dropout", "0.35"], 42),
    ("l-minlr0.01", "large", "large", ["--min-lr-ratio", "0.01"], 42),
    ("l-stacks3", "large", "large", ["--stacks", "3", "--channels", "52", "--skip-channels", "128",
                                     "--head-channels", "128"], 42),
    # weight decay 0.2 was the first large-class gain (val still falling at the last step): its second seed,
    # stronger decay, and more steps
    ("l-wd0.2-s43", "large", "large", ["--weight-decay", "0.2"], 43),
    ("l-wd0.4", "large", "large", ["--weight-decay", "0.4"], 42),
    ("l-wd0.2-steps45k", "large", "large", ["--weight-decay", "0.2", "--steps", "45000"], 42),
    # the large class's best three at a second seed (l-wd0.2's is above): 45,000 steps, averaged weights, batch 256
    ("l-wd0.2-steps45k-s43", "large", "large", ["--weight-decay", "0.2", "--steps", "45000"], 43),
    ("l-ema0.9995-s43", "large", "large", ["--ema", "0.9995"], 43),
    ("l-b256-lr4e-3-s43", "large", "large", ["--batch-size", "256", "--lr", "4e-3"], 43),
]


def done_names() -> set[str]:
    if not RESULTS.is_file():
        return set()
    return {json.loads(line)["name"] for line in RESULTS.read_text().splitlines() if line.strip()}


def run_one(entry: tuple[str, str, str, list[str], int], steps: int | None) -> dict:
    name, size_class, recipe, overrides, seed = entry
    RUNS.mkdir(parents=True, exist_ok=True)
    out = RUNS / f"{name}.pt"
    extra = ["--steps", str(steps)] if steps else []
    train = Path(sys.executable).with_name("wn-train")  # the venv's command, with or without an activated venv
    cmd = [str(train), "--data", str(DATA), "--recipe", recipe, *overrides, *extra, "--seed", str(seed),
           "--out", str(out), "--threads", "1", "--samples", "0", "--quiet"]
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    from wavenet_edge.runtime.common.dataset import read_items, split_items
    from wavenet_edge.train.batches import SequenceBatcher
    from wavenet_edge.train.checkpoint import load_checkpoint, model_from_checkpoint
    from wavenet_edge.train.evaluate import mean_nll

    ckpt = load_checkpoint(out)
    model = model_from_checkpoint(ckpt).eval()
    test = split_items(read_items(DATA)).test
    test_loss = mean_nll(model, SequenceBatcher(test, ckpt.vocab, ckpt.config.receptive_field), "cpu")
    return {"name": name, "class": size_class, "recipe": recipe, "overrides": overrides, "seed": seed,
            "steps": steps, "command": " ".join(["wn-train", "--data", "names"] + cmd[3:]),
            "parameters": ckpt.metrics.get("parameters"), "best_step": ckpt.metrics.get("step"),
            "val_loss": ckpt.metrics.get("val_loss"), "test_loss": test_loss, "wall_s": round(wall, 1)}


def shipped_record(entry: tuple[str, str, str, list[str], int]) -> dict:
    """A noise-floor record from the shipped recipe's own run (benchmarks/results/train.json): the recipe at the
    same seed, trained by benchmarks/train.py (with --samples 4, so not bit for bit the sweep's command, but
    the same recipe and seed: one more draw of the noise, as the floor needs)."""
    name, size_class, recipe, overrides, seed = entry
    runs = json.loads((ROOT / "benchmarks" / "results" / "train.json").read_text())["results"]
    run = next(r for r in runs if r["recipe"] == recipe)
    if overrides or run["settings"]["seed"] != seed:
        sys.exit(f"{name}: not the shipped {recipe} recipe at seed {seed}")
    return {"name": name, "class": size_class, "recipe": recipe, "overrides": overrides, "seed": seed, "steps": None,
            "command": run["command"], "source": "benchmarks/results/train.json (the shipped recipe's run)",
            "parameters": run["parameters"], "best_step": run["best_step"], "val_loss": run["val_loss"],
            "test_loss": run["test_loss"], "wall_s": round(run["wall_s"], 1)}


def read_results() -> list[dict]:
    if not RESULTS.is_file():
        return []
    return [json.loads(line) for line in RESULTS.read_text().splitlines() if line.strip()]


def table_lines(rows: list[dict]) -> list[str]:
    """The results as a Markdown table (every run, its configuration against its recipe) and the noise floor."""
    lines = ["| run | class | configuration (`--recipe R ...`) | seed | params | val | test | wall |",
             "|---|---|---|--:|--:|--:|--:|--:|"]
    for r in rows:
        config = " ".join([f"`{r['recipe']}`", *r["overrides"]])
        lines.append(f"| {r['name']} | {r['class']} | {config} | {r['seed']} | {r['parameters']:,} | "
                     f"{r['val_loss']:.4f} | {r['test_loss']:.4f} | {r['wall_s']:.0f} s |")
    lines.append("")
    for recipe in ("default", "large"):
        vals = [r["val_loss"] for r in rows if r["class"] == "noise" and r["recipe"] == recipe]
        tests = [r["test_loss"] for r in rows if r["class"] == "noise" and r["recipe"] == recipe]
        if len(vals) >= 2:
            lines.append(f"Noise floor, recipe `{recipe}` as it was: {len(vals)} seeds, val {min(vals):.4f}.."
                         f"{max(vals):.4f} (spread {max(vals) - min(vals):.4f}, standard deviation "
                         f"{statistics.stdev(vals):.4f}), test {min(tests):.4f}..{max(tests):.4f} (spread "
                         f"{max(tests) - min(tests):.4f}); a lever counts as a gain only beyond the spread.")
    return lines


def report() -> None:
    print("\n".join(table_lines(read_results())))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--list", action="store_true", help="print the plan and exit")
    parser.add_argument("--report", action="store_true", help="print the results table and the noise floor")
    parser.add_argument("--class", dest="size_class", default=None, help="only this class: noise, default, large")
    parser.add_argument("--only", default=None, help="comma-separated run names (or a class name)")
    parser.add_argument("--jobs", type=int, default=1, choices=(1, 2), help="runs side by side (one core each)")
    parser.add_argument("--steps", type=int, default=None, help="override the steps (recorded; not for results)")
    parser.add_argument("--from-shipped", default=None, metavar="NAME",
                        help="record run NAME (the shipped recipe at its seed) from benchmarks/results/train.json")
    args = parser.parse_args()
    if args.from_shipped:
        entry = next((e for e in PLAN if e[0] == args.from_shipped), None)
        if entry is None or args.from_shipped in done_names():
            sys.exit(f"{args.from_shipped}: not in the plan, or already recorded")
        with RESULTS.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(shipped_record(entry)) + "\n")
        report()
        return 0
    if args.list:
        for name, size_class, recipe, overrides, seed in PLAN:
            print(f"{size_class:8s} {name:22s} --recipe {recipe} {' '.join(overrides)} --seed {seed}")
        return 0
    if args.report:
        report()
        return 0
    wanted = set(args.only.split(",")) if args.only else None
    todo = [e for e in PLAN if (args.size_class is None or e[1] == args.size_class)
            and (wanted is None or e[0] in wanted or e[1] in wanted) and e[0] not in done_names()]
    print(f"{len(todo)} run(s) to do: {', '.join(e[0] for e in todo)}", file=sys.stderr)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        for record in pool.map(lambda e: run_one(e, args.steps), todo):
            with RESULTS.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(record) + "\n")
            print(f"{record['name']}: val {record['val_loss']:.4f} test {record['test_loss']:.4f} "
                  f"({record['wall_s']:.0f} s)", file=sys.stderr, flush=True)
    report()
    return 0


if __name__ == "__main__":
    sys.exit(main())
