"""Data-parallel training across processes (torch.nn.parallel.DistributedDataParallel, Li et al. 2020,
"PyTorch Distributed: Experiences on Accelerating Data Parallel Training").

    torchrun --nproc-per-node 2 -m wavenet_edge.train --data names --recipe default --threads 1

torchrun sets RANK, WORLD_SIZE and LOCAL_RANK (and the rendezvous address); `Distributed.from_environment`
reads them and `setup` joins the process group (gloo on CPU, nccl on CUDA). Every rank draws the same
global batch from the same batch RNG and keeps its own rows (`shard`), so N processes with a global batch
B take the same steps as one process with batch B (up to the order of float reductions; BatchNorm's batch
statistics, in the lecture's model, are per shard). Rank 0 evaluates, prints and writes files.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch

from wavenet_edge.runtime.common.errors import ConfigError

__all__ = ["Distributed", "SINGLE"]


@dataclass(frozen=True)
class Distributed:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @classmethod
    def from_environment(cls, environ: dict | None = None) -> Distributed:
        """The process's place in a torchrun job; a single process when WORLD_SIZE is unset or 1."""
        env = os.environ if environ is None else environ
        try:
            world = int(env.get("WORLD_SIZE", "1"))
            rank, local = int(env.get("RANK", "0")), int(env.get("LOCAL_RANK", "0"))
        except ValueError:
            raise ConfigError("WORLD_SIZE, RANK and LOCAL_RANK must be integers (set by torchrun)") from None
        if world < 1 or not 0 <= rank < world:
            raise ConfigError(f"RANK {rank} is not in [0, WORLD_SIZE {world})")
        return cls(rank, world, local)

    def device(self, device: str) -> str:
        """cuda -> this process's GPU (cuda:LOCAL_RANK)."""
        return f"cuda:{self.local_rank}" if device == "cuda" and self.enabled else device

    def setup(self, device: str) -> None:
        """Join the process group (no-op for a single process)."""
        if not self.enabled or torch.distributed.is_initialized():
            return
        if device.startswith("cuda"):
            torch.cuda.set_device(self.local_rank)
        torch.distributed.init_process_group("nccl" if device.startswith("cuda") else "gloo")

    def close(self, wait: bool = True) -> None:
        """Leave the process group. wait: first meet the other ranks at a barrier, so that no rank tears the
        group down while another still works in it (gloo can then abort a rank at exit); pass False on an
        error path, where the other ranks may never arrive. Drop DDP-wrapped models before closing."""
        if self.enabled and torch.distributed.is_initialized():
            if wait:
                torch.distributed.barrier()
            torch.distributed.destroy_process_group()

    def shard(self, batch_size: int) -> slice:
        """This rank's rows of a global batch: near-equal contiguous slices, disjoint, covering it all."""
        base, extra = divmod(batch_size, self.world_size)
        start = self.rank * base + min(self.rank, extra)
        return slice(start, start + base + (self.rank < extra))

    def all_sum(self, tensor: torch.Tensor) -> torch.Tensor:
        """Sum over ranks (in place; returned for chaining)."""
        if self.enabled:
            torch.distributed.all_reduce(tensor, op=torch.distributed.ReduceOp.SUM)
        return tensor

    def gather(self, obj: object) -> list:
        """Every rank's `obj`, in rank order, on every rank."""
        if not self.enabled:
            return [obj]
        out: list = [None] * self.world_size
        torch.distributed.all_gather_object(out, obj)
        return out


SINGLE = Distributed()
