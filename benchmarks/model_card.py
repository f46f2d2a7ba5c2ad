"""Write models/README.md, the model card of the shipped models, from measurements made here and now.

    python benchmarks/model_card.py --results runs/benchmark/results.json --onnx models/wavenet.onnx
    python benchmarks/model_card.py --results runs/benchmark/results.json --shipped small \
        --large-onnx models/wavenet-large.onnx                  # the small and the large model

The results table lists every run of results.json (e.g. small, large, default, lecture) with the command
that trains it.

Every figure in the card comes from this script: training figures from the benchmark run's
results.json (benchmarks/train.py), file sizes and metadata from the .onnx files, NLL on the three
splits scored by the ONNX runtime, 20 samples for a fixed seed, and the share of 10,000 samples that
are not in the training data file.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from wavenet_edge.runtime import WavenetModel
from wavenet_edge.runtime.common.dataset import file_sha256, read_items, split_items
from wavenet_edge.train.download import KNOWN_DATASETS, resolve_data
from wavenet_edge.train.recipes import RECIPES

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/: the sweep's table
from sweep import read_results, table_lines  # noqa: E402

# Row labels by what each run is, not by when it was shipped (that history is CHANGELOG.md's); other runs: their
# recipe's or record's description.
LABELS = {
    "lecture": "the lecture's model, same data and split",
    "default-v4": "recipe default at 30,000 steps (batch 256, lr 4e-3)",
    "default-v3": "recipe default at batch 128, lr 3e-3",
    "default-v2": "recipe default at batch 128, lr 3e-3, with 36 channels, 64 skip and head channels",
    "default-v1": "default-v2 without EMA, 20,000 steps",
    "large-v2": "recipe large at weight decay 0.1 (30,000 steps, EMA 0.999)",
    "large-v1": "recipe large at weight decay 0.1, without EMA, 20,000 steps",
}


def split_losses(model: WavenetModel, split) -> dict[str, float]:
    return {part: model.score(split.part(part)).nll_per_char for part in ("train", "val", "test")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results", default="runs/benchmark/results.json")
    parser.add_argument("--onnx", default="models/wavenet.onnx")
    parser.add_argument("--int8", default="models/wavenet.int8.onnx")
    parser.add_argument("--data", default="names")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--novelty-samples", type=int, default=10_000)
    parser.add_argument("--out", default="models/README.md")
    parser.add_argument("--shipped", default=None,
                        help="the recipe of --onnx (default: small if results.json has it, else default)")
    parser.add_argument("--large", default="large", help="the recipe of --large-onnx")
    parser.add_argument("--large-onnx", default="models/wavenet-large.onnx", help="the large model (if shipped)")
    args = parser.parse_args()

    bench = json.loads(Path(args.results).read_text())
    runs = {r["recipe"]: r for r in bench["results"]}
    shipped = args.shipped or ("small" if "small" in runs else "default")
    ours = runs[shipped]
    data_path = resolve_data(args.data)
    items = read_items(data_path)
    split = split_items(items)
    known = set(items)

    model = WavenetModel.load(args.onnx, provider="cpu")
    meta = model.metadata
    onnx_losses = split_losses(model, split)
    samples = model.generate(20, seed=args.seed, exclude={""})  # as wn-generate prints them: no empty names
    many = model.generate(args.novelty_samples, seed=args.seed, exclude={""})
    novel = sum(name not in known for name in many) / len(many)
    size = Path(args.onnx).stat().st_size
    int8_line = ""
    if Path(args.int8).is_file():
        int8 = WavenetModel.load(args.int8, provider="cpu")
        int8_val = int8.score(split.val).nll_per_char
        int8_line = (f"| int8 (`{Path(args.int8).name}`) | {Path(args.int8).stat().st_size / 1024:.0f} KiB | "
                     f"{int8_val:.4f} | {int8_val - onnx_losses['val']:+.4f} |")

    source = KNOWN_DATASETS["names"]
    cfg = meta.config
    lines = [
        "# Model card: `wavenet.onnx`",
        "",
        "A character-level WaveNet (van den Oord et al. 2016) trained on makemore's names list; it generates",
        "new names that sound real. The file is self-describing: config, vocabulary, training metrics and",
        "data fingerprint are in its ONNX metadata (`wn-info models/wavenet.onnx`).",
        "",
        "Every figure below was written by `python benchmarks/model_card.py --results benchmarks/results/train.json`",
        "(this card is its output).",
        "",
        "## Model",
        "",
        f"- Architecture: `{cfg.arch}`, {cfg.channels} residual channels, {cfg.skip_channels} skip channels, "
        f"{cfg.head_channels} head channels, dilations {list(cfg.dilations)} x {cfg.stacks} stack(s), kernel 2, "
        f"gated tanh*sigmoid units, dropout {cfg.dropout} (training only).",
        f"- Receptive field: {cfg.receptive_field} tokens (the whole of any name up to "
        f"{cfg.receptive_field - 1} characters); vocabulary: {meta.vocab.size} ids "
        f"(boundary + `{''.join(meta.vocab.chars)}`).",
        f"- Parameters: {meta.parameters:,}. Graph: `{meta.graph}` (one token per row per call, cached "
        f"per-layer queues). File size: {size / 1024:.0f} KiB (fp32).",
        "",
        "## Data",
        "",
        f"- `names.txt` from {source.url}, SHA-256 `{file_sha256(data_path)}` ({len(items):,} names).",
        "- The lecture's split: `random.seed(42); random.shuffle(names)`, 80% train / 10% val / 10% test "
        f"({len(split.train):,} / {len(split.val):,} / {len(split.test):,}). Trained on train only; val chose "
        "the checkpoint; test was measured once.",
        "",
        "## Training",
        "",
        f"- Command: `{ours.get('command') or 'wn-train --data names --recipe ' + shipped}`.",
        f"- Recipe `{shipped}` in full: `" + recipe_command(ours) + "`",
        f"- Best val at step {ours['best_step']:,} of {ours['settings']['steps']:,}; wall time "
        f"{ours['wall_s']:.0f} s on {bench['machine']} (2-core x86_64, torch CPU build).",
        f"- Shipped with `python benchmarks/ship.py runs/{shipped}.pt --data data/names.txt`: "
        "`models/wavenet.pt` (its weights, config, vocabulary, metrics; no training state), `models/wavenet.onnx` "
        "and the int8 copy, exported and verified from that file.",
        "",
        "## Results (mean NLL per character, end token included; lower is better)",
        "",
        "| model | parameters | train | val | test | training time |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    large_file = Path(args.large_onnx) if Path(args.large_onnx).is_file() else None
    for r in ordered_runs(runs, shipped, args.large):
        lines.append(f"| {run_label(r, shipped, args.large, large_file)} | {r['parameters']:,} | "
                     f"{r['train_loss']:.4f} | {r['val_loss']:.4f} | {r['test_loss']:.4f} | {training_time(r, runs)} |")
    published = bench["lecture_published"]
    lines += [
        f"| lecture, published | {published['parameters']:,} | {published['train_loss']} | "
        f"{published['val_loss']} | | |",
        "",
        "Commands (each model from the repo, with `mkdir -p runs`; `small` needs its teacher, which its "
        "command trains first):",
        "",
        *[f"- `{r['recipe']}`: `{r.get('command') or 'wn-train --data names --recipe ' + r['recipe']}`"
          for r in ordered_runs(runs, shipped, args.large)],
        "",
        f"The same splits scored from the exported file by the ONNX runtime (`wn-eval --onnx {args.onnx} "
        f"--data data/names.txt --split val`): train {onnx_losses['train']:.4f}, val {onnx_losses['val']:.4f}, "
        f"test {onnx_losses['test']:.4f}.",
        "",
    ]
    if large_file is not None:
        large = WavenetModel.load(large_file, provider="cpu")
        large_losses = split_losses(large, split)
        lc = large.metadata.config
        lines += [f"The large model `{large_file.name}` ({large.metadata.parameters:,} parameters, {lc.channels} "
                  f"channels, {lc.skip_channels} skip, {lc.head_channels} head, dilations {list(lc.dilations)} x "
                  f"{lc.stacks}, {large_file.stat().st_size / 1024:.0f} KiB), scored the same way: train "
                  f"{large_losses['train']:.4f}, val {large_losses['val']:.4f}, test {large_losses['test']:.4f}"
                  + large_int8(large_file, split, large_losses["val"]) + "; shipped with `python benchmarks/ship.py "
                  f"runs/{args.large}.pt --data data/names.txt --name {large_file.stem}` "
                  "(`wn-generate --model large`).",
                  ""]
    if int8_line:
        lines += ["| file | size | val | change vs fp32 |", "|---|---:|---:|---:|",
                  f"| fp32 (`{Path(args.onnx).name}`) | {size / 1024:.0f} KiB | {onnx_losses['val']:.4f} | |",
                  int8_line, ""]
    sweep = read_results()
    if sweep:
        lines += ["## The sweep (`python benchmarks/sweep.py --report`)", "",
                  "Every configuration tried, one run each at seed 42 unless named, trained by "
                  "`wn-train --data names --recipe R [options] --seed S --threads 1` (one or two runs at a time on "
                  "the 2-core machine; wall times of runs side by side are longer); val chose the checkpoint, test "
                  "was measured once on it.", "", *table_lines(sweep), ""]
    lines += [
        f"## Samples (`wn-generate -n 20 --seed {args.seed}`)",
        "",
        "```",
        *samples,
        "```",
        "",
        f"Of {len(many):,} names sampled with seed {args.seed} (`wn-generate -n {len(many)} --seed {args.seed}`), "
        f"**{novel:.1%}** are not in names.txt.",
        "",
        "## Limits",
        "",
        "- Trained on US baby names (SSA, 2018): lowercase a-z only; other scripts and characters cannot be",
        "  generated or scored. Names reflect that list's biases.",
        "- Names have at most max_len (32) characters: a longer one is never produced (`--max-len` sets a",
        "  lower limit).",
        "",
    ]
    Path(args.out).write_text("\n".join(lines))
    print("\n".join(lines))


def large_int8(large_file: Path, split, fp32_val: float) -> str:
    """", int8 copy (NAME.int8.onnx, SIZE): val X (+D)" where the large model's int8 copy is there."""
    path = large_file.with_name(large_file.stem + ".int8.onnx")
    if not path.is_file():
        return ""
    val = WavenetModel.load(path, provider="cpu").score(split.val).nll_per_char
    return f"; int8 copy (`{path.name}`, {path.stat().st_size / 1024:.0f} KiB): val {val:.4f} ({val - fp32_val:+.4f})"


