"""The two architectures and the data layout they share: sizes, receptive field, causality, and that the
batches hold exactly the lecture's (context, target) examples."""

from __future__ import annotations

import pytest
import torch

from wavenet_edge.runtime.config import ModelConfig
from wavenet_edge.runtime.vocab import BOUNDARY_ID, Vocab
from wavenet_edge.train.batches import IGNORE_INDEX, SequenceBatcher, WindowBatcher, encode_sequences
from wavenet_edge.train.models import LectureNet, WaveNet, build_model, count_parameters

ITEMS = ["emma", "olivia", "ava", "isabella", "sophia", "mia", "zoe", "liam"]
VOCAB = Vocab.from_items(ITEMS)

TINY = {
    "wavenet": ModelConfig(arch="wavenet", vocab_size=VOCAB.size, channels=8, skip_channels=8, head_channels=8,
                           dilations=(1, 2), stacks=2),
    "lecture": ModelConfig(arch="lecture", vocab_size=VOCAB.size, n_embd=4, n_hidden=8, block_size=8),
}


pytestmark = pytest.mark.usefixtures("one_thread")


def tiny_model(arch: str) -> torch.nn.Module:
    torch.manual_seed(0)
    model = build_model(TINY[arch])
    if arch == "lecture":  # give BatchNorm non-trivial running statistics, so eval mode is a real test
        with torch.no_grad():
            for module in model.modules():
                if isinstance(module, torch.nn.BatchNorm1d):
                    module.running_mean.normal_()
                    module.running_var.uniform_(0.5, 2.0)
    return model.eval()


def lecture_examples(items: list[str], vocab: Vocab, block_size: int) -> tuple[list[list[int]], list[int]]:
    """The lecture's build_dataset, with '.' (id 0) as the boundary token."""
    stoi = {ch: i for ch, i in zip(vocab.chars, vocab.encode("".join(vocab.chars)), strict=True)}
    stoi["."] = BOUNDARY_ID
    xs, ys = [], []
    for w in items:
        context = [0] * block_size
        for ch in w + ".":
            ix = stoi[ch]
            xs.append(context)
            ys.append(ix)
            context = context[1:] + [ix]  # crop and append
    return xs, ys


# --- sizes and shapes --------------------------------------------------------------------------------------


def test_lecture_model_has_the_lectures_76579_parameters():
    model = build_model(ModelConfig(arch="lecture", vocab_size=27))
    assert isinstance(model, LectureNet)
    assert count_parameters(model) == 76_579


@pytest.mark.parametrize(("dilations", "stacks"), [((1,), 1), ((1, 2), 1), ((1, 2, 4, 8), 1), ((1, 2, 4), 3)])
def test_wavenet_receptive_field_and_output_length(dilations, stacks):
    config = ModelConfig(arch="wavenet", vocab_size=5, channels=4, skip_channels=4, head_channels=4,
                         dilations=dilations, stacks=stacks)
    model = build_model(config)
    assert isinstance(model, WaveNet)
    r = 1 + sum(dilations) * stacks
    assert config.receptive_field == r
    assert model.receptive_field == r
    assert len(model.layers) == len(dilations) * stacks
    for length in (r, r + 1, r + 7):
        logits = model(torch.zeros(3, length, dtype=torch.long))
        assert logits.shape == (3, length - r + 1, 5)


def test_lecture_output_length():
    model = tiny_model("lecture")
    assert model.receptive_field == 8
    for length in (8, 9, 20):
        assert model(torch.zeros(2, length, dtype=torch.long)).shape == (2, length - 8 + 1, VOCAB.size)


# --- causality --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("arch", ["wavenet", "lecture"])
def test_changing_a_token_changes_exactly_the_predictions_that_see_it(arch):
    """logits[:, j] sees idx[:, j : j + R]: a change at position p must leave every earlier prediction
    bit-identical, and change every prediction whose window holds p (so the receptive field is exactly R)."""
    model = tiny_model(arch)
    r = model.receptive_field
    length = r + 12
    out_len = length - r + 1
    gen = torch.Generator().manual_seed(1)
    idx = torch.randint(0, VOCAB.size, (2, length), generator=gen)
    with torch.no_grad():
        base = model(idx)
        for p in range(length):
            changed = idx.clone()
            changed[:, p] = (changed[:, p] + 1) % VOCAB.size
            out = model(changed)
            differs = [not torch.equal(out[:, j], base[:, j]) for j in range(out_len)]
            seeing = [p - r + 1 <= j <= p for j in range(out_len)]  # windows j .. j + R - 1 that hold p
            assert differs == seeing, f"position {p}"


def test_each_wavenet_layer_sees_the_most_recent_tokens():
    """Layer k's skip output at prediction j covers the newest 1 + d_1 + ... + d_k tokens of window j (the
    alignment a step-by-step generator relies on), not the oldest ones."""
    model = tiny_model("wavenet")
    r = model.receptive_field
    length = r + 6
    idx = torch.randint(0, VOCAB.size, (2, length), generator=torch.Generator().manual_seed(2))
    for k in range(len(model.layers)):
        span = 1 + sum(model.config.layer_dilations[: k + 1])
        with torch.no_grad():
            only_k = tiny_model("wavenet")
            for i, layer in enumerate(only_k.layers):
                if i != k:
                    layer.skip.weight.zero_()
                    layer.skip.bias.zero_()
            base = only_k(idx)
            for p in range(length):
                changed = idx.clone()
                changed[:, p] = (changed[:, p] + 1) % VOCAB.size
                out = only_k(changed)
                differs = [not torch.equal(out[:, j], base[:, j]) for j in range(length - r + 1)]
                assert differs == [j + r - span <= p <= j + r - 1 for j in range(length - r + 1)], (k, p)


