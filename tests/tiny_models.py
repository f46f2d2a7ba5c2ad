"""Tiny torch models trained and exported once per test session, torch references, and the fixture writer.

    from tiny_models import exported, torch_greedy
    models = exported()                                  # trained on tiny_data.ITEMS in about ten seconds
    torch_greedy(models.wavenet, "ka")                   # what the runtime's greedy name must be

Needs torch (the train extra): only torch tests and fixtures/make_fixtures.py import it; the runtime under test
never does. Not a test module (no tests).
"""

from __future__ import annotations

import random
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import torch
from model_files import FIXTURE_WEIGHTS, FIXTURES
from tiny_data import DATA, ITEMS, MAX_LEN, METRICS, VOCAB
from torch.nn import functional as F

from wavenet_edge.export import export_model
from wavenet_edge.runtime.config import ModelConfig
from wavenet_edge.runtime.vocab import BOUNDARY_ID
from wavenet_edge.train.checkpoint import Checkpoint
from wavenet_edge.train.models import build_model

WAVENET = ModelConfig(vocab_size=VOCAB.size, max_len=MAX_LEN, channels=8, skip_channels=8, head_channels=8,
                      dilations=(1, 2, 4))
LECTURE = ModelConfig(arch="lecture", vocab_size=VOCAB.size, max_len=MAX_LEN, n_embd=4, n_hidden=8, block_size=8)


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


def _export_all(wavenet: torch.nn.Module, lecture: torch.nn.Module, root: Path) -> dict[str, Path]:
    """The three fixture graphs of two models, exported into `root` (unverified: the tests check them)."""
    paths = {}
    for name, model, graph in (("step", wavenet, "step"), ("window", wavenet, "window"),
                               ("lecture_window", lecture, "window")):
        ckpt = Checkpoint(model.config, VOCAB, model.state_dict(), dict(METRICS), dict(DATA))
        paths[name] = root / f"{name}.onnx"
        export_model(ckpt, paths[name], graph=graph, verify=False)
    return paths


def exported() -> Exported:
    """Train and export the tiny models once per test session (about ten seconds on two cores)."""
    if "models" not in _CACHE:
        torch.set_num_threads(1)
        root = Path(tempfile.mkdtemp(prefix="wn-runtime-tests-"))
        wavenet, lecture = train(WAVENET), train(LECTURE, seed=1)
        paths = _export_all(wavenet, lecture, root)
        _CACHE["models"] = Exported(wavenet, lecture, paths["step"], paths["window"], paths["lecture_window"], root)
    return _CACHE["models"]


def save_weights(wavenet: torch.nn.Module, lecture: torch.nn.Module, path: Path) -> None:
    """Both models' state dicts in one .npz (keys "wavenet.<name>", "lecture.<name>")."""
    arrays = {f"{prefix}.{name}": value.numpy() for prefix, model in (("wavenet", wavenet), ("lecture", lecture))
              for name, value in model.state_dict().items()}
    np.savez(path, **arrays)


def load_weights(path: Path) -> tuple[torch.nn.Module, torch.nn.Module]:
    """The two tiny models (eval mode) with the weights save_weights wrote."""
    with np.load(path) as arrays:
        models = []
        for prefix, config in (("wavenet", WAVENET), ("lecture", LECTURE)):
            model = build_model(config)
            state = {key[len(prefix) + 1:]: torch.from_numpy(arrays[key].copy()) for key in arrays.files
                     if key.startswith(prefix + ".")}
            model.load_state_dict(state)
            models.append(model.eval())
    return models[0], models[1]


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


def strip_debug_info(path: Path) -> Path:
    """Drop the torch exporter's per-node debug metadata (stack traces with this checkout's absolute paths, fx
    names) in place: what stays is what the runtime reads, and the file no longer depends on where it was made."""
    proto = onnx.load(str(path))
    for node in proto.graph.node:
        del node.metadata_props[:]
        node.doc_string = ""
    onnx.save(proto, str(path))
    return path


def write_fixtures(out_dir: Path, weights: Path | None = None) -> list[Path]:
    """The committed fixtures (model_files.FIXTURES) written into `out_dir`: with `weights` (a file save_weights
    wrote, e.g. the committed FIXTURE_WEIGHTS), those models exported by today's exporter; without, this session's
    freshly trained models, and their weights beside them (FIXTURE_WEIGHTS' name). Training differs in the last
    bits from one CPU to another and 300 steps amplify that, so the check that the fixtures are in sync with the
    exporter starts from the committed weights."""
    with tempfile.TemporaryDirectory(prefix="wn-fixtures-") as scratch:
        if weights is None:
            models = exported()
            sources = {"step": models.step, "window": models.window, "lecture_window": models.lecture_window}
            save_weights(models.wavenet, models.lecture, out_dir / FIXTURE_WEIGHTS.name)
        else:
            torch.set_num_threads(1)
            sources = _export_all(*load_weights(weights), Path(scratch))
        written = []
        for name, fixture in (("step", FIXTURES.step), ("window", FIXTURES.window),
                              ("lecture_window", FIXTURES.lecture_window)):
            target = out_dir / fixture.name
            target.write_bytes(sources[name].read_bytes())
            written.append(strip_debug_info(target))
    return written
