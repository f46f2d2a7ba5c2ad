"""Is this execution provider giving the right numbers here? A fixed, small workload on a model's provider
and on the CPU provider, compared.

    report = model.check()                  # WavenetModel.check: against a CPU session of the same file
    print(report.text()); report.passed     # what was compared, the agreement, the time, PASS or FAIL

    wn-info --check --provider openvino     # the same from the command line: exit 0 on PASS, 1 on FAIL

The workload: generation of GENERATE_NAMES names at batch GENERATE_BATCH (rows restart as names end, then
the batch shrinks to nothing) and BATCH1_NAMES at batch 1; the probe of runtime/graphs.py (rows fed fixed
tokens, restarting and dropped, through the path generation uses), whose logits are compared one by one;
the scores of a fixed list of items; the TOP_K most probable completions of two prefixes.

Agreement (docs/providers.md says why these numbers):
  - logits: the largest difference, relative to the largest |logit| (at least 1), <= LOGIT_TOLERANCE
    (1e-3). Providers sum in different orders: float32 rounding differs by ~1e-7 of the largest logit. A
    wrong state or input is another context: its logits differ by whole units.
  - NLL per character of the scored items: within NLL_TOLERANCE (1e-3 nats) of the CPU's.
  - names: at least NAMES_AGREE (99%) equal to the CPU provider's. The draws are the same; a name differs
    only where a rounding difference moves a probability across a draw (a near-tie).
  - completions: the same names in the same order, except completions whose CPU log-probabilities tie to
    within NLL_TOLERANCE, which may swap.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, cast

import numpy as np

from .common.errors import first_line
from .constraints import ConstraintError
from .graphs import LOGIT_TOLERANCE, logit_difference, probe_logits, probe_steps
from .providers import CPU

if TYPE_CHECKING:
    from .complete import Completion
    from .model import WavenetModel

__all__ = ["GENERATE_BATCH", "GENERATE_NAMES", "LOGIT_TOLERANCE", "NAMES_AGREE", "NLL_TOLERANCE", "CheckReport",
           "check_model"]

SEED = 0
GENERATE_NAMES, GENERATE_BATCH = 200, 32
BATCH1_NAMES = 20
SCORE_NAMES = 50  # names generated on the CPU (any vocabulary encodes them), after the fixed list
FIXED_ITEMS = ("emma", "olivia", "liam", "noah", "ava", "sophia", "isabella", "zyxw", "a", "mary-jane", "jose")
TOP_K = 5
NLL_TOLERANCE = 1e-3
NAMES_AGREE = 0.99


@dataclass
class CheckReport:
    """What check_model compared and found. `passed`: every agreement within its tolerance."""

    model: str
    provider: str
    names: int = 0
    names_equal: int = 0
    name_logprob_difference: float = 0.0  # largest |log p(name)| difference of the equal names
    logit_difference: float = 0.0  # relative to the largest |logit|
    probe_steps: int = 0
    items: int = 0
    item_logprob_difference: float = 0.0
    nll: float = 0.0  # the provider's NLL per character of the items
    nll_cpu: float = 0.0
    completions_equal: bool = True
    completion_logprob_difference: float = 0.0
    prefixes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    seconds_cpu: float = 0.0
    error: str | None = None  # the workload failed on the provider: what it raised

    @property
    def checks(self) -> dict[str, bool]:
        return {
            "names": self.names_equal >= NAMES_AGREE * self.names,
            "logits": self.logit_difference <= LOGIT_TOLERANCE,
            "scores": abs(self.nll - self.nll_cpu) <= NLL_TOLERANCE,
            "completions": self.completions_equal,
        }

    @property
    def passed(self) -> bool:
        return self.error is None and all(self.checks.values())

    def lines(self) -> list[str]:
        if self.error is not None:
            return [f"provider check of {self.model}", f"provider:     {self.provider}, against {CPU}",
                    f"error:        the workload failed on {self.provider}: {self.error}", "FAIL"]
        ok = {name: "ok" if good else "FAIL" for name, good in self.checks.items()}
        prefixes = " and ".join(repr(p) for p in self.prefixes)
        return [
            f"provider check of {self.model}",
            f"provider:     {self.provider}, against {CPU}",
            f"generation:   {self.names} names, seed {SEED}: {GENERATE_NAMES} at batch {GENERATE_BATCH} (rows restart, "
            f"then the batch shrinks) and {BATCH1_NAMES} at batch 1; {self.names_equal} equal to the CPU's "
            f"(at least {NAMES_AGREE:.0%}); log-probabilities of the equal names within "
            f"{self.name_logprob_difference:.1e}: {ok['names']}",
            f"logits:       {self.probe_steps} steps of 4 rows fed fixed tokens, with restarts and a dropped row: "
            f"largest difference {self.logit_difference:.1e} of the largest logit (at most {LOGIT_TOLERANCE:g}): "
            f"{ok['logits']}",
            f"scores:       {self.items} items: NLL {self.nll:.6f} against {self.nll_cpu:.6f} nats per character, "
            f"difference {abs(self.nll - self.nll_cpu):.1e} (at most {NLL_TOLERANCE:g}); log-probabilities within "
            f"{self.item_logprob_difference:.1e}: {ok['scores']}",
            f"completions:  top {TOP_K} after {prefixes}: "
            f"{'the same names in the same order' if self.completions_equal else 'different names'}, "
            f"log-probabilities within {self.completion_logprob_difference:.1e}: {ok['completions']}",
            f"time:         {self.seconds:.2f} s on {self.provider}, {self.seconds_cpu:.2f} s on {CPU}",
            "PASS" if self.passed else "FAIL",
        ]

    def text(self) -> str:
        return "\n".join(self.lines())


def _finite(value: float) -> float:
    return value if np.isfinite(value) else float("inf")


def _completions_agree(got: list[Completion], want: list[Completion]) -> bool:
    """The same names in the same order, swaps allowed only between completions whose CPU log-probabilities
    are within NLL_TOLERANCE of each other (a tie that rounding may order either way)."""
    if len(got) != len(want):
        return False
    logprob = {c.name: c.logprob for c in want}
    for a, b in zip(got, want, strict=True):
        if a.name != b.name and (a.name not in logprob or abs(logprob[a.name] - b.logprob) > NLL_TOLERANCE):
            return False
    return True


def _workload(model: WavenetModel, items: list[str], prefixes: list[str]) -> dict:
    start = time.perf_counter()
    # max_samples: a provider whose logits are NaN draws only empty names, skipped: give up soon
    names = cast("list[tuple[str, float]]", model.generate(GENERATE_NAMES, seed=SEED, batch_size=GENERATE_BATCH,
                                                           return_logprobs=True, max_samples=4 * GENERATE_NAMES))
    names += cast("list[tuple[str, float]]", model.generate(BATCH1_NAMES, seed=SEED + 1, batch_size=1,
                                                            return_logprobs=True, max_samples=4 * BATCH1_NAMES))
    logits = probe_logits(model.runner, "auto")
    scores = model.score(items)
    completions = [model.complete(prefix, TOP_K) for prefix in prefixes]
    return {"names": names, "logits": logits, "scores": scores, "completions": completions,
            "seconds": time.perf_counter() - start}


def check_model(model: WavenetModel, reference: WavenetModel | None = None) -> CheckReport:
    """Run the workload on `model` and on `reference` (default: the same file on the CPU provider, one
    thread) and compare; see the module for what and how."""
    from .model import WavenetModel

    cpu = reference if reference is not None else WavenetModel.load(model.path, provider=CPU, threads=1)
    vocab = model.metadata.vocab
    fixed = [item for item in FIXED_ITEMS if not vocab.unknown_chars(item)]
    items = fixed + [name for name in cast("list[str]", cpu.generate(SCORE_NAMES, seed=SEED + 2)) if name]
    first = next((name for name in items if name), "")
    prefixes = ["", first[:1]]
    want = _workload(cpu, items, prefixes)
    report = CheckReport(model=str(model.path), provider=model.providers[0], prefixes=prefixes,
                         seconds_cpu=want["seconds"])
    try:
        got = _workload(model, items, prefixes)
    except ConstraintError as err:  # NaN logits: every draw an empty name, skipped until the budget is spent
        report.error = f"no names, only empty or over-long draws (NaN logits?): {first_line(err)}"
        return report
    except Exception as err:  # onnxruntime's own errors
        report.error = first_line(err)
        return report
    report.seconds = got["seconds"]
    report.names = len(want["names"])
    equal = [(a[1], b[1]) for a, b in zip(got["names"], want["names"], strict=False) if a[0] == b[0]]
    report.names_equal = len(equal)
    report.name_logprob_difference = _finite(max((abs(a - b) for a, b in equal), default=0.0))
    report.logit_difference = logit_difference(got["logits"], want["logits"])
    report.probe_steps = probe_steps(model.runner)
    report.items = len(items)
    lp_got, lp_want = np.asarray(got["scores"].logprobs), np.asarray(want["scores"].logprobs)
    report.item_logprob_difference = _finite(float(np.max(np.abs(lp_got - lp_want), initial=0.0)))
    report.nll, report.nll_cpu = float(got["scores"].nll_per_char), float(want["scores"].nll_per_char)
    if not np.isfinite(report.nll):
        report.nll = float("inf")
    report.completions_equal = all(_completions_agree(g, w) for g, w in
                                   zip(got["completions"], want["completions"], strict=True))
    pairs = [(a.logprob, b.logprob) for g, w in zip(got["completions"], want["completions"], strict=True)
             for a, b in zip(g, w, strict=False) if a.name == b.name]
    report.completion_logprob_difference = _finite(max((abs(a - b) for a, b in pairs), default=0.0))
    return report