@pytest.mark.parametrize("arch", ["wavenet", "lecture"])
def test_predictions_equal_those_of_the_lectures_windows(arch):
    """Left padding by boundary tokens gives exactly the lecture's context: prediction j of an encoded item
    equals the prediction from the lecture's window j alone (the first one from an all-boundary window)."""
    model = tiny_model(arch)
    r = model.receptive_field
    items = ["isabella", "zoe"]
    x, y = encode_sequences(items, VOCAB, r)
    contexts, targets = lecture_examples(items, VOCAB, r)
    with torch.no_grad():
        logits = model(x)  # (2, T, V)
        windows = model(torch.tensor(contexts))[:, 0]  # (M, V): each context alone
        boundary_only = model(torch.full((1, r), BOUNDARY_ID))[0, 0]
    torch.testing.assert_close(logits[:, 0], boundary_only.expand(2, -1), rtol=0, atol=1e-6)
    rows = [(row, j) for row, item in enumerate(items) for j in range(len(item) + 1)]
    assert len(rows) == len(contexts)
    for (row, j), window_logits, target in zip(rows, windows, targets, strict=True):
        assert y[row, j] == target
        torch.testing.assert_close(logits[row, j], window_logits, rtol=0, atol=1e-6)


# --- batches ----------------------------------------------------------------------------------------------


def test_encode_sequences_layout():
    vocab = Vocab(("a", "b", "c"))  # a=1, b=2, c=3
    r = 3
    x, y = encode_sequences(["ab", "c"], vocab, r)
    # x: R boundary tokens (x[:, R-1] is the one the first prediction is made from), then the characters,
    # right-padded with boundary tokens; y: the characters, the end (boundary) token, then -1 padding.
    assert x.tolist() == [[0, 0, 0, 1, 2], [0, 0, 0, 3, 0]]
    assert y.tolist() == [[1, 2, 0], [3, 0, IGNORE_INDEX]]
    assert x.dtype == y.dtype == torch.long
    assert x.shape[1] == r - 1 + y.shape[1]


def test_sequence_batcher_chunks_trim_to_the_longest_item_of_the_chunk():
    vocab = Vocab(("a", "b", "c"))
    batcher = SequenceBatcher(["abcab", "c", "ab"], vocab, 2)
    chunks = list(batcher.chunks(2))
    assert [(x.tolist(), y.tolist()) for x, y in chunks] == [
        ([[0, 0, 1, 2, 3, 1, 2], [0, 0, 3, 0, 0, 0, 0]], [[1, 2, 3, 1, 2, 0], [3, 0, -1, -1, -1, -1]]),
        ([[0, 0, 1, 2]], [[1, 2, 0]]),
    ]


@pytest.mark.parametrize("block_size", [1, 3, 8])
def test_window_batcher_holds_exactly_the_lectures_examples(block_size):
    batcher = WindowBatcher(ITEMS, VOCAB, block_size)
    xs, ys = lecture_examples(ITEMS, VOCAB, block_size)
    assert len(xs) == sum(len(w) + 1 for w in ITEMS)
    assert batcher.x.tolist() == xs
    assert batcher.y.tolist() == [[t] for t in ys]
    gen = torch.Generator().manual_seed(0)
    x, y = batcher.sample(16, gen)
    assert x.shape == (16, block_size) and y.shape == (16, 1)
    examples = set(zip(map(tuple, xs), ys, strict=True))
    assert all((tuple(a), b) in examples for a, b in zip(x.tolist(), y[:, 0].tolist(), strict=True))


@pytest.mark.parametrize("stacks", [1, 2])
@pytest.mark.parametrize("real_at", [0, 1, 3, 7, None])
def test_constant_padding_shortcut_is_exact_in_eval_mode(stacks, real_at):
    """The all-boundary left padding is computed once per layer; the logits equal the plain valid
    convolution over every position (the shortcut turned off)."""
    from wavenet_edge.train import models

    torch.manual_seed(stacks)
    model = models.build_model(ModelConfig(vocab_size=27, channels=8, skip_channels=8, head_channels=8,
                                           dilations=(1, 2, 4, 8), stacks=stacks)).eval()
    r = model.receptive_field
    x = torch.randint(1, 27, (4, r - 1 + 9))
    x[:, : r - 1] = 0
    if real_at is not None:
        x[1, real_at] = 5  # a real token inside the padding ends the shared prefix there
    assert models.boundary_prefix(x, r - 1) == (r - 1 if real_at is None else real_at)
    fast = model(x)
    plain = model(x, padding_shortcut=False)
    assert fast.shape == plain.shape == (4, 9, 27)
    assert torch.allclose(fast, plain, atol=1e-6, rtol=0)
