"""Training data streams that resume exactly.

The batch of training step ``b`` depends only on ``(seed, b)``: epoch ``e`` visits
the samples in a permutation drawn from ``seed + e``, and each sample's random
augmentation runs under torch's RNG seeded from ``(seed, e, index)``. A run that
resumes from a checkpoint at batch ``b`` therefore sees exactly the batches it
would have seen, whatever the number of DataLoader workers.

With ``world_size`` processes (:mod:`rgb2depth.engine.distributed`) batch ``b`` is
still the one above, the *global* batch; process ``rank`` loads only the ``rank``-th
of its ``world_size`` equal, consecutive slices, so the processes together see
exactly the samples, augmented exactly as, one process would.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset, Sampler

__all__ = ["ResumableBatchSampler", "SeededItems", "global_batch_size", "infinite_loader"]

_MIX = 0x9E3779B1


class SeededItems(Dataset):
    """Item ``(epoch, index)`` is ``dataset[index]`` drawn under a seed of its own."""

    def __init__(self, dataset: Dataset, seed: int) -> None:
        self.dataset = dataset
        self.seed = int(seed)

    def __len__(self) -> int:
        return len(self.dataset)  # type: ignore[arg-type]

    def __getitem__(self, key: tuple[int, int]) -> Any:
        epoch, index = key
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed((self.seed * _MIX + epoch * 1_000_003 + index) % (2**63))
            return self.dataset[index]


class ResumableBatchSampler(Sampler[list[tuple[int, int]]]):
    """An endless stream of batches of ``(epoch, index)`` keys, starting at batch ``start``.

    Each epoch is a fresh permutation of the ``n`` samples (seeded by ``seed + epoch``)
    cut into ``max(1, n // batch_size)`` full batches (the remainder is dropped;
    a dataset smaller than a batch gives batches of all its samples).

    With ``world_size`` > 1 each batch is cut into ``world_size`` equal consecutive
    slices and this sampler yields slice ``rank`` (:func:`global_batch_size` must
    divide by ``world_size``).
    """

    def __init__(
        self,
        n: int,
        batch_size: int,
        *,
        seed: int,
        start: int = 0,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        if n < 1:
            raise ValueError("cannot sample batches from an empty dataset")
        if global_batch_size(n, batch_size) % world_size or not 0 <= rank < world_size:
            raise ValueError(
                f"a batch of {global_batch_size(n, batch_size)} cannot be cut into "
                f"{world_size} equal slices (rank {rank})"
            )
        self.n, self.batch_size, self.seed, self.start = n, batch_size, seed, start
        self.rank, self.world_size = rank, world_size
        self.per_epoch = max(1, n // batch_size)

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        b = self.start
        while True:
            epoch, i = divmod(b, self.per_epoch)
            g = torch.Generator().manual_seed(self.seed + epoch)
            perm = torch.randperm(self.n, generator=g).tolist()
            chunk = perm[i * self.batch_size : (i + 1) * self.batch_size]
            k = len(chunk) // self.world_size
            yield [(epoch, j) for j in chunk[self.rank * k : (self.rank + 1) * k]]
            b += 1

    def __len__(self) -> int:  # an endless sampler; DataLoader asks only when sized
        return 2**62


def global_batch_size(n: int, batch_size: int) -> int:
    """Samples in each batch drawn from ``n`` samples with ``batch_size``: ``batch_size``,
    or all ``n`` when there are fewer."""
    return min(n, batch_size)


def infinite_loader(
    dataset: Dataset,
    *,
    batch_size: int,
    seed: int,
    start: int = 0,
    workers: int = 0,
    pin_memory: bool = False,
    rank: int = 0,
    world_size: int = 1,
) -> Iterator[dict[str, Any]]:
    """Batches from batch number ``start`` on, forever (see the module docstring);
    with ``world_size`` > 1, this process's slice ``rank`` of each."""
    sampler = ResumableBatchSampler(
        len(dataset),  # type: ignore[arg-type]
        batch_size,
        seed=seed,
        start=start,
        rank=rank,
        world_size=world_size,
    )
    loader = DataLoader(
        SeededItems(dataset, seed),
        batch_sampler=sampler,
        num_workers=workers,
        pin_memory=pin_memory,
        persistent_workers=workers > 0,
        # the workers' base seed is drawn from here, not from the global RNG, whose
        # state a checkpoint restores (items are seeded by SeededItems anyway)
        generator=torch.Generator().manual_seed(seed),
    )
    return iter(loader)
