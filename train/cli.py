"""wn-train: train a WaveNet (or the lecture's baseline) on any one-item-per-line text file.

    wn-train --data names --out model.pt                   # makemore's names.txt, fetched and hash-checked
    wn-train --data words.txt --out words.pt --time 10m     # the model chosen from the data, fitted to 10 minutes
    wn-train --data words.txt --init default --out tuned.pt --steps 500 --lr 1e-3    # fine-tune the shipped model
    wn-train --data words.txt --out words.pt --steps 5000 --channels 32
    wn-train --resume model.pt --steps 40000                # the data and options come from the checkpoint
    wn-train --data names --recipe large --out big.pt && wn-train --data names --teacher big.pt --out small.pt
    torchrun --nproc-per-node 2 -m wavenet_edge.train --data names --threads 1      # data-parallel
"""

from __future__ import annotations

import sys
import time
from dataclasses import replace
from importlib import resources
from pathlib import Path

import click

from wavenet_edge.runtime.common.commands import BATCH_SIZE, EXIT_INTERRUPTED, SEED, THREADS, command, usable_threads
from wavenet_edge.runtime.common.dataset import file_sha256, longest_item, read_items, split_items
from wavenet_edge.runtime.common.errors import ConfigError, DataError, ModelFileError, OutputError
from wavenet_edge.runtime.common.files import check_output_path
from wavenet_edge.runtime.config import ARCHITECTURES, LIMITS, ModelConfig
from wavenet_edge.runtime.vocab import Vocab

from .auto import choose_for_data, describe_duration, parse_duration
from .checkpoint import Checkpoint, load_checkpoint
from .data_checks import data_warnings
from .distill import DISTILL_SCHEDULES, Teacher
from .distributed import Distributed
from .download import DATA_DIR_ENV, KNOWN_DATASETS, resolve_data
from .progress import ProgressReporter
from .recipes import RECIPES
from .trainer import OPTIMIZERS, Trainer, TrainSettings, loss_plot_path, metrics_log_path

__all__ = ["SHIPPED_CHECKPOINTS", "main", "shipped_checkpoint_path"]

# --init NAME: the checkpoints of the shipped models, installed with the package (wavenet_edge.models)
SHIPPED_CHECKPOINTS = {"default": "wavenet.pt", "large": "wavenet-large.pt"}
MODEL_OPTIONS = ("arch", "channels", "skip_channels", "head_channels", "dilations", "stacks", "dropout", "n_embd",
                 "n_hidden", "block_size")


def shipped_checkpoint_path(name: str) -> Path:
    """The installed checkpoint of the shipped model `name` ("default", "large"); ModelFileError when absent."""
    filename = SHIPPED_CHECKPOINTS[name]
    try:
        path = resources.files("wavenet_edge.models") / filename
    except ModuleNotFoundError:
        path = None
    if path is None or not path.is_file():
        raise ModelFileError(f"--init {name}: the shipped model's checkpoint {filename} is not installed with this "
                             f"package (give the path of a .pt checkpoint)")
    return Path(str(path))


def checkpoint_argument(option: str, value: str) -> str:
    """The checkpoint file that --init or --resume names: a shipped model's name (--init) unless a file of that
    name exists; an exported model (.onnx, .ort) is refused in one line: training needs the .pt."""
    if option == "--init" and value in SHIPPED_CHECKPOINTS and not Path(value).exists():
        return str(shipped_checkpoint_path(value))
    path = Path(value)
    head = b""
    if path.is_file():
        try:
            with path.open("rb") as handle:
                head = handle.read(8)
        except OSError:
            pass
    if path.suffix.lower() in (".onnx", ".ort") or head[:1] == b"\x08" or head[4:8] == b"ORTM":
        what = "continues the run saved in" if option == "--resume" else "starts from"
        raise ModelFileError(f"{option} {value}: is an exported model (ONNX), not a training checkpoint; {option} "
                             f"{what} the .pt checkpoint that wn-train wrote")
    return value


def parse_dilations(text: str) -> tuple[int, ...]:
    try:
        dilations = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise ConfigError(f"--dilations must be comma-separated positive integers, got {text!r}") from None
    if any(d < 1 for d in dilations):
        raise ConfigError(f"--dilations must be positive integers, got {text!r}")
    return dilations


def pick_device(device: str) -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise ConfigError("--device cuda: no CUDA device is available to this torch build")
    return device