def ordered_runs(runs: dict, shipped: str, large: str) -> list[dict]:
    """The shipped model, the large one, the earlier shipped models (newest first), the lecture's, then the rest."""
    earlier = ("default-v4", "default-v3", "default-v2", "default-v1", "large-v2", "large-v1")
    first = [name for name in (shipped, large, *earlier, "lecture") if name in runs]
    return [runs[name] for name in dict.fromkeys(first + sorted(runs))]


def run_label(run: dict, shipped: str, large: str, large_file: Path | None) -> str:
    name = run["recipe"]
    if name == shipped:
        return f"**this model** (`{name}`)"
    if name == large:
        return f"large model (`{name}`)" + (f", `{large_file.name}`" if large_file else "")
    described = RECIPES[name].description if name in RECIPES else run.get("description") or name
    return f"{LABELS.get(name, described)} (`{name}`)"


def training_time(run: dict, runs: dict) -> str:
    """Wall time; a distilled model's own time plus its teacher's (the run it was taught by, where the record
    names one: `small` was taught by `large-v2`, before the recipe `large` changed)."""
    teacher = run.get("teacher_recipe") or (RECIPES[run["recipe"]].teacher if run["recipe"] in RECIPES else None)
    if teacher and teacher in runs:
        return f"{run['wall_s']:.0f} s + {runs[teacher]['wall_s']:.0f} s (teacher)"
    return f"{run['wall_s']:.0f} s"


