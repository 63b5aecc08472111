"""Data-parallel training under ``torchrun`` (one process per CPU socket share or per GPU).

``torchrun --nproc_per_node N stages/train.py ...`` starts N copies of the same stage. Each copy is
a
*rank*: it builds the same networks from the same seed, draws the same global batch order, keeps its
own 1/N slice of every batch, and after every backward pass the gradients are averaged across ranks
(an all-reduce, gloo on CPU, NCCL on GPU) before the optimiser steps. That is the arithmetic of
PyTorch's DistributedDataParallel; it is done explicitly rather than through the DDP wrapper because
a GAN step calls its discriminator several times and through more than one entry point
(``forward`` and ``features``), which the wrapper's hooks do not follow. As DDP does, rank 0's
buffers (batch-norm running statistics) are broadcast to the others after every step. Rank 0 alone
writes checkpoints, models, figures and metrics; every rank reads a checkpoint to resume.

Without torchrun (no ``WORLD_SIZE`` in the environment) all of this is a no-op: one rank, no
communication, and a run identical to the code before data parallelism existed.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class Ranks:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def is_distributed(self) -> bool:
        return self.world_size > 1


# The one process of a run not launched by torchrun.
SINGLE_PROCESS = Ranks()


def ranks_from_environment() -> Ranks:
    """The rank of this process as torchrun sets it (one rank when not launched by torchrun)."""
    return Ranks(
        int(os.environ.get("RANK", 0)),
        int(os.environ.get("WORLD_SIZE", 1)),
        int(os.environ.get("LOCAL_RANK", 0)),
    )


def initialise(device: torch.device) -> Ranks:
    """Join the process group when launched by torchrun; gloo on CPU, NCCL on CUDA."""
    ranks = ranks_from_environment()
    if ranks.is_distributed and not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return ranks


def device_for_rank(device: torch.device, ranks: Ranks) -> torch.device:
    """Each rank on a machine takes its own GPU (``cuda`` becomes ``cuda:<local rank>``)."""
    if device.type == "cuda" and device.index is None and ranks.is_distributed:
        return torch.device("cuda", ranks.local_rank % torch.cuda.device_count())
    return device


def average_gradients(parameters: Iterable[torch.nn.Parameter], ranks: Ranks) -> None:
    """Replace every gradient by its mean over the ranks, in one flattened all-reduce."""
    if not ranks.is_distributed:
        return
    gradients = [parameter.grad for parameter in parameters if parameter.grad is not None]
    if not gradients:
        return
    flat = torch.cat([gradient.reshape(-1) for gradient in gradients])
    dist.all_reduce(flat, op=dist.ReduceOp.SUM)
    flat /= ranks.world_size
    offset = 0
    for gradient in gradients:
        gradient.copy_(flat[offset : offset + gradient.numel()].view_as(gradient))
        offset += gradient.numel()


def broadcast_buffers(modules: Iterable[torch.nn.Module], ranks: Ranks) -> None:
    """Give every rank rank 0's buffers (batch-norm running statistics, EMA counters), as
    DistributedDataParallel does before each forward pass; on CPU there is no SyncBatchNorm, so each
    rank normalises its batch share with its own statistics and only the running averages are
    shared."""
    if not ranks.is_distributed:
        return
    for module in modules:
        for buffer in module.buffers():
            dist.broadcast(buffer, src=0)


def mean_over_ranks(value: float, ranks: Ranks) -> float:
    """A logged number (a loss) averaged over the ranks, so the log describes the global batch."""
    if not ranks.is_distributed:
        return value
    tensor = torch.tensor([value], dtype=torch.float64, device=_communication_device())
    dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return float(tensor) / ranks.world_size


def _communication_device() -> torch.device:
    # NCCL reduces CUDA tensors only; gloo reduces CPU tensors.
    if dist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def barrier(ranks: Ranks) -> None:
    if ranks.is_distributed:
        dist.barrier()
