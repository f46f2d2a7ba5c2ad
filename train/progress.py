"""The command line's view of a training run: a tqdm bar (loss, val loss, speed), the speed and expected end
once measured, a --time run's plan, and evaluation lines."""

from __future__ import annotations

import sys
import time

import click

from .auto import describe_duration
from .trainer import Reporter

__all__ = ["ProgressReporter"]


class ProgressReporter(Reporter):
    def __init__(self, quiet: bool = False):
        self.quiet = quiet
        self.bar = None
        self.val: float | None = None  # no evaluation yet: the bar shows no val

    def start(self, total_steps: int | None, first_step: int) -> None:
        if self.quiet:
            return
        from tqdm import tqdm

        self.bar = tqdm(total=total_steps, initial=first_step, unit="step", dynamic_ncols=True, mininterval=0.5)

    def step(self, step: int, loss: float, lr: float) -> None:
        if self.bar is not None:
            self.bar.update(1)
            if step % 50 == 0:
                values = {"loss": f"{loss:.4f}"} | ({} if self.val is None else {"val": f"{self.val:.4f}"})
                self.bar.set_postfix(**values, lr=f"{lr:.2e}", refresh=False)

    def speed(self, steps_per_s: float, total_steps: int, seconds_left: float) -> None:
        self._say(f"speed: {steps_per_s:,.1f} steps/s; {total_steps:,} steps end in about "
                  f"{describe_duration(seconds_left)} (at {_clock(seconds_left)})")

    def planned(self, budget_s: float, steps: int, steps_per_s: float, eval_every: int, again: bool) -> None:
        if self.bar is not None:
            self.bar.total = steps
            self.bar.refresh()
        if again:
            self._say(f"--time {describe_duration(budget_s)}: now {steps:,} steps at {steps_per_s:,.1f} steps/s")
            return
        self._say(f"--time {describe_duration(budget_s)}: {steps:,} steps at {steps_per_s:,.1f} steps/s (an "
                  f"evaluation every {eval_every:,} steps included; the learning rate decays over them)")

    def _say(self, line: str) -> None:
        if self.quiet:
            return
        if self.bar is not None:
            self.bar.write(line, file=sys.stderr)  # beside the bar, which tqdm draws on stderr
        else:
            click.echo(line, err=True)

    def evaluation(self, record: dict, samples: list[str], is_best: bool) -> None:
        self.val = record["val_loss"]
        if self.quiet:
            return
        best = " (best)" if is_best else ""
        line = (f"step {record['step']}: train {record['train_loss']:.4f}  val {record['val_loss']:.4f}{best}"
                f"  samples: {', '.join(samples)}")
        if self.bar is not None:
            self.bar.write(line)
        else:
            click.echo(line, err=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _clock(seconds_from_now: float) -> str:
    """The local time of day that many seconds from now, e.g. 14:05."""
    return time.strftime("%H:%M", time.localtime(time.time() + seconds_from_now))
