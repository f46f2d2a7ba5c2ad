"""WavenetModel: an exported .onnx file, checked against the contract and ready to generate and score.

    model = WavenetModel.load("wavenet.onnx", provider="cpu", threads=1)
    model.generate(5, seed=0, temperature=0.8)                 # ["emma", ...]
    model.score(["emma", "olivia"]).nll_per_char

    with WavenetModel.load("wavenet.onnx", threads=4) as model:   # big requests on 4 worker processes
        model.generate(1_000_000, seed=0, batch_size=4096)       # the same names as with threads=1

Only numpy and onnxruntime: no torch, no onnx package.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path
from typing import cast

import onnxruntime as ort
from onnxruntime.capi import onnxruntime_pybind11_state as _ort_state

from .common.errors import ModelFileError, WavenetEdgeError, first_line
from .common.files import read_bytes
from .complete import DEFAULT_MAX_NODES, Completion, complete
from .constraints import NameConstraints, constrain, default_budget, too_rare
from .contract import ModelMetadata
from .generation import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_PATIENCE,
    GenerationRequest,
    check_filter,
    encode_prefix,
    filter_names,
    generate_chunks,
)
from .graph_check import check_graph
from .graphs import GraphRunner, check_device_path, make_runner
from .process_pool import ProcessPool, processes_supported
from .process_worker import file_stat
from .provider_check import CheckReport, check_model
from .providers import CPU, ProviderError, create_session, is_auto, resolve_providers
from .sampling import SamplingParams
from .scoring import ScoreResult, encode_items, score, summarize
from .workers import physical_cores, score_worker_count, worker_count

__all__ = ["SHIPPED_MODELS", "SHIPPED_PACKAGE", "WavenetModel", "shipped_model_path"]

SHIPPED_PACKAGE = "wavenet_edge.models"
# name -> file in SHIPPED_PACKAGE; the JS package (js/src/shipped.js) names the same files the same way
SHIPPED_MODELS = {"default": "wavenet.onnx", "default-int8": "wavenet.int8.onnx", "large": "wavenet-large.onnx",
                  "large-int8": "wavenet-large.int8.onnx"}
MAX_THREADS = 1024  # as the commands' --threads range (runtime/common/commands.py)
SAMPLER_THREADS = 8  # on a device session: the most host threads drawing tokens (runtime.sampling.BlockSampler)
# what ONNX Runtime raises for a model it cannot load (its exception classes derive from Exception)
_LOAD_ERRORS = tuple(getattr(_ort_state, name) for name in (
    "Fail", "InvalidArgument", "InvalidGraph", "InvalidProtobuf", "NoSuchFile", "NotImplemented",
    "RuntimeException", "EPFail") if hasattr(_ort_state, name)) + (RuntimeError,)
_ONNX_START = b"\x08"  # an ONNX ModelProto opens with its ir_version field (1, varint)
_ORT_FORMAT_ID = b"ORTM"  # bytes 4-8 of an ORT-format (flatbuffers) file


def _file_head(path: Path) -> bytes:
    """The first bytes of a model file, or ModelFileError in one line (missing, not a regular file, unreadable,
    empty)."""
    head = read_bytes(path, ModelFileError, "an .onnx file", limit=8)
    if not head:
        raise ModelFileError(f"{path}: empty file, not an ONNX model")
    return head


def _load_failure(path: Path, head: bytes, err: Exception) -> ModelFileError:
    """One line for a file ONNX Runtime cannot load: foreign bytes, a damaged model, or a graph it refuses."""
    detail = first_line(err)
    if head[4:8] == _ORT_FORMAT_ID:
        return ModelFileError(f"{path}: truncated or damaged ORT-format file: {detail}")
    if "Protobuf parsing failed" in detail or "No graph was found" in detail:
        if head.startswith(_ONNX_START):
            return ModelFileError(f"{path}: truncated or damaged ONNX file (ONNX Runtime cannot parse it)")
        return ModelFileError(f"{path}: not an ONNX model")
    return ModelFileError(f"{path}: ONNX Runtime cannot load the model: {detail}")


def shipped_model_path(model: str = "default") -> Path:
    """Path of a model installed with the package (SHIPPED_MODELS: "default", "default-int8", "large",
    "large-int8"); ModelFileError when
    the name is unknown or the file is not there."""
    if model not in SHIPPED_MODELS:
        raise ModelFileError(f"no shipped model named {model!r} (choose from: {', '.join(SHIPPED_MODELS)})")
    package, name = SHIPPED_PACKAGE, SHIPPED_MODELS[model]
    try:
        path = resources.files(package) / name
    except ModuleNotFoundError:
        path = None
    if path is None or not path.is_file():
        raise ModelFileError(
            f"no shipped model: {package}/{name} is not installed (pass --onnx PATH, or export one with wn-export)"
        )
    return Path(str(path))


@dataclass(frozen=True)
class _NotEmpty(NameConstraints):
    """The constraints, and an empty name (the model ending at once) is no name: it is skipped like a name
    that fails them, so the names for a seed are those of wn-generate (which skips them too)."""

    def accepts(self, name: str) -> bool:
        return bool(name) and super().accepts(name)


def _check_flag(name: str, value: object) -> None:
    """A yes/no option must be a bool (a string such as "no" would be true)."""
    if not isinstance(value, bool):
        raise WavenetEdgeError(f"{name} must be True or False, got {value!r}")


def _check_io(session: ort.InferenceSession, metadata: ModelMetadata, where: str) -> None:
    """The graph's input and output names and dtypes must be those the metadata promises."""
    expected = metadata.io
    dtype = {"int64": "tensor(int64)", "float32": "tensor(float)"}
    for kind, actual in (("inputs", session.get_inputs()), ("outputs", session.get_outputs())):
        want = [(d["name"], dtype[d["dtype"]]) for d in expected[kind]]
        got = [(arg.name, arg.type) for arg in actual]
        if got != want:
            raise ModelFileError(
                f"{where}: graph {kind} {[n for n, _ in got]} do not match the {metadata.graph} graph contract "
                f"{[n for n, _ in want]}"
            )


