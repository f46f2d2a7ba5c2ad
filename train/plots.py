"""Loss curves: one PNG with the train and val loss of one or more runs against the step."""

from __future__ import annotations

from pathlib import Path

from wavenet_edge.runtime.common.files import atomic_path

__all__ = ["plot_loss_curves"]


X_AXES = {"step": "step", "elapsed_s": "training time (s)"}


def plot_loss_curves(runs: dict[str, list[dict]], path: str | Path, title: str = "loss per character",
                     reference: dict[str, float] | None = None, x: str = "step") -> Path:
    """runs: label -> metric records ({"step", "elapsed_s", "train_loss", "val_loss"});
    reference: label -> a horizontal line; x: the record key on the x axis (step or elapsed_s)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5), dpi=110)
    for i, (label, history) in enumerate(runs.items()):
        steps = [r[x] for r in history]
        color = f"C{i}"
        ax.plot(steps, [r["val_loss"] for r in history], color=color, label=f"{label} val")
        ax.plot(steps, [r["train_loss"] for r in history], color=color, linestyle=":", alpha=0.7,
                label=f"{label} train")
    for label, value in (reference or {}).items():
        ax.axhline(value, color="gray", linestyle="--", linewidth=0.8)
        ax.annotate(f"{label}: {value}", (0.01, value), xycoords=("axes fraction", "data"), fontsize=8,
                    color="gray", va="bottom")
    ax.set_xlabel(X_AXES.get(x, x))
    ax.set_ylabel("mean NLL per character (nats)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
    return path
