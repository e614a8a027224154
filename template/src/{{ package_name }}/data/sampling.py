"""Shuffling that a resumed run repeats exactly."""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch.utils.data import Sampler


class EpochShuffleSampler(Sampler[int]):
    """A random order of ``range(size)`` that depends only on ``seed`` and the epoch.

    Lightning calls :meth:`set_epoch` before every training epoch, so epoch ``e`` of a run
    resumed from a checkpoint sees the same order as epoch ``e`` of an uninterrupted run.
    (PyTorch's own RandomSampler draws from the global generator when iteration starts, which
    happens at a different moment when Lightning resumes.) Under DDP, Lightning wraps it in a
    distributed sampler.
    """

    def __init__(self, size: int, seed: int = 0) -> None:
        self.size = size
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self) -> Iterator[int]:
        generator = torch.Generator().manual_seed(self.seed + self.epoch)
        yield from torch.randperm(self.size, generator=generator).tolist()

    def __len__(self) -> int:
        return self.size
