"""The two architectures, behind one interface so one training loop, evaluation and sampler serve both.

Interface: `model(idx)` with idx [B, L] token ids returns logits [B, L - R + 1, V], where R is the
receptive field: logits[:, j] predicts the token that follows idx[:, j + R - 1] from the window
idx[:, j : j + R]. The data pipeline left-pads every item with boundary tokens (id 0), so the first
prediction sees exactly the all-boundary context of the lecture's windowed model.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from wavenet_edge.runtime.config import ModelConfig
from wavenet_edge.runtime.vocab import BOUNDARY_ID

__all__ = ["GatedResidualLayer", "LectureNet", "WaveNet", "build_model", "count_parameters"]


class GatedResidualLayer(nn.Module):
    """One WaveNet layer (van den Oord et al. 2016, sec. 2.3-2.4).

    A causal dilated convolution (kernel 2, no padding: the output is `dilation` steps shorter), the
    gated activation tanh(W_f * x) ⊙ σ(W_g * x), then 1x1 convolutions to the residual and skip paths.
    The weights are Conv1d's; the arithmetic runs as matrix products on a channels-last layout, which
    is several times faster on CPU than mkldnn's convolution at these sizes.
    """

    def __init__(self, channels: int, skip_channels: int, dilation: int, dropout: float, residual: bool):
        super().__init__()
        self.dilation = dilation
        self.conv = nn.Conv1d(channels, 2 * channels, kernel_size=2, dilation=dilation)  # filter ‖ gate
        self.dropout = nn.Dropout(dropout)
        self.residual = nn.Conv1d(channels, channels, 1) if residual else None  # the top layer needs none
        self.skip = nn.Conv1d(channels, skip_channels, 1)

    def forward(self, x: torch.Tensor, dropout: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B, L, C) -> (next layer's input (B, L - d, C), gated activations g (B, L - d, C))."""
        d = self.dilation
        # pairs: (B, L - d, 2C), the input d steps back beside the current one
        pairs = torch.cat([x[:, :-d], x[:, d:]], dim=2)
        w = self.conv.weight  # (2C, C, 2): tap 0 looks d steps back, tap 1 at the current step
        z = F.linear(pairs, torch.cat([w[:, :, 0], w[:, :, 1]], dim=1), self.conv.bias)  # (B, L - d, 2C)
        filt, gate = z.chunk(2, dim=2)
        g = torch.tanh(filt) * torch.sigmoid(gate)  # (B, L - d, C)
        if dropout:
            g = self.dropout(g)
        if self.residual is None:
            return g, g
        return x[:, d:] + F.linear(g, self.residual.weight[:, :, 0], self.residual.bias), g

    def skip_out(self, g: torch.Tensor) -> torch.Tensor:
        """(B, T, C) -> (B, T, S)"""
        return F.linear(g, self.skip.weight[:, :, 0], self.skip.bias)


