"""Distillation: the loss is Hinton et al.'s formula, any architecture teaches any other on the same positions,
the vocabularies must match, and the teacher's identity travels in the student's checkpoint."""

from __future__ import annotations

import math

import pytest
import torch
from test_train import CLI_COMMON, CLI_MODEL, make_items, wn_train

from wavenet_edge.runtime.common.commands import EXIT_BAD_INPUT
from wavenet_edge.runtime.common.dataset import file_sha256
from wavenet_edge.runtime.config import ModelConfig
from wavenet_edge.runtime.vocab import Vocab
from wavenet_edge.train.batches import IGNORE_INDEX, SequenceBatcher, WindowBatcher
from wavenet_edge.train.checkpoint import load_checkpoint
from wavenet_edge.train.distill import Teacher, distill_weight_at, distillation_loss_sum, model_input
from wavenet_edge.train.models import build_model

pytestmark = pytest.mark.usefixtures("one_thread")


def test_the_loss_is_the_formula_on_a_tiny_case():
    gen = torch.Generator().manual_seed(0)
    student = torch.randn(2, 3, 4, generator=gen, dtype=torch.float64)
    teacher = torch.randn(2, 3, 4, generator=gen, dtype=torch.float64)
    targets = torch.tensor([[1, 3, IGNORE_INDEX], [0, 2, 1]])
    a, t = 0.3, 2.5
    expected = 0.0
    for b in range(2):
        for j in range(3):
            y = int(targets[b, j])
            if y == IGNORE_INDEX:
                continue
            s, te = student[b, j].tolist(), teacher[b, j].tolist()
            nll = -(s[y] - math.log(sum(math.exp(v) for v in s)))
            p = [math.exp(v / t) / sum(math.exp(w / t) for w in te) for v in te]  # teacher at temperature t
            q = [math.exp(v / t) / sum(math.exp(w / t) for w in s) for v in s]  # student at temperature t
            kl = sum(pi * math.log(pi / qi) for pi, qi in zip(p, q, strict=True))
            expected += (1 - a) * nll + a * t * t * kl
    got = distillation_loss_sum(student, targets, teacher, weight=a, temperature=t)
    assert got.item() == pytest.approx(expected, rel=1e-12)
    # without a teacher, or with weight 0, it is the summed NLL
    plain = torch.nn.functional.cross_entropy(student.flatten(0, 1), targets.flatten(), ignore_index=IGNORE_INDEX,
                                              reduction="sum")
    assert distillation_loss_sum(student, targets).item() == pytest.approx(plain.item(), rel=1e-12)
    assert distillation_loss_sum(student, targets, teacher, weight=0.0).item() == pytest.approx(plain.item())
    # the teacher's logits get no gradient; the student's do
    student.requires_grad_(True)
    teacher.requires_grad_(True)
    distillation_loss_sum(student, targets, teacher, weight=a, temperature=t).backward()
    assert teacher.grad is None and student.grad is not None


def test_the_linear_schedule_falls_to_zero():
    assert [distill_weight_at(0.8, "linear", s, 4) for s in range(4)] == [0.8, 0.6000000000000001, 0.4, 0.2]
    assert {distill_weight_at(0.8, "constant", s, 4) for s in range(4)} == {0.8}


@pytest.mark.parametrize("batcher", [SequenceBatcher, WindowBatcher])
def test_models_of_different_receptive_fields_predict_the_same_positions(batcher):
    items = make_items(20)
    vocab = Vocab.from_items(items)
    small = build_model(ModelConfig(vocab_size=vocab.size, channels=4, skip_channels=4, head_channels=4,
                                    dilations=(1,))).eval()  # R = 2
    big = build_model(ModelConfig(vocab_size=vocab.size, channels=4, skip_channels=4, head_channels=4,
                                  dilations=(1, 2, 4))).eval()  # R = 8
    rf = max(small.receptive_field, big.receptive_field)
    x, y = batcher(items, vocab, rf).sample(8, torch.Generator().manual_seed(1))
    for model in (small, big):
        own_x, own_y = batcher(items, vocab, model.receptive_field).sample(8, torch.Generator().manual_seed(1))
        assert torch.equal(own_y, y)
        torch.testing.assert_close(model(model_input(x, rf, model.receptive_field)), model(own_x), rtol=0, atol=1e-6)


@pytest.fixture
def teachers(tmp_path, data_file) -> dict:
    """A wavenet (R 4) and a lecture (R 4... block 4) teacher trained for a few steps."""
    out = {}
    for arch in ("wavenet", "lecture"):
        path = tmp_path / f"teacher-{arch}.pt"
        result = wn_train("--data", data_file, "--out", path, "--steps", 20, "--samples", 0, *CLI_MODEL[arch],
                          *CLI_COMMON)
        assert result.exit_code == 0, result.output
        out[arch] = path
    return out


