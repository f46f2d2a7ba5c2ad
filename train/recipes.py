"""Named recipes: a model config and training settings that reproduce a published result with one option.

    wn-train --data names --recipe default --out runs/wavenet.pt     # the first shipped model
    wn-train --data names --recipe lecture --out runs/lecture.pt     # the lecture's baseline
    wn-train --data names --recipe large --out runs/large.pt         # the large model, and the teacher of:
    wn-train --data names --recipe small --teacher runs/large.pt --out runs/small.pt

Options given on the command line override the recipe's. A recipe with a `teacher` distils from the model
of that recipe, which must be trained first and given with --teacher.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .trainer import TrainSettings

__all__ = ["RECIPES", "Recipe"]


@dataclass(frozen=True)
class Recipe:
    description: str
    model: dict = field(default_factory=dict)  # ModelConfig keyword arguments (vocab_size comes from the data)
    settings: TrainSettings = field(default_factory=TrainSettings)
    teacher: str | None = None  # the recipe whose trained model this one distils from (--teacher)


RECIPES: dict[str, Recipe] = {
    "default": Recipe(
        "the shipped WaveNet: two stacks of gated dilated convolutions 1-2-4-8 (receptive field 31), "
        "32 channels, 96 skip and head channels, AdamW (batch 256, lr 4e-3: the sweep's best) with "
        "cosine decay over 45,000 steps, an exponential moving average of the weights (decay 0.999)",
        model={"arch": "wavenet", "channels": 32, "skip_channels": 96, "head_channels": 96,
               "dilations": (1, 2, 4, 8), "stacks": 2, "dropout": 0.25},
        settings=TrainSettings(steps=45_000, batch_size=256, lr=4e-3, optimizer="adamw", weight_decay=0.1,
                               warmup_steps=200, min_lr_ratio=0.05, eval_every=2000, ema=0.999),
    ),
    "large": Recipe(
        "the large WaveNet (<= 250k parameters, shipped as wavenet-large.onnx): the default's two stacks 1-2-4-8, "
        "64 channels, 128 skip and head channels, dropout 0.3, AdamW with weight decay 0.2 (the sweep's one "
        "gain for this class, over 0.1), an exponential moving average of the weights (decay 0.999), "
        "30,000 steps; also the teacher of `small`",
        model={"arch": "wavenet", "channels": 64, "skip_channels": 128, "head_channels": 128,
               "dilations": (1, 2, 4, 8), "stacks": 2, "dropout": 0.3},
        settings=TrainSettings(steps=30_000, batch_size=128, lr=3e-3, optimizer="adamw", weight_decay=0.2,
                               warmup_steps=200, min_lr_ratio=0.05, eval_every=2000, ema=0.999),
    ),
    "small": Recipe(
        "a 36-channel default network (64 skip and head channels) distilled from the `large` model (Hinton et "
        "al. 2015: weight 0.9, temperature 2), dropout 0.15, with an exponential moving average of the weights "
        "(decay 0.999)",
        model={"arch": "wavenet", "channels": 36, "skip_channels": 64, "head_channels": 64,
               "dilations": (1, 2, 4, 8), "stacks": 2, "dropout": 0.15},
        settings=TrainSettings(steps=30_000, batch_size=128, lr=3e-3, optimizer="adamw", weight_decay=0.1,
                               warmup_steps=200, min_lr_ratio=0.05, eval_every=2000, ema=0.999,
                               distill_weight=0.9, distill_temperature=2.0),
        teacher="large",
    ),
    "lecture": Recipe(
        "the lecture's hierarchical model and recipe: 200k SGD steps of 32 windows, lr 0.1 then 0.01",
        model={"arch": "lecture", "n_embd": 24, "n_hidden": 128, "block_size": 8},
        settings=TrainSettings(steps=200_000, batch_size=32, lr=0.1, optimizer="sgd", weight_decay=0.0,
                               grad_clip=0.0, eval_every=10_000),
    ),
}
