"""Write the conformance vectors of docs/format.md: what a reader of wavenet-edge files must compute.

    python tests/conformance/make_vectors.py           # after a change to a shipped model or to the runtime
    python tests/conformance/make_vectors.py --check   # exit 1 if a committed vector differs from a fresh one

One JSON file per model file in tests/conformance/v1/ (the shipped models, fp32 and int8, and the tests'
tiny models: format 1 and 2, step and window graphs), made by the Python runtime (onnxruntime, CPU, one
thread): per-step logits for token sequences, per-item log-probabilities and the NLL per character,
greedy names, exact top-k completions, and the names (with their log-probabilities) for seeds and
sampling options. The layout and the tolerance of each check are in docs/format.md ("Conformance
vectors"). Paths inside the files are relative to the repository root. Torch-free.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from pathlib import Path

import numpy as np

from wavenet_edge.runtime import WavenetModel

ROOT = Path(__file__).resolve().parents[2]
OUT = Path(__file__).resolve().parent / "v1"
VERSION = 1
MODELS = {  # vector file stem -> model file
    "wavenet": "models/wavenet.onnx",
    "wavenet.int8": "models/wavenet.int8.onnx",
    "wavenet-large": "models/wavenet-large.onnx",
    "wavenet-large.int8": "models/wavenet-large.int8.onnx",
    "tiny-step": "tests/fixtures/tiny-step.onnx",
    "tiny-window": "tests/fixtures/tiny-window.onnx",
    "tiny-lecture-window": "tests/fixtures/tiny-lecture-window.onnx",
    "format1-step": "tests/data/format1-step.onnx",
}
TOLERANCE = {"logits": 1e-4, "logprob": 1e-4, "nll_per_char": 1e-5}  # absolute; names and tokens: exact
# items to score: the ones a model's vocabulary can spell (the tiny models know only aeijklmnorstuvy)
ITEMS = ["emma", "olivia", "zyxw", "a", "noa", "kaylee", "maximilianalexander", "jorel", "tomi", "ynes", "sanvi"]
N = 12  # names per generation case


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def floats(values) -> list[float]:
    """float32 values as the shortest decimals that read back to the same float32."""
    return [float(np.format_float_positional(np.float32(v), unique=True)) for v in values]


def generation_cases(model: WavenetModel) -> list[dict]:
    """Seeds and options: plain, temperature + top-k, top-p + prefix, a short max_len, all at once with a seed
    beyond 2^63, a negative seed, greedy with a prefix."""
    chars = model.metadata.vocab.chars
    first = model.generate(1, seed=1, top_k=1)[0]
    prefix = first[:2] if len(first) >= 2 else chars[0]
    return [
        {"seed": 1},
        {"seed": 2, "temperature": 0.8, "top_k": 5},
        {"seed": 3, "top_p": 0.9, "prefix": prefix[:1]},
        {"seed": 4, "max_len": 4},
        {"seed": 2**63 + 12345, "temperature": 1.3, "top_k": 10, "top_p": 0.85, "prefix": prefix},
        {"seed": -42, "temperature": 0.7},
        {"seed": 5, "top_k": 1, "prefix": chars[-1]},
    ]


def vectors(stem: str, relative: str) -> dict:
    path = ROOT / relative
    model = WavenetModel.load(path, provider="cpu", threads=1)
    meta, vocab = model.metadata, model.metadata.vocab
    items = [item for item in ITEMS if not vocab.unknown_chars(item)]
    greedy = model.generate(1, top_k=1)[0]
    sequences = [[0] + vocab.encode(items[0]), [0] + vocab.encode(greedy[:6]) + [0]]
    steps = []
    for tokens in sequences:  # one row: the logits after each token fed, the first one a boundary
        state, logits = model.runner.initial_state(1), []
        for token in tokens:
            out, state = model.runner.advance(state, np.array([token], dtype=np.int64))
            logits.append(floats(out[0]))
        steps.append({"tokens": tokens, "logits": logits})
    scored = model.score(items)
    generate = []
    for case in generation_cases(model):
        named = model.generate(N, **case, return_logprobs=True)
        # the seed as a decimal string: JSON readers in some languages keep only 53 bits of a number
        generate.append({"n": N, **case, "seed": str(case["seed"]), "names": [name for name, _ in named],
                         "logprobs": [lp for _, lp in named]})
    complete = []
    for prefix, k, max_len in (("", 5, None), (greedy[:1], 5, None), (greedy[:2], 3, len(greedy) + 1)):
        found = model.complete(prefix, k=k, max_len=max_len)
        complete.append({"prefix": prefix, "k": k, "max_len": max_len, "names": [c.name for c in found],
                         "logprobs": [c.logprob for c in found]})
    return {
        "conformance_version": VERSION,
        "made_by": "python tests/conformance/make_vectors.py",
        "model": relative,
        "model_sha256": sha256(path),
        "format_version": meta.format_version,
        "graph": meta.graph,
        "vocab_size": meta.config.vocab_size,
        "max_len": meta.config.max_len,
        "tolerance": TOLERANCE,
        "steps": steps,
        "score": {"items": items, "logprobs": scored.logprobs, "nll_per_char": scored.nll_per_char},
        "greedy": [{"prefix": "", "name": greedy},
                   {"prefix": greedy[:1], "name": model.generate(1, top_k=1, prefix=greedy[:1])[0]}],
        "complete": complete,
        "generate": generate,
    }


def render(data: dict) -> str:
    """Indented JSON with every list of numbers or names on one line: small files whose diffs read well."""
    text = json.dumps(data, indent=1, ensure_ascii=False)
    return re.sub(r"\[([^\[\]{}]*)\]", lambda m: "[" + " ".join(m.group(1).split()) + "]", text) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="compare with the committed files, write nothing")
    parser.add_argument("--only", nargs="+", choices=sorted(MODELS), help="these vector files only")
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    stale = []
    for stem in args.only or MODELS:
        text = render(vectors(stem, MODELS[stem]))
        target = OUT / f"{stem}.json"
        if args.check:
            if not target.is_file() or target.read_text(encoding="utf-8") != text:
                stale.append(target)
            continue
        target.write_text(text, encoding="utf-8")
        print(f"wrote {target.relative_to(ROOT)} ({len(text.encode()):,} bytes)")
    if stale:
        sys.exit("out of date: " + ", ".join(str(p.relative_to(ROOT)) for p in stale))


if __name__ == "__main__":
    main()