SETTING_OPTIONS = {"steps": "steps", "batch_size": "batch_size", "lr": "lr", "optimizer": "optimizer",
                   "weight_decay": "weight_decay", "warmup_steps": "warmup", "min_lr_ratio": "min_lr_ratio",
                   "grad_clip": "grad_clip", "eval_every": "eval_every", "seed": "seed", "samples": "samples",
                   "ema": "ema", "distill_weight": "distill_weight", "distill_temperature": "distill_temperature",
                   "distill_schedule": "distill_schedule"}


def given_on_command_line(option: str) -> bool:
    source = click.get_current_context().get_parameter_source(option)
    return source == click.core.ParameterSource.COMMANDLINE


def merge_settings(base: TrainSettings, given: TrainSettings) -> TrainSettings:
    """`base` (a recipe's or a resumed run's settings) with the options given on this command line."""
    merged = {name: getattr(given if given_on_command_line(option) else base, name)
              for name, option in SETTING_OPTIONS.items()}
    return TrainSettings(**merged)


@command(show_default=True)
@click.option("--data", "data_spec", default=None,
              help="Text file, one item per line, or a known data set: names. With --resume: the run's own data.")
@click.option("--out", "out_path", type=click.Path(), default=None,
              help="Checkpoint to write (best val weights). Default: model.pt, or the --resume file.")
@click.option("--recipe", type=click.Choice(sorted(RECIPES)), default=None,
              help="Start from a named recipe (model and settings); other options override it.")
@click.option("--arch", default=None, help=f"Architecture: {', '.join(ARCHITECTURES)} (default wavenet).")
@click.option("--channels", type=int, default=None, help="wavenet: residual channels (also the embedding size).")
@click.option("--skip-channels", type=int, default=None, help="wavenet: skip channels.")
@click.option("--head-channels", type=int, default=None, help="wavenet: hidden width of the output layers.")
@click.option("--dilations", default=None, help="wavenet: dilations of one stack, e.g. 1,2,4,8.")
@click.option("--stacks", type=int, default=None, help="wavenet: how many times the dilation cycle repeats.")
@click.option("--dropout", type=float, default=None, help="wavenet: dropout on the gated activations.")
@click.option("--n-embd", type=int, default=None, help="lecture: embedding size.")
@click.option("--n-hidden", type=int, default=None, help="lecture: hidden width.")
@click.option("--block-size", type=int, default=None, help="lecture: context length (a power of two).")
@click.option("--max-len", type=int, default=None,
              help="Longest item accepted (characters). Default: the longest item of the data, at least 32.")
@click.option("--steps", type=int, default=TrainSettings.steps,
              help="Total optimisation steps. Default: chosen from the data (about 300 passes over the training "
                   "items, 2,000..45,000), or the recipe's.")
@click.option("--time", "time_budget", default=None, metavar="DURATION",
              help="Wall-clock budget, e.g. 90s, 10m, 1h30m: the step count (and the learning-rate schedule) is "
                   "fitted to it once the speed is measured, and recorded in the checkpoint for --resume.")
@click.option("--batch-size", type=BATCH_SIZE, default=None, help="Items (wavenet) or windows (lecture) per step.")
@click.option("--lr", type=float, default=None, help="Peak learning rate (adamw 3e-3, sgd 0.1).")
@click.option("--optimizer", type=str, default=None, help=f"{' or '.join(OPTIMIZERS)} (default per arch).")
@click.option("--weight-decay", type=float, default=TrainSettings.weight_decay)
@click.option("--warmup", type=int, default=TrainSettings.warmup_steps, help="Linear warm-up steps (adamw).")
@click.option("--min-lr-ratio", type=float, default=TrainSettings.min_lr_ratio, help="Cosine floor, x peak lr.")
@click.option("--grad-clip", type=float, default=TrainSettings.grad_clip, help="Gradient norm clip (0: off).")
@click.option("--eval-every", type=int, default=TrainSettings.eval_every,
              help="Steps between evaluations (with --init: default a tenth of --steps, at most 1000).")
@click.option("--samples", type=int, default=TrainSettings.samples, help="Names printed at each evaluation.")
@click.option("--seed", type=SEED, default=TrainSettings.seed)
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto")
@click.option("--threads", type=THREADS, default=1,
              help="torch CPU threads. One is the fastest per core for these small models, and far faster than "
                   "torch's default on a busy machine; more help only on an idle machine with cores to spare.")
@click.option("--resume", "resume_path", type=click.Path(dir_okay=False), default=None,
              help="Continue the run saved in this checkpoint (optimizer, step and RNG included).")
