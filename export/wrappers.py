"""Explicit torch modules that define the exported ONNX graphs (no monkey-patched `forward`).

    StepGraph(wavenet)          tokens [B], oldest_l [B, C] per layer -> logits [B, V], newest_l [B, C] per layer
    WindowGraph(model)          tokens [B, R] -> logits [B, V]  (= model(tokens)[:, -1])
    LectureWindowGraph(lecture) the same function for LectureNet, batch norm folded, 2-D matmuls only
    window_graph(model)         the leanest window wrapper for the model's architecture
    initial_state(wavenet)      the exact step-graph state after only boundary tokens
    input_shifts(wavenet)       c_l: how far each layer's stored inputs are shifted (see StepGraph)

The step graph is Fast WaveNet (Paine et al. 2016, "Fast Wavenet Generation Algorithm"): every layer
keeps a queue of its last `dilation` inputs, so one new token costs one matrix product per layer
instead of a convolution over the whole receptive field. Weights are rearranged once, here, so the
graph is a short chain of 2-D matrix products (no Conv nodes). The queues live outside the graph
(format 2, runtime/contract.py): the graph reads each layer's oldest input and returns its newest.
"""

from __future__ import annotations

from typing import cast

import torch
from torch import nn

from wavenet_edge.runtime.contract import state_layout
from wavenet_edge.runtime.vocab import BOUNDARY_ID
from wavenet_edge.train.models import LectureNet, WaveNet

__all__ = ["LectureWindowGraph", "StepGraph", "WindowGraph", "initial_state", "input_shifts", "window_graph"]


def _frozen(tensor: torch.Tensor) -> nn.Parameter:
    return nn.Parameter(tensor.detach().clone().float().contiguous(), requires_grad=False)


def _bias(layer: nn.Conv1d | nn.Linear | nn.BatchNorm1d) -> torch.Tensor:
    """The bias of a layer built with one (torch types every layer's bias as optional)."""
    assert layer.bias is not None, f"{layer} has no bias"
    return layer.bias


