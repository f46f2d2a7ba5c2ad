"""The training loop shared by both architectures.

    result = Trainer(config, vocab, split, TrainSettings(steps=20_000), out_path="model.pt").run()

Every `eval_every` steps: the loss on the whole train and val splits (eval mode), a metrics line, a
few samples, and the checkpoint written atomically. `out_path` always holds the best-val weights plus
the latest full training state, so --resume continues exactly where the run stopped. The learning
rate is a pure function of the step, so the schedule needs no state of its own.
"""

from __future__ import annotations

import json
import math
import signal
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch.nn import functional as F

from wavenet_edge.runtime.common.dataset import Split
from wavenet_edge.runtime.common.errors import ConfigError, ModelFileError
from wavenet_edge.runtime.common.files import atomic_path
from wavenet_edge.runtime.config import ModelConfig
from wavenet_edge.runtime.vocab import Vocab

from .batches import IGNORE_INDEX, SequenceBatcher, WindowBatcher
from .checkpoint import Checkpoint, save_checkpoint
from .evaluate import mean_nll
from .models import build_model, count_parameters
from .plots import plot_loss_curves
from .samples import sample_names

__all__ = ["OPTIMIZERS", "Reporter", "TrainResult", "TrainSettings", "Trainer", "lr_at", "metrics_log_path",
           "loss_plot_path"]

OPTIMIZERS = ("adamw", "sgd")


@dataclass(frozen=True)
class TrainSettings:
    """Optimisation settings. None means the architecture's default (see `resolved`)."""

    steps: int = 20_000
    batch_size: int | None = None  # wavenet: items per batch (64); lecture: windows per batch (32)
    lr: float | None = None  # adamw 3e-3; sgd 0.1 (the lecture's)
    optimizer: str | None = None  # wavenet: adamw with warm-up and cosine decay; lecture: the lecture's SGD
    weight_decay: float = 0.01
    warmup_steps: int = 200
    min_lr_ratio: float = 0.05  # cosine decays to lr * min_lr_ratio
    grad_clip: float = 1.0  # 0 disables clipping
    eval_every: int = 1000
    seed: int = 42
    samples: int = 4  # names printed at each evaluation

    def resolved(self, arch: str) -> TrainSettings:
        optimizer = self.optimizer or ("adamw" if arch == "wavenet" else "sgd")
        lr = self.lr if self.lr is not None else (3e-3 if optimizer == "adamw" else 0.1)
        batch = self.batch_size if self.batch_size is not None else (64 if arch == "wavenet" else 32)
        settings = TrainSettings(**{**asdict(self), "optimizer": optimizer, "lr": lr, "batch_size": batch})
        settings.validate()
        return settings

    def validate(self) -> None:
        checks = [
            (self.steps >= 1, f"--steps must be at least 1, got {self.steps}"),
            (self.batch_size is None or self.batch_size >= 1,
             f"--batch-size must be at least 1, got {self.batch_size}"),
            (self.lr is None or (self.lr > 0 and math.isfinite(self.lr)), f"--lr must be positive, got {self.lr}"),
            (self.optimizer is None or self.optimizer in OPTIMIZERS,
             f"--optimizer must be one of {', '.join(OPTIMIZERS)}, got {self.optimizer!r}"),
            (self.weight_decay >= 0, f"--weight-decay must be >= 0, got {self.weight_decay}"),
            (self.warmup_steps >= 0, f"--warmup must be >= 0, got {self.warmup_steps}"),
            (0 <= self.min_lr_ratio <= 1, f"--min-lr-ratio must be in [0, 1], got {self.min_lr_ratio}"),
            (self.grad_clip >= 0, f"--grad-clip must be >= 0, got {self.grad_clip}"),
            (self.eval_every >= 1, f"--eval-every must be at least 1, got {self.eval_every}"),
            (self.samples >= 0, f"--samples must be >= 0, got {self.samples}"),
        ]
        for ok, message in checks:
            if not ok:
                raise ConfigError(message)


