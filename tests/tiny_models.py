"""Shared by the runtime tests: tiny models trained and exported once per test session, and torch references.

Not a test module itself (it has no tests); the runtime test modules import it. Only the tests use torch:
the runtime under test never does.
"""

from __future__ import annotations

import random
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import torch
from torch.nn import functional as F

from wavenet_edge.export import export_model
from wavenet_edge.runtime.config import ModelConfig
from wavenet_edge.runtime.contract import METADATA_PREFIX
from wavenet_edge.runtime.vocab import BOUNDARY_ID, Vocab
from wavenet_edge.train.checkpoint import Checkpoint
from wavenet_edge.train.models import build_model

SYLLABLES = ["ka", "li", "mo", "ra", "ne", "to", "su", "vi", "el", "an", "jo", "ry"]


def make_items(count: int = 400, seed: int = 0) -> list[str]:
    """Names of 2-3 syllables: enough structure for a tiny model to learn in a few hundred steps."""
    rng = random.Random(seed)
    return ["".join(rng.choice(SYLLABLES) for _ in range(rng.choice((2, 2, 3)))) for _ in range(count)]


ITEMS = make_items()
VOCAB = Vocab.from_items(ITEMS)
MAX_LEN = 12
WAVENET = ModelConfig(vocab_size=VOCAB.size, max_len=MAX_LEN, channels=8, skip_channels=8, head_channels=8,
                      dilations=(1, 2, 4))
LECTURE = ModelConfig(arch="lecture", vocab_size=VOCAB.size, max_len=MAX_LEN, n_embd=4, n_hidden=8, block_size=8)
METRICS = {"train_loss": 1.5, "val_loss": 1.6, "step": 300}
DATA = {"sha256": "0" * 64, "source": "test-syllables", "split": {"seed": 42}}