@click.option("--overwrite", is_flag=True,
              help="Replace an existing --out checkpoint with a new run (without it, an existing one is refused).")
@click.option("--init", "init_path", type=click.Path(dir_okay=False), default=None,
              help="Fine-tune: a new run that starts from this checkpoint's model and weights: a .pt file, or a "
                   "shipped model: default or large; its vocabulary must cover the data.")
@click.option("--ema", type=float, default=TrainSettings.ema,
              help="Decay of an exponential moving average of the weights, used for evaluation and the "
                   "checkpoint (0: off; e.g. 0.999).")
@click.option("--teacher", "teacher_path", type=click.Path(dir_okay=False), default=None,
              help="Distil from this checkpoint (any architecture, the same vocabulary).")
@click.option("--distill-weight", type=float, default=TrainSettings.distill_weight,
              help="With --teacher: a in (1 - a) NLL + a T^2 KL(teacher || student).")
@click.option("--distill-temperature", type=float, default=TrainSettings.distill_temperature,
              help="With --teacher: softmax temperature T of both models in the KL term.")
@click.option("--distill-schedule", type=click.Choice(DISTILL_SCHEDULES), default=TrainSettings.distill_schedule,
              help="With --teacher: constant a, or linear (a falls to 0 by the last step).")
@click.option("--allow-data-change", is_flag=True,
              help="--resume (or --teacher) on a data file whose hash differs from the checkpoint's.")
@click.option("--data-dir", default=None,
              help=f"Where known data sets are downloaded. Default: ${DATA_DIR_ENV} or ./data.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar or evaluation lines.")
