"""Shuffling that a resumed run repeats exactly, and evaluation that sees each sample once."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import torch
import torch.distributed as dist
from lightning.pytorch.overrides.distributed import UnrepeatedDistributedSampler
from torch.utils.data import DataLoader, Dataset, Sampler


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


def evaluation_sampler(dataset: Dataset) -> Sampler[int] | None:
    """Under DDP, each process validates a disjoint share of the data, with no sample twice.

    Lightning's default distributed sampler pads the last batch with repeated samples so
    every process gets the same count; that would count those samples twice in the metrics
    (accuracy, KITTI AP, COCO mAP, SQuAD F1). This sampler does not pad: processes may get one
    sample more or less, which evaluation (no gradient sync) allows. ``None`` (sequential)
    in a single process.
    """
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return None
    return UnrepeatedDistributedSampler(dataset, shuffle=False)


def seeded_loader(
    dataset: Dataset,
    batch_size: int,
    num_workers: int,
    seed: int,
    shuffle: bool = False,
    collate_fn: Callable | None = None,
) -> DataLoader:
    """The DataLoader every DataModule uses: epoch-seeded shuffling for training, each sample
    exactly once for evaluation (also under DDP), and worker seeds drawn from a generator of
    its own, not the global one that training draws on."""
    sampler = EpochShuffleSampler(len(dataset), seed) if shuffle else evaluation_sampler(dataset)
    return DataLoader(
        dataset,
        batch_size=batch_size,
        sampler=sampler,
        num_workers=num_workers,
        persistent_workers=num_workers > 0,
        collate_fn=collate_fn,
        pin_memory=torch.cuda.is_available(),
        generator=torch.Generator().manual_seed(seed),
    )