def recipe_command(run: dict) -> str:
    c, s = run["config"], run["settings"]
    return (f"wn-train --data names --out runs/wavenet.pt --arch {c['arch']} --channels {c['channels']} "
            f"--skip-channels {c['skip_channels']} --head-channels {c['head_channels']} "
            f"--dilations {','.join(map(str, c['dilations']))} --stacks {c['stacks']} --dropout {c['dropout']} "
            f"--max-len {c['max_len']} --steps {s['steps']} --batch-size {s['batch_size']} --lr {s['lr']} "
            f"--optimizer {s['optimizer']} --weight-decay {s['weight_decay']} --warmup {s['warmup_steps']} "
            f"--min-lr-ratio {s['min_lr_ratio']} --grad-clip {s['grad_clip']} --eval-every {s['eval_every']} "
            f"--seed {s['seed']}" + (f" --ema {s['ema']}" if s.get("ema") else "")
            + (f" --teacher runs/{RECIPES[run['recipe']].teacher}.pt --distill-weight {s.get('distill_weight')} "
               f"--distill-temperature {s.get('distill_temperature')} --distill-schedule {s.get('distill_schedule')}"
               if run["recipe"] in RECIPES and RECIPES[run["recipe"]].teacher else ""))


if __name__ == "__main__":
    main()
