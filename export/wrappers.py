"""Explicit torch modules that define the exported ONNX graphs (no monkey-patched `forward`).

    StepGraph(wavenet)          tokens [B], state [B, S] -> logits [B, V], next_state [B, S]
    WindowGraph(model)          tokens [B, R] -> logits [B, V]  (= model(tokens)[:, -1])
    LectureWindowGraph(lecture) the same function for LectureNet, batch norm folded, 2-D matmuls only
    window_graph(model)         the leanest window wrapper for the model's architecture
    initial_state(wavenet)      the exact step-graph state after only boundary tokens

The step graph is Fast WaveNet (Paine et al. 2016, "Fast Wavenet Generation Algorithm"): every layer
keeps a queue of its last `dilation` inputs, so one new token costs one matrix product per layer
instead of a convolution over the whole receptive field. Weights are rearranged once, here, so the
graph is a short chain of 2-D matrix products (no Conv nodes; a few dozen nodes for 4 layers).
"""

from __future__ import annotations

import torch
from torch import nn

from wavenet_edge.runtime.contract import state_layout
from wavenet_edge.runtime.vocab import BOUNDARY_ID
from wavenet_edge.train.models import LectureNet, WaveNet

__all__ = ["LectureWindowGraph", "StepGraph", "WindowGraph", "initial_state", "window_graph"]


def _frozen(tensor: torch.Tensor) -> nn.Parameter:
    return nn.Parameter(tensor.detach().clone().float().contiguous(), requires_grad=False)


class StepGraph(nn.Module):
    """One WaveNet step on 2-D matrices; the state layout is `runtime.contract.state_layout(config)`.

    Per layer with dilation d and queue q = state[:, off : off + d*C] (its last d inputs, oldest first):
        z = [q_oldest, h] @ W + b          W (2C, 2C): conv tap 0 (d steps back) over tap 1 (now)
        g = tanh(z_filter) * sigmoid(z_gate)
        h <- h + g @ W_res + b_res         (not in the top layer)
        q <- [q[1:], h_in]
    skips = [g_0, ..., g_{L-1}] @ [W_skip_0; ...; W_skip_{L-1}] + sum(b_skip)   one matmul for all layers
    logits = relu(relu(skips) @ W_hidden + b_hidden) @ W_out + b_out
    """

    def __init__(self, model: WaveNet):
        super().__init__()
        config = model.config
        c = config.channels
        self.channels = c
        self.dilations = tuple(config.layer_dilations)
        self.embedding = _frozen(model.embedding.weight)  # (V, C)
        self.layer_weight = nn.ParameterList()  # (2C, 2C) each: [old; now] -> [filter, gate]
        self.layer_bias = nn.ParameterList()  # (2C,)
        self.res_weight = nn.ParameterList()  # (C, C)
        self.res_bias = nn.ParameterList()  # (C,)
        for layer in model.layers:
            w = layer.conv.weight  # (2C, C, 2): out, in, tap
            self.layer_weight.append(_frozen(torch.cat([w[:, :, 0].T, w[:, :, 1].T], dim=0)))
            self.layer_bias.append(_frozen(layer.conv.bias))
            if layer.residual is not None:
                self.res_weight.append(_frozen(layer.residual.weight[:, :, 0].T))
                self.res_bias.append(_frozen(layer.residual.bias))
        self.skip_weight = _frozen(torch.cat([layer.skip.weight[:, :, 0].T for layer in model.layers], 0))  # (LC, S)
        self.skip_bias = _frozen(sum(layer.skip.bias for layer in model.layers))  # (S,)
        self.hidden_weight = _frozen(model.head_hidden.weight[:, :, 0].T)  # (S, H)
        self.hidden_bias = _frozen(model.head_hidden.bias)
        self.out_weight = _frozen(model.head_out.weight[:, :, 0].T)  # (H, V)
        self.out_bias = _frozen(model.head_out.bias)
        # One split of the state: per layer its oldest input, then (dilation > 1) the rest of its queue.
        self.pieces: list[int] = []
        for entry in state_layout(config):
            self.pieces.append(c)
            if entry["size"] > c:
                self.pieces.append(entry["size"] - c)

    def forward(self, tokens: torch.Tensor, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        # tokens: (B,) int64, state: (B, S_state) float32
        h = nn.functional.embedding(tokens, self.embedding)  # (B, C)
        pieces = list(torch.split(state, self.pieces, dim=1))
        gates, new_state = [], []
        for i, dilation in enumerate(self.dilations):
            oldest = pieces.pop(0)  # (B, C)
            if dilation > 1:
                new_state.append(pieces.pop(0))  # (B, (d-1) C): the queue shifted by one
            new_state.append(h)
            z = torch.addmm(self.layer_bias[i], torch.cat([oldest, h], dim=1), self.layer_weight[i])  # (B, 2C)
            filt, gate = torch.split(z, self.channels, dim=1)
            g = torch.tanh(filt) * torch.sigmoid(gate)  # (B, C)
            gates.append(g)
            if i < len(self.res_weight):
                h = h + torch.addmm(self.res_bias[i], g, self.res_weight[i])  # (B, C)
        skips = torch.addmm(self.skip_bias, torch.cat(gates, dim=1), self.skip_weight)  # (B, S)
        hidden = torch.relu(torch.addmm(self.hidden_bias, torch.relu(skips), self.hidden_weight))  # (B, H)
        logits = torch.addmm(self.out_bias, hidden, self.out_weight)  # (B, V)
        return logits, torch.cat(new_state, dim=1)


@torch.no_grad()
def initial_state(model: WaveNet) -> torch.Tensor:
    """The state after only boundary tokens: each layer's queue holds d copies of its input on an
    all-boundary window (constant over positions). float32 (S_state,)."""
    r = model.receptive_field
    x = model.embedding(torch.full((1, r), BOUNDARY_ID, dtype=torch.long))  # (1, R, C)
    queues = []
    for layer in model.layers:
        queues.append(x[0, -1].repeat(layer.dilation))  # (d C,)
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
        for linear, norm in zip(modules[1::4], modules[2::4], strict=True):
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