def padded_batch(config: ModelConfig, items: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs (B, R + L) and targets (B, L + 1) with -1 padding: boundary^R, chars -> chars, end token."""
    r = config.receptive_field
    longest = max(len(item) for item in items)
    x = torch.zeros((len(items), r + longest), dtype=torch.long)
    y = torch.full((len(items), longest + 1), -1, dtype=torch.long)
    for row, item in enumerate(items):
        ids = VOCAB.encode(item)
        x[row, r:r + len(ids)] = torch.tensor(ids, dtype=torch.long)
        y[row, :len(ids)] = torch.tensor(ids, dtype=torch.long)
        y[row, len(ids)] = BOUNDARY_ID
    return x, y


def train(config: ModelConfig, steps: int = 300, seed: int = 0) -> torch.nn.Module:
    """A few hundred AdamW steps on ITEMS; returns the model in eval mode."""
    torch.manual_seed(seed)
    model = build_model(config).train()
    opt = torch.optim.AdamW(model.parameters(), lr=2e-2)
    rng = random.Random(seed)
    for _ in range(steps):
        x, y = padded_batch(config, rng.sample(ITEMS, 32))
        logits = model(x)[:, : y.shape[1]]  # (B, L + 1, V)
        loss = F.cross_entropy(logits.reshape(-1, config.vocab_size), y.reshape(-1), ignore_index=-1)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.eval()


@dataclass(frozen=True)
class Exported:
    wavenet: torch.nn.Module
    lecture: torch.nn.Module
    step: Path  # wavenet step graph
    window: Path  # the same wavenet, window graph
    lecture_window: Path
    root: Path


_CACHE: dict[str, Exported] = {}


def exported() -> Exported:
    """Train and export the tiny models once per test session (about ten seconds on two cores)."""
    if "models" not in _CACHE:
        torch.set_num_threads(1)
        root = Path(tempfile.mkdtemp(prefix="wn-runtime-tests-"))
        wavenet, lecture = train(WAVENET), train(LECTURE, seed=1)
        paths = {}
        for name, model, graph in (("step", wavenet, "step"), ("window", wavenet, "window"),
                                   ("lecture_window", lecture, "window")):
            ckpt = Checkpoint(model.config, VOCAB, model.state_dict(), dict(METRICS), dict(DATA))
            paths[name] = root / f"{name}.onnx"
            export_model(ckpt, paths[name], graph=graph, verify=False)
        _CACHE["models"] = Exported(wavenet, lecture, paths["step"], paths["window"], paths["lecture_window"], root)
    return _CACHE["models"]


@torch.no_grad()
def torch_logprobs(model: torch.nn.Module, items: list[str]) -> tuple[np.ndarray, int]:
    """log p(item + end token) per item under the torch model (float64 sums), and the number of targets."""
    x, y = padded_batch(model.config, items)
    logits = model(x)[:, : y.shape[1]].double()  # (B, L + 1, V)
    logp = torch.log_softmax(logits, dim=-1)
    mask = y >= 0
    picked = logp.gather(2, y.clamp(min=0).unsqueeze(-1)).squeeze(-1) * mask
    return picked.sum(dim=1).numpy(), int(mask.sum())


@torch.no_grad()
def torch_greedy(model: torch.nn.Module, prefix: str = "", max_len: int = MAX_LEN) -> str:
    """The greedy (argmax) name of the torch model, recomputing the window for every character."""
    r = model.config.receptive_field
    ids = VOCAB.encode(prefix)
    while len(ids) < max_len:
        window = torch.tensor([([BOUNDARY_ID] * r + ids)[-r:]], dtype=torch.long)
        nxt = int(model(window)[0, -1].argmax())
        if nxt == BOUNDARY_ID:
            break
        ids.append(nxt)
    return VOCAB.decode(ids)


def rewrite_props(src: Path, dst: Path, **changes: str | None) -> Path:
    """Copy an .onnx file with some wavenet_edge.* metadata changed (None: removed)."""
    proto = onnx.load(str(src))
    props = {p.key: p.value for p in proto.metadata_props}
    for key, value in changes.items():
        if value is None:
            props.pop(METADATA_PREFIX + key, None)
        else:
            props[METADATA_PREFIX + key] = value
    del proto.metadata_props[:]
    onnx.helper.set_model_props(proto, props)
    onnx.save(proto, str(dst))
    return dst


def bad_files(root: Path, good: Path) -> dict[str, tuple[Path, str]]:
    """name -> (path, exact one-line message)."""
    root.mkdir(exist_ok=True)
    data = good.read_bytes()
    cases: dict[str, tuple[Path, str]] = {}
    missing = root / "missing.onnx"
    cases["missing"] = missing, f"{missing}: no such file"
    cases["directory"] = root, f"{root}: is a directory, not an .onnx file"
    empty = root / "empty.onnx"
    empty.write_bytes(b"")
    cases["empty"] = empty, f"{empty}: empty file, not an ONNX model"
    text = root / "names.onnx"
    text.write_text("\n".join(ITEMS[:20]) + "\n")
    cases["text"] = text, f"{text}: not an ONNX model"
    zipped = root / "checkpoint.onnx"
    zipped.write_bytes(b"PK\x03\x04" + bytes(range(256)) * 4)
    cases["zip"] = zipped, f"{zipped}: not an ONNX model"
    for fraction in (0.1, 0.5, 0.9):
        cut = root / f"truncated{fraction}.onnx"
        cut.write_bytes(data[: int(len(data) * fraction)])
        cases[f"truncated {fraction}"] = cut, f"{cut}: truncated ONNX file (a field runs past the end of the file)"
    last = root / "truncated-last-byte.onnx"
    last.write_bytes(data[:-1])
    cases["truncated last byte"] = last, f"{last}: truncated ONNX file (a field runs past the end of the file)"
    foreign = root / "foreign.onnx"
    proto = onnx.load(str(good))
    del proto.metadata_props[:]
    onnx.save(proto, str(foreign))
    cases["not ours"] = foreign, f"{foreign}: not a wavenet-edge model (no wavenet_edge.* metadata)"
    future = rewrite_props(good, root / "future.onnx", format_version="3")
    cases["version"] = future, f"{future}: unsupported format version 3 (this runtime reads versions 1, 2)"
    graph = rewrite_props(good, root / "graph.onnx", graph="recurrent")
    cases["graph kind"] = graph, f"{graph}: unknown graph kind 'recurrent' (expected step or window)"
    no_vocab = rewrite_props(good, root / "novocab.onnx", vocab=None)
    cases["no vocab"] = no_vocab, f"{no_vocab}: metadata wavenet_edge.vocab is missing"
    return cases
