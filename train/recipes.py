"""Named recipes: a model config and training settings that reproduce a published result with one option.

    wn-train --data names --recipe default --out runs/wavenet.pt     # the shipped model
    wn-train --data names --recipe lecture --out runs/lecture.pt     # the lecture's baseline

Options given on the command line override the recipe's.
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


RECIPES: dict[str, Recipe] = {
    "default": Recipe(
        "the shipped WaveNet: two stacks of gated dilated convolutions 1-2-4-8 (receptive field 31), "
        "36 channels, AdamW with cosine decay",
        model={"arch": "wavenet", "channels": 36, "skip_channels": 64, "head_channels": 64,
               "dilations": (1, 2, 4, 8), "stacks": 2, "dropout": 0.25},
        settings=TrainSettings(steps=20_000, batch_size=128, lr=3e-3, optimizer="adamw", weight_decay=0.1,
                               warmup_steps=200, min_lr_ratio=0.05, eval_every=2000),
    ),
    "lecture": Recipe(
        "the lecture's hierarchical model and recipe: 200k SGD steps of 32 windows, lr 0.1 then 0.01",
        model={"arch": "lecture", "n_embd": 24, "n_hidden": 128, "block_size": 8},
        settings=TrainSettings(steps=200_000, batch_size=32, lr=0.1, optimizer="sgd", weight_decay=0.0,
                               grad_clip=0.0, eval_every=10_000),
    ),
}
