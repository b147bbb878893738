"""Deterministic, resumable, rank-sharded infinite sampling."""

from __future__ import annotations

import random
from collections.abc import Iterator

import numpy as np
import torch
from torch.utils.data import Sampler

__all__ = ["InfiniteSampler", "random_crop", "seed_everything", "seed_worker"]


def random_crop(images: list[np.ndarray], crop: int, rng: np.random.Generator) -> np.ndarray:
    """A ``crop×crop`` view (no copy) of a random ``(H, W, C)`` image of ``images`` at a random place, drawn from
    ``rng`` (image index, then row, then column); every image must be at least ``crop`` on each side."""
    img = images[int(rng.integers(len(images)))]
    h, w = img.shape[:2]
    y, x = int(rng.integers(h - crop + 1)), int(rng.integers(w - crop + 1))
    return img[y : y + crop, x : x + crop]


def seed_everything(seed: int) -> None:
    """Seed python ``random``, numpy and torch (CPU and all CUDA devices)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def seed_worker(worker_id: int) -> None:
    """DataLoader ``worker_init_fn``: derive numpy/python seeds from the worker's torch seed."""
    seed = torch.initial_seed() % 2**32
    np.random.seed(seed)
    random.seed(seed)


class InfiniteSampler(Sampler[int]):
    """Endless stream of dataset indices for one rank, reproducible from ``(seed, position)``.

    Epoch ``e`` is a permutation drawn from ``seed + e`` (or ``0…n-1`` if not ``shuffle``), padded
    by wrapping to a multiple of ``world_size`` and dealt round-robin to ranks (like
    ``DistributedSampler``). ``start`` skips that many of this rank's samples in O(1), so a run
    resumed at step ``s`` with batch size ``b`` continues with ``start = s·b``.
    """

    def __init__(
        self, size: int, rank: int = 0, world_size: int = 1, seed: int = 0, shuffle: bool = True, start: int = 0
    ) -> None:
        if size < 1:
            raise ValueError("dataset is empty")
        self.size, self.rank, self.world_size = size, rank, world_size
        self.seed, self.shuffle, self.start = seed, shuffle, start
        self.per_rank = -(-size // world_size)

    def _epoch(self, epoch: int) -> list[int]:
        if self.shuffle:
            g = torch.Generator().manual_seed(self.seed + epoch)
            order = torch.randperm(self.size, generator=g).tolist()
        else:
            order = list(range(self.size))
        total = self.per_rank * self.world_size
        order = (order * (total // self.size + 1))[:total]
        return order[self.rank :: self.world_size]

    def __iter__(self) -> Iterator[int]:
        epoch, offset = divmod(self.start, self.per_rank)
        while True:
            yield from self._epoch(epoch)[offset:]
            epoch, offset = epoch + 1, 0
