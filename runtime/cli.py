"""wn-generate, wn-complete, wn-eval, wn-info: thin commands over WavenetModel (onnxruntime, numpy and click only).

    wn-generate -n 20 --seed 1 --temperature 0.8          # the shipped model
    wn-complete --prefix ka -k 10                          # the 10 most probable names that start with "ka"
    wn-generate --onnx model.onnx -n 1000 --unique --exclude names.txt --format jsonl
    wn-eval --onnx model.onnx --data names.txt --split val
    wn-info model.onnx

Bad input ends in one line "Error: ..." on stderr and exit status 2 (see common/commands.py).
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import cast

import click

from .common.commands import BATCH_SIZE, SEED, THREADS, command, usable_threads
from .common.dataset import file_sha256, read_items, split_items
from .common.errors import DataError, WavenetEdgeError
from .common.version import package_version
from .complete import DEFAULT_MAX_NODES, MAX_K
from .config import LIMITS
from .contract import GRAPH_STEP
from .generation import DEFAULT_BATCH_SIZE
from .model import SHIPPED_MODELS, WavenetModel, shipped_model_path
from .providers import available_providers

__all__ = ["complete_command", "eval_command", "generate_command", "info_command"]

PROGRESS_MIN_NAMES = 1000  # show progress on a terminal from this many names on
FLUSH_EVERY_S = 0.02  # names stream out: the output is flushed at least this often while names arrive
MAX_LEN = click.IntRange(1, LIMITS["max_len"][1])  # names longer than a model's longest item make no sense


_SAMPLING_OPTIONS = (  # wn-generate's and wn-dask generate's, one definition so they cannot drift apart
    click.option("--seed", type=SEED, default=None, help="Random seed (default: a fresh one; --verbose shows it)."),
    click.option("--temperature", type=float, default=1.0, show_default=True,
                 help="> 0; lower is more conservative."),
    click.option("--top-k", type=int, default=None, help="Sample among the k most likely characters (1: greedy)."),
    click.option("--top-p", type=float, default=None,
                 help="Nucleus sampling: smallest set with this mass, in (0, 1]."),
    click.option("--prefix", default="", help="Every name starts with this text."),
    click.option("--max-len", type=MAX_LEN, default=None,
                 help="Longest name in characters: longer names are not produced, never cut (default: the "
                      "model's max_len)."),
)


def sampling_options(func):
    """--seed, --temperature, --top-k, --top-p, --prefix and --max-len, in that order in --help."""
    for option in reversed(_SAMPLING_OPTIONS):
        func = option(func)
    return func


def _load(onnx_path: str | None, shipped: str | None, provider: str, threads: int | None) -> WavenetModel:
    if onnx_path is not None and shipped is not None:
        raise WavenetEdgeError("--onnx and --model both name a model: give one")
    path = Path(onnx_path) if onnx_path is not None else shipped_model_path(shipped or "default")
    # the load's warnings on stderr (wn-generate has set up its own, with --verbose's notes)
    watched = logging.getLogger("wavenet_edge").handlers
    with contextlib.nullcontext() if watched else _notes_on_stderr(False):
        return WavenetModel.load(path, provider=provider, threads=usable_threads(threads))


def _shipped_label(onnx_path: str | None, shipped: str | None) -> str | None:
    """"the shipped model 'default'" when no --onnx names the model (None when one does)."""
    return None if onnx_path is not None else f"the shipped model {shipped or 'default'!r}"


def _loaded(onnx_path: str | None, shipped: str | None) -> None:
    """From here on, the command's errors depend on the model: they name it if it is a shipped one."""
    click.get_current_context().meta["wavenet_edge.model_label"] = _shipped_label(onnx_path, shipped)


