"""The training loop shared by both architectures.

    result = Trainer(config, vocab, split, TrainSettings(steps=20_000), out_path="model.pt").run()

Every `eval_every` steps: the loss on the whole train and val splits (eval mode), a metrics line, a
few samples, and the checkpoint written atomically. `out_path` always holds the best-val weights plus
the latest full training state, so --resume continues exactly where the run stopped. The learning
rate is a pure function of the step, so the schedule needs no state of its own.

Options: `ema` > 0 keeps an exponential moving average of the weights (train/ema.py) that evaluation and
the best checkpoint use; a `teacher` adds the distillation term (train/distill.py); `dist` runs it as one
rank of a DistributedDataParallel job (train/distributed.py). A non-finite loss stops the run with
TrainingDiverged before that step is applied, so no checkpoint ever holds NaN weights.
"""

from __future__ import annotations

import contextlib
import json
import math
import signal
import threading
import time
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

import torch

from wavenet_edge.runtime.common.dataset import Split
from wavenet_edge.runtime.common.errors import ConfigError, ModelFileError, WavenetEdgeError
from wavenet_edge.runtime.common.files import atomic_path
from wavenet_edge.runtime.config import ModelConfig
from wavenet_edge.runtime.vocab import Vocab

from .batches import IGNORE_INDEX, SequenceBatcher, WindowBatcher
from .checkpoint import Checkpoint, save_checkpoint, validate_train_state
from .distill import DISTILL_SCHEDULES, Teacher, distill_weight_at, distillation_loss_sum, model_input
from .distributed import SINGLE, Distributed
from .ema import EmaWeights
from .evaluate import mean_nll
from .models import build_model, count_parameters
from .plots import plot_loss_curves
from .rng import capture_rng, restore_rng
from .samples import sample_names

__all__ = ["OPTIMIZERS", "SYNC_STEPS", "UNPLANNED", "Reporter", "TrainResult", "TrainSettings", "Trainer",
           "TrainingDiverged", "auto_eval_every", "lr_at", "metrics_log_path", "loss_plot_path", "json_record",
           "sync_steps_for"]

OPTIMIZERS = ("adamw", "sgd")
SYNC_STEPS = 50  # on a GPU: training steps between reads of the loss (Trainer.sync_every)
UNPLANNED = 2**31 - 1  # the step count (and evaluation interval) of a --time run until its speed is measured
SKIPPED_STEPS = 2  # the first steps of a run (allocation, caches) are left out of its speed
SPEED_AFTER_S = 3.0  # the speed is measured over this long (a --time run: at most 2% of its budget) ...
SPEED_MIN_STEPS = 10  # ... and at least this many steps, or over SPEED_MAX_STEPS steps, whichever comes first
SPEED_MAX_STEPS = 500


def auto_eval_every(steps: int) -> int:
    """The evaluation interval wn-train chooses for `steps` steps: a twentieth of them, 100..2000, rounded to 100."""
    return int(min(2000, max(100, round(steps / 20, -2))))


def sync_steps_for(device: torch.device) -> int:
    """Steps between reads of the training loss on `device`. A read waits for the device to finish (a CUDA
    synchronisation, issue 16), so on a GPU the host queues SYNC_STEPS steps ahead; on the CPU a read costs
    nothing, and every step is read (the progress bar and a Ctrl-C act at once)."""
    return 1 if device.type == "cpu" else SYNC_STEPS


