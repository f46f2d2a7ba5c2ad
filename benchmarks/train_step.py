"""What makes one training step of a recipe faster, measured (issues 16 and 18): the plain step against a fused
AdamW, `torch.compile` of the model, and both, on the same batches from the same seed.

    python benchmarks/train_step.py                              # recipe default, 300 steps, this machine's CPU
    python benchmarks/train_step.py --recipe large --device cuda # on a GPU

Each variant trains a fresh copy of the recipe's model (same seed, same batches, the recipe's batch size and
learning rate, dropout on) for --steps steps after --warmup steps (compilation happens there) and prints its
steps per second, and how far its weights are from the plain step's after --parity-steps steps with dropout
off (float noise, a reordering of the same sums, is ~1e-7; with dropout on the trajectories part at once,
since a compiled model draws its dropout masks differently). The step is the trainer's: forward, loss,
backward, gradient clipping, AdamW with the recipe's weight decay groups. `torch.compile` is given
dynamic shapes (a batch is trimmed to its longest item, so its length varies from step to step).
"""

from __future__ import annotations

import argparse
import time

import torch

from wavenet_edge.runtime.common.dataset import read_items, split_items
from wavenet_edge.runtime.config import ModelConfig
from wavenet_edge.runtime.vocab import Vocab
from wavenet_edge.train.batches import SequenceBatcher
from wavenet_edge.train.distill import distillation_loss_sum, model_input
from wavenet_edge.train.download import resolve_data
from wavenet_edge.train.models import build_model
from wavenet_edge.train.recipes import RECIPES


def make_optimizer(model: torch.nn.Module, lr: float, weight_decay: float, fused: bool) -> torch.optim.Optimizer:
    """The trainer's AdamW groups (train/trainer.py _make_optimizer); fused or the default implementation."""
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=lr, betas=(0.9, 0.99), **({"fused": True} if fused else {}))


def run(variant: str, config: ModelConfig, batches: SequenceBatcher, args, settings, steps: int, warmup: int,
        dropout: bool) -> tuple[float, torch.Tensor]:
    """(steps per second, the final weights as one vector) of `variant` on `args.device`."""
    torch.manual_seed(0)
    model = build_model(config).to(args.device).train(dropout)  # eval mode: no dropout, the same gradients
    optimizer = make_optimizer(model, settings.lr, settings.weight_decay, fused="fused" in variant)
    forward = torch.compile(model, dynamic=True) if "compile" in variant else model
    generator = torch.Generator().manual_seed(0)
    rf = config.receptive_field

    def step() -> None:
        x, y = batches.sample(settings.batch_size, generator)
        x, y = x.to(args.device), y.to(args.device)
        logits = forward(model_input(x, rf, rf))  # (B, T, V)
        loss_sum = distillation_loss_sum(logits, y, None, 0.0, 1.0)
        loss = loss_sum / int((y >= 0).sum())
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), settings.grad_clip)
        optimizer.step()

    for _ in range(warmup):
        step()
    if args.device.startswith("cuda"):
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    if args.device.startswith("cuda"):
        torch.cuda.synchronize()
    speed = steps / max(time.perf_counter() - start, 1e-9)
    return speed, torch.cat([p.detach().flatten().cpu() for p in model.parameters()])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipe", default="default", choices=sorted(r for r in RECIPES if r != "lecture"))
    parser.add_argument("--data", default="names")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--parity-steps", type=int, default=5)
    parser.add_argument("--variants", default="plain,fused,compile,compile+fused")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    recipe = RECIPES[args.recipe]
    items = read_items(resolve_data(args.data))
    split = split_items(items)
    vocab = Vocab.from_items(split.train + split.val + split.test)
    settings = recipe.settings
    config = ModelConfig(vocab_size=vocab.size, max_len=max(map(len, items)), **recipe.model)
    batches = SequenceBatcher(split.train, vocab, config.receptive_field)
    print(f"recipe {args.recipe}: batch {settings.batch_size}, lr {settings.lr}, {args.steps} steps after "
          f"{args.warmup} warm-up, device {args.device}, {args.threads} thread(s), torch {torch.__version__}")
    base_speed, base_weights = None, None
    for variant in args.variants.split(","):
        try:
            speed, _ = run(variant, config, batches, args, settings, args.steps, args.warmup, dropout=True)
            _, weights = run(variant, config, batches, args, settings, 0, args.parity_steps, dropout=False)
        except Exception as err:  # e.g. torch.compile without a C compiler: say so, go on
            print(f"{variant:14s} failed: {type(err).__name__}: {str(err).splitlines()[0][:120]}")
            continue
        if base_speed is None:
            base_speed, base_weights = speed, weights
        drift = (weights - base_weights).abs().max().item()
        print(f"{variant:14s} {speed:7.1f} steps/s  {speed / base_speed:5.2f}x plain  "
              f"max |weight - plain's| after {args.parity_steps} steps without dropout: {drift:.2e}")


if __name__ == "__main__":
    main()