def _names_shipped_model(func):
    """A command whose errors after `_loaded` say "the shipped model 'default': ..." when no --onnx was given
    (a vocabulary or a max_len that is not the user's own model's)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except WavenetEdgeError as err:
            label = click.get_current_context().meta.get("wavenet_edge.model_label")
            if label is None or str(err).startswith(label):
                raise
            raise type(err)(f"{label}: {err}") from None

    return wrapper


def _model_line(model: WavenetModel, onnx_path: str | None, shipped: str | None) -> str:
    """--verbose: "model: the shipped model 'default' (/path/wavenet.onnx)" or "model: PATH"."""
    label = _shipped_label(onnx_path, shipped)
    return f"model: {label} ({model.path})" if label else f"model: {model.path}"


def shipped_sizes() -> str:
    """"default (78,811 parameters) or large (...)": read from the shipped files' metadata."""
    import onnxruntime as ort

    parts = []
    for name in SHIPPED_MODELS:
        try:
            path = shipped_model_path(name)
            props = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).get_modelmeta()
            count = int(props.custom_metadata_map.get("wavenet_edge.parameters", ""))
            parts.append(f"{name} ({count:,} parameters)")
        except Exception:  # not installed, or unreadable: the name alone
            parts.append(name)
    return " or ".join(parts)


class _ShippedModelOption(click.Option):
    """--model, whose help gives the shipped models' sizes as their files say, computed only for --help."""

    def get_help_record(self, ctx):
        self.help = f"A model installed with the package, instead of --onnx: {shipped_sizes()}."
        return super().get_help_record(ctx)


def _model_options(func):
    func = click.option("--model", "shipped", cls=_ShippedModelOption, type=click.Choice(list(SHIPPED_MODELS)),
                        default=None, help="A model installed with the package, instead of --onnx.")(func)
    return click.option("--onnx", "onnx_path", metavar="PATH",
                        help="Model file (default: the shipped default model).")(func)


class _NoteFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return ("warning: " if record.levelno >= logging.WARNING else "note: ") + record.getMessage()


@contextlib.contextmanager
def _notes_on_stderr(enabled: bool) -> Iterator[None]:
    """The library's warnings (e.g. a device path that disagrees with the CPU) go to stderr, one line each;
    with --verbose (`enabled`) its notes too (e.g. which provider "auto" passed over, and why)."""
    handler = logging.StreamHandler()
    handler.setFormatter(_NoteFormatter())
    handler.setLevel(logging.INFO if enabled else logging.WARNING)
    logger = logging.getLogger("wavenet_edge")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO if enabled else logging.WARNING)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def _provider_options(func):
    func = click.option("--threads", type=THREADS, default=None,
                        help="CPU cores to use: a big request is split over this many worker processes, with the "
                             "same results (default: every physical core; small requests and batch 1 use one). On "
                             "a GPU: the host threads (at most 8) that draw a big batch's tokens.")(func)
    func = click.option("--provider", default="auto", show_default=True,
                        help="auto (the best that works here), an installed provider's short name (cpu, cuda, "
                             "openvino, tensorrt, dml, coreml, rocm, ...) or its full ONNX Runtime name; a named "
                             "provider that cannot run, or that disagrees with the CPU, is an error.")(func)
    return func


@command()
@_model_options
@click.option("-n", "n", type=int, default=10, show_default=True, help="Number of names.")
@sampling_options
@click.option("--min-len", type=click.IntRange(0, LIMITS["max_len"][1]), default=0,
              help="Shortest name in characters.")
@click.option("--suffix", default="", help="Every name ends with this text.")
@click.option("--contains", default="", help="Every name contains this text.")
@click.option("--max-samples", type=click.IntRange(1, None), default=None,
              help="With constraints: give up after this many draws (default: max(100000, 1000 x -n)).")
@click.option("--unique", is_flag=True, help="No name twice.")
@click.option("--exclude", metavar="FILE", default=None, help="Never output a name listed in FILE (one per line).")
@click.option("--format", "fmt", type=click.Choice(["text", "jsonl"]), default="text", show_default=True,
              help='text: one name per line; jsonl: {"name", "logprob"} per line.')
@_provider_options
@click.option("--batch-size", type=BATCH_SIZE, default=DEFAULT_BATCH_SIZE, show_default=True,
              help="Names generated side by side (does not change which names a seed gives).")
