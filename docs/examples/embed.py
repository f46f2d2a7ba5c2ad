"""Names from a wavenet-edge model file with numpy and onnxruntime only, following docs/format.md.

    python docs/examples/embed.py models/wavenet.onnx -n 5 --seed 1 --temperature 0.8
    python docs/examples/embed.py models/wavenet.onnx --score emma olivia zyxw

Any format-1 or format-2 file (step or window graph), one row at a time, in a default onnxruntime session:
wn-generate's names for a seed, wn-eval's scores (tests/test_conformance.py checks it on tests/conformance/).
"""
import argparse
import base64
import itertools
import json

import numpy as np
import onnxruntime as ort

MASK, GOLDEN = (1 << 64) - 1, 0x9E3779B97F4A7C15


def splitmix64(z):
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return z ^ (z >> 31)


def uniforms(seed, index):
    """Name `index`'s uniforms in (0, 1], positions 0, 1, 2, ... (format.md: the random stream)."""
    seed_key = (seed * GOLDEN + 0x632BE59BD9B4E019) & MASK
    key = splitmix64(splitmix64((index * GOLDEN + seed_key) & MASK) ^ seed_key)
    for position in itertools.count(1):
        yield ((splitmix64((key + position * GOLDEN) & MASK) >> 11) + 1) / 2**53


class Model:
    def __init__(self, path):
        self.session = ort.InferenceSession(path)  # default options: no session entry needed
        meta = self.session.get_modelmeta().custom_metadata_map
        self.version = int(meta["wavenet_edge.format_version"])
        assert self.version in (1, 2), f"format {self.version} is newer than this reader"
        self.graph, self.io = meta["wavenet_edge.graph"], json.loads(meta["wavenet_edge.io"])
        self.config, self.field = json.loads(meta["wavenet_edge.config"]), int(meta["wavenet_edge.receptive_field"])
        self.chars = json.loads(meta["wavenet_edge.vocab"])["chars"]  # id i + 1 is chars[i]; 0 is the boundary
        self.ids = {c: i + 1 for i, c in enumerate(self.chars)}
        if self.graph == "step":
            self.initial = np.frombuffer(base64.b64decode(meta["wavenet_edge.initial_state"]), "<f4")

    def start(self):
        """The state before the first token (the boundary) is fed."""
        if self.graph == "window":
            return [0] * self.field
        if self.version == 1:
            return self.initial[None].copy()
        c = self.config["channels"]
        return [[self.initial[q["offset"] + k * c:q["offset"] + (k + 1) * c][None] for k in range(q["dilation"])]
                for q in self.io["queues"]]

    def step(self, state, token):
        """Feed one token: the raw logits [V] of the next one, and the next state."""
        if self.graph == "window":
            window = state[1:] + [token]
            return self.session.run(["logits"], {"tokens": np.array([window], np.int64)})[0][0], window
        tokens = np.array([token], np.int64)
        if self.version == 1:  # the queues inside the graph: one flat state in, the next one out
            logits, state = self.session.run(["logits", "next_state"], {"tokens": tokens, "state": state})
            return logits[0], state
        queues = self.io["queues"]
        feeds = {"tokens": tokens, **{q["input"]: queue[0] for q, queue in zip(queues, state, strict=True)}}
        out = self.session.run(["logits"] + [q["output"] for q in queues], feeds)
        return out[0][0], [queue[1:] + [new] for queue, new in zip(state, out[1:], strict=True)]


def log_softmax(logits):
    x = logits.astype(np.float64) - np.float64(logits.max())
    return x - np.log(np.exp(x).sum())


def score(model, item):
    """log p(item, then the end token)."""
    state, token, total = model.start(), 0, 0.0
    for target in [model.ids[c] for c in item] + [0]:
        logits, state = model.step(state, token)
        total, token = total + log_softmax(logits)[target], target
    return total


def draw(logits, u, temperature=1.0, top_k=None, top_p=None):
    """One token from float32 logits [V] and a uniform u (format.md: the draw)."""
    if top_k == 1:
        return int(np.argmax(logits))
    if temperature == 1.0 and top_k is None and top_p in (None, 1.0):
        cdf = np.cumsum(np.exp(logits.astype(np.float64)))
        if not 0.0 < cdf[-1] < np.inf:
            cdf = np.cumsum(np.exp((logits - logits.max()).astype(np.float64)))
        return int(np.argmax(cdf >= cdf[-1] * u))
    x = logits.astype(np.float64) - np.float64(logits.max())
    if temperature != 1.0:
        x /= temperature
    if top_k is not None and top_k < len(x):
        x[x < np.sort(x)[-top_k]] = -np.inf  # ties with the k-th largest are kept
    weights = np.exp(x)
    if top_p is not None and top_p < 1.0:
        order = np.argsort(-weights, kind="stable")
        ranked = weights[order] / weights[order].sum()
        weights[order[np.cumsum(ranked) - ranked >= top_p]] = 0.0
    cdf = np.cumsum(weights)
    return int(np.argmax(cdf >= cdf[-1] * u))


def generate(model, n, seed=0, prefix="", max_len=None, **sampling):
    """The first n names of the seed: an empty name or one over max_len characters is dropped."""
    max_len = model.config["max_len"] if max_len is None else max_len
    start, token = model.start(), 0
    for c in prefix:
        start, token = model.step(start, token)[1], model.ids[c]
    names = []
    for index in itertools.count():
        if len(names) == n:
            return names
        u, state, t, name = uniforms(seed, index), start, token, prefix
        while len(name) <= max_len:
            logits, state = model.step(state, t)
            t = draw(logits, next(u), **sampling)
            if t == 0:
                break
            name += model.chars[t - 1]
        if name and len(name) <= max_len:
            names.append(name)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="names from a wavenet-edge file (numpy and onnxruntime only)")
    parser.add_argument("onnx")
    parser.add_argument("--score", nargs="+", metavar="ITEM", help="print the items' mean NLL per character")
    for option, kind in (("-n", int), ("--seed", int), ("--temperature", float), ("--top-k", int),
                         ("--top-p", float), ("--prefix", str), ("--max-len", int)):
        parser.add_argument(option, type=kind)
    a = parser.parse_args()
    model = Model(a.onnx)
    if a.score:
        print(f"{-sum(score(model, item) for item in a.score) / sum(len(item) + 1 for item in a.score):.6f}")
    else:
        sampling = {"temperature": a.temperature or 1.0, "top_k": a.top_k, "top_p": a.top_p}
        print("\n".join(generate(model, a.n or 10, a.seed or 0, a.prefix or "", a.max_len, **sampling)))
