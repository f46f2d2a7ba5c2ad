"""The random state a run needs to continue exactly: torch's CPU generator and, on CUDA, every GPU's.

    state = capture_rng(torch.device("cuda"))    # {"torch": ByteTensor, "cuda": [ByteTensor, ...]}
    restore_rng(state, torch.device("cuda"))
"""

from __future__ import annotations

import torch

from wavenet_edge.runtime.common.errors import ModelFileError

__all__ = ["capture_rng", "restore_rng"]


def capture_rng(device: torch.device) -> dict:
    state = {"torch": torch.get_rng_state()}
    if device.type == "cuda" and torch.cuda.is_available():
        state["cuda"] = [s.cpu() for s in torch.cuda.get_rng_state_all()]  # dropout on the GPU draws from these
    return state


def restore_rng(state: dict, device: torch.device, where: str = "checkpoint") -> None:
    if not isinstance(state, dict) or not isinstance(state.get("torch"), torch.Tensor):
        raise ModelFileError(f"{where}: malformed training state: bad RNG state")
    try:
        torch.set_rng_state(state["torch"])
        if device.type == "cuda" and torch.cuda.is_available() and "cuda" in state:
            torch.cuda.set_rng_state_all(state["cuda"])
    except (RuntimeError, TypeError, ValueError) as err:
        raise ModelFileError(f"{where}: malformed training state: bad RNG state ({err})") from None
