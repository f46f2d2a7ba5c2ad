"""Write tests/fixtures/hostile.json: the hostile inputs that both runtimes must refuse with the same words.

    python js/scripts/make_hostile.py        # after adding a case below; commit the JSON with the check

The table is run whole by tests/test_hostile_table.py (WavenetModel.load / generate and wn-generate) and by
js/test/hostile.test.js (loadModel / generate and the wavenet-edge command), so a check added to one runtime
fails the other's tests until it is added there too. The expected messages are written here by hand (this
script runs neither runtime); the edited model files are made by each test from the committed fixtures.

Each case has an "id", a "model" (relative to the repository root) and one of
  "props"     metadata edits: {key without "wavenet_edge.": new text, or null to remove it}; the error is
              the message after "<path>: " from loading it, and from `generate --onnx <path> -n 2`
  "load"      load options (Python's names: threads, provider; the JS test passes provider as executionProviders)
  "generate"  {"n": N, "options": {...}} with Python's option names (top_k, max_len, batch_size...);
              the JS test maps them to its own (topK, maxLen, batchSize...); {"$int": "digits"} is an integer
              beyond what a JSON number holds exactly (a Python int, a JS BigInt)
  "score"     {"items": ...}: what model.score is given
  "cli"       the arguments after `generate --onnx <model>`; the error is the line after "Error: "
and "error": the exact message, null where the input must be accepted (then n names come out), or
{"python": ..., "js": ...} where the languages must word it differently (a keyword argument, a JS type), or
where one accepts what the other refuses (null for that one: a seed string, a seed beyond 2^53 as a JS number).
"contains": true makes the messages substrings (onnxruntime's own words differ between its bindings).
"python_gap": a check that the Python runtime lacks (its test expects it to fail: strict xfail).
"""

from __future__ import annotations

import base64
import json
import struct
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))

from model_files import read_props  # noqa: E402  (tests/ is not a package)

OUT = ROOT / "tests" / "fixtures" / "hostile.json"
STEP = "tests/fixtures/tiny-step.onnx"
WINDOW = "tests/fixtures/tiny-window.onnx"
LECTURE = "tests/fixtures/tiny-lecture-window.onnx"
SHIPPED = "models/wavenet.onnx"
JS_OPTIONS = ("seed, temperature, topK, topP, prefix, maxLen, unique, exclude, batchSize, patience, minLen, suffix, "
              "contains, maxSamples, allowEmpty")
JS_LOAD_OPTIONS = "ort, threads, executionProviders, sessionOptions, name"


def props_of(relative: str) -> dict[str, str]:
    props = read_props((ROOT / relative).read_bytes())
    return {key[len("wavenet_edge."):]: value for key, value in props.items() if key.startswith("wavenet_edge.")}


def dumps(value) -> str:
    return json.dumps(value, sort_keys=True)


def zeros(floats: int) -> str:
    """base64 of `floats` float32 zeros: an initial state of that size."""
    return base64.b64encode(bytes(4 * floats)).decode()


