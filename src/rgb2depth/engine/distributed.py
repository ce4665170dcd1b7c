"""Distributed data-parallel training: one process per device, started by ``torchrun``.

``torchrun --nproc_per_node=N -m rgb2depth train CONFIG`` starts N processes with the
environment variables ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR`` and
``MASTER_PORT``; :func:`session` reads them and joins the process group (``gloo`` on
the CPU, ``nccl`` on CUDA, each process on the GPU of its ``LOCAL_RANK``). Without
them (a plain ``rgb2depth train``) everything here is a no-op for one process.

How a step runs on N processes (docs/distributed.md):

- **Data.** Step ``b``'s *global* batch is the one a single process would draw for
  ``(seed, b)`` (:mod:`rgb2depth.engine.data`); rank ``r`` takes the ``r``-th of its N
  equal slices. ``train.batch_size`` is the global batch and must divide by N.
- **Gradients.** After each ``backward`` the gradients of the optimisation step's
  parameters are averaged over the processes with explicit all-reduces
  (:func:`average_`), not by a ``DistributedDataParallel`` wrapper: the methods run
  several optimisation steps on different networks, repeat them, freeze networks in
  between and take gradients of gradients (the WGAN-GP penalty), all of which the
  wrapper's bucketed reducer handles badly or not at all. Every process then takes
  the same optimizer step, so the weights stay identical everywhere.
- **BatchNorm.** Each process normalises its own slice with the slice's statistics
  (no SyncBatchNorm); the running mean and variance are averaged over the processes
  after every training step (:func:`average_norm_buffers`).
- **Randomness inside a step** (dropout, the gradient penalty's interpolation) comes
  from a torch RNG stream per process (:func:`rank_seed`).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from rgb2depth.errors import InputError

__all__ = [
    "Distributed",
    "average_",
    "average_norm_buffers",
    "barrier",
    "broadcast_object",
    "broadcast_tensors_",
    "current",
    "gather_objects",
    "rank_seed",
    "session",
]

_ENV = ("RANK", "WORLD_SIZE", "LOCAL_RANK")
_BUCKET = 1 << 24  # elements per all-reduce (64 MB of float32)


@dataclass(frozen=True)
class Distributed:
    """Where this process stands: its rank among ``world_size`` processes.

    Attributes:
        rank: 0 .. world_size - 1; rank 0 logs, validates and writes checkpoints.
        world_size: the number of processes (1: no distribution).
        local_rank: the rank among the processes of this machine (its GPU index).
    """

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        """More than one process."""
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Rank 0: the process that writes."""
        return self.rank == 0


def current() -> Distributed:
    """The process group this process belongs to, or one process when there is none."""
    dist = torch.distributed
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() < 2:
        return Distributed()
    local = int(os.environ.get("LOCAL_RANK", "0") or 0)
    return Distributed(dist.get_rank(), dist.get_world_size(), local)


def _env_int(name: str) -> int:
    value = os.environ.get(name, "")
    try:
        return int(value)
    except ValueError:
        raise InputError(
            f"environment variable {name}={value!r} is not an integer (torchrun sets it)"
        ) from None


def from_env() -> Distributed:
    """The ranks that ``torchrun`` put in the environment (one process when it did not).

    Raises:
        InputError: ``WORLD_SIZE`` above 1 without ``RANK`` or ``LOCAL_RANK``, or values
            that are not integers or out of range.
    """
    if "WORLD_SIZE" not in os.environ:
        return Distributed()
    world = _env_int("WORLD_SIZE")
    if world <= 1:
        return Distributed()
    missing = [n for n in _ENV if n not in os.environ]
    if missing:
        raise InputError(
            f"WORLD_SIZE={world} but {', '.join(missing)} not set; start distributed "
            "training with torchrun --nproc_per_node=N -m rgb2depth train CONFIG"
        )
    rank, local = _env_int("RANK"), _env_int("LOCAL_RANK")
    if not 0 <= rank < world or local < 0:
        raise InputError(f"RANK={rank} / LOCAL_RANK={local} out of range for WORLD_SIZE={world}")
    return Distributed(rank, world, local)


def process_device(device: str, ctx: Distributed) -> str:
    """This process's device for the setting ``train.device`` (auto | cpu | cuda | cuda:N).

    With several processes, ``cuda`` (or ``auto`` where CUDA is available) becomes
    ``cuda:<LOCAL_RANK>``; one fixed ``cuda:N`` for every process is refused.
    """
    if not ctx.enabled:
        return device
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda"):
        if device != "cuda":
            raise InputError(
                f"train.device={device} names one GPU, but torchrun started "
                f"{ctx.world_size} processes; use train.device=cuda (or auto): each "
                "process takes the GPU of its LOCAL_RANK"
            )
        if not torch.cuda.is_available():
            raise InputError(f"train.device={device} asked for, but CUDA is not available here")
        if ctx.local_rank >= torch.cuda.device_count():
            raise InputError(
                f"LOCAL_RANK={ctx.local_rank} but this machine has "
                f"{torch.cuda.device_count()} GPU(s); start at most that many processes per node"
            )
        return f"cuda:{ctx.local_rank}"
    return device


