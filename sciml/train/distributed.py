"""Data-parallel training on ``torch.distributed`` (DDP), launched by ``torchrun``.

``torchrun --nproc_per_node N script.py`` sets ``WORLD_SIZE``, ``RANK`` and
``LOCAL_RANK``; :func:`init_from_env` then joins the process group (NCCL on CUDA,
gloo on CPU) and the Trainer wraps the model in ``DistributedDataParallel`` and
shards the training set with a ``DistributedSampler``. Multi-node runs use the same
script with ``torchrun --nnodes ... --rdzv-endpoint ...``.
"""

from __future__ import annotations

import atexit
import os

import torch
import torch.distributed as dist

__all__ = [
    "all_reduce_mean",
    "init_from_env",
    "is_distributed",
    "is_main_process",
    "rank",
    "world_size",
]


def is_distributed() -> bool:
    """True when a process group with more than one rank is active."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def rank() -> int:
    """Return the global rank of this process (0 when not distributed)."""
    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0


def world_size() -> int:
    """Number of processes (1 when not distributed)."""
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def is_main_process() -> bool:
    """Rank 0 writes checkpoints, history files and progress bars."""
    return rank() == 0


def init_from_env() -> bool:
    """Join the process group described by torchrun's environment, if any.

    Returns True when running distributed. Safe to call more than once.
    """
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1 or not dist.is_available():
        return False
    if not dist.is_initialized():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        if backend == "nccl":
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", 0)))
        dist.init_process_group(backend=backend)
        # The group joined here is left here: a process that exits with it still alive can
        # abort in the backend's thread teardown ("terminate called without an active
        # exception"), turning a finished run into a failed one.
        atexit.register(_leave_process_group)
    return is_distributed()


def _leave_process_group() -> None:
    """Destroy the default process group at exit, if it is still there."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def all_reduce_mean(values: dict[str, float]) -> dict[str, float]:
    """Average a dict of floats over the ranks that report each key.

    Used so that epoch losses, and therefore early-stopping decisions, agree on all
    ranks. A key may be missing on some ranks (e.g. a task with no label in one rank's
    shard for a whole epoch); it is then averaged over the ranks that have it.
    """
    if not is_distributed():
        return values
    gathered: list = [None] * world_size()
    dist.all_gather_object(gathered, sorted(values))
    keys = sorted(set().union(*gathered))
    sums = torch.tensor([values.get(k, 0.0) for k in keys], dtype=torch.float64)
    counts = torch.tensor([float(k in values) for k in keys], dtype=torch.float64)
    dist.all_reduce(sums)
    dist.all_reduce(counts)
    return dict(zip(keys, (sums / counts).tolist(), strict=True))