def metrics_log_path(checkpoint_path: str | Path) -> Path:
    """model.pt -> model.metrics.jsonl: one JSON record per evaluation."""
    return Path(checkpoint_path).with_suffix(".metrics.jsonl")


def loss_plot_path(checkpoint_path: str | Path) -> Path:
    """model.pt -> model.loss.png"""
    return Path(checkpoint_path).with_suffix(".loss.png")


def lr_at(step: int, s: TrainSettings) -> float:
    """Learning rate for `step` (0-based). adamw: linear warm-up, then cosine to lr * min_lr_ratio.
    sgd: the lecture's recipe, lr for the first 75% of the steps, lr / 10 after."""
    assert s.lr is not None, "settings not resolved"
    if s.optimizer == "sgd":
        return s.lr if step < 0.75 * s.steps else s.lr / 10
    if step < s.warmup_steps:
        return s.lr * (step + 1) / s.warmup_steps
    progress = (step - s.warmup_steps) / max(1, s.steps - s.warmup_steps)
    return s.lr * (s.min_lr_ratio + (1 - s.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0))))


class Reporter:
    """Hooks the CLI fills in (progress bar, printing); the library itself prints nothing."""

    def start(self, total_steps: int, first_step: int) -> None: ...
    def step(self, step: int, loss: float, lr: float) -> None: ...
    def evaluation(self, record: dict, samples: list[str], is_best: bool) -> None: ...
    def close(self) -> None: ...


@dataclass
class TrainResult:
    checkpoint: Checkpoint
    history: list[dict] = field(default_factory=list)
    interrupted: bool = False

    @property
    def best(self) -> dict:
        return self.checkpoint.metrics