def file_cases() -> list[dict]:
    step, window, lecture, shipped = (props_of(p) for p in (STEP, WINDOW, LECTURE, SHIPPED))
    config, vocab, state = json.loads(step["config"]), json.loads(step["vocab"]), base64.b64decode(step["initial_state"])
    chars = "".join(vocab["chars"])
    wider = {**vocab, "chars": [*vocab["chars"], "#"]}
    big = json.loads(shipped["config"])
    nan_state = struct.pack("<f", float("nan")) + state[4:]

    def edit(raw: str, old: str, new: str) -> str:
        assert old in raw, old
        return raw.replace(old, new)

    cases = [  # (id, model, props, message)
        ("no wavenet_edge metadata", STEP, {key: None for key in step},
         "not a wavenet-edge model (no wavenet_edge.* metadata)"),
        ("format version 9", STEP, {"format_version": "9"},
         "unsupported format version 9 (this runtime reads versions 1, 2)"),
        ("format version not a number", STEP, {"format_version": "two"}, "missing or malformed wavenet_edge.format_version"),
        ("format version 2.0", STEP, {"format_version": "2.0"}, "missing or malformed wavenet_edge.format_version"),
        ("format version missing", STEP, {"format_version": None}, "missing or malformed wavenet_edge.format_version"),
        ("graph missing", STEP, {"graph": None}, "metadata wavenet_edge.graph is missing"),
        ("config missing", STEP, {"config": None}, "metadata wavenet_edge.config is missing"),
        ("vocab missing", STEP, {"vocab": None}, "metadata wavenet_edge.vocab is missing"),
        ("graph kind", STEP, {"graph": "tree"}, "unknown graph kind 'tree' (expected step or window)"),
        ("config a list", STEP, {"config": "[]"}, "metadata wavenet_edge.config must be a JSON object, got list: []"),
        ("config not JSON", STEP, {"config": "{nan"}, "metadata wavenet_edge.config is not valid JSON"),
        ("config unknown key", STEP, {"config": dumps({**config, "width": 3, "colour": 1})},
         "malformed wavenet_edge metadata: unknown model config keys: colour, width"),
        ("config channels huge", STEP, {"config": dumps({**config, "channels": 10**6})},
         "malformed wavenet_edge metadata: channels must be an integer in 1..4096, got 1000000"),
        ("config max_len 1e9", STEP, {"config": dumps({**config, "max_len": 10**9})},
         "malformed wavenet_edge metadata: max_len must be an integer in 1..10000, got 1000000000"),
        ("config max_len 12.0 (a float)", STEP, {"config": edit(step["config"], '"max_len": 12', '"max_len": 12.0')},
         "malformed wavenet_edge metadata: max_len must be an integer in 1..10000, got 12.0"),
        ("config max_len a 25-digit integer", STEP, {"config": dumps({**config, "max_len": 10**24 + 7})},
         "malformed wavenet_edge metadata: max_len must be an integer in 1..10000, got 1000000000000000000000007"),
        ("config vocab_size true", STEP, {"config": dumps({**config, "vocab_size": True})},
         "malformed wavenet_edge metadata: vocab_size must be an integer in 2..1114113, got True"),
        ("config dropout a string", STEP, {"config": dumps({**config, "dropout": "0.1"})},
         "malformed wavenet_edge metadata: dropout must be a number in [0, 1), got '0.1'"),
        ("config dropout NaN", STEP, {"config": edit(step["config"], '"dropout": 0.1', '"dropout": NaN')},
         "malformed wavenet_edge metadata: dropout must be a number in [0, 1), got nan"),
        ("config dropout 1", STEP, {"config": dumps({**config, "dropout": 1})},
         "malformed wavenet_edge metadata: dropout must be a number in [0, 1), got 1"),
        ("config arch", STEP, {"config": dumps({**config, "arch": "rnn"})},
         "malformed wavenet_edge metadata: unknown architecture 'rnn' (choose from: wavenet, lecture)"),
        ("config arch a list", STEP, {"config": dumps({**config, "arch": ["wavenet"]})},
         "malformed wavenet_edge metadata: unknown architecture ['wavenet'] (choose from: wavenet, lecture)"),
        ("config dilations empty", STEP, {"config": dumps({**config, "dilations": []})},
         "malformed wavenet_edge metadata: dilations must be integers in 1..4096, got []"),
        ("config dilations a number", STEP, {"config": dumps({**config, "dilations": 5})},
         "malformed wavenet_edge metadata: malformed model config: 'int' object is not iterable"),
        ("config dilations null", STEP, {"config": dumps({**config, "dilations": None})},
         "malformed wavenet_edge metadata: malformed model config: 'NoneType' object is not iterable"),
        ("config dilations a string", STEP, {"config": dumps({**config, "dilations": "12"})},
         "malformed wavenet_edge metadata: dilations must be integers in 1..4096, got ['1', '2']"),
        ("config dilations a float", STEP, {"config": dumps({**config, "dilations": [1, 2.5, {"a": None}]})},
         "malformed wavenet_edge metadata: dilations must be integers in 1..4096, got [1, 2.5, {'a': None}]"),
        ("config dilation too large", STEP, {"config": dumps({**config, "dilations": [1, 5000]})},
         "malformed wavenet_edge metadata: dilations must be integers in 1..4096, got [1, 5000]"),
        ("config kernel_size 3", STEP, {"config": dumps({**config, "kernel_size": 3})},
         "malformed wavenet_edge metadata: kernel_size must be 2 (the step graph assumes it), got 3"),
        ("config too many layers", STEP, {"config": dumps({**config, "stacks": 60, "dilations": [1, 2, 4, 8, 16]})},
         "malformed wavenet_edge metadata: 5 dilations x 60 stacks make 300 layers; the most is 256"),
        ("config receptive field too large", STEP, {"config": dumps({**config, "dilations": [4096, 4096, 4096]})},
         "malformed wavenet_edge metadata: the receptive field (1 + stacks x sum of dilations) is 12289 tokens; "
         "it must be in 2..8192"),
        ("config state too large", STEP, {"config": dumps({**config, "channels": 4096, "dilations": [1024, 1024]})},
         "malformed wavenet_edge metadata: channels x (receptive field - 1) is 8388608 floats of generation state "
         "per name; the most is 4194304 (fewer channels or smaller dilations)"),
        ("lecture block_size not a power of two", LECTURE,
         {"config": dumps({**json.loads(lecture["config"]), "block_size": 6}), "receptive_field": None, "io": None},
         "malformed wavenet_edge metadata: block_size must be a power of two in 1..1024, got 6"),
        ("vocab a list", STEP, {"vocab": "[]"}, "metadata wavenet_edge.vocab must be a JSON object, got list: []"),
        ("vocab boundary 1", STEP, {"vocab": dumps({**vocab, "boundary_id": 1})},
         "malformed wavenet_edge metadata: malformed vocabulary: expected {'boundary_id': 0, 'chars': [...]}"),
        ("vocab chars a number", STEP, {"vocab": dumps({"boundary_id": 0, "chars": 5})},
         "malformed wavenet_edge metadata: 'int' object is not iterable"),
        ("vocab chars empty", STEP, {"vocab": dumps({"boundary_id": 0, "chars": []})},
         "malformed wavenet_edge metadata: the vocabulary is empty"),
        ("vocab two-character token", STEP, {"vocab": dumps({"boundary_id": 0, "chars": ["ab", *vocab["chars"][1:]]})},
         "malformed wavenet_edge metadata: the vocabulary must hold single characters"),
        ("vocab character twice", STEP, {"vocab": dumps({"boundary_id": 0, "chars": ["a", *vocab["chars"][:-1]]})},
         "malformed wavenet_edge metadata: the vocabulary holds a character twice"),
        ("vocab chars as a string, boundary false", STEP, {"vocab": dumps({"boundary_id": False, "chars": chars})},
         None),
        ("vocab and vocab_size disagree", STEP, {"vocab": dumps(wider)},
         f"vocabulary of {len(chars) + 2} ids does not match config vocab_size {len(chars) + 1}"),
        ("vocab wider than the graph", STEP,
         {"vocab": dumps(wider), "config": dumps({**config, "vocab_size": len(chars) + 2}), "io": None},
         f"the graph's logits has {len(chars) + 1} logits per row (the vocabulary size); the metadata says "
         f"{len(chars) + 2}"),
        ("metrics a string", STEP, {"metrics": '"good"'}, 'metadata wavenet_edge.metrics must be a JSON object, got str: "good"'),
        ("metrics not JSON", STEP, {"metrics": "{nan"}, "metadata wavenet_edge.metrics is not valid JSON"),
        ("data a list", STEP, {"data": "[1, 2]"}, "metadata wavenet_edge.data must be a JSON object, got list: [1, 2]"),
        ("data a long list", STEP, {"data": dumps(list(range(30)))},
         "metadata wavenet_edge.data must be a JSON object, got list: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 1"),
        ("parameters not an integer", STEP, {"parameters": "12.5"},
         "metadata wavenet_edge.parameters must be a non-negative integer, got '12.5'"),
        ("parameters negative", STEP, {"parameters": "-1"},
         "metadata wavenet_edge.parameters must be a non-negative integer, got '-1'"),
        ("receptive field 99", STEP, {"receptive_field": "99"},
         "metadata wavenet_edge.receptive_field 99 does not match the config's 8"),
        ("receptive field not a number", STEP, {"receptive_field": "eight"},
         "metadata wavenet_edge.receptive_field must be a non-negative integer, got 'eight'"),
        ("receptive field 5 against 31 (shipped model)", SHIPPED, {"receptive_field": "5"},
         "metadata wavenet_edge.receptive_field 5 does not match the config's 31"),
        ("window receptive field 9 against 8", WINDOW, {"receptive_field": "9"},
         "metadata wavenet_edge.receptive_field 9 does not match the config's 8"),
        ("io does not match", STEP, {"io": dumps({"inputs": []})},
         "metadata wavenet_edge.io does not match the config (the graph's inputs, outputs and state layout follow "
         "from it)"),
        ("io a list", STEP, {"io": "[]"}, "metadata wavenet_edge.io must be a JSON object, got list: []"),
        ("io with 8.0 for 8", STEP, {"io": step["io"].replace(", 8]", ", 8.0]")}, None),
        ("config 64 channels, graph 32 (shipped model)", SHIPPED, {"config": dumps({**big, "channels": 64})},
         "metadata wavenet_edge.io does not match the config (the graph's inputs, outputs and state layout follow "
         "from it)"),
        ("config 64 channels, graph 32, io and state to match (shipped model)", SHIPPED,
         {"config": dumps({**big, "channels": 64}), "io": None, "initial_state": zeros(64 * 30)},
         "the graph's oldest_0 has 32 queue floats per row (the channels); the metadata says 64"),
        ("config 16 channels, graph 8, no io", STEP,
         {"config": dumps({**config, "channels": 16}), "io": None},
         "initial state holds 56 values, the config needs 112"),
        ("one more layer than the graph", STEP,
         {"config": dumps({**config, "dilations": [1, 2, 4, 8]}), "io": None, "receptive_field": None,
          "initial_state": zeros(8 * 15)},
         "graph inputs ['tokens', 'oldest_0', 'oldest_1', 'oldest_2'] do not match the step graph contract "
         "['tokens', 'oldest_0', 'oldest_1', 'oldest_2', 'oldest_3']"),
        ("format 1 on a format-2 graph", STEP, {"format_version": "1", "io": None},
         "graph inputs ['tokens', 'oldest_0', 'oldest_1', 'oldest_2'] do not match the step graph contract "
         "['tokens', 'state']"),
        ("window wider than its graph", WINDOW,
         {"config": dumps({**json.loads(window["config"]), "dilations": [1, 2, 4, 8]}), "io": None,
          "receptive_field": None},
         "the graph's tokens has 8 tokens per row (the receptive field); the metadata says 16"),
        ("step graph of the lecture architecture", STEP, {"config": dumps({**config, "arch": "lecture"}), "io": None},
         "a step graph needs the wavenet architecture, not 'lecture'"),
        ("initial state missing", STEP, {"initial_state": None}, "metadata wavenet_edge.initial_state is missing or malformed"),
        ("initial state not base64", STEP, {"initial_state": "###"},
         "metadata wavenet_edge.initial_state is missing or malformed"),
        ("initial state badly padded", STEP, {"initial_state": step["initial_state"][:-2]},
         "metadata wavenet_edge.initial_state is missing or malformed"),
        ("initial state odd length", STEP, {"initial_state": base64.b64encode(state[:-1]).decode()},
         f"metadata wavenet_edge.initial_state holds {len(state) - 1} bytes, not a whole number of float32 values"),
        ("initial state one value short", STEP, {"initial_state": base64.b64encode(state[:-4]).decode()},
         f"initial state holds {len(state) // 4 - 1} values, the config needs {len(state) // 4}"),
        ("initial state NaN", STEP, {"initial_state": base64.b64encode(nan_state).decode()},
         "metadata wavenet_edge.initial_state holds NaN or infinite values"),
    ]
    return [{"id": case_id, "model": model, "props": props, "error": message}
            for case_id, model, props, message in cases]