@click.option("--verbose", is_flag=True, help="Model, providers, seed and speed on stderr.")
@_names_shipped_model
def generate_command(onnx_path, shipped, n, seed, temperature, top_k, top_p, prefix, max_len, min_len, suffix, contains,
                     max_samples, unique, exclude, fmt, provider, threads, batch_size, verbose):
    """Generate names with an exported model. Names stream out as they are finished; an empty name (the
    model ending at once) is skipped and sampled again. --min-len, --max-len, --suffix and --contains keep
    the draws that satisfy them: exact samples of the model restricted to such names."""
    if n is not None and n < 1:
        raise WavenetEdgeError(f"-n must be a positive integer, got {n}")
    banned = {""}  # a name that ends at once is no name: sample another
    if exclude is not None:
        try:
            banned.update(read_items(exclude))
        except DataError as err:
            raise WavenetEdgeError(f"--exclude {err}") from None
    # the library's notes until the command ends: the load's, and the worker processes' start
    click.get_current_context().with_resource(_notes_on_stderr(verbose))
    model = _load(onnx_path, shipped, provider, threads)
    _loaded(onnx_path, shipped)
    if seed is None:
        import secrets  # only here: it imports hmac and random, 5 ms of every start-up

        seed = secrets.randbits(63)
    jsonl = fmt == "jsonl"
    names = model.iter_generate(n, temperature=temperature, top_k=top_k, top_p=top_p, seed=seed, prefix=prefix,
                                max_len=max_len, batch_size=batch_size, return_logprobs=jsonl, unique=unique,
                                exclude=banned, min_len=min_len, suffix=suffix, contains=contains,
                                max_samples=max_samples)
    if verbose:
        click.echo(f"{_model_line(model, onnx_path, shipped)} ({model.graph} graph); providers: "
                   f"{', '.join(model.providers)}; "
                   f"seed: {seed}", err=True)
    progress = n >= PROGRESS_MIN_NAMES and sys.stderr.isatty() and not sys.stdout.isatty()
    out = sys.stdout
    start = last_flush = time.perf_counter()
    chars = count = 0
    for item in names:  # a reader that goes away (wn-generate | head) ends the command quietly (commands.py)
        if jsonl:
            name, logprob = cast("tuple[str, float]", item)
            out.write(json.dumps({"name": name, "logprob": round(logprob, 6)}, ensure_ascii=False) + "\n")
        else:
            name = cast(str, item)
            out.write(name + "\n")
        count += 1
        chars += len(name) + 1
        now = time.perf_counter()
        if now - last_flush >= FLUSH_EVERY_S:
            out.flush()
            last_flush = now
            if progress:
                click.echo(f"\r{count}/{n} names", err=True, nl=False)
    out.flush()
    if progress:
        click.echo(f"\r{count}/{n} names", err=True)
    if verbose:
        seconds = time.perf_counter() - start
        click.echo(f"{count} names, {chars} characters (end tokens included) in {seconds:.3f} s: "
                   f"{seconds / max(chars, 1) * 1e6:.1f} us per character", err=True)


def _line_of(path: str, item_number: int) -> int:
    """Line number of the item_number-th (1-based) non-blank line of a text file, as read_items counts."""
    seen = 0
    with open(path, encoding="utf-8") as handle:
        for line_number, line in enumerate(handle, start=1):
            if line.strip():
                seen += 1
                if seen == item_number:
                    return line_number
    return 0


@command()
@_model_options
@click.option("--prefix", default="", help="The names start with this text (default: any name).")
@click.option("-k", "k", type=click.IntRange(1, MAX_K), default=10, show_default=True, help="How many names.")
@click.option("--max-len", type=MAX_LEN, default=None,
              help="Longest name in characters (default: the model's max_len).")
@click.option("--max-nodes", type=click.IntRange(1, 10_000_000), default=DEFAULT_MAX_NODES, show_default=True,
              help="Give up after expanding this many partial names.")
@click.option("--format", "fmt", type=click.Choice(["text", "jsonl"]), default="text", show_default=True,
              help='text: "name<TAB>probability" per line; jsonl: {"name", "probability", "logprob"} per line.')
@_provider_options
@click.option("--verbose", is_flag=True, help="The model file on stderr.")
@_names_shipped_model
def complete_command(onnx_path, shipped, prefix, k, max_len, max_nodes, fmt, provider, threads, verbose):
    """The k most probable complete names that start with --prefix, most probable first (exact: a best-first
    search; equal probabilities in name order). Probabilities are p(name, then the end token)."""
    model = _load(onnx_path, shipped, provider, threads)
    _loaded(onnx_path, shipped)
    if verbose:
        click.echo(_model_line(model, onnx_path, shipped), err=True)
    for item in model.complete(prefix, k, max_len=max_len, max_nodes=max_nodes):
        if fmt == "jsonl":
            click.echo(json.dumps({"name": item.name, "probability": item.probability,
                                   "logprob": round(item.logprob, 6)}, ensure_ascii=False))
        else:
            click.echo(f"{item.name}\t{item.probability:.6g}")


