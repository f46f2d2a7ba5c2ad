"""Execution providers and ONNX Runtime sessions: ask for a provider, get exactly it or a clear error.

    providers = resolve_providers("auto")            # [CUDA, CPU] on a GPU build, else [CPU]: tried in order
    providers = resolve_providers("openvino")        # ["OpenVINOExecutionProvider"]: a short name or the full one
    session = create_session("model.onnx", providers, threads=1)

Every execution provider the installed onnxruntime reports can be named, by its short name (SHORT_NAMES:
cpu, cuda, tensorrt, openvino, dml, coreml, rocm, migraphx, qnn, xnnpack, webgpu, nnapi, acl, armnn, cann,
azure, vitisai; any other provider: its full name without "ExecutionProvider", lower-cased) or by its full
name (`OpenVINOExecutionProvider`, any letter case). A name that is not installed is refused with the list
of what is.

"auto" is the best provider that works here: CUDA when the installed build has it and a session starts
on it, else the CPU (a note through logging says why CUDA was passed over; wn-generate --verbose shows
it). Other providers are never picked by "auto": the order is measured (docs/providers.md). A provider
named explicitly is exactly that provider or an error: ONNX Runtime itself falls back to the CPU with only
a warning (printed on stdout) when a provider is missing or cannot start; here a provider that is not
installed is an error that names the installed ones, and one that is installed but cannot run
(onnxruntime-gpu without a GPU or driver) is an error that says so.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import onnxruntime as ort

from .common.errors import WavenetEdgeError, first_line

__all__ = ["AUTO_PREFERENCE", "CPU", "CUDA", "OPENVINO", "PROVIDER_ALIASES", "SHORT_NAMES", "AutoProviders",
           "ProviderError", "available_providers", "create_session", "is_auto", "make_session_options",
           "resolve_providers", "short_name"]

CPU = "CPUExecutionProvider"
CUDA = "CUDAExecutionProvider"
OPENVINO = "OpenVINOExecutionProvider"
SUFFIX = "ExecutionProvider"
# The documented short names (docs/providers.md), each ONNX Runtime's full provider name
SHORT_NAMES = {
    "cpu": CPU, "cuda": CUDA, "tensorrt": "TensorrtExecutionProvider", "openvino": OPENVINO,
    "dml": "DmlExecutionProvider", "coreml": "CoreMLExecutionProvider", "rocm": "ROCMExecutionProvider",
    "migraphx": "MIGraphXExecutionProvider", "qnn": "QNNExecutionProvider", "xnnpack": "XnnpackExecutionProvider",
    "webgpu": "WebGpuExecutionProvider", "nnapi": "NnapiExecutionProvider", "acl": "ACLExecutionProvider",
    "armnn": "ArmNNExecutionProvider", "cann": "CANNExecutionProvider", "azure": "AzureExecutionProvider",
    "vitisai": "VitisAIExecutionProvider",
}
PROVIDER_ALIASES = SHORT_NAMES  # the older name of the table
# "auto": the first of these that works here. Measured (docs/providers.md): OpenVINO on a CPU is 30x slower
# than the CPU provider at batch 1 and has no worker processes; TensorRT, ROCm, DirectML... have not been.
AUTO_PREFERENCE = (CUDA, CPU)
GPU_HINT = " (the GPU path needs the onnxruntime-gpu package instead of onnxruntime)"
OPENVINO_HINT = " (the OpenVINO provider needs the onnxruntime-openvino package instead of onnxruntime)"
# CUDA is installed (onnxruntime-gpu) but does not start: the package is not what is missing
CUDA_DID_NOT_START = " (onnxruntime-gpu is installed; is there a GPU with its driver and the CUDA and cuDNN libraries?)"

log = logging.getLogger(__name__)


class AutoProviders(list):
    """The providers "auto" may use, best first: create_session takes the first one that starts."""


class ProviderError(WavenetEdgeError):
    """A requested execution provider that is unknown, not installed, or not taken by the session."""


def available_providers() -> list[str]:
    """Execution providers of the installed onnxruntime build."""
    return list(ort.get_available_providers())


def short_name(full: str) -> str:
    """The short name of a full provider name: SHORT_NAMES' own, else the name without "ExecutionProvider",
    lower-cased ("DnnlExecutionProvider" -> "dnnl")."""
    for short, name in SHORT_NAMES.items():
        if name == full:
            return short
    return (full[:-len(SUFFIX)] if full.endswith(SUFFIX) else full).lower()


def _installed_list(installed: list[str]) -> str:
    return ", ".join(installed)


def _resolve_one(name: object, installed: list[str]) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ProviderError(f"provider must be a non-empty name, got {name!r}")
    key = name.strip().lower()
    if key == "auto":
        raise ProviderError("auto is not a provider: give it alone, not in a list")
    by_short = {short_name(p): p for p in installed}
    by_full = {p.lower(): p for p in installed}
    full = by_short.get(key) or by_full.get(key)
    if full is not None:
        return full
    known = SHORT_NAMES.get(key) or next((f for f in SHORT_NAMES.values() if f.lower() == key), None)
    # one wording for a known provider that is not installed and for an unknown name: the list says what is
    hint = GPU_HINT if known == CUDA else OPENVINO_HINT if known == OPENVINO else ""
    raise ProviderError(f"execution provider {name!r} is not available here{hint}; installed: "
                        f"{_installed_list(installed)}")


def is_auto(provider: object) -> bool:
    """Whether `provider` asks for "auto" (the runtime may then fall back to the CPU)."""
    return isinstance(provider, AutoProviders) or (isinstance(provider, str) and provider.strip().lower() == "auto")


def resolve_providers(provider: str | Sequence[str] = "auto") -> list[str]:
    """ONNX Runtime provider names for "auto", a short name ("cpu", "cuda", "openvino", ...), a full provider
    name, or a list of those (priority order). ProviderError, naming what is installed, for any other."""
    installed = available_providers()
    if is_auto(provider):
        return AutoProviders([p for p in AUTO_PREFERENCE if p in installed] or installed[:1])
    names = [provider] if isinstance(provider, str) else list(provider)
    if not names:
        raise ProviderError("no execution provider requested")
    resolved = [_resolve_one(name, installed) for name in names]
    return list(dict.fromkeys(resolved))


def make_session_options(threads: int | None = None) -> ort.SessionOptions:
    """All graph optimizations, sequential execution, `threads` intra-op threads (None: ONNX Runtime's choice)."""
    if threads is not None and (not isinstance(threads, int) or threads < 1):
        raise ProviderError(f"threads must be a positive integer, got {threads!r}")
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 3  # errors only: no fallback warnings on stderr
    # For int8 files of the older form, whose weights sit behind DequantizeLinear (export/quantize.py):
    # without QDQ handling onnxruntime folds those nodes into fp32 weights at load (the fp32 graph, fp32
    # speed, rows independent, the numbers of the Cast + Mul form); with it, it turns them into MatMulNBits
    # kernels with other logits, and slower. wn-export's files hold no DequantizeLinear: not affected.
    options.add_session_config_entry("session.disable_quant_qdq", "1")
    if threads is not None:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    return options


def _new_session(path: str | Path, options: ort.SessionOptions, providers: list[str]) -> ort.InferenceSession:
    # enable_fallback=0: ONNX Runtime's own fallback would print to stdout and switch providers silently.
    # OpenVINO runs its own thread pool: it gets the session's intra-op thread count as its num_of_threads.
    threads = options.intra_op_num_threads
    options_of = [{"num_of_threads": str(threads)} if name == OPENVINO and threads > 0 else {} for name in providers]
    return ort.InferenceSession(str(path), sess_options=options, providers=providers, provider_options=options_of,
                                enable_fallback=0)


def _auto_session(path: str | Path, options: ort.SessionOptions, providers: AutoProviders) -> ort.InferenceSession:
    """The first of `providers` on which a session starts; a note (logging, INFO) for each passed over."""
    for i, name in enumerate(providers):
        rest = providers[i + 1:]
        try:
            session = _new_session(path, options, [name, *([CPU] if name != CPU else [])])
        except Exception as err:  # onnxruntime's own types; a model it cannot load fails on the CPU too
            if not rest:
                raise
            log.info("%s is installed but cannot run here (%s); using %s", name, first_line(err), rest[0])
            continue
        used = session.get_providers()
        if name in used or not rest:
            return session
        log.info("%s is installed but did not start (a missing CUDA library or driver?); using %s", name, used[0])
        return session
    raise ProviderError("no execution provider to try")


def create_session(path: str | Path, providers: list[str], threads: int | None = None,
                   session_options: ort.SessionOptions | None = None) -> ort.InferenceSession:
    """An InferenceSession that really runs on `providers[0]` (ProviderError otherwise), or, for the
    AutoProviders of "auto", on the first of them that works.

    Raises onnxruntime's own exceptions for a model it cannot load; the caller words those.
    """
    options = session_options if session_options is not None else make_session_options(threads)
    if session_options is not None and threads is not None:
        options.intra_op_num_threads = threads
    if isinstance(providers, AutoProviders):
        return _auto_session(path, options, providers)
    try:
        session = _new_session(path, options, providers)
    except Exception as err:
        if providers[0] == CPU:
            raise
        try:  # the model or the provider? A model that loads on the CPU puts the blame on the provider.
            _new_session(path, options, [CPU])
        except Exception:
            raise err from None
        hint = CUDA_DID_NOT_START if providers[0] == CUDA else ""
        raise ProviderError(f"execution provider {providers[0]} is installed but cannot run here: "
                            f"{first_line(err)}{hint}") from None
    used = session.get_providers()
    if providers[0] not in used:
        hint = CUDA_DID_NOT_START if providers[0] == CUDA else ""
        raise ProviderError(
            f"ONNX Runtime did not take execution provider {providers[0]} (the session runs on "
            f"{', '.join(used)}){hint}"
        )
    return session