def option_cases() -> list[dict]:
    chars = "".join(json.loads(props_of(STEP)["vocab"])["chars"])
    max_len = json.loads(props_of(STEP)["config"])["max_len"]
    rare = ("are too rare: 0 of {draws} draws met them (acceptance 0.0000%); found 0 of {n} names (loosen them, or "
            "raise max-samples)")
    generate = [  # (id, n, options, message)
        ("unknown option", 5, {"topk": 3},
         {"python": "WavenetModel.generate() got an unexpected keyword argument 'topk'",
          "js": f"generate: unknown option 'topk' (known options: {JS_OPTIONS})"}),
        ("temperature a string", 5, {"temperature": "0.5"},
         {"python": "temperature must be > 0, got 0.5", "js": "temperature must be > 0, got '0.5' (a string, not a number)"}),
        ("temperature 0.0", 5, {"temperature": 0.0}, "temperature must be > 0, got 0.0"),
        ("temperature negative", 5, {"temperature": -1.5}, "temperature must be > 0, got -1.5"),
        ("top-k 0", 5, {"top_k": 0}, "top-k must be an integer >= 1, got 0"),
        ("top-k 2.5", 5, {"top_k": 2.5}, "top-k must be an integer >= 1, got 2.5"),
        ("top-p 1.5", 5, {"top_p": 1.5}, "top-p must be in (0, 1], got 1.5"),
        ("top-p 0.0", 5, {"top_p": 0.0}, "top-p must be in (0, 1], got 0.0"),
        ("prefix outside the vocabulary", 5, {"prefix": "Q!"},
         f"prefix 'Q!': characters not in the vocabulary: 'Q!' (allowed: '{chars}')"),
        ("prefix longer than max-len", 5, {"prefix": "ab", "max_len": 1}, "max-len 1 is below the length of prefix 'ab' (2)"),
        ("max-len 0", 5, {"max_len": 0}, "max-len must be a positive integer, got 0"),
        ("max-len 1e9 is fine", 3, {"max_len": 10**9, "seed": 4}, None),
        ("batch size 0", 5, {"batch_size": 0}, "batch size must be an integer in 1..65536, got 0"),
        ("batch size 100000", 5, {"batch_size": 100000}, "batch size must be an integer in 1..65536, got 100000"),
        ("seed 1.5", 5, {"seed": 1.5}, "seed must be an integer, got 1.5"),
        ("n 0", 0, {}, "n must be a positive integer, got 0"),
        ("n -3", -3, {}, "n must be a positive integer, got -3"),
        ("n 2.5", 2.5, {}, "n must be a positive integer, got 2.5"),
        ("unique gives up", 50, {"seed": 1, "top_k": 1, "unique": True, "patience": 20},
         "gave up after 20 samples in a row were duplicates or excluded: found 1 of 50 names (try a higher "
         "temperature, a longer max-len, a shorter prefix or a smaller -n)"),
        # constrained sampling (issue 21)
        ("min-len -1", 5, {"min_len": -1}, "min-len must be a non-negative integer, got -1"),
        ("min-len 2.5", 5, {"min_len": 2.5}, "min-len must be a non-negative integer, got 2.5"),
        ("min-len above max-len", 5, {"min_len": 9, "max_len": 5}, "min-len 9 is above max-len 5"),
        ("suffix longer than max-len", 5, {"suffix": "ka", "max_len": 1},
         "max-len 1 is below the length of suffix 'ka' (2)"),
        ("contains longer than max-len", 5, {"contains": "kala", "max_len": 3},
         "max-len 3 is below the length of contains 'kala' (4)"),
        ("suffix a number", 5, {"suffix": 5},
         {"python": "suffix must be a string, got 5", "js": "suffix must be a string, got 5 (a number, not a string)"}),
        ("suffix outside the vocabulary", 5, {"suffix": "aQ"},
         f"suffix 'aQ': characters not in the model's vocabulary: 'Q' (allowed: '{chars}')"),
        ("contains outside the vocabulary", 5, {"contains": "Z"},
         f"contains 'Z': characters not in the model's vocabulary: 'Z' (allowed: '{chars}')"),
        ("max-samples 0", 5, {"max_samples": 0, "suffix": "a"}, "max_samples must be a positive integer, got 0"),
        ("max-samples 1.5", 5, {"max_samples": 1.5}, "max_samples must be a positive integer, got 1.5"),
        ("constraints too rare", 5, {"seed": 1, "contains": "yyyy", "max_samples": 50},
         f"the constraints (max-len {max_len}, contains 'yyyy') " + rare.format(draws=50, n=5)),
        ("min-len, suffix and contains are fine", 5, {"seed": 2, "min_len": 3, "suffix": "a", "contains": "k"}, None),
    ]
    gaps: list[tuple[str, int, dict, str | dict, str]] = []  # checks that only the JS runtime has (none now)
    big = 2**54
    generate += [
        ("unique a string", 5, {"unique": "yes"}, {"python": "unique must be True or False, got 'yes'",
                                                   "js": "unique must be true or false, got 'yes' (a string, not a boolean)"}),
        ("allow_empty a number", 5, {"allow_empty": 1}, {"python": "allow_empty must be True or False, got 1",
                                                         "js": "allowEmpty must be true or false, got 1 (a number, not a boolean)"}),
        ("allow_empty gives raw draws", 5, {"seed": 1, "allow_empty": True}, None),
        ("exclude a string", 5, {"exclude": "emma"}, "exclude must be an iterable of names, got the string 'emma' (wrap it: ['emma'])"),
        ("seed 2^53", 3, {"seed": 2**53}, None),
        ("seed 2^63 - 1 (a BigInt in JS)", 3, {"seed": {"$int": str(2**63 - 1)}}, None),
        ("seed 2^54 as a JS number", 3, {"seed": big},
         {"python": None, "js": f"seed {big} is beyond 2^53, where a JavaScript number may not be the integer that was "
                                f'written: pass it as a BigInt ({big}n) or a string ("{big}")'}),
        ("seed a decimal string", 3, {"seed": "12"}, {"python": "seed must be an integer, got '12'", "js": None}),
        ("patience 0", 5, {"unique": True, "patience": 0}, "patience must be a positive integer, got 0"),
        ("prefix a number", 5, {"prefix": 5}, {"python": "prefix must be a string, got 5",
                                               "js": "prefix must be a string, got 5 (a number, not a string)"}),
        ("exclude a number", 5, {"exclude": 5}, {
            "python": "exclude must be an iterable of names, got 5",
            "js": "exclude must be an iterable of names (an array or a Set), got 5 (a number, not an iterable)"}),
    ]
    load = [
        ("threads 2000", {"threads": 2000}, "threads must be an integer in 1..1024, got 2000"),
        ("threads 0", {"threads": 0}, "threads must be an integer in 1..1024, got 0"),
        ("threads 1.5", {"threads": 1.5}, "threads must be an integer in 1..1024, got 1.5"),
        ("provider not in the build", {"provider": "nosuch"},
         "execution provider 'nosuch' is not available here"),
        ("unknown load option", {"thread": 1},
         {"python": "WavenetModel.load() got an unexpected keyword argument 'thread'",
          "js": f"loadModel: unknown option 'thread' (known options: {JS_LOAD_OPTIONS})"}),
    ]
    cli = [
        ("--seed -5", ["--seed", "-5"], "Invalid value for '--seed': -5 is not in the range 0<=x<=9223372036854775807."),
        ("--seed of 23 digits", ["--seed", "12345678901234567890123"],
         "Invalid value for '--seed': 12345678901234567890123 is not in the range 0<=x<=9223372036854775807."),
        ("--seed 2^63", ["--seed", str(2**63)],
         f"Invalid value for '--seed': {2**63} is not in the range 0<=x<=9223372036854775807."),
        ("--seed 1.5", ["--seed", "1.5"], "Invalid value for '--seed': '1.5' is not a valid integer range."),
        ("--max-len 20000", ["--max-len", "20000"], "Invalid value for '--max-len': 20000 is not in the range 1<=x<=10000."),
        ("--max-len 0", ["--max-len", "0"], "Invalid value for '--max-len': 0 is not in the range 1<=x<=10000."),
        ("--batch-size 100000", ["--batch-size", "100000"],
         "Invalid value for '--batch-size': 100000 is not in the range 1<=x<=65536."),
        ("--batch-size 0", ["--batch-size", "0"], "Invalid value for '--batch-size': 0 is not in the range 1<=x<=65536."),
        ("--threads 300", ["--threads", "300"], "Invalid value for '--threads': 300 is not in the range 1<=x<=256."),
        ("--threads 0", ["--threads", "0"], "Invalid value for '--threads': 0 is not in the range 1<=x<=256."),
        ("-n 0", ["-n", "0"], "-n must be a positive integer, got 0"),
        ("-n x", ["-n", "x"], "Invalid value for '-n': 'x' is not a valid integer."),
        ("--top-k 0", ["--top-k", "0"], "top-k must be an integer >= 1, got 0"),
        ("--top-k 1.5", ["--top-k", "1.5"], "Invalid value for '--top-k': '1.5' is not a valid integer."),
        ("--top-p 2", ["--top-p", "2"], "top-p must be in (0, 1], got 2.0"),
        ("--temperature 0", ["--temperature", "0"], "temperature must be > 0, got 0.0"),
        ("--temperature nan", ["--temperature", "nan"], "temperature must be > 0, got nan"),
        ("--temperature hot", ["--temperature", "hot"], "Invalid value for '--temperature': 'hot' is not a valid float."),
        ("--prefix outside the vocabulary", ["--prefix", "Q"],
         f"prefix 'Q': characters not in the vocabulary: 'Q' (allowed: '{chars}')"),
        ("--prefix longer than --max-len", ["--prefix", "abc", "--max-len", "2"],
         "max-len 2 is below the length of prefix 'abc' (3)"),
        ("--unique gives up", ["--unique", "-n", "100000", "--max-len", "2", "--seed", "1"],
         "gave up after 1000 samples in a row were duplicates or excluded: found 20 of 100000 names (try a higher "
         "temperature, a longer max-len, a shorter prefix or a smaller -n)"),
        ("--min-len -1", ["--min-len", "-1"], "Invalid value for '--min-len': -1 is not in the range 0<=x<=10000."),
        ("--min-len 20000", ["--min-len", "20000"],
         "Invalid value for '--min-len': 20000 is not in the range 0<=x<=10000."),
        ("--max-samples 0", ["--max-samples", "0"], "Invalid value for '--max-samples': 0 is not in the range x>=1."),
        ("--max-samples x", ["--max-samples", "x"],
         "Invalid value for '--max-samples': 'x' is not a valid integer range."),
        ("--min-len above --max-len", ["--min-len", "5", "--max-len", "3"], "min-len 5 is above max-len 3"),
        ("--suffix outside the vocabulary", ["--suffix", "Q"],
         f"suffix 'Q': characters not in the model's vocabulary: 'Q' (allowed: '{chars}')"),
        ("--contains longer than --max-len", ["--contains", "kaka", "--max-len", "3"],
         "max-len 3 is below the length of contains 'kaka' (4)"),
        ("--contains too rare", ["--contains", "yyyy", "--max-samples", "100", "-n", "2", "--seed", "1"],
         f"the constraints (max-len {max_len}, contains 'yyyy') " + rare.format(draws=100, n=2)),
    ]
    score = [  # (id, items, message)
        ("score a string", "emma", "score needs a list of items, got the string 'emma' (wrap it: ['emma'])"),
        ("score an item that is a number", ["emma", 5],
         {"python": "item 2 must be a string, got 5", "js": "item 2 must be a string, got 5 (a number, not a string)"}),
        ("score an item outside the vocabulary", ["emma", "Q"],
         f"item 2 'Q': characters not in the vocabulary: 'Q' (allowed: '{chars}')"),
        ("score a list of items", ["emma", "mia"], None),
    ]
    cases = [{"id": i, "model": STEP, "generate": {"n": n, "options": o}, "error": e} for i, n, o, e in generate]
    cases += [{"id": i, "model": STEP, "score": {"items": items}, "error": e} for i, items, e in score]
    cases += [{"id": i, "model": STEP, "generate": {"n": n, "options": o}, "error": e, "python_gap": gap}
              for i, n, o, e, gap in gaps]
    cases += [{"id": i, "model": STEP, "load": o, "error": e, **({"contains": True} if "provider" in o else {})}
              for i, o, e in load]
    cases += [{"id": i, "model": STEP, "cli": args, "error": e} for i, args, e in cli]
    return cases


def main() -> None:
    cases = file_cases() + option_cases()
    ids = [case["id"] for case in cases]
    assert len(set(ids)) == len(ids), "case ids must be unique"
    table = {"about": "Hostile inputs that both runtimes refuse in the same words: written by js/scripts/make_hostile.py "
                      "(see its docstring for the fields), run by tests/test_hostile_table.py and "
                      "js/test/hostile.test.js.", "cases": cases}
    OUT.write_text(json.dumps(table, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {len(cases)} cases to {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