@command()
@_model_options
@click.option("--data", "data_path", metavar="FILE", required=True, help="Items, one per line.")
@click.option("--split", "split_name", type=click.Choice(["train", "val", "test", "all"]), default=None,
              help="Part of the lecture's 80/10/10 split (random.seed(42)) to score [default: val of the model's own "
                   "training data; all of any other file].")
@click.option("--per-item", is_flag=True,
              help="One line per item, in input order: the item, its NLL per character (end token included) and "
                   "its character count (end token included), tab-separated.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@_provider_options
@click.option("--verbose", is_flag=True, help="The model file on stderr.")
@_names_shipped_model
def eval_command(onnx_path, shipped, data_path, split_name, per_item, fmt, provider, threads, verbose):
    """Mean negative log-likelihood per character (end token included) of a data split. A file that is not the
    model's own training data is scored whole unless --split is given."""
    items = read_items(data_path)
    model = _load(onnx_path, shipped, provider, threads)
    _loaded(onnx_path, shipped)
    if verbose:
        click.echo(_model_line(model, onnx_path, shipped), err=True)
    max_len = model.metadata.config.max_len
    if max(len(item) for item in items) > max_len:  # training's rule: such items are not what the model is for
        read_items(data_path, max_len=max_len, limit="the model's max_len",
                   hint=" (training refuses such items too; score them with a model trained on them)")
    vocab = model.metadata.vocab
    for number, item in enumerate(items, start=1):
        unknown = vocab.unknown_chars(item)
        if unknown:
            raise WavenetEdgeError(
                f"{data_path}:{_line_of(data_path, number)}: item {item!r} has characters not in the model's "
                f"vocabulary: {''.join(unknown)!r} (allowed: {''.join(vocab.chars)!r})"
            )
    sha = file_sha256(data_path)
    trained_on = model.metadata.data.get("sha256")
    same_data = None if not trained_on else trained_on == sha
    note = None
    if split_name is None and same_data is False:
        split_name = "all"
        note = (f"note: {data_path} is not the data the model was trained on (sha256 differs): all {len(items)} "
                f"items are scored (--split names a part of the 80/10/10 split)")
    elif same_data is False and split_name != "all":
        note = ("note: this data file is not the one the model was trained on (sha256 differs), so the split "
                "is not the model's own")
    split_name = split_name or "val"
    try:
        part = items if split_name == "all" else split_items(items).part(split_name)
    except DataError as err:
        _loaded(onnx_path="", shipped=shipped)  # the split does not depend on the model: no model in the message
        raise DataError(f"{data_path}: {err}; score every item with --split all") from None
    result = model.score(part)
    per_char = [(item, -logprob / (len(item) + 1), len(item) + 1)
                for item, logprob in zip(part, result.logprobs, strict=True)]
    if fmt == "json":
        record = {
            "onnx": str(model.path), "data": str(data_path), "sha256": sha, "same_data_as_training": same_data,
            "split": split_name, "nll_per_char": result.nll_per_char, "n_items": result.n_items,
            "n_chars": result.n_chars,
        }
        if per_item:
            record["items"] = [{"item": item, "nll_per_char": round(nll, 6), "n_chars": chars}
                               for item, nll, chars in per_char]
        click.echo(json.dumps(record, ensure_ascii=False))
    elif per_item:
        click.echo("".join(f"{item}\t{nll:.6f}\t{chars}\n" for item, nll, chars in per_char), nl=False)
    else:
        click.echo(f"{split_name}: {result.nll_per_char:.6f} nats per character over {result.n_items} items, "
                   f"{result.n_chars} characters (end tokens included)")
    if note is not None:  # after the output: a reader that went away (| head) ends the command quietly
        click.echo(note, err=True)


def _shape(entry: dict) -> str:
    return f"{entry['name']} {entry['dtype']} [{', '.join(str(d) for d in entry['shape'])}]"


def _provider_check(path: str | None, provider: str, fmt: str, verbose: bool) -> int:
    """wn-info --check: the provider check's report (runtime/provider_check.py); 0 on PASS, 1 on FAIL."""
    from dataclasses import asdict

    from .graphs import ProviderDisagrees

    click.get_current_context().with_resource(_notes_on_stderr(verbose))
    target = Path(path) if path is not None else shipped_model_path()
    try:
        model = WavenetModel.load(target, provider=provider, threads=1)
    except ProviderDisagrees as err:  # the load refuses it; the check says how far off it is
        click.echo(f"warning: {err}", err=True)
        model = WavenetModel(err.runner.session, err.runner.metadata, target, threads=1)
        model.runner.state_on_device = False  # type: ignore[attr-defined]
    report = model.check()
    if fmt == "json":
        click.echo(json.dumps({**asdict(report), "checks": report.checks, "passed": report.passed}))
    else:
        click.echo(report.text())
    return 0 if report.passed else 1


@command()
@click.argument("path", metavar="[PATH]", required=False)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--check", is_flag=True,
              help="Check an execution provider: a fixed, small workload (generation, scores, completions) on it "
                   "and on the CPU provider, compared; PASS (exit 0) or FAIL (exit 1). PATH: default the shipped "
                   "default model.")
