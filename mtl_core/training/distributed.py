"""Data-parallel training under ``torchrun`` (WORLD_SIZE > 1).

The pipeline gives each rank only its shard of the training rows (``training.shards``;
``sharded`` below): every epoch a rank trains on a seeded permutation of its own rows, as many
as the smallest shard holds. Given every rank's rows instead (``Trainer.fit`` without
``sharded``), each rank takes its slice of each epoch's common permutation. Either way a step
has ``batch_size / world`` rows per rank (the same effective batch) and DDP averages the
gradients. Validation runs once, on rank 0, and its numbers are broadcast so that every rank
takes the same early-stopping decisions. Without torchrun all of this is a no-op.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import torch

from ..errors import TrainingError


def dist_env_world_size() -> int:
    """WORLD_SIZE set by ``torchrun`` (1 when not launched by it)."""
    try:
        return int(os.environ.get("WORLD_SIZE", "1"))
    except ValueError:
        return 1


def dist_active() -> bool:
    """True inside an initialised process group of more than one process."""
    import torch.distributed as dist

    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def dist_rank() -> int:
    """This process's rank (0 when not distributed)."""
    import torch.distributed as dist

    return dist.get_rank() if dist_active() else 0


def init_distributed(device: torch.device) -> torch.device:
    """Join the process group when launched by ``torchrun`` with WORLD_SIZE > 1 (gloo on
    CPU, NCCL on CUDA; each rank on ``cuda:LOCAL_RANK``). Returns the device to train on.
    Without torchrun it does nothing."""
    import torch.distributed as dist

    if dist_env_world_size() <= 1 or not dist.is_available():
        return device
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if device.type == "cuda":
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    if device.type == "cpu":
        # share the cores between the ranks on this machine (torchrun's OMP_NUM_THREADS=1
        # is overridden by set_threads)
        local_world = int(os.environ.get("LOCAL_WORLD_SIZE", str(dist.get_world_size())))
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // max(1, local_world)))
    return device


@dataclass(frozen=True)
class Ranks:
    """This process's place in the process group (rank 0 of 1 when not distributed)."""

    rank: int = 0
    world: int = 1

    @property
    def active(self) -> bool:
        return self.world > 1

    def shard(self, perm: torch.Tensor, n: int) -> torch.Tensor:
        """This rank's rows of an epoch's permutation (the same on every rank): rows
        ``rank, rank + world, ...``; the last ``len(perm) % world`` rows are skipped so that
        every rank runs the same number of steps (``n`` rows each)."""
        return perm[self.rank:n * self.world:self.world] if self.active else perm

    def rows_per_rank(self, n_all: int) -> int:
        n = n_all // self.world
        if n == 0:
            raise TrainingError(f"The training split has {n_all} rows, fewer than the {self.world} processes.")
        return n

    def min_rows(self, n_local: int, device: torch.device) -> int:
        """The fewest rows any rank holds (``n_local`` when not distributed): with sharded
        data every rank trains on that many of its rows per epoch, so all run the same
        number of steps (a rank with more would wait forever in DDP's gradient all-reduce)."""
        n = n_local
        if self.active:
            import torch.distributed as dist

            t = torch.tensor([n_local], dtype=torch.int64, device=device)
            dist.all_reduce(t, op=dist.ReduceOp.MIN)
            n = int(t.item())
        if n == 0:
            raise TrainingError(f"A process has no training rows; use more rows or fewer than {self.world} processes.")
        return n

    def sum_(self, *tensors: torch.Tensor) -> None:
        """In-place sum over the ranks."""
        if self.active:
            import torch.distributed as dist

            for t in tensors:
                dist.all_reduce(t)

    def from_rank0(self, *values):
        """``values`` as rank 0 computed them, on every rank."""
        if not self.active:
            return values
        import torch.distributed as dist

        shared = list(values)
        dist.broadcast_object_list(shared, src=0)
        return tuple(shared)


def join(device: torch.device) -> tuple[torch.device, Ranks]:
    """The device to train on and this process's ``Ranks`` (joins torchrun's group)."""
    device = init_distributed(device)
    if not dist_active():
        return device, Ranks()
    import torch.distributed as dist

    return device, Ranks(dist.get_rank(), dist.get_world_size())


def wrap(model, device: torch.device, ranks: Ranks, weighting, weighting_name: str):
    """The module to call forward on: ``model`` itself, or ``DistributedDataParallel(model)``
    under torchrun (only loss-weighting methods: gradient methods read per-task gradients
    that DDP would not average)."""
    if not ranks.active:
        return model
    from ..weighting.base import Weighting

    if type(weighting).backward is not Weighting.backward:
        raise TrainingError(f"Distributed training supports loss-weighting methods (fixed, uncertainty, dwa), "
                            f"not the gradient method '{weighting_name}'; run it in one process.")
    from torch.nn.parallel import DistributedDataParallel as DDP

    return DDP(model, device_ids=[device.index] if device.type == "cuda" else None)