def main(data_spec, out_path, recipe, arch, channels, skip_channels, head_channels, dilations, stacks, dropout, n_embd,
         n_hidden, block_size, max_len, steps, time_budget, batch_size, lr, optimizer, weight_decay, warmup,
         min_lr_ratio, grad_clip, eval_every, samples, seed, device, threads, resume_path, overwrite, init_path, ema,
         teacher_path, distill_weight, distill_temperature, distill_schedule, allow_data_change, data_dir, quiet):
    """Train a character-level model on DATA and write the best-val checkpoint to --out.

    Without --recipe, --init or --resume, the model and the settings are chosen from the data: a receptive
    field that covers the 95th-percentile item length (at least 31, the default recipe's), a width that follows
    the number of training characters, batch, learning rate and steps that follow the number of items; the
    choice is printed when training starts, and any option given here replaces its part. After a short
    warm-up the speed and the expected end are printed; --time fits the run to a wall-clock budget instead.
    An existing --out checkpoint is never replaced unless --overwrite (or --resume) is given."""
    started_at = time.perf_counter()  # a --time budget counts from here
    if data_spec is None and resume_path is None:
        raise click.UsageError("Missing option '--data'.")
    budget = parse_duration(time_budget) if time_budget is not None else None
    if budget is not None and given_on_command_line("steps"):
        raise ConfigError("--time and --steps both set the length of the run: give one")
    if budget is not None and resume_path is not None:
        raise ConfigError("--time with --resume: a resumed run keeps the step count it chose when it started "
                          "(raise it with --steps)")
    init_file = checkpoint_argument("--init", init_path) if init_path is not None else None
    if resume_path is not None:
        checkpoint_argument("--resume", resume_path)
    out_path = Path(out_path or resume_path or "model.pt")
    outputs = {"--out": out_path, "metrics log": metrics_log_path(out_path), "loss plot": loss_plot_path(out_path)}
    for option, path in outputs.items():  # before any work: wn-train must not find out after training
        inputs = {"--init": init_file, "--teacher": teacher_path}
        if option != "--out":  # --resume model.pt writes model.pt again: the way to continue a run
            inputs["--resume"] = resume_path
        check_output_path(path, option, inputs={k: v for k, v in inputs.items() if v is not None})
    settings = TrainSettings(steps=steps, batch_size=batch_size, lr=lr, optimizer=optimizer,
                             weight_decay=weight_decay, warmup_steps=warmup, min_lr_ratio=min_lr_ratio,
                             grad_clip=grad_clip, eval_every=eval_every, seed=seed, samples=samples, ema=ema,
                             distill_weight=distill_weight, distill_temperature=distill_temperature,
                             distill_schedule=distill_schedule)
    if recipe is not None:
        settings = merge_settings(RECIPES[recipe].settings, settings)
    if init_path is not None and not given_on_command_line("eval_every"):  # fine-tuning: short runs evaluate too
        settings = replace(settings, eval_every=max(1, min(TrainSettings.eval_every, settings.steps // 10)))
    settings.validate()
    threads = usable_threads(threads)
    model_options = {"arch": arch, "channels": channels, "skip_channels": skip_channels,
                     "head_channels": head_channels, "stacks": stacks, "dropout": dropout, "n_embd": n_embd,
                     "n_hidden": n_hidden, "block_size": block_size, "max_len": max_len,
                     "dilations": parse_dilations(dilations) if dilations is not None else None}
    model_options = {k: v for k, v in model_options.items() if v is not None}
    given_model = dict(model_options)  # the model options of this command line
    if recipe is not None:
        model_options = {**RECIPES[recipe].model, **model_options}

    resume = init = None
    if init_path is not None and resume_path is not None:
        raise ConfigError("--init and --resume exclude each other (--resume continues a run, --init starts a new one)")
    if init_file is not None:
        init = load_checkpoint(init_file)
        config = init.config
        for name, value in model_options.items():
            if name != "dropout" and getattr(config, name) != value:
                option = "--" + name.replace("_", "-")
                raise ConfigError(f"--init {init_path}: {option} {value} differs from the checkpoint's "
                                  f"{getattr(config, name)} (fine-tuning keeps the model; only --dropout may change)")
        config = replace(config, dropout=model_options.get("dropout", config.dropout))
    elif resume_path is not None:
        resume = load_checkpoint(resume_path)
        if "arch" in model_options and model_options["arch"] != resume.config.arch:
            raise ConfigError(f"--resume {resume_path}: checkpoint architecture is {resume.config.arch!r}, "
                              f"not {model_options['arch']!r}")
        config = resume.config
        for name, value in model_options.items():
            if getattr(config, name) != value:
                option = "--" + name.replace("_", "-")
                raise ConfigError(f"--resume {resume_path}: {option} {value} differs from the checkpoint's "
                                  f"{getattr(config, name)} (a resumed run keeps its model)")
    else:
        config = ModelConfig(**model_options)  # validates before the data is read

    if data_spec is None:  # --resume FILE alone: the run's own data (its sha256 is checked below)
        assert resume is not None
        data_spec = resume.data.get("source")
        if not isinstance(data_spec, str) or not data_spec:
            raise ConfigError(f"--resume {resume_path}: the checkpoint does not say which data it was trained on "
                              f"(give it with --data FILE)")
        if data_spec not in KNOWN_DATASETS and not Path(data_spec).is_file():
            raise DataError(f"--resume {resume_path}: the run's data {data_spec} is not there (give it with "
                            f"--data FILE)")
    data_path = resolve_data(data_spec, data_dir)
    for option, path in outputs.items():
        check_output_path(path, option, inputs={"--data": data_path})
    items, config = read_training_items(data_path, config, init_path or resume_path,
                                        "--init" if init_path is not None else "--resume")
    split = split_items(items)
    auto = None
    if recipe is None and init is None and resume is None and config.arch == "wavenet":
        # no recipe: the model and the settings come from the data; the options given replace their part
        auto = choose_for_data(items, split.train, settings.steps if given_on_command_line("steps") else None)
        config = replace(config, **{k: v for k, v in auto.model.items() if k not in given_model})
        settings = merge_settings(auto.settings, settings)
        settings.validate()
    # The vocabulary of every item: a character that only val or test items have gets an id too (its
    # embedding is never trained, so the model gives it a low probability) instead of making the file unusable.
    vocab = Vocab.from_items(items)
    val_only = sorted(set(vocab.chars) - set("".join(split.train)))
    notes = [f"note: characters {''.join(val_only)!r} occur only in val/test items; the vocabulary has them "
             f"(the model has never seen them in training)"] if val_only and init is None and resume is None else []
    if init is not None:
        missing = sorted(set(vocab.chars) - set(init.vocab.chars))
        if missing:
            raise DataError(f"--init {init_path}: {data_path} has characters the model does not know: "
                            f"{''.join(missing)!r}")
        vocab = init.vocab  # the model's ids
    if resume is not None:
        if set(vocab.chars) <= set(resume.vocab.chars):
            vocab = resume.vocab  # a run started before the vocabulary held val/test characters: its own ids
        if resume.vocab != vocab:
            raise DataError(f"--resume {resume_path}: the checkpoint's vocabulary ({''.join(resume.vocab.chars)!r}) "
                            f"differs from {data_path}'s ({''.join(vocab.chars)!r})")
        if not resume.train_state or "settings" not in resume.train_state:
            raise ModelFileError(f"--resume {resume_path}: the checkpoint holds no training state")
        saved = TrainSettings.from_dict(resume.train_state["settings"], f"--resume {resume_path}")
        settings = merge_settings(saved, settings)
        check_resumable(resume, resume_path, saved, settings)
    elif init is None:
        config = replace(config, vocab_size=vocab.size)
    if out_path.exists() and resume is None and not overwrite:  # checked last: bad input is named first
        raise OutputError(f"--out {out_path}: a checkpoint is already there; continue its run with --resume "
                          f"{out_path}, or start a new one over it with --overwrite")
    data_info = {"source": data_spec if data_spec in KNOWN_DATASETS else str(data_path), "file": data_path.name,
                 "sha256": file_sha256(data_path), "items": len(items), "split": split.describe()}
    if resume is not None:
        check_same_data(resume.data, data_info, f"--resume {resume_path}", allow_data_change)

    import torch

    if threads is not None:
        torch.set_num_threads(threads)
    if recipe is not None and RECIPES[recipe].teacher and teacher_path is None and resume is None:
        teacher_recipe = RECIPES[recipe].teacher
        raise ConfigError(f"--recipe {recipe} distils from the {teacher_recipe!r} recipe's model: train it first "
                          f"(wn-train --data {data_spec} --recipe {teacher_recipe} --out {teacher_recipe}.pt) and "
                          f"give it with --teacher {teacher_recipe}.pt")
    dist = Distributed.from_environment()
    if budget is not None and dist.enabled:
        raise ConfigError("--time runs in one process (every process would measure its own speed): under torchrun "
                          "give --steps")
    device = dist.device(pick_device(device))
    teacher = load_teacher(teacher_path, resume, resume_path, vocab, data_info, allow_data_change, device)
    if dist.is_main and resume is None:  # a resumed run was warned when it started
        for line in notes + data_warnings(data_path, items, split, fine_tuning=init is not None):
            click.echo(line, err=True)
    dist.setup(device)
    finished = False
    try:
        reporter = ProgressReporter(quiet or not dist.is_main)
        trainer = Trainer(config, vocab, split, settings, out_path, data_info, device, reporter, resume, teacher, dist,
                          init_weights=init.state_dict if init is not None else None, time_budget=budget,
                          started_at=started_at,
                          auto_eval=budget is not None and not given_on_command_line("eval_every")
                          and (auto is not None or init is not None))
        if dist.is_main and not quiet:
            source = ("chosen from the data" if auto is not None
                      else f"of recipe {recipe}" if recipe is not None
                      else f"of --init {init_path}" + (" (the shipped model)" if init_file != init_path else "")
                      if init is not None else f"of --resume {resume_path}" if resume is not None
                      else "from the options")
            click.echo(describe_run(source, trainer, items, budget), err=True)
        result = trainer.run()
        step = trainer.step
        del trainer  # DDP's reducer goes before the process group it uses
        finished = True
    finally:
        dist.close(wait=finished)
    if not dist.is_main:
        if result.interrupted:
            sys.exit(EXIT_INTERRUPTED)
        return 0
    best = result.best
    click.echo(f"best val {best['val_loss']:.4f} (train {best['train_loss']:.4f}) at step {best['step']}; "
               f"{best['parameters']:,} parameters; checkpoint {out_path}; log {metrics_log_path(out_path)}; "
               f"plot {loss_plot_path(out_path)}")
    if init is not None and best["step"] == 0 and step > 0:
        click.echo(f"Warning: no evaluation beat the starting weights of --init {init_path} (val "
                   f"{best['val_loss']:.4f} at step 0): {out_path} keeps them; try a lower --lr or fewer --steps",
                   err=True)
    if result.interrupted:
        click.echo(f"interrupted at step {step}: resume with --resume {out_path}", err=True)
        sys.exit(EXIT_INTERRUPTED)
    return 0


def describe_run(source: str, trainer: Trainer, items: list[str], budget: float | None) -> str:
    """One line: the model (where it comes from, its shape, parameters, receptive field against the item
    lengths) and the run (batch, steps)."""
    from .auto import length_percentile
    from .models import count_parameters

    c, s = trainer.config, trainer.settings
    if c.arch == "wavenet":
        shape = (f"wavenet, {c.stacks} x dilations {'-'.join(map(str, c.dilations))}, {c.channels} channels, "
                 f"{c.skip_channels} skip, {c.head_channels} head")
    else:
        shape = f"lecture, n_embd {c.n_embd}, n_hidden {c.n_hidden}, block {c.block_size}"
    length = (f"receptive field {c.receptive_field} characters (items: 95th percentile {length_percentile(items)}, "
              f"longest {max(len(i) for i in items)})")
    steps = (f"steps fitted to --time {describe_duration(budget)}" if budget is not None and trainer.step == 0
             else f"{s.steps:,} steps")
    return (f"model {source}: {shape}; {count_parameters(trainer.model):,} parameters; {length}; "
            f"batch {s.batch_size}, {steps}")


def read_training_items(data_path: Path, config: ModelConfig, checkpoint: str | None,
                        option: str) -> tuple[list[str], ModelConfig]:
    """The items, and the config with max_len sized from the data where it may follow it: from scratch
    without --max-len, max_len is the longest item's length, at least the default (or the recipe's). Over
    an explicit --max-len, or a checkpoint's max_len, the message names the longest item and its line."""
    if checkpoint is not None:
        items = read_items(data_path, max_len=config.max_len, limit=f"the max_len of the {option} model",
                           hint=f" ({option} {checkpoint} keeps its model)")
        return items, config
    if given_on_command_line("max_len"):
        items = read_items(data_path, max_len=config.max_len, limit="--max-len",
                           hint=" (raise --max-len, or leave it out to size it from the data)")
        return items, config
    most = LIMITS["max_len"][1]
    items = read_items(data_path, max_len=most, limit="max_len's upper bound")
    return items, replace(config, max_len=max(config.max_len, longest_item(items)))


def check_resumable(resume: Checkpoint, resume_path: str, saved: TrainSettings, settings: TrainSettings) -> None:
    """Refuse, in one line, a resume that cannot continue the saved run."""
    where = f"--resume {resume_path}"
    state = resume.train_state or {}
    done = state["step"] if isinstance(state.get("step"), int) else 0
    if settings.steps <= done:
        raise ConfigError(f"{where}: the run has already done {done} steps; nothing to do with --steps "
                          f"{settings.steps} (raise --steps to continue it)")
    if (settings.optimizer or saved.optimizer) != saved.optimizer:
        raise ConfigError(f"{where}: --optimizer {settings.optimizer} differs from the checkpoint's "
                          f"{saved.optimizer} (a resumed run keeps its optimizer)")
    if (settings.ema > 0) != (saved.ema > 0):
        was = "on" if saved.ema > 0 else "off"
        raise ConfigError(f"{where}: the run was trained with --ema {was}; a resumed run cannot turn it "
                          f"{'off' if saved.ema > 0 else 'on'}")


def check_same_data(saved: dict, data_info: dict, where: str, allow: bool) -> None:
    """The data hash recorded in a checkpoint must match this run's, unless --allow-data-change."""
    if not saved.get("sha256") or saved["sha256"] == data_info["sha256"]:
        return
    what = (f"{where}: it was trained on {saved.get('file', 'another file')} (sha256 {str(saved['sha256'])[:12]}...), "
            f"not {data_info['file']} (sha256 {data_info['sha256'][:12]}...)")
    if not allow:
        raise DataError(f"{what}; its split and metrics belong to that data (--allow-data-change to go on)")
    click.echo(f"Warning: {what}; going on (--allow-data-change): the split and the metrics differ", err=True)


def load_teacher(teacher_path: str | None, resume: Checkpoint | None, resume_path: str | None, vocab: Vocab,
                 data_info: dict, allow_data_change: bool, device: str) -> Teacher | None:
    """The --teacher, or on --resume the run's own teacher (same file, checked by its sha256)."""
    saved = resume.teacher if resume is not None else {}
    if resume is not None and not saved and teacher_path is not None:
        raise ConfigError(f"--resume {resume_path}: the run was trained without a teacher; "
                          "--teacher cannot be added on resume")
    path = teacher_path or saved.get("path")
    if path is None:
        for option in ("distill_weight", "distill_temperature", "distill_schedule"):
            if given_on_command_line(option):
                raise ConfigError(f"--{option.replace('_', '-')} needs --teacher")
        return None
    teacher = Teacher.load(path, vocab, device)
    if saved and teacher.identity["sha256"] != saved.get("sha256"):
        raise ConfigError(f"--resume {resume_path}: the teacher {path} is not the file the run was trained with "
                          f"(sha256 {str(saved.get('sha256'))[:12]}...)")
    check_same_data(teacher.identity["data"], data_info, f"--teacher {path}", allow_data_change)
    return teacher


if __name__ == "__main__":
    main()
