"""Vocab (boundary id 0, round trips, error messages) and ModelConfig (receptive field, validation)."""

from __future__ import annotations

import json

import pytest

from wavenet_edge.runtime.common.errors import ConfigError, VocabError
from wavenet_edge.runtime.config import ModelConfig
from wavenet_edge.runtime.vocab import BOUNDARY_ID, Vocab

# --- Vocab ------------------------------------------------------------------------------------------------


def test_vocab_from_items_encode_decode_round_trip():
    vocab = Vocab.from_items(["emma", "olivia", "ava"])
    assert vocab.chars == ("a", "e", "i", "l", "m", "o", "v")
    assert vocab.size == 8
    assert vocab.encode("emma") == [2, 5, 5, 1]
    assert vocab.decode([2, 5, 5, 1]) == "emma"
    for word in ["emma", "olivia", "ava", ""]:
        assert vocab.decode(vocab.encode(word)) == word


def test_vocab_dict_round_trip_survives_json():
    vocab = Vocab.from_items(["emma", "olivia"])
    data = vocab.to_dict()
    assert data == {"boundary_id": 0, "chars": ["a", "e", "i", "l", "m", "o", "v"]}
    assert Vocab.from_dict(json.loads(json.dumps(data))) == vocab


def test_boundary_id_0_is_not_a_character():
    vocab = Vocab.from_items(["abc"])
    assert BOUNDARY_ID == 0
    assert vocab.encode("abc") == [1, 2, 3]  # characters start at 1
    assert vocab.decode([0, 1, 2, 3, 0]) == "abc"  # boundary tokens are dropped, not decoded
    assert vocab.decode([0]) == ""
    assert vocab.size == len(vocab.chars) + 1


def test_dot_in_the_data_gets_a_real_id():
    vocab = Vocab.from_items(["a.b", "c"])  # '.' is makemore's boundary; here it is an ordinary character
    assert vocab.chars == (".", "a", "b", "c")
    assert vocab.encode(".") == [1]
    assert vocab.encode("a.b") == [2, 1, 3]
    assert vocab.decode([0, 2, 1, 3, 0]) == "a.b"
    assert Vocab.from_dict(vocab.to_dict()).encode("a.b") == [2, 1, 3]


def test_unknown_characters_are_named_with_the_allowed_ones():
    vocab = Vocab.from_items(["abc"])
    assert vocab.unknown_chars("xabyx!") == ["x", "y", "!"]
    with pytest.raises(VocabError) as info:
        vocab.encode("xabyx!")
    assert str(info.value) == "characters not in the vocabulary: 'xy!' (allowed: 'abc')"


@pytest.mark.parametrize("chars, text", [
    ((), "the vocabulary is empty"),
    (("a", "bc"), "the vocabulary must hold single characters"),
    (("a", "b", "a"), "the vocabulary holds a character twice"),
])
def test_bad_vocab(chars, text):
    with pytest.raises(VocabError) as info:
        Vocab(chars)
    assert str(info.value) == text


@pytest.mark.parametrize("data", [["a"], {"chars": ["a"]}, {"boundary_id": 1, "chars": ["a"]}, {"boundary_id": 0}])
def test_malformed_vocab_dict(data):
    with pytest.raises(VocabError) as info:
        Vocab.from_dict(data)
    assert str(info.value) == "malformed vocabulary: expected {'boundary_id': 0, 'chars': [...]}"


# --- ModelConfig ------------------------------------------------------------------------------------------


def test_receptive_field():
    assert ModelConfig(dilations=(1, 2, 4, 8)).receptive_field == 16
    assert ModelConfig(dilations=(1, 2, 4, 8), stacks=2).receptive_field == 31
    assert ModelConfig(dilations=(1, 2, 4, 8), stacks=2).layer_dilations == (1, 2, 4, 8, 1, 2, 4, 8)
    assert ModelConfig(dilations=(1,)).receptive_field == 2
    lecture = ModelConfig(arch="lecture", block_size=8)
    assert lecture.receptive_field == lecture.block_size == 8
    assert lecture.n_blocks == 3
    assert ModelConfig(arch="lecture", block_size=16).receptive_field == 16


def test_dilations_are_stored_as_a_tuple():
    config = ModelConfig(dilations=[1, 2])
    assert config.dilations == (1, 2)
    assert config == ModelConfig(dilations=(1, 2))


@pytest.mark.parametrize("config", [
    ModelConfig(),
    ModelConfig(vocab_size=30, channels=8, skip_channels=16, head_channels=12, dilations=(1, 3), stacks=3,
                dropout=0.0, max_len=20),
    ModelConfig(arch="lecture", n_embd=10, n_hidden=68, block_size=4),
])
def test_config_dict_round_trip_survives_json(config):
    data = config.to_dict()
    assert isinstance(data["dilations"], list)
    assert ModelConfig.from_dict(data) == config
    assert ModelConfig.from_dict(json.loads(json.dumps(data))) == config


def test_fields_unused_by_an_architecture_are_not_checked():
    assert ModelConfig(arch="wavenet", block_size=6).receptive_field == 16
    assert ModelConfig(arch="lecture", dilations=(0,), kernel_size=3).receptive_field == 8


@pytest.mark.parametrize("kwargs, text", [
    ({"dilations": (1, 0, 4)}, "dilations must be integers in 1..4096, got [1, 0, 4]"),
    ({"dilations": (1, -2)}, "dilations must be integers in 1..4096, got [1, -2]"),
    ({"dilations": ()}, "dilations must be integers in 1..4096, got []"),
    ({"dilations": (1, 2.5)}, "dilations must be integers in 1..4096, got [1, 2.5]"),
    ({"arch": "gpt"}, "unknown architecture 'gpt' (choose from: wavenet, lecture)"),
    ({"dropout": 1.0}, "dropout must be a number in [0, 1), got 1.0"),
    ({"dropout": -0.1}, "dropout must be a number in [0, 1), got -0.1"),
    ({"arch": "lecture", "block_size": 6}, "block_size must be a power of two in 1..1024, got 6"),
    ({"arch": "lecture", "block_size": 0}, "block_size must be an integer in 1..1024, got 0"),
    ({"kernel_size": 3}, "kernel_size must be 2 (the step graph assumes it), got 3"),
    ({"channels": 0}, "channels must be an integer in 1..4096, got 0"),
    ({"max_len": 0}, "max_len must be an integer in 1..10000, got 0"),
    ({"vocab_size": 1}, "vocab_size must be an integer in 2..1114113, got 1"),
    ({"channels": True}, "channels must be an integer in 1..4096, got True"),
    ({"stacks": 65}, "stacks must be an integer in 1..64, got 65"),
])
def test_bad_config(kwargs, text):
    with pytest.raises(ConfigError) as info:
        ModelConfig(**kwargs)
    assert str(info.value) == text
    with pytest.raises(ConfigError) as info:  # the same check guards configs read back from artifacts
        ModelConfig.from_dict({**ModelConfig().to_dict(), **kwargs})
    assert str(info.value) == text


def test_unknown_config_keys():
    with pytest.raises(ConfigError) as info:
        ModelConfig.from_dict({**ModelConfig().to_dict(), "n_layer": 4, "bias": True})
    assert str(info.value) == "unknown model config keys: bias, n_layer"


def test_malformed_config():
    with pytest.raises(ConfigError) as info:
        ModelConfig.from_dict([("arch", "wavenet")])
    assert str(info.value) == "malformed model config: expected a mapping"