@pytest.mark.parametrize(("teacher_arch", "student"), [
    ("lecture", ["--channels", "8", "--skip-channels", "8", "--head-channels", "8", "--dilations", "1",
                 "--batch-size", "16", "--warmup", "5"]),  # R 2 < the teacher's 4
    ("wavenet", ["--arch", "lecture", "--n-embd", "8", "--n-hidden", "16", "--block-size", "8",
                 "--lr", "0.3"]),  # R 8 > 4
])
def test_any_architecture_teaches_any_other_and_is_recorded(tmp_path, data_file, teachers, teacher_arch, student):
    teacher = teachers[teacher_arch]
    out = tmp_path / "student.pt"
    result = wn_train("--data", data_file, "--out", out, "--teacher", teacher, "--distill-weight", 0.7,
                      "--distill-temperature", 2, "--steps", 20, "--eval-every", 10, "--samples", 0, *student,
                      *CLI_COMMON)
    assert result.exit_code == 0, result.output
    ckpt, teacher_ckpt = load_checkpoint(out), load_checkpoint(teacher)
    assert ckpt.teacher["sha256"] == file_sha256(teacher)
    assert ckpt.teacher["path"] == str(teacher)
    assert ckpt.teacher["metrics"] == teacher_ckpt.metrics
    assert ckpt.teacher["data"]["sha256"] == teacher_ckpt.data["sha256"] == file_sha256(data_file)
    assert ckpt.teacher["config"] == teacher_ckpt.config.to_dict()
    settings = ckpt.train_state["settings"]
    assert (settings["distill_weight"], settings["distill_temperature"]) == (0.7, 2.0)
    history = ckpt.train_state["history"]
    assert history[-1]["val_loss"] < history[0]["val_loss"]  # it learns


def test_distillation_changes_the_run_and_weight_zero_does_not(tmp_path, data_file, teachers):
    args = ["--data", data_file, "--steps", 10, "--eval-every", 10, "--samples", 0, *CLI_MODEL["wavenet"],
            *CLI_COMMON]
    runs = {}
    for name, extra in [("plain", []), ("zero", ["--teacher", teachers["wavenet"], "--distill-weight", 0]),
                        ("taught", ["--teacher", teachers["wavenet"], "--distill-weight", 0.9])]:
        assert wn_train(*args, "--out", tmp_path / f"{name}.pt", *extra).exit_code == 0
        runs[name] = load_checkpoint(tmp_path / f"{name}.pt").train_state["history"][-1]["val_loss"]
    assert runs["zero"] == runs["plain"]
    assert runs["taught"] != runs["plain"]


def test_a_teacher_of_another_vocabulary_is_refused(tmp_path, data_file, teachers):
    other = tmp_path / "other.txt"
    other.write_text("\n".join(make_items(100)).replace("k", "q") + "\n")
    out = tmp_path / "student.pt"
    result = wn_train("--data", other, "--out", out, "--teacher", teachers["wavenet"], "--steps", 2,
                      *CLI_MODEL["wavenet"], *CLI_COMMON)
    assert result.exit_code == EXIT_BAD_INPUT
    assert result.stderr == (f"Error: --teacher {teachers['wavenet']}: its vocabulary ('adeijklmnorst') differs "
                             "from the data's ('adeijlmnoqrst')\n")
    assert not out.exists()


def test_distill_options_need_a_teacher(tmp_path, data_file):
    result = wn_train("--data", data_file, "--out", tmp_path / "m.pt", "--distill-weight", 0.3, "--steps", 1,
                      *CLI_MODEL["wavenet"], *CLI_COMMON)
    assert result.exit_code == EXIT_BAD_INPUT
    assert result.stderr == "Error: --distill-weight needs --teacher\n"


def test_resume_uses_the_same_teacher_and_refuses_a_changed_one(tmp_path, data_file, teachers):
    out = tmp_path / "student.pt"
    args = ["--data", data_file, "--samples", 0, *CLI_COMMON]
    assert wn_train(*args, "--out", out, "--teacher", teachers["wavenet"], "--steps", 10, "--eval-every", 10,
                    *CLI_MODEL["wavenet"]).exit_code == 0
    assert wn_train(*args, "--resume", out, "--steps", 20).exit_code == 0  # the recorded teacher is reloaded
    assert load_checkpoint(out).train_state["step"] == 20
    teachers["wavenet"].write_bytes(teachers["lecture"].read_bytes())
    result = wn_train(*args, "--resume", out, "--steps", 30)
    assert result.exit_code == EXIT_BAD_INPUT
    assert result.stderr.startswith(f"Error: --resume {out}: the teacher {teachers['wavenet']} is not the file the "
                                    "run was trained with (sha256 ")


def test_a_distilled_recipe_asks_for_its_teacher(tmp_path, data_file):
    out = tmp_path / "small.pt"
    result = wn_train("--data", data_file, "--recipe", "small", "--out", out, "--steps", 1, *CLI_COMMON)
    assert result.exit_code == EXIT_BAD_INPUT
    assert result.stderr == (f"Error: --recipe small distils from the 'large' recipe's model: train it first "
                             f"(wn-train --data {data_file} --recipe large --out large.pt) and give it with "
                             "--teacher large.pt\n")
    assert not out.exists()


@pytest.mark.parametrize("batcher", [SequenceBatcher, WindowBatcher])
def test_the_precomputed_soft_targets_are_the_teachers_logits_of_each_batch(batcher):
    items = make_items(40)
    vocab = Vocab.from_items(items)
    teacher = Teacher(build_model(ModelConfig(vocab_size=vocab.size, channels=4, skip_channels=4, head_channels=4,
                                              dilations=(1, 2, 4))), {})  # R 8
    rf = 9  # a student's larger receptive field
    batches = batcher(items, vocab, rf)
    table = teacher.table(batches.x, rf, chunk=7)
    rows = batches.draw(16, torch.Generator().manual_seed(3))
    x, y = batches.take(rows)
    torch.testing.assert_close(table[rows][:, : y.shape[1]], teacher.logits(model_input(x, rf, 8)), rtol=0,
                               atol=1e-6)