class WaveNet(nn.Module):
    """Character WaveNet (van den Oord et al. 2016) on the makemore task, causal by valid convolutions."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        c = config
        self.embedding = nn.Embedding(c.vocab_size, c.channels)
        dilations = c.layer_dilations
        # an nn.ModuleList, typed as what it holds (a ModuleList's items type-check as plain Modules)
        self.layers: Sequence[GatedResidualLayer] = nn.ModuleList(  # type: ignore[assignment]
            GatedResidualLayer(c.channels, c.skip_channels, d, c.dropout, residual=i < len(dilations) - 1)
            for i, d in enumerate(dilations)
        )
        self.head_hidden = nn.Conv1d(c.skip_channels, c.head_channels, 1)
        self.head_out = nn.Conv1d(c.head_channels, c.vocab_size, 1)
        with torch.no_grad():
            self.head_out.weight.mul_(0.1)  # less confident at init, as in the lecture

    @property
    def receptive_field(self) -> int:
        return self.config.receptive_field

    def forward(self, idx: torch.Tensor, padding_shortcut: bool = True) -> torch.Tensor:
        """idx (B, L) -> logits (B, L - R + 1, V).

        Leading columns that hold the boundary token in every row (the left padding of every training
        item) give every layer the same input vector at each of their positions, so that vector is
        computed once per layer (a (1, 1, C) "constant") and only `min(prefix, d)` copies of it are
        materialised where a dilated tap reaches into the padding. Eval mode is exactly the plain
        valid convolution over the whole sequence; in training, dropout skips the all-padding positions.
        padding_shortcut=False computes every position (the plain convolution; used by the benchmark's
        "recompute the whole window" baseline).
        """
        b, length = idx.shape
        out_len = length - self.receptive_field + 1
        # (torch.export / ONNX export traces the plain path: the prefix length depends on the data)
        shortcut = padding_shortcut and not torch.compiler.is_compiling()
        prefix = boundary_prefix(idx, self.receptive_field - 1) if shortcut else 0
        const = self.embedding.weight[BOUNDARY_ID].view(1, 1, -1)  # (1, 1, C): input at padding positions
        body = self.embedding(idx[:, prefix:])  # (B, L - prefix, C)
        skips: torch.Tensor = 0  # type: ignore[assignment]  # the first skip output replaces it
        for layer in self.layers:
            reach = min(prefix, layer.dilation)
            if reach:
                body = torch.cat([const.expand(b, reach, -1), body], dim=1)  # (B, reach + L', C)
                const, _ = layer(const.expand(1, layer.dilation + 1, -1), dropout=False)  # (1, 1, C)
            body, g = layer(body)  # (B, L' + reach - d, C)
            prefix = max(prefix - layer.dilation, 0)
            skips = skips + layer.skip_out(g[:, -out_len:])  # (B, T, S)
        h = F.relu(F.linear(F.relu(skips), self.head_hidden.weight[:, :, 0], self.head_hidden.bias))  # (B, T, H)
        return F.linear(h, self.head_out.weight[:, :, 0], self.head_out.bias)  # (B, T, V)


def boundary_prefix(idx: torch.Tensor, limit: int) -> int:
    """How many leading columns of idx (B, L), at most `limit`, hold the boundary token in every row."""
    if limit <= 0:
        return 0
    is_boundary = (idx[:, :limit] == BOUNDARY_ID).all(dim=0)  # (limit,)
    return int(is_boundary.to(torch.int32).cumprod(0).sum())


class FlattenConsecutive(nn.Module):
    """(B, T, C) -> (B, T / n, C * n): concatenate n neighbouring positions (makemore part 5)."""

    def __init__(self, n: int):
        super().__init__()
        self.n = n

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, c = x.shape
        return x.reshape(b, t // self.n, c * self.n)


class SequenceBatchNorm(nn.BatchNorm1d):
    """BatchNorm1d over the last dimension of (N, C) or (N, T, C), as the lecture's own BatchNorm1d."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 3:
            return super().forward(x.transpose(1, 2)).transpose(1, 2)
        return super().forward(x)


class LectureNet(nn.Module):
    """The lecture's hierarchical model (Karpathy, "makemore Part 5: Building a WaveNet").

    Embedding -> log2(block) x [FlattenConsecutive(2) -> Linear(no bias) -> BatchNorm1d -> Tanh] -> Linear.
    With n_embd 24, n_hidden 128, block 8 and 27 tokens: 76,579 parameters.
    """

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        c = config
        self.embedding = nn.Embedding(c.vocab_size, c.n_embd)
        blocks, width = [], c.n_embd
        for _ in range(c.n_blocks):
            blocks += [FlattenConsecutive(2), nn.Linear(width * 2, c.n_hidden, bias=False),
                       SequenceBatchNorm(c.n_hidden), nn.Tanh()]
            width = c.n_hidden
        self.blocks = nn.Sequential(*blocks)
        self.out = nn.Linear(width, c.vocab_size)
        with torch.no_grad():
            self.out.weight.mul_(0.1)  # the lecture's "make last layer less confident"

    @property
    def receptive_field(self) -> int:
        return self.config.receptive_field

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        # idx: (B, L) -> windows: (B, L - R + 1, R)
        b, length = idx.shape
        r = self.receptive_field
        windows = idx.unfold(1, r, 1)
        x = self.embedding(windows.reshape(-1, r))  # (N, R, E), N = B * (L - R + 1)
        x = self.blocks(x).squeeze(1)  # (N, n_hidden)
        return self.out(x).view(b, length - r + 1, -1)  # (B, L - R + 1, V)


def build_model(config: ModelConfig) -> WaveNet | LectureNet:
    """A fresh model of `config.arch`."""
    return WaveNet(config) if config.arch == "wavenet" else LectureNet(config)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