class Trainer:
    def __init__(self, config: ModelConfig, vocab: Vocab, split: Split, settings: TrainSettings,
                 out_path: str | Path, data_info: dict | None = None, device: str = "cpu",
                 reporter: Reporter | None = None, resume_from: Checkpoint | None = None):
        self.config, self.vocab, self.split = config, vocab, split
        self.settings = settings.resolved(config.arch)
        self.out_path = Path(out_path)
        self.data_info = data_info or {}
        self.device = torch.device(device)
        self.reporter = reporter or Reporter()
        self._stop = False

        torch.manual_seed(self.settings.seed)
        self.model = build_model(config).to(self.device)
        self.optimizer = self._make_optimizer()
        self.batch_rng = torch.Generator().manual_seed(self.settings.seed)
        r = config.receptive_field
        batcher_cls = SequenceBatcher if config.arch == "wavenet" else WindowBatcher
        self.train_batches = batcher_cls(split.train, vocab, r)
        self.train_eval = SequenceBatcher(split.train, vocab, r)
        self.val_eval = SequenceBatcher(split.val, vocab, r)
        self.step = 0
        self.history: list[dict] = []
        self.best: dict | None = None
        self.best_state: dict | None = None
        self.elapsed = 0.0
        if resume_from is not None:
            self._restore(resume_from)

    # -- setup -------------------------------------------------------------------------------------
    def _make_optimizer(self) -> torch.optim.Optimizer:
        s = self.settings
        assert s.lr is not None, "settings not resolved"
        if s.optimizer == "sgd":
            return torch.optim.SGD(self.model.parameters(), lr=s.lr)
        decay = [p for p in self.model.parameters() if p.dim() >= 2]
        no_decay = [p for p in self.model.parameters() if p.dim() < 2]
        groups = [{"params": decay, "weight_decay": s.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
        return torch.optim.AdamW(groups, lr=s.lr, betas=(0.9, 0.99))

    def _restore(self, ckpt: Checkpoint) -> None:
        state = ckpt.train_state
        if not state:
            raise ModelFileError("--resume: the checkpoint holds no training state")
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.step = int(state["step"])
        torch.set_rng_state(state["torch_rng"])
        self.batch_rng.set_state(state["batch_rng"])
        self.history = list(state["history"])
        self.elapsed = float(state["elapsed"])
        self.best = dict(ckpt.metrics) if ckpt.metrics else None
        self.best_state = ckpt.state_dict

    # -- the loop ----------------------------------------------------------------------------------
    def run(self) -> TrainResult:
        s = self.settings
        self.model.train()
        self.reporter.start(s.steps, self.step)
        previous_handler = self._install_sigint()
        running, count, started = 0.0, 0, time.perf_counter() - self.elapsed
        try:
            while self.step < s.steps and not self._stop:
                lr = lr_at(self.step, s)
                for group in self.optimizer.param_groups:
                    group["lr"] = lr
                x, y = self.train_batches.sample(s.batch_size, self.batch_rng)  # type: ignore[arg-type]  # resolved
                logits = self.model(x.to(self.device))  # (B, T, V)
                loss = F.cross_entropy(logits.flatten(0, 1), y.to(self.device).flatten(), ignore_index=IGNORE_INDEX)
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                if s.grad_clip > 0:
                    torch.nn.utils.clip_grad_norm_(self.model.parameters(), s.grad_clip)
                self.optimizer.step()
                self.step += 1
                running, count = running + loss.item(), count + 1
                self.reporter.step(self.step, loss.item(), lr)
                if self.step % s.eval_every == 0 or self.step == s.steps:
                    self.elapsed = time.perf_counter() - started
                    self._evaluate(running / count, lr)
                    running, count = 0.0, 0
        finally:
            self._restore_sigint(previous_handler)
        interrupted = self._stop and self.step < s.steps
        if interrupted:
            self.elapsed = time.perf_counter() - started
            if self.best is None or self.history[-1]["step"] != self.step:
                self._evaluate(running / max(count, 1), lr_at(max(self.step - 1, 0), s))
        if self.history:
            plot_loss_curves({self.config.arch: self.history}, loss_plot_path(self.out_path))
        self.reporter.close()
        return TrainResult(self._checkpoint(), self.history, interrupted)

    def _evaluate(self, batch_loss: float, lr: float) -> None:
        record = {
            "step": self.step, "batch_loss": round(batch_loss, 6),
            "train_loss": mean_nll(self.model, self.train_eval, self.device),
            "val_loss": mean_nll(self.model, self.val_eval, self.device),
            "lr": lr, "elapsed_s": round(self.elapsed, 3),
        }
        self.history.append(record)
        is_best = self.best is None or record["val_loss"] < self.best["val_loss"]
        if is_best:
            self.best = {**record, "parameters": count_parameters(self.model), "arch": self.config.arch}
            self.best_state = {k: v.detach().cpu().clone() for k, v in self.model.state_dict().items()}
        samples = []
        if self.settings.samples:
            gen = torch.Generator().manual_seed(self.settings.seed + self.step)  # does not disturb training RNG
            samples = sample_names(self.model, self.vocab, self.settings.samples, self.config.max_len, gen,
                                   device=self.device)
        save_checkpoint(self._checkpoint(), self.out_path)
        self._write_metrics_log()
        self.reporter.evaluation(record, samples, is_best)

    def _write_metrics_log(self) -> None:
        with atomic_path(metrics_log_path(self.out_path)) as tmp:
            tmp.write_text("".join(json.dumps(record) + "\n" for record in self.history))

    def _checkpoint(self) -> Checkpoint:
        train_state = {
            "model": {k: v.detach().cpu().clone() for k, v in self.model.state_dict().items()},
            "optimizer": self.optimizer.state_dict(),
            "step": self.step, "torch_rng": torch.get_rng_state(), "batch_rng": self.batch_rng.get_state(),
            "history": self.history, "elapsed": self.elapsed,
            "settings": asdict(self.settings),
        }
        assert self.best_state is not None  # written after the first evaluation
        return Checkpoint(self.config, self.vocab, self.best_state, self.best or {}, self.data_info, train_state)

    # -- Ctrl-C: finish the current step, write the checkpoint, stop -------------------------------
    def _install_sigint(self):
        if threading.current_thread() is not threading.main_thread():
            return None

        def request_stop(signum, frame):
            if self._stop:  # a second Ctrl-C stops at once
                raise KeyboardInterrupt
            self._stop = True

        return signal.signal(signal.SIGINT, request_stop)

    def _restore_sigint(self, previous) -> None:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
