"""Train the default WaveNet and the lecture's baseline on the same data and split; print them side by side.

    python benchmarks/train.py                          # names.txt (fetched), both recipes, ~20 min on 2 cores
    python benchmarks/train.py --recipes default --threads 2
    python benchmarks/train.py --recipes large,small,default,lecture --threads 1     # all four (~1.5 h)
    python benchmarks/train.py --checkpoints small=runs/small.pt,large=runs/large.pt \
        --keep benchmarks/results/train.json            # measure trained checkpoints, keep the other runs
    python benchmarks/train.py --report benchmarks/results/train.json   # print the table of a kept run

A recipe with a teacher (`small` distils from `large`) uses OUT_DIR/<teacher>.pt, so list the teacher first.
--checkpoints measures checkpoints trained elsewhere (by the recipe's wn-train command) instead of training:
their training time is the trainer's own clock at the last evaluation. One given a recipe's name must hold
that recipe's model and settings (all but --samples), or it is refused, naming what differs.

Writes OUT_DIR/{default,lecture}.pt (+ metrics logs), OUT_DIR/results.json and a loss-curve PNG of
both runs. Loss = mean NLL per character, end token included (the lecture's metric); test is
measured once, on the best-val checkpoint.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path

import torch

from wavenet_edge.runtime.common.dataset import file_sha256, read_items, split_items
from wavenet_edge.runtime.config import ModelConfig
from wavenet_edge.runtime.vocab import Vocab
from wavenet_edge.train.batches import SequenceBatcher
from wavenet_edge.train.checkpoint import load_checkpoint, model_from_checkpoint
from wavenet_edge.train.distill import Teacher
from wavenet_edge.train.download import resolve_data
from wavenet_edge.train.evaluate import mean_nll
from wavenet_edge.train.plots import plot_loss_curves
from wavenet_edge.train.recipes import RECIPES
from wavenet_edge.train.trainer import Reporter, Trainer

LECTURE_PUBLISHED = {"train_loss": 1.769, "val_loss": 1.993, "parameters": 76_579}


class PrintReporter(Reporter):
    def __init__(self, name: str):
        self.name = name

    def evaluation(self, record: dict, samples: list[str], is_best: bool) -> None:
        print(f"  [{self.name}] step {record['step']:>6}: train {record['train_loss']:.4f} "
              f"val {record['val_loss']:.4f} ({record['elapsed_s']:.0f} s)", file=sys.stderr, flush=True)


def recipe_command(name: str, out_dir: str = "runs") -> str:
    """The wn-train command(s) that train recipe `name` (its teacher first)."""
    teacher = RECIPES[name].teacher
    first = f"{recipe_command(teacher, out_dir)} && " if teacher else ""
    taught = f" --teacher {out_dir}/{teacher}.pt" if teacher else ""
    return f"{first}wn-train --data names --recipe {name}{taught} --out {out_dir}/{name}.pt --threads 1"


def run_recipe(name: str, split, vocab: Vocab, data_info: dict, out_dir: Path, steps: int | None) -> dict:
    recipe = RECIPES[name]
    config = ModelConfig(**{**recipe.model, "vocab_size": vocab.size})
    settings = recipe.settings if steps is None else replace(recipe.settings, steps=steps)
    out_path = out_dir / f"{name}.pt"
    teacher = Teacher.load(out_dir / f"{recipe.teacher}.pt", vocab) if recipe.teacher else None
    started = time.perf_counter()
    result = Trainer(config, vocab, split, settings, out_path, data_info, reporter=PrintReporter(name),
                     teacher=teacher).run()
    wall = time.perf_counter() - started
    return measured(name, result.checkpoint, split, wall, out_path)


def measured(name: str, ckpt, split, wall: float, path: Path) -> dict:
    """The results record of a trained checkpoint: its best-val figures and the test loss, measured once."""
    model = model_from_checkpoint(ckpt)
    test = mean_nll(model, SequenceBatcher(split.test, ckpt.vocab, ckpt.config.receptive_field), torch.device("cpu"))
    best, recipe = ckpt.metrics, RECIPES.get(name)
    return {"recipe": name, "description": recipe.description if recipe else "", "config": ckpt.config.to_dict(),
            "settings": ckpt.train_state["settings"], "parameters": best["parameters"], "best_step": best["step"],
            "train_loss": best["train_loss"], "val_loss": best["val_loss"], "test_loss": test,
            "wall_s": wall, "checkpoint": str(path), "history": ckpt.train_state["history"],
            "command": recipe_command(name) if recipe else "", "teacher": ckpt.teacher.get("metrics", {})}


def recipe_differences(name: str, ckpt) -> list[str]:
    """What a checkpoint's model and training settings have other than recipe `name`'s ("key here vs
    recipe"); `samples` (names printed at each evaluation, from their own generator) does not count."""
    recipe = RECIPES[name]
    config = ModelConfig(**{**recipe.model, "vocab_size": ckpt.config.vocab_size}).to_dict()
    wanted = {**{f"config {k}": v for k, v in config.items()},
              **{f"settings {k}": v for k, v in asdict(recipe.settings).items() if k != "samples"}}
    have = {**{f"config {k}": v for k, v in ckpt.config.to_dict().items()},
            **{f"settings {k}": v for k, v in ckpt.train_state["settings"].items() if k != "samples"}}
    return [f"{key} {have.get(key)!r} vs {wanted.get(key)!r}" for key in sorted(set(wanted) | set(have))
            if json.dumps(have.get(key)) != json.dumps(wanted.get(key))]


def checkpoint_results(spec: str, split, data_info: dict) -> list[dict]:
    """name=path,... -> results records of checkpoints trained elsewhere, on the same data."""
    results = []
    for item in spec.split(","):
        name, _, path = item.partition("=")
        ckpt = load_checkpoint(path)
        if ckpt.data.get("sha256") != data_info["sha256"]:
            sys.exit(f"Error: {path}: trained on other data (sha256 {ckpt.data.get('sha256')})")
        if name in RECIPES:  # recorded as the recipe's run: it must be the recipe's model and settings
            differ = recipe_differences(name, ckpt)
            if differ:
                sys.exit(f"Error: {path}: not recipe {name}'s run ({', '.join(differ)})")
        results.append(measured(name, ckpt, split, ckpt.train_state["history"][-1]["elapsed_s"], Path(path)))
    return results


def plot_results(summary: dict, path: Path) -> Path:
    """Both runs' train/val loss against training time, with the lecture's published val loss."""
    return plot_loss_curves({r["recipe"]: r["history"] for r in summary["results"]}, path,
                            title=f"{summary['data']['file']}: loss per character vs training time "
                                  f"({summary['machine']})",
                            reference={"lecture published val": LECTURE_PUBLISHED["val_loss"]}, x="elapsed_s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default="names", help="data file or known data set (default: names)")
    parser.add_argument("--recipes", default="default,lecture", help="comma-separated recipe names")
    parser.add_argument("--out-dir", default="runs/benchmark")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    parser.add_argument("--steps", type=int, default=None, help="override every recipe's steps (smoke runs)")
    parser.add_argument("--plot", default=None, help="loss-curve PNG (default: OUT_DIR/loss_curves.png)")
    parser.add_argument("--checkpoints", default=None, metavar="NAME=PATH,...",
                        help="measure these trained checkpoints instead of training --recipes")
    parser.add_argument("--keep", metavar="RESULTS_JSON", default=None,
                        help="also list the runs of an earlier results.json (the new ones replace those of the "
                             "same recipe)")
    parser.add_argument("--replot", metavar="RESULTS_JSON", default=None,
                        help="only redraw the plot from an earlier run's results.json")
    parser.add_argument("--report", metavar="RESULTS_JSON", default=None,
                        help="only print the table of an earlier run's results.json (no training)")
    args = parser.parse_args()
    if args.replot:
        plot_results(json.loads(Path(args.replot).read_text()), Path(args.plot or "loss_curves.png"))
        return
    if args.report:
        summary = json.loads(Path(args.report).read_text())
        print(f"data: {summary['data']['file']} ({summary['data']['items']} items, sha256 "
              f"{summary['data']['sha256'][:12]}...), machine: {summary['machine']}")
        print_table(summary["results"])
        return

    if args.threads:
        torch.set_num_threads(args.threads)
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    data_path = resolve_data(args.data)
    items = read_items(data_path)
    split = split_items(items)
    vocab = Vocab.from_items(split.train)
    data_info = {"source": args.data, "file": data_path.name, "sha256": file_sha256(data_path),
                 "items": len(items), "split": split.describe()}

    if args.checkpoints:
        results = checkpoint_results(args.checkpoints, split, data_info)
    else:
        results = [run_recipe(name, split, vocab, data_info, out_dir, args.steps) for name in args.recipes.split(",")]
    if args.keep:
        new = {r["recipe"] for r in results}
        kept = [r for r in json.loads(Path(args.keep).read_text())["results"] if r["recipe"] not in new]
        results += [{**r, "command": r.get("command") or recipe_command(r["recipe"])} for r in kept]
    machine = f"{platform.machine()}, {torch.get_num_threads()} torch threads, torch {torch.__version__}"
    if args.checkpoints:
        machine = (f"{platform.machine()}, torch {torch.__version__}; training times from each checkpoint's log "
                   "(its wn-train command, --threads 1)")
    summary = {"data": data_info, "machine": machine, "results": results, "lecture_published": LECTURE_PUBLISHED}
    (out_dir / "results.json").write_text(json.dumps(summary, indent=1))
    plot = plot_results(summary, Path(args.plot or out_dir / "loss_curves.png"))

    print(f"data: {data_path} ({len(items)} items, sha256 {data_info['sha256'][:12]}...), machine: {machine}")
    print_table(results)
    print(f"results: {out_dir / 'results.json'}; plot: {plot}")


def print_table(results: list[dict]) -> None:
    """The models side by side: parameters, train/val/test loss, wall time (and the lecture's published run)."""
    print(f"| {'model':<26} | {'params':>7} | {'train':>6} | {'val':>6} | {'test':>6} | {'wall':>7} |")
    print(f"|{'-' * 28}|{'-' * 9}|{'-' * 8}|{'-' * 8}|{'-' * 8}|{'-' * 9}|")
    for r in results:
        print(f"| {r['recipe']:<26} | {r['parameters']:>7,} | {r['train_loss']:.4f} | {r['val_loss']:.4f} | "
              f"{r['test_loss']:.4f} | {r['wall_s']:>5.0f} s |")
    p = LECTURE_PUBLISHED
    print(f"| {'lecture (published)':<26} | {p['parameters']:>7,} | {p['train_loss']:.3f}  | {p['val_loss']:.3f}  | "
          f"{'':>6} | {'':>7} |")


if __name__ == "__main__":
    main()