class WavenetModel:
    """An exported wavenet-edge model on an ONNX Runtime session. Build it with `WavenetModel.load`."""

    def __init__(self, session: ort.InferenceSession, metadata: ModelMetadata, path: Path, threads: int = 1,
                 processes: bool = True):
        self.session = session
        self.metadata = metadata
        self.path = path
        self.threads = threads  # workers for big requests (see runtime/workers.py)
        self._runner = make_runner(session, metadata)
        # worker processes open the file themselves: only for a plain CPU session of a file still as loaded
        self._pool: ProcessPool | None = None
        if threads > 1 and processes and processes_supported():
            try:
                self._pool = ProcessPool(path, file_stat(str(path)), size=threads)
            except OSError:  # the file has gone since the session read it: this process alone
                self._pool = None

    @property
    def runner(self) -> GraphRunner:
        """The graph runner of this process's session: steps the graph one token per row (runtime/graphs.py),
        for tools that drive the graph themselves (benchmarks, the .ort check, the JS fixtures)."""
        return self._runner

    @property
    def worker_pids(self) -> list[int]:
        """Process ids of the worker processes running now (none until a request needs them)."""
        return [] if self._pool is None else self._pool.pids

    def close(self) -> None:
        """Stop the worker processes, if any ran (a later big request starts them again). Also done when the
        model is collected and at interpreter exit; `with WavenetModel.load(...) as model:` does it at the end."""
        if self._pool is not None:
            self._pool.close()

    def __enter__(self) -> WavenetModel:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @classmethod
    def load(cls, path: str | Path, provider: str | Sequence[str] = "auto", threads: int | None = None,
             session_options: ort.SessionOptions | None = None) -> WavenetModel:
        """Open and validate an .onnx (or ORT-format .ort) file written by wn-export.

        provider: "auto" (CUDA when installed, else CPU), "cpu", "cuda", an exact ONNX Runtime provider name,
        or a list of those in priority order. A provider that is not installed is an error, never a silent
        CPU fallback. threads: on the CPU, the most worker processes a big request is split over (None: every
        physical core); each opens the file with its own session and makes a contiguous block of the names
        (or of the items to score), merged in order, so the names, log-probabilities and scores are those of
        one process to the bit. Small requests stay in this process (runtime/workers.py); the workers start
        on the first request that needs them and stay until close() (or the end of the interpreter). Every
        session runs its graph on one thread. On other providers: ONNX Runtime's intra-op threads, no workers,
        and the threads (at most SAMPLER_THREADS) that draw the tokens of a big batch in row blocks.
        session_options: your own onnxruntime.SessionOptions for this process's session (threads still
        sets its intra-op threads as above); workers could not share them, so everything then runs here.
        Raises ModelFileError (missing, not ONNX, truncated, not a wavenet-edge model, unsupported format
        version, graph not matching the contract) or ProviderError, each one line.
        """
        path = Path(path)
        head = _file_head(path)
        providers = resolve_providers(provider)
        if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int)
                                    or not 1 <= threads <= MAX_THREADS):
            raise ProviderError(f"threads must be an integer in 1..{MAX_THREADS}, got {threads!r}")
        on_cpu = providers[0] == CPU
        workers = (threads or physical_cores()) if on_cpu else 1
        try:
            session = create_session(path, providers, threads=1 if on_cpu else threads,
                                     session_options=session_options)
        except _LOAD_ERRORS as err:
            raise _load_failure(path, head, err) from None
        # the metadata as ONNX Runtime read it: the same for .onnx and .ort files
        props = session.get_modelmeta().custom_metadata_map
        metadata = ModelMetadata.from_props(props, where=str(path))
        _check_io(session, metadata, str(path))
        check_graph(session, metadata, str(path))  # widths and one step against the metadata
        model = cls(session, metadata, path, threads=min(workers, MAX_THREADS), processes=session_options is None)
        # generation state on a device: its path checked against the host's and the CPU's (graphs.py)
        if not on_cpu and not check_device_path(model.runner, path, auto=is_auto(providers)):
            return cls.load(path, provider=CPU, threads=threads, session_options=session_options)
        if not on_cpu:  # the graph runs on a device: the host's cores draw the tokens of big batches in row blocks
            model.runner.sampler_threads = min(threads or physical_cores(), SAMPLER_THREADS)
        return model

    @classmethod
    def load_shipped(cls, model: str = "default", **kwargs) -> WavenetModel:
        """A model installed with the package: "default", "default-int8", "large" or "large-int8" (see `load` for
        the keyword arguments)."""
        return cls.load(shipped_model_path(model), **kwargs)

    @property
    def graph(self) -> str:
        """"step" or "window"."""
        return self.metadata.graph

    @property
    def providers(self) -> list[str]:
        """Execution providers the session runs on, in priority order."""
        return list(self.session.get_providers())

    def iter_generate(self, n: int | None = 1, temperature: float = 1.0, top_k: int | None = None,
                      top_p: float | None = None, seed: int = 0, prefix: str = "", max_len: int | None = None,
                      batch_size: int = DEFAULT_BATCH_SIZE, return_logprobs: bool = False, unique: bool = False,
                      exclude: Iterable[str] | None = None, patience: int = DEFAULT_PATIENCE,
                      min_len: int = 0, suffix: str = "", contains: str = "", max_samples: int | None = None,
                      allow_empty: bool = False) -> Iterator[str | tuple[str, float]]:
        """Yield generated names in a deterministic order, each as soon as it and those before it are done.

        The same seed gives the same names whatever batch_size and threads. Names include `prefix`. top_k 1
        is greedy. With return_logprobs, yields (name, logprob): log p(name + end token) under the model at
        temperature 1, whatever the sampling settings (the value `score` gives the same name). With `unique`
        or `exclude`, samples until `n` names pass (WavenetEdgeError after `patience` rejected samples in a
        row). n None: endless (not with unique/exclude).

        Constraints (runtime/constraints.py), exact: every name is a draw from the model restricted to names
        of min_len..max_len characters (max_len default: the model's config.max_len; a longer name is not
        produced, never cut) that end with `suffix` and contain `contains`; the draws that fail are skipped,
        so the names for a seed keep their order. ConstraintError, naming the acceptance rate, when
        `max_samples` draws (default max(100,000, 1,000 n)) give fewer than n names.

        An empty name (the model ending at once) is not a name: it is skipped and the next one drawn, as
        wn-generate does, so the names for a seed are the command's. allow_empty=True gives the raw draws.
        """
        items = itertools.chain.from_iterable(self._chunks(
            n, temperature, top_k, top_p, seed, prefix, max_len, batch_size, return_logprobs, unique, exclude,
            patience, min_len, suffix, contains, max_samples, allow_empty))
        if return_logprobs:
            return ((name, cast(float, logprob)) for _, name, logprob in items)
        return (name for _, name, _ in items)

    def _chunks(self, n: int | None, temperature: float, top_k: int | None, top_p: float | None, seed: int,
                prefix: str, max_len: int | None, batch_size: int, return_logprobs: bool, unique: bool,
                exclude: Iterable[str] | None, patience: int, min_len: int, suffix: str, contains: str,
                max_samples: int | None, allow_empty: bool = False) -> Iterator[list[tuple[int, str, float | None]]]:
        """iter_generate's (index, name, logprob) items in lists (the request validated before it returns): a
        list per finished step or worker message where n names are asked for without filters (generate takes
        whole lists: no generator frames per name), a list per name otherwise."""
        for flag, value in (("unique", unique), ("return_logprobs", return_logprobs), ("allow_empty", allow_empty)):
            _check_flag(flag, value)
        filtering = unique or exclude is not None
        if filtering and n is None:
            raise ValueError("unique/exclude need a number of names n")
        sampling = SamplingParams(temperature=temperature, top_k=top_k, top_p=top_p)
        GenerationRequest(n=n)  # validates n
        limit = self.metadata.config.max_len if max_len is None else max_len
        GenerationRequest(prefix=prefix, max_len=limit)  # validates max_len against the prefix
        constraints = (NameConstraints if allow_empty else _NotEmpty)(max_len=limit, min_len=min_len, suffix=suffix,
                                                                      contains=contains)
        budget = default_budget(n) if max_samples is None else max_samples
        if isinstance(budget, bool) or not isinstance(budget, int) or budget < 1:
            raise ValueError(f"max_samples must be a positive integer, got {max_samples!r}")
        request = GenerationRequest(  # validated here, before the first name is asked for
            n=None if filtering or constraints.active else n, seed=seed, prefix=prefix,
            max_len=limit + 1,  # room for one character more: a name that takes it is over the limit, dropped
            batch_size=batch_size, sampling=sampling,
        )
        if filtering:
            check_filter(exclude, patience)
        encode_prefix(self.metadata.vocab, prefix)
        for option, text in (("suffix", suffix), ("contains", contains)):
            unknown = self.metadata.vocab.unknown_chars(text)
            if unknown:
                raise WavenetEdgeError(f"{option} {text!r}: characters not in the model's vocabulary: "
                                       f"{''.join(unknown)!r} (allowed: {''.join(self.metadata.vocab.chars)!r})")
        if request.n is not None:  # n names: generate n, then as many more as were over max_len, and so on
            return self._topped_up(request, constraints, budget, return_logprobs)
        stream = self._stream(request, return_logprobs, names=n)  # n: a guess at the names needed
        stream = constrain(stream, constraints, n, budget)
        if n is not None and not filtering:
            stream = itertools.islice(stream, n)
        if filtering:
            assert n is not None  # refused above
            stream = filter_names(stream, n, unique=unique, exclude=exclude, patience=patience)
        return ([item] for item in stream)

    def draw_range(self, start: int, count: int, seed: int = 0, temperature: float = 1.0, top_k: int | None = None,
                   top_p: float | None = None, prefix: str = "", max_len: int | None = None,
                   batch_size: int = DEFAULT_BATCH_SIZE) -> list[tuple[int, str, float]]:
        """The seed's names start .. start + count - 1 as (index, name, logprob), without those over
        max_len: the pieces that other machines can make of one request (runtime/dask_batch.py)."""
        for what, value in (("start", start), ("count", count)):
            if isinstance(value, bool) or not isinstance(value, int) or value < (0 if what == "start" else 1):
                raise ValueError(f"{what} must be a {'non-negative' if what == 'start' else 'positive'} integer, "
                                 f"got {value!r}")
        limit = self.metadata.config.max_len if max_len is None else max_len
        GenerationRequest(prefix=prefix, max_len=limit)
        request = GenerationRequest(n=count, seed=seed, prefix=prefix, max_len=limit + 1, batch_size=batch_size,
                                    sampling=SamplingParams(temperature=temperature, top_k=top_k, top_p=top_p))
        constraints = NameConstraints(max_len=limit)
        return [(index, name, cast(float, logprob)) for index, name, logprob in self._stream(request, True, start)
                if constraints.accepts(name)]

    def _topped_up(self, request: GenerationRequest, constraints: NameConstraints, budget: int,
                   logprobs: bool) -> Iterator[list[tuple[int, str, float | None]]]:
        """The first request.n names of the seed within constraints.max_len (nothing else constrains them but
        the empty-name rule), in lists, drawing names 0..n-1 first and then only as many more as were dropped
        (no rows run for names that are not needed)."""
        assert request.n is not None and not constraints.active
        wanted, found, drawn = request.n, 0, 0
        while found < wanted:
            if drawn >= budget:
                raise too_rare(constraints, found, drawn, wanted)
            part = replace(request, n=min(wanted - found, budget - drawn))
            for chunk in self._stream_chunks(part, logprobs, offset=drawn):
                kept = [item for item in chunk if constraints.accepts(item[1])]
                if kept:
                    found += len(kept)
                    yield kept
            drawn += cast(int, part.n)

    def generate(self, n: int = 1, temperature: float = 1.0, top_k: int | None = None, top_p: float | None = None,
                 seed: int = 0, prefix: str = "", max_len: int | None = None, batch_size: int = DEFAULT_BATCH_SIZE,
                 return_logprobs: bool = False, unique: bool = False, exclude: Iterable[str] | None = None,
                 patience: int = DEFAULT_PATIENCE, min_len: int = 0, suffix: str = "", contains: str = "",
                 max_samples: int | None = None, allow_empty: bool = False) -> list[str] | list[tuple[str, float]]:
        """`n` names as a list (see `iter_generate`; an empty name is skipped unless allow_empty=True)."""
        if n is None:
            raise ValueError("generate needs a number of names n (use iter_generate for an endless stream)")
        chunks = self._chunks(n, temperature, top_k, top_p, seed, prefix, max_len, batch_size, return_logprobs,
                              unique, exclude, patience, min_len, suffix, contains, max_samples, allow_empty)
        if return_logprobs:
            return [(name, cast(float, logprob)) for chunk in chunks for _, name, logprob in chunk]
        return [name for chunk in chunks for _, name, _ in chunk]

    def complete(self, prefix: str = "", k: int = 10, max_len: int | None = None,
                 max_nodes: int = DEFAULT_MAX_NODES) -> list[Completion]:
        """The k most probable complete names that start with `prefix` (end token included, at most max_len
        characters, default the model's max_len), most probable first, ties by name: exact, by a best-first
        search (runtime/complete.py). Each has .name, .probability and .logprob (the value `score` gives).
        CompletionError after expanding `max_nodes` partial names without k completions."""
        limit = self.metadata.config.max_len if max_len is None else max_len
        return complete(self.runner, self.metadata.vocab, prefix, k=k, max_len=limit, max_nodes=max_nodes)

    def check(self) -> CheckReport:
        """Compare this model's provider with the CPU provider on a fixed, small workload (generation with
        row restarts and a shrinking batch, scores, top-k completions): a CheckReport with .passed and
        .text() (runtime/provider_check.py; wn-info --check prints it)."""
        return check_model(self)

    def score(self, items: Iterable[str]) -> ScoreResult:
        """Log-probability of every item and the mean NLL per character (end token included), float64."""
        if isinstance(items, str):  # a str is iterable: it would score its letters as items
            raise WavenetEdgeError(f"score needs a list of items, got the string {items!r} (wrap it: [{items!r}])")
        items = list(items)
        for number, item in enumerate(items, start=1):
            if not isinstance(item, str):
                raise WavenetEdgeError(f"item {number} must be a string, got {item!r}")
        workers = score_worker_count(self.threads, len(items), self._started())
        if workers == 1:
            return score(self._runner, self.metadata.vocab, items)
        assert self._pool is not None
        encoded = encode_items(self.metadata.vocab, items)  # a bad item is named by its number in all of them
        return summarize(encoded, self._pool.score(items, workers))

    def _started(self) -> int:
        return 0 if self._pool is None else self._pool.started

    def _stream(self, request: GenerationRequest, logprobs: bool, offset: int = 0,
                names: int | None = None) -> Iterator[tuple[int, str, float | None]]:
        """The request's names offset, offset + 1, ... as (index, name, logprob): in this process, or on
        worker processes when the request is big enough (workers.worker_count); the same items either way.
        names: how many names an endless request is expected to need (None: no idea)."""
        return itertools.chain.from_iterable(self._stream_chunks(request, logprobs, offset, names))

    def _stream_chunks(self, request: GenerationRequest, logprobs: bool, offset: int = 0,
                       names: int | None = None) -> Iterator[list[tuple[int, str, float | None]]]:
        """_stream's items in lists: one per step that finished names, or per message of a worker."""
        workers = worker_count(self.threads, request, self._started(), names) if self._pool is not None else 1
        if workers == 1:
            chunks = generate_chunks(self._runner, self.metadata.vocab, request, logprobs, first=offset)
            if offset == 0:
                return chunks
            return ([(index + offset, name, logprob) for index, name, logprob in chunk] for chunk in chunks)
        assert self._pool is not None
        return self._pool.generate_chunks(request, logprobs, workers, offset)

    def __repr__(self) -> str:
        return f"WavenetModel({str(self.path)!r}, graph={self.graph!r}, providers={self.providers})"