class TrainingDiverged(WavenetEdgeError):
    """The loss became NaN or infinite; nothing of that step was applied or written."""


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
    ema: float = 0.0  # decay of the weight average that evaluation uses (0: off), e.g. 0.999
    distill_weight: float = 0.5  # with a teacher: a in (1 - a) NLL + a T^2 KL
    distill_temperature: float = 2.0  # with a teacher: T
    distill_schedule: str = "constant"  # with a teacher: constant a, or linear (a falls to 0 by the end)

    def resolved(self, arch: str) -> TrainSettings:
        optimizer = self.optimizer or ("adamw" if arch == "wavenet" else "sgd")
        lr = self.lr if self.lr is not None else (3e-3 if optimizer == "adamw" else 0.1)
        batch = self.batch_size if self.batch_size is not None else (64 if arch == "wavenet" else 32)
        settings = TrainSettings(**{**asdict(self), "optimizer": optimizer, "lr": lr, "batch_size": batch})
        settings.validate()
        return settings

    @classmethod
    def from_dict(cls, data: dict, where: str) -> TrainSettings:
        """Settings saved in a checkpoint; ModelFileError in one line when they were edited into nonsense."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(str(k) for k in set(data) - known)
        if unknown:
            raise ModelFileError(f"{where}: malformed training state: unknown settings {', '.join(unknown)}")
        try:
            settings = cls(**data)
            settings.validate()
        except (TypeError, ConfigError) as err:
            raise ModelFileError(f"{where}: malformed training state: settings: {err}") from None
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
            (self.ema == 0 or 0 < self.ema < 1, f"--ema must be in (0, 1) (0: off), got {self.ema}"),
            (0 <= self.distill_weight <= 1, f"--distill-weight must be in [0, 1], got {self.distill_weight}"),
            (0 < self.distill_temperature <= 100 and math.isfinite(self.distill_temperature),
             f"--distill-temperature must be in (0, 100], got {self.distill_temperature}"),
            (self.distill_schedule in DISTILL_SCHEDULES,
             f"--distill-schedule must be one of {', '.join(DISTILL_SCHEDULES)}, got {self.distill_schedule!r}"),
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


def json_record(record: dict) -> str:
    """One metrics line: strict JSON, a non-finite number written as null (never a bare NaN)."""
    clean = {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in record.items()}
    return json.dumps(clean, allow_nan=False)


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

    def start(self, total_steps: int | None, first_step: int) -> None: ...  # None: a --time run, not planned yet
    def step(self, step: int, loss: float, lr: float) -> None: ...
    def speed(self, steps_per_s: float, total_steps: int, seconds_left: float) -> None: ...
    def planned(self, budget_s: float, steps: int, steps_per_s: float, eval_every: int, again: bool) -> None: ...
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
                 reporter: Reporter | None = None, resume_from: Checkpoint | None = None,
                 teacher: Teacher | None = None, dist: Distributed = SINGLE, init_weights: dict | None = None,
                 time_budget: float | None = None, auto_eval: bool = False, started_at: float | None = None):
        self.config, self.vocab, self.split = config, vocab, split
        self.settings = settings.resolved(config.arch)
        # --time: the step count (and, when auto_eval, the evaluation interval) is fitted to the budget once the
        # speed is measured; until then the run has no end
        self.time_budget = time_budget if resume_from is None else None
        self._auto_eval = auto_eval
        self._started_at = started_at  # time.perf_counter() when the command began: the budget counts from there
        if self.time_budget is not None:
            self.settings = replace(self.settings, steps=UNPLANNED,
                                    eval_every=UNPLANNED if auto_eval else self.settings.eval_every)
        self.out_path = Path(out_path)
        self.data_info = data_info or {}
        self.device = torch.device(device)
        self.reporter = reporter or Reporter()
        self.teacher = teacher
        self.dist = dist
        self._stop = False  # a Ctrl-C (SIGTERM under torchrun) was received by this process
        self._agreed_stop = False  # ... by some rank, as every rank knows since the last read of the losses
        self.sync_every = sync_steps_for(self.device)
        self.batch_size: int = self.settings.batch_size or 1  # resolved: never None
        if self.batch_size < dist.world_size:
            raise ConfigError(f"--batch-size {self.batch_size} is smaller than the {dist.world_size} "
                              "processes that share it")

        torch.manual_seed(self.settings.seed)
        self.model = build_model(config).to(self.device)
        # fine-tuning (wn-train --init): a new run from trained weights, measured at step 0 so that the
        # checkpoint keeps them until an evaluation beats them (a short run can end worse than it began)
        self._evaluate_start = init_weights is not None and resume_from is None
        if init_weights is not None:
            self.model.load_state_dict(init_weights)
        if dist.rank > 0:  # its own dropout masks; the weights come from rank 0 through DDP's broadcast
            torch.manual_seed(self.settings.seed + 1_000_003 * dist.rank)
        self.optimizer = self._make_optimizer()
        self.ema = EmaWeights(self.model, self.settings.ema) if self.settings.ema else None
        self.batch_rng = torch.Generator().manual_seed(self.settings.seed)
        r = config.receptive_field
        self.batch_rf = max(r, teacher.receptive_field) if teacher is not None else r  # see distill.model_input
        batcher_cls = SequenceBatcher if config.arch == "wavenet" else WindowBatcher
        self.train_batches = batcher_cls(split.train, vocab, self.batch_rf)
        # the teacher's soft targets for every training row (N, T, V), computed once
        self.soft_targets = teacher.table(self.train_batches.x, self.batch_rf) if teacher is not None else None
        self.train_eval = SequenceBatcher(split.train, vocab, r)
        self.val_eval = SequenceBatcher(split.val, vocab, r)
        self.step = 0
        self.history: list[dict] = []
        self.best: dict | None = None
        self.best_state: dict | None = None
        self.elapsed = 0.0
        self._rngs: list[dict] | None = None  # every rank's RNG state at the last evaluation
        self._last_eval_step = -1
        self._eval_seconds, self._evals = 0.0, 0  # time spent in evaluations since the speed clock started
        self._clock: tuple[int, float] | None = None  # (step, time) where the speed measurement starts
        self._timed = False  # the speed (or a --time run's plan) has been reported
        self._run_started, self._started_at_step = time.perf_counter(), 0
        self._loop_started, self._eval_total = time.perf_counter(), 0.0  # the training loop's start, its evaluations
        self._budget_record = self.time_budget  # what the checkpoint says the run's budget was
        if resume_from is not None:
            self._restore(resume_from)
        self.train_model: torch.nn.Module = self.model
        if dist.enabled:
            from torch.nn.parallel import DistributedDataParallel

            ids = [self.device.index] if self.device.type == "cuda" else None
            self.train_model = DistributedDataParallel(self.model, device_ids=ids)

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
        where = f"--resume {ckpt.source}" if ckpt.source else "--resume"
        state = validate_train_state(ckpt.train_state, where)
        try:
            self.model.load_state_dict(state["model"])
            self.optimizer.load_state_dict(state["optimizer"])
        except (RuntimeError, ValueError, KeyError, TypeError) as err:
            raise ModelFileError(f"{where}: the training state does not fit the model or optimizer: "
                                 f"{str(err).splitlines()[0] if str(err) else type(err).__name__}") from None
        if self.ema is not None:
            if "ema" not in state:
                raise ConfigError(f"{where}: the run was trained without --ema; it cannot be added on resume")
            self.ema.load_state_dict(state["ema"], where)
        self.step = int(state["step"])
        rngs = state.get("rng")
        if isinstance(rngs, list) and len(rngs) == self.dist.world_size:
            restore_rng(rngs[self.dist.rank], self.device, where)
        elif self.dist.rank == 0:  # a checkpoint of another world size, or of an older version
            restore_rng(rngs[0] if rngs else {"torch": state["torch_rng"]}, self.device, where)
        self.batch_rng.set_state(state["batch_rng"])
        self.history = list(state["history"])
        self.elapsed = float(state["elapsed"])
        self.best = dict(ckpt.metrics) if ckpt.metrics else None
        self.best_state = ckpt.state_dict
        self._last_eval_step = self.history[-1]["step"] if self.history else -1
        budget = state.get("time_budget_s")
        self._budget_record = float(budget) if isinstance(budget, (int, float)) and budget > 0 else None

    # -- the loop ----------------------------------------------------------------------------------
    def run(self) -> TrainResult:
        s = self.settings
        self.model.train()
        self.reporter.start(None if s.steps == UNPLANNED else s.steps, self.step)
        previous_handlers = self._install_signal_handlers()
        running, count, started = 0.0, 0, time.perf_counter() - self.elapsed
        self._run_started, self._started_at_step = self._started_at or time.perf_counter(), self.step
        try:
            if self._evaluate_start and self.step == 0 and not self.history:
                self._evaluate(None, lr_at(0, s))
            pending: list[tuple[int, torch.Tensor, int, float]] = []  # steps whose loss is not read yet
            self._loop_started, self._eval_total = time.perf_counter(), 0.0
            while self.step < self.settings.steps and not self._stopping():
                s = self.settings  # a --time run's plan replaces them once
                lr = lr_at(self.step, s)
                for group in self.optimizer.param_groups:
                    group["lr"] = lr
                loss_sum, targets = self._train_step()
                self.step += 1
                pending.append((self.step, loss_sum, targets, lr))
                at_eval = self.step % s.eval_every == 0 or self.step == s.steps
                # the same condition on every rank (it holds a collective); a local Ctrl-C alone only here
                if at_eval or len(pending) >= self.sync_every or (self._stop and not self.dist.enabled):
                    for loss in self._read_losses(pending):
                        running, count = running + loss, count + 1
                    pending = []
                    self._time_steps()
                if at_eval:
                    if self.settings.steps == UNPLANNED:  # no checkpoint without a step count: plan from what ran
                        self._plan(*self._speed_so_far(estimate=True))
                    self.elapsed = time.perf_counter() - started
                    self._evaluate(running / count, lr)
                    running, count = 0.0, 0
            if pending:  # a Ctrl-C between the last read and the loop's test (sync_every > 1, one process)
                for loss in self._read_losses(pending):
                    running, count = running + loss, count + 1
        finally:
            self._restore_signal_handlers(previous_handlers)
        if self.settings.steps == UNPLANNED:  # stopped before its speed was measured: plan from what it did
            self._plan(*self._speed_so_far(estimate=False))
        s = self.settings
        interrupted = self._stopping() and self.step < s.steps
        if interrupted:
            self.elapsed = time.perf_counter() - started
            if self._last_eval_step != self.step:
                self._evaluate(running / max(count, 1), lr_at(max(self.step - 1, 0), s))
        if self.history and self.dist.is_main:
            plot_loss_curves({self.config.arch: self.history}, loss_plot_path(self.out_path))
        self.reporter.close()
        return TrainResult(self._checkpoint(), self.history, interrupted)

    # -- speed, expected end, --time ---------------------------------------------------------------------
    def _time_steps(self) -> None:
        """After the first steps: the speed, and the expected end (reported once); a --time run fits its step
        count to what is left of its budget. Evaluations are timed apart (self._eval_seconds)."""
        if self._timed:
            return
        now = time.perf_counter()
        if self._clock is None:
            if self.step - self._started_at_step >= SKIPPED_STEPS or self.sync_every > 1:
                self._clock = (self.step, now)
                self._eval_seconds, self._evals = 0.0, 0
            return
        steps, seconds = self.step - self._clock[0], now - self._clock[1] - self._eval_seconds
        wait = SPEED_AFTER_S if self.time_budget is None else min(SPEED_AFTER_S, 0.02 * self.time_budget)
        if not (steps >= SPEED_MIN_STEPS and seconds >= wait or steps >= SPEED_MAX_STEPS):
            return
        rate = steps / max(seconds, 1e-9)
        eval_cost = self._eval_seconds / self._evals if self._evals else self._estimate_eval_seconds()
        self._timed = True
        if self.time_budget is not None:
            self._plan(rate, eval_cost)
            return
        s = self.settings
        left = s.steps - self.step
        evals = left // s.eval_every + (s.steps % s.eval_every != 0)
        self.reporter.speed(rate, s.steps, left / rate + evals * eval_cost)

    def _estimate_eval_seconds(self) -> float:
        """What one evaluation will take: a timed pass over the val split, scaled to train + val."""
        start = time.perf_counter()
        mean_nll(self.model, self.val_eval, self.device)
        seconds = time.perf_counter() - start
        rows = max(1, self.val_eval.x.shape[0])
        return seconds * (self.train_eval.x.shape[0] + rows) / rows

    def _speed_so_far(self, estimate: bool) -> tuple[float, float]:
        """Steps per second and seconds per evaluation: since the speed clock started (or, before it did, since
        the loop started); an evaluation not yet seen is estimated only if `estimate`."""
        now = time.perf_counter()
        if self._clock is not None:
            steps, seconds, evals, eval_s = (self.step - self._clock[0], now - self._clock[1] - self._eval_seconds,
                                             self._evals, self._eval_seconds)
        else:
            steps, seconds = self.step - self._started_at_step, now - self._loop_started - self._eval_total
            evals, eval_s = 0, 0.0
        rate = max(steps, 1) / max(seconds, 1e-3)
        eval_cost = eval_s / evals if evals else (self._estimate_eval_seconds() if estimate else 0.0)
        return rate, eval_cost

    def _replan(self) -> None:
        """A --time run in its first half, at an evaluation: fit the step count again to the speed and the
        evaluation cost measured so far (the machine may have got busier or quieter)."""
        if self._clock is not None and self.step > self._clock[0]:
            self._plan(*self._speed_so_far(estimate=False), again=True)

    def _plan(self, rate: float, eval_cost: float, again: bool = False) -> None:
        """Fit the step count (the learning-rate schedule follows it) and, if it is chosen, the evaluation
        interval to what is left of the time budget, at `rate` steps per second."""
        assert self.time_budget is not None
        used = time.perf_counter() - self._run_started
        left = max(0.0, self.time_budget * 0.98 - used - 1.0)  # the loss plot and the last checkpoint at the end
        eval_every, more = self.settings.eval_every, int(left * rate)
        for _ in range(2):  # the interval depends on the count, which depends on the interval
            if self._auto_eval:
                eval_every = auto_eval_every(self.step + more)
            more = int(left / (1 / rate + eval_cost / eval_every))
        steps = self.step + max(1, more)
        before = self.settings.steps
        self.settings = replace(self.settings, steps=steps, eval_every=eval_every)
        self._timed = True
        if not again or abs(steps - before) > 0.1 * before:
            self.reporter.planned(self.time_budget, steps, rate, eval_every, again)

    def _stopping(self) -> bool:
        """Whether to stop before the next step: a Ctrl-C here, or under torchrun one that every rank has heard
        of (agreed at the last read of the losses)."""
        return self._agreed_stop if self.dist.enabled else self._stop

    def _read_losses(self, pending: list[tuple[int, torch.Tensor, int, float]]) -> list[float]:
        """The mean losses of the `pending` steps (step, this rank's loss sum on the device, the global batch's
        targets, lr), summed over ranks in one all-reduce that also agrees on stopping, read back to the host
        in one transfer: the only synchronisation with the device in sync_every steps. A non-finite loss stops
        the run, naming its step."""
        sums = torch.stack([loss_sum for _, loss_sum, _, _ in pending]).double()  # [k] on the device
        flag = torch.tensor([float(self._stop)], dtype=torch.float64, device=self.device)
        shared = self.dist.all_sum(torch.cat([sums, flag])).tolist()
        self._agreed_stop = shared[-1] > 0
        losses = []
        for (step, _, targets, lr), total in zip(pending, shared[:-1], strict=True):
            mean_loss = total / targets
            if not math.isfinite(mean_loss):
                raise TrainingDiverged(self._diverged_message(f"the training loss is {mean_loss}", step))
            self.reporter.step(step, mean_loss, lr)
            losses.append(mean_loss)
        return losses

    def _train_step(self) -> tuple[torch.Tensor, int]:
        """One optimisation step on one global batch: this rank's loss sum (a 0-d tensor on the device, not
        read here: reading it waits for the device) and the global batch's number of targets."""
        s = self.settings
        rows = self.train_batches.draw(self.batch_size, self.batch_rng)  # the global batch, the same on every rank
        targets = int((self.train_batches.y[rows] != IGNORE_INDEX).sum())
        rows = rows[self.dist.shard(self.batch_size)]  # this rank's share (all of it in a single process)
        x, y = self.train_batches.take(rows)
        x, y = x.to(self.device), y.to(self.device)
        logits = self.train_model(model_input(x, self.batch_rf, self.config.receptive_field))  # (B, T, V)
        teacher_logits = None
        weight = distill_weight_at(s.distill_weight, s.distill_schedule, self.step, s.steps)
        if self.soft_targets is not None and weight > 0:
            teacher_logits = self.soft_targets[rows][:, : y.shape[1]].to(self.device)  # (B, T, V)
        loss_sum = distillation_loss_sum(logits, y, teacher_logits, weight, s.distill_temperature)
        # DDP averages gradients over ranks: scale so the result is the gradient of the global mean
        loss = loss_sum * (self.dist.world_size / targets)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if s.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), s.grad_clip)
        self.optimizer.step()
        if self.ema is not None:
            self.ema.update(self.model, self.step + 1)
        return loss_sum.detach(), targets

    def _diverged_message(self, what: str, step: int | None = None) -> str:
        kept = (f"{self.out_path} keeps step {self.history[-1]['step']}'s state" if self.history
                else "no checkpoint was written")
        return f"training diverged at step {self.step + 1 if step is None else step}: {what} (lower --lr?); {kept}"

    def _evaluate(self, batch_loss: float | None, lr: float) -> None:
        """Rank 0 measures (with the averaged weights under --ema), writes the checkpoint and the log; the
        other ranks hand it their RNG states and wait. A divergence found here stops every rank."""
        started = time.perf_counter()
        self._rngs = self.dist.gather(capture_rng(self.device))  # a collective: every rank takes part
        self._last_eval_step = self.step
        failure = None
        if self.dist.is_main:
            try:
                with self.ema.applied(self.model) if self.ema is not None else contextlib.nullcontext():
                    record, samples, is_best = self._measure(batch_loss, lr)
                save_checkpoint(self._checkpoint(), self.out_path)
                self._write_metrics_log()
                self.reporter.evaluation(record, samples, is_best)
            except TrainingDiverged as err:
                failure = err
        flag = torch.tensor([float(failure is not None)], dtype=torch.float64, device=self.device)
        if self.dist.all_sum(flag).item() > 0:
            raise failure or TrainingDiverged(f"training diverged at step {self.step} (see rank 0's message)")
        self._eval_seconds += time.perf_counter() - started
        self._eval_total += time.perf_counter() - started
        self._evals += 1
        if self.time_budget is not None and self._timed and self.step < self.settings.steps / 2:
            self._replan()

    def _measure(self, batch_loss: float | None, lr: float) -> tuple[dict, list[str], bool]:
        """The evaluation record of the weights now in self.model; updates the best-val state. batch_loss
        None (step 0: no batch yet) records the train loss in its place."""
        train_loss = mean_nll(self.model, self.train_eval, self.device)
        record = {
            "step": self.step, "batch_loss": round(train_loss if batch_loss is None else batch_loss, 6),
            "train_loss": train_loss,
            "val_loss": mean_nll(self.model, self.val_eval, self.device),
            "lr": lr, "elapsed_s": round(self.elapsed, 3),
        }
        if not (math.isfinite(record["train_loss"]) and math.isfinite(record["val_loss"])):
            raise TrainingDiverged(self._diverged_message(f"the evaluated loss is {record['val_loss']}"))
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
        return record, samples, is_best

    def _write_metrics_log(self) -> None:
        with atomic_path(metrics_log_path(self.out_path)) as tmp:
            tmp.write_text("".join(json_record(record) + "\n" for record in self.history))

    def _recorded_settings(self) -> TrainSettings:
        """The settings a checkpoint records: a --time run's plan, or (written before it, as the step-0 measure of
        --init) the steps done so far, never the placeholder of an unplanned run."""
        if self.settings.steps != UNPLANNED:
            return self.settings
        steps = max(self.step, 1)
        return replace(self.settings, steps=steps, eval_every=min(self.settings.eval_every, steps))

    def _checkpoint(self) -> Checkpoint:
        own = {k: v.detach().cpu().clone() for k, v in self.model.state_dict().items()}
        rngs = self._rngs or [capture_rng(self.device)]
        train_state = {
            "model": own, "optimizer": self.optimizer.state_dict(),
            "step": self.step, "torch_rng": rngs[0]["torch"], "rng": rngs, "batch_rng": self.batch_rng.get_state(),
            "history": self.history, "elapsed": self.elapsed,
            "settings": asdict(self._recorded_settings()), "world_size": self.dist.world_size,
        }
        if self._budget_record is not None:
            train_state["time_budget_s"] = self._budget_record
        if self.ema is not None:
            train_state["ema"] = self.ema.state_dict()
        teacher = self.teacher.identity if self.teacher is not None else {}
        best_state = self.best_state or {}  # empty until the first evaluation, and on ranks other than 0
        return Checkpoint(self.config, self.vocab, best_state, self.best or {}, self.data_info, train_state, teacher)

    # -- Ctrl-C (and, under torchrun, SIGTERM): finish the current step, write the checkpoint, stop ----
    def _install_signal_handlers(self) -> dict:
        if threading.current_thread() is not threading.main_thread():
            return {}

        def request_stop(signum, frame):
            # a second Ctrl-C stops at once; not under torchrun, which passes the terminal's Ctrl-C on again
            if self._stop and signum == signal.SIGINT and not self.dist.enabled:
                raise KeyboardInterrupt
            self._stop = True

        signals = [signal.SIGINT] + ([signal.SIGTERM] if self.dist.enabled else [])
        return {sig: signal.signal(sig, request_stop) for sig in signals}

    def _restore_signal_handlers(self, previous: dict) -> None:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
