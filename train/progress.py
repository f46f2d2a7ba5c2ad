"""The command line's view of a training run: a tqdm bar (loss, val loss, speed) and evaluation lines."""

from __future__ import annotations

import click

from .trainer import Reporter

__all__ = ["ProgressReporter"]


class ProgressReporter(Reporter):
    def __init__(self, quiet: bool = False):
        self.quiet = quiet
        self.bar = None
        self.val = float("nan")

    def start(self, total_steps: int, first_step: int) -> None:
        if self.quiet:
            return
        from tqdm import tqdm

        self.bar = tqdm(total=total_steps, initial=first_step, unit="step", dynamic_ncols=True, mininterval=0.5)

    def step(self, step: int, loss: float, lr: float) -> None:
        if self.bar is not None:
            self.bar.update(1)
            if step % 50 == 0:
                self.bar.set_postfix(loss=f"{loss:.4f}", val=f"{self.val:.4f}", lr=f"{lr:.2e}", refresh=False)

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
