"""An exponential moving average of a model's weights (Polyak & Juditsky 1992, "Acceleration of stochastic
approximation by averaging"; the warm-up of the decay follows TensorFlow's ExponentialMovingAverage).

    ema = EmaWeights(model, decay=0.999)
    ...; optimizer.step(); ema.update(model, step)      # step: updates done so far, 1-based
    with ema.applied(model):                              # evaluate or save the averaged weights
        val = mean_nll(model, ...)

The average is kept in float (the model's own dtype) for every floating-point tensor of the state dict;
integer buffers (BatchNorm's counter) are copied. Its state is a plain dict of tensors, so --resume
restores it bit for bit.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
from torch import nn

from wavenet_edge.runtime.common.errors import ConfigError, ModelFileError

__all__ = ["EmaWeights", "ema_decay_at"]


def ema_decay_at(decay: float, step: int) -> float:
    """The decay used at update `step` (1-based): min(decay, (1 + step) / (10 + step)), so early updates
    do not keep the random initial weights for thousands of steps."""
    return min(decay, (1 + step) / (10 + step))


class EmaWeights:
    def __init__(self, model: nn.Module, decay: float):
        if not 0.0 < decay < 1.0:
            raise ConfigError(f"--ema must be in (0, 1), got {decay}")
        self.decay = decay
        self.shadow = {k: v.detach().clone() for k, v in model.state_dict().items()}

    @torch.no_grad()
    def update(self, model: nn.Module, step: int) -> None:
        """shadow <- d * shadow + (1 - d) * weights, d = ema_decay_at(decay, step)."""
        weight = 1.0 - ema_decay_at(self.decay, step)
        for name, value in model.state_dict().items():
            shadow = self.shadow[name]
            if shadow.dtype.is_floating_point:
                shadow.lerp_(value.detach(), weight)
            else:
                shadow.copy_(value)

    @contextlib.contextmanager
    def applied(self, model: nn.Module) -> Iterator[nn.Module]:
        """Run the block with the averaged weights in `model`; its own weights come back exactly after."""
        own = {k: v.detach().clone() for k, v in model.state_dict().items()}
        model.load_state_dict(self.shadow)
        try:
            yield model
        finally:
            model.load_state_dict(own)

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {k: v.detach().cpu().clone() for k, v in self.shadow.items()}

    def load_state_dict(self, state: dict, where: str = "checkpoint") -> None:
        if not isinstance(state, dict) or set(state) != set(self.shadow) or not all(
                isinstance(v, torch.Tensor) and v.shape == self.shadow[k].shape for k, v in state.items()):
            raise ModelFileError(f"{where}: the averaged (--ema) weights do not fit the model")
        for name, value in state.items():
            self.shadow[name].copy_(value)