class StepGraph(nn.Module):
    """One WaveNet step on 2-D matrices, queues outside: forward(tokens, *oldest) -> (logits, *newest).

    Shifted inputs: layer l's queue holds h'_l = h_l - c_l, its input minus c_l = r_0 + ... + r_{l-1}, the
    residual biases of the layers below it (c_0 = 0, so layer 0 holds plain embeddings). Then the residual
    update is one Gemm whose C is the whole input, h'_{l+1} = h'_l + g_l @ W_res_l, and c_l is folded into
    the conv bias: [old, h] @ W + b = [old', h'] @ W + b + c_l @ (W_tap0 + W_tap1). `initial_state(model)`
    is shifted the same way, and the logits are exactly the model's.

    Per layer with dilation d, oldest_l = the shifted input of d steps ago:
        newest_l = h'                                               (B, C): output, the caller queues it
        f = oldest_l @ W_f0 + (h' @ W_f1 + b_f)     g = the same with W_g0, W_g1, b_g
        g = tanh(f) * sigmoid(g)
        h' <- h' + g @ W_res                                        (not in the top layer)
    skips = [g_0, ..., g_{L-1}] @ [W_skip_0; ...; W_skip_{L-1}] + sum(b_skip)   one matmul for all layers
    logits = relu(relu(skips) @ W_hidden + b_hidden) @ W_out + b_out

    Each conv tap is its own Gemm, the second taking the first as C: onnxruntime fuses it with the Tanh or
    Sigmoid, and no per-row Concat of [oldest, h'] is needed. `python benchmarks/step_forms.py` times the
    alternatives on the shipped model (benchmarks/results/step_forms.txt: onnxruntime 1.32, one thread):
    filter and gate fused into C x 2C Gemms, or one Concat and a 2C x 2C Gemm per layer, take 19.7 and
    21.7 us per step at batch 1 against this form's 18.2 (a Split and unfused activations add kernels),
    and 875 and 880 us at batch 1024 against 839 (within a few per cent, either way, from run to run).
    """

    def __init__(self, model: WaveNet):
        super().__init__()
        config = model.config
        c = config.channels
        self.channels = c
        self.dilations = tuple(config.layer_dilations)
        self.embedding = _frozen(model.embedding.weight)  # (V, C)
        self.filter_old, self.filter_now = nn.ParameterList(), nn.ParameterList()  # (C, C) each: tap 0, tap 1
        self.gate_old, self.gate_now = nn.ParameterList(), nn.ParameterList()  # (C, C) each
        self.filter_bias, self.gate_bias = nn.ParameterList(), nn.ParameterList()  # (C,)
        self.res_weight = nn.ParameterList()  # (C, C)
        for layer, shift in zip(model.layers, input_shifts(model), strict=True):
            w = layer.conv.weight.double()  # (2C, C, 2): out, in, tap
            bias = _bias(layer.conv).double() + shift @ (w[:, :, 0].T + w[:, :, 1].T)  # (2C,): c_l folded in
            self.filter_old.append(_frozen(w[:c, :, 0].T))
            self.filter_now.append(_frozen(w[:c, :, 1].T))
            self.gate_old.append(_frozen(w[c:, :, 0].T))
            self.gate_now.append(_frozen(w[c:, :, 1].T))
            self.filter_bias.append(_frozen(bias[:c]))
            self.gate_bias.append(_frozen(bias[c:]))
            if layer.residual is not None:
                self.res_weight.append(_frozen(layer.residual.weight[:, :, 0].T))
        self.skip_weight = _frozen(torch.cat([layer.skip.weight[:, :, 0].T for layer in model.layers], 0))  # (LC, S)
        skip_biases = [_bias(layer.skip) for layer in model.layers]
        self.skip_bias = _frozen(sum(skip_biases[1:], skip_biases[0]))  # (S,)
        self.hidden_weight = _frozen(model.head_hidden.weight[:, :, 0].T)  # (S, H)
        self.hidden_bias = _frozen(_bias(model.head_hidden))
        self.out_weight = _frozen(model.head_out.weight[:, :, 0].T)  # (H, V)
        self.out_bias = _frozen(_bias(model.head_out))
        self.layout = [(entry["offset"], entry["size"]) for entry in state_layout(config)]  # flat state queues

    def forward(self, tokens: torch.Tensor, *oldest: torch.Tensor) -> tuple[torch.Tensor, ...]:
        # tokens: (B,) int64; oldest: L tensors (B, C) float32
        h = nn.functional.embedding(tokens, self.embedding)  # (B, C): h'_0 = h_0
        gates, newest = [], []
        for i in range(len(self.dilations)):
            newest.append(h)
            filt = torch.addmm(torch.addmm(self.filter_bias[i], h, self.filter_now[i]), oldest[i], self.filter_old[i])
            gate = torch.addmm(torch.addmm(self.gate_bias[i], h, self.gate_now[i]), oldest[i], self.gate_old[i])
            g = torch.tanh(filt) * torch.sigmoid(gate)  # (B, C)
            gates.append(g)
            if i < len(self.res_weight):
                h = torch.addmm(h, g, self.res_weight[i])  # (B, C): h' + g @ W_res, one Gemm with C = h'
        skips = torch.addmm(self.skip_bias, torch.cat(gates, dim=1), self.skip_weight)  # (B, S)
        hidden = torch.relu(torch.addmm(self.hidden_bias, torch.relu(skips), self.hidden_weight))  # (B, H)
        logits = torch.addmm(self.out_bias, hidden, self.out_weight)  # (B, V)
        return (logits, *newest)

    def advance(self, tokens: torch.Tensor, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """One step on a flat state (B, S) laid out as runtime.contract.state_layout: -> logits, next state."""
        c = self.channels
        logits, *newest = self(tokens, *[state[:, off:off + c] for off, _ in self.layout])
        pieces = []
        for (off, size), new in zip(self.layout, newest, strict=True):
            pieces += [state[:, off + c:off + size], new]
        return logits, torch.cat(pieces, dim=1)


def input_shifts(model: WaveNet) -> list[torch.Tensor]:
    """c_l for every layer: the sum of the residual biases below it, float64 (C,) each (c_0 = 0)."""
    shift = torch.zeros(model.config.channels, dtype=torch.float64)
    shifts = []
    for layer in model.layers:
        shifts.append(shift)
        if layer.residual is not None:
            shift = shift + _bias(layer.residual).detach().double()
    return shifts


@torch.no_grad()
def initial_state(model: WaveNet) -> torch.Tensor:
    """The step-graph state after only boundary tokens: each layer's queue holds d copies of its shifted
    input h_l - c_l on an all-boundary window (constant over positions). float32 (S_state,)."""
    r = model.receptive_field
    x = model.embedding(torch.full((1, r), BOUNDARY_ID, dtype=torch.long))  # (1, R, C)
    queues = []
    for layer, shift in zip(model.layers, input_shifts(model), strict=True):
        queues.append((x[0, -1].double() - shift).float().repeat(layer.dilation))  # (d C,)
        x, _ = layer(x)
    return torch.cat(queues).float()


class WindowGraph(nn.Module):
    """Any model on one window: tokens (B, R) -> logits (B, V) predicting the token after the window."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.model(tokens)[:, -1]  # (B, V)


class LectureWindowGraph(nn.Module):
    """LectureNet on one window with eval-mode batch norm folded into the linear layers.

    FlattenConsecutive(2) on (B, T, C) is, in memory, a reshape to (B T/2, 2C), so every block is one
    2-D matrix product: x (B R/2^k, 2W) @ W' + b' -> tanh.
    """

    def __init__(self, model: LectureNet):
        super().__init__()
        self.embedding = _frozen(model.embedding.weight)  # (V, E)
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        modules = list(model.blocks)
        linears, norms = cast("list[nn.Linear]", modules[1::4]), cast("list[nn.BatchNorm1d]", modules[2::4])
        for linear, norm in zip(linears, norms, strict=True):
            assert norm.running_mean is not None and norm.running_var is not None  # tracked: the models' default
            scale = norm.weight / torch.sqrt(norm.running_var + norm.eps)  # (H,)
            self.weights.append(_frozen(linear.weight.T * scale))  # (2W, H)
            self.biases.append(_frozen(norm.bias - norm.running_mean * scale))
        self.out_weight = _frozen(model.out.weight.T)  # (H, V)
        self.out_bias = _frozen(model.out.bias)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        x = nn.functional.embedding(tokens, self.embedding)  # (B, R, E)
        for weight, bias in zip(self.weights, self.biases, strict=True):
            x = torch.tanh(torch.addmm(bias, x.reshape(-1, weight.shape[0]), weight))  # (B R / 2^k, H)
        if not self.weights:  # block_size 1: the window is one embedding
            x = x.reshape(-1, self.out_weight.shape[0])  # (B, E)
        return torch.addmm(self.out_bias, x, self.out_weight)  # (B, V)


def window_graph(model: nn.Module) -> nn.Module:
    """The window wrapper for `model`: folded for LectureNet, the model's own forward otherwise."""
    return LectureWindowGraph(model) if isinstance(model, LectureNet) else WindowGraph(model)