@click.option("--provider", default=None,
              help="With --check: the provider to check, auto (default), a short name (cpu, cuda, openvino, ...) or "
                   "a full ONNX Runtime provider name.")
@click.option("--verbose", is_flag=True, help="With --check: the load's notes on stderr (the device check).")
def info_command(path, fmt, check, provider, verbose):
    """What an exported model file says about itself; with --check, whether an execution provider gives the
    CPU provider's numbers for it here."""
    if check:
        return _provider_check(path, provider or "auto", fmt, verbose)
    if provider is not None or verbose:
        raise WavenetEdgeError(f"{'--provider' if provider is not None else '--verbose'} goes with --check "
                               f"(wn-info --check --provider P [PATH])")
    if path is None:
        raise WavenetEdgeError("give a model file: wn-info PATH (or wn-info --check [PATH])")
    model = WavenetModel.load(path, provider="cpu")
    meta = model.metadata
    size = Path(path).stat().st_size
    session_io = {
        "inputs": [{"name": a.name, "type": a.type, "shape": list(a.shape)} for a in model.session.get_inputs()],
        "outputs": [{"name": a.name, "type": a.type, "shape": list(a.shape)} for a in model.session.get_outputs()],
    }
    info = {
        "file": str(path), "file_size": size, "format_version": meta.format_version, "graph": meta.graph,
        "arch": meta.config.arch, "config": meta.config.to_dict(), "vocab": meta.vocab.to_dict(),
        "receptive_field": meta.receptive_field, "state_size": meta.state_size, "parameters": meta.parameters,
        "metrics": meta.metrics, "data": meta.data, "package_version": meta.package_version,
        "runtime_version": package_version(), "io": session_io, "providers_available": available_providers(),
    }
    if fmt == "json":
        click.echo(json.dumps(info, indent=2, ensure_ascii=False))
        return
    config = ", ".join(f"{k}={v}" for k, v in meta.config.to_dict().items())
    lines = [
        f"file:              {path} ({size:,} bytes)",
        f"format:            wavenet-edge format {meta.format_version}, {meta.graph} graph, "
        f"exported by wavenet-edge {meta.package_version} (this runtime: {info['runtime_version']})",
        f"architecture:      {meta.config.arch}",
        f"config:            {config}",
        f"vocabulary:        {meta.vocab.size} ids: boundary 0, then {''.join(meta.vocab.chars)!r}",
        f"receptive field:   {meta.receptive_field} tokens"
        + (f"; state: {meta.state_size} floats per row" if meta.graph == GRAPH_STEP else ""),
        f"parameters:        {meta.parameters:,}",
        f"metrics:           {json.dumps(meta.metrics, sort_keys=True)}",
        f"data:              {json.dumps(meta.data, sort_keys=True, ensure_ascii=False)}",
    ]
    lines += [f"input:             {_shape(e)}" for e in meta.io["inputs"]]
    lines += [f"output:            {_shape(e)}" for e in meta.io["outputs"]]
    lines.append(f"providers here:    {', '.join(available_providers())}")
    click.echo("\n".join(lines))