@contextlib.contextmanager
def session(device: str) -> Iterator[tuple[Distributed, str]]:
    """Join the process group that ``torchrun`` describes (if any) for one training run.

    Args:
        device: the ``train.device`` setting.

    Yields:
        ``(ctx, device)``: this process's place and the device it trains on.

    A process group that already exists (set up by the caller) is used and left as it
    is; one made here is destroyed on exit.
    """
    dist = torch.distributed
    if dist.is_available() and dist.is_initialized():
        ctx = current()
        yield ctx, process_device(device, ctx)
        return
    ctx = from_env()
    if not ctx.enabled:
        yield ctx, device
        return
    dev = process_device(device, ctx)
    backend = "nccl" if dev.startswith("cuda") else "gloo"
    if dev.startswith("cuda"):
        torch.cuda.set_device(torch.device(dev))
    dist.init_process_group(backend=backend)
    try:
        yield ctx, dev
    finally:
        dist.destroy_process_group()


def rank_seed(seed: int, rank: int, step: int = 0) -> int:
    """The torch seed of process ``rank`` (``seed`` itself for rank 0 at step 0)."""
    if rank == 0 and step == 0:
        return int(seed)
    return (int(seed) * 0x9E3779B1 + rank * 1_000_003 + step * 7_919 + 1) % (2**63)


def _buckets(tensors: Sequence[torch.Tensor]) -> Iterator[list[torch.Tensor]]:
    """Tensors grouped by (device, dtype) into lists of at most ``_BUCKET`` elements."""
    groups: dict[tuple[torch.device, torch.dtype], list[torch.Tensor]] = {}
    for t in tensors:
        groups.setdefault((t.device, t.dtype), []).append(t)
    for group in groups.values():
        bucket: list[torch.Tensor] = []
        size = 0
        for t in group:
            if bucket and size + t.numel() > _BUCKET:
                yield bucket
                bucket, size = [], 0
            bucket.append(t)
            size += t.numel()
        if bucket:
            yield bucket


def average_(tensors: Iterable[torch.Tensor], ctx: Distributed) -> None:
    """Replace each tensor, in place, by its mean over the processes (sum / world size).

    One all-reduce per bucket of same-device, same-dtype tensors (flattened together).
    Every process must pass tensors of the same shapes in the same order.
    """
    if not ctx.enabled:
        return
    dist = torch.distributed
    for bucket in _buckets(list(tensors)):
        flat = torch.cat([t.reshape(-1) for t in bucket])
        dist.all_reduce(flat)
        flat.div_(ctx.world_size)
        offset = 0
        for t in bucket:
            n = t.numel()
            t.copy_(flat[offset : offset + n].view_as(t))
            offset += n


def average_norm_buffers(module: nn.Module, ctx: Distributed) -> None:
    """Average the running mean and variance of every BatchNorm (and instance norm that
    tracks running statistics) of ``module`` over the processes."""
    if not ctx.enabled:
        return
    norm_base = nn.modules.batchnorm._NormBase  # BatchNorm*d, SyncBatchNorm, InstanceNorm*d
    buffers = [
        b
        for m in module.modules()
        if isinstance(m, norm_base) and m.track_running_stats
        for b in (m.running_mean, m.running_var)
        if b is not None
    ]
    average_(buffers, ctx)


def broadcast_tensors_(tensors: Iterable[torch.Tensor], ctx: Distributed) -> None:
    """Overwrite each tensor, in place, with rank 0's."""
    if not ctx.enabled:
        return
    for t in tensors:
        torch.distributed.broadcast(t, src=0)


def broadcast_object(obj: Any, ctx: Distributed) -> Any:
    """Rank 0's ``obj`` (a picklable value) on every process."""
    if not ctx.enabled:
        return obj
    box = [obj]
    torch.distributed.broadcast_object_list(box, src=0)
    return box[0]


def gather_objects(obj: Any, ctx: Distributed) -> list[Any] | None:
    """Every process's ``obj`` in rank order on rank 0; None on the others."""
    if not ctx.enabled:
        return [obj]
    out: list[Any] | None = [None] * ctx.world_size if ctx.is_main else None
    torch.distributed.gather_object(obj, out, dst=0)
    return out


def barrier(ctx: Distributed) -> None:
    """Wait until every process gets here."""
    if ctx.enabled:
        torch.distributed.barrier()
