"""Shuffling that a resumed run repeats exactly, and evaluation that sees each sample once."""

from __future__ import annotations

import math
import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sized
from typing import Any, cast

import torch
import torch.distributed as dist
from lightning.pytorch.overrides.distributed import UnrepeatedDistributedSampler
from lightning.pytorch.utilities import rank_zero_info
from torch.utils.data import DataLoader, Dataset, DistributedSampler, Sampler


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


class BatchOrder(DistributedSampler, ABC):
    """Base of samplers that yield whole batches (lists of indices), such as a length-bucketing
    one, split across DDP processes batch by batch.

    :func:`seeded_loader` (``batches=``) gives it to the DataLoader as its *sampler*, with
    ``batch_size=None``. Two Lightning behaviours make that the right place: Lightning calls
    ``set_epoch`` on a loader's sampler, never on a batch sampler itself (a batch sampler's
    order would repeat every epoch), and under DDP it wraps any sampler that is not a
    ``DistributedSampler`` in one that splits samples, which would undo the batching.

    Subclasses return every batch of an epoch from :meth:`all_batches`, the same list in every
    process (seeded by ``seed`` and the epoch); each process takes every ``world``-th batch.
    For training (``even``) the list is first extended with batches from its start so that
    every process runs the same number of steps, as DDP's gradient sync needs; for evaluation
    each batch is used once, and processes may differ by one batch.
    """

    def __init__(self, size: int, even: bool, seed: int = 0) -> None:
        distributed = dist.is_available() and dist.is_initialized()
        world, rank = (dist.get_world_size(), dist.get_rank()) if distributed else (1, 0)
        # DistributedSampler reads only the length of its dataset: a range stands in for it.
        indices = cast(Dataset, range(size))
        super().__init__(indices, num_replicas=world, rank=rank, shuffle=even, seed=seed)
        self.even = even

    @abstractmethod
    def all_batches(self) -> list[list[int]]:
        """Every batch of this epoch, the same list in every process."""

    @abstractmethod
    def batch_count(self) -> int:
        """The length of :meth:`all_batches`, without forming the batches."""

    def __iter__(self) -> Iterator[list[int]]:
        batches = self.all_batches()
        if self.num_replicas > 1:
            if self.even and batches:
                short = -len(batches) % self.num_replicas
                batches = batches + (batches * math.ceil(short / len(batches)))[:short]
            batches = batches[self.rank :: self.num_replicas]
        return iter(batches)

    def __len__(self) -> int:
        total = self.batch_count()
        if self.even:
            return math.ceil(total / self.num_replicas)
        return len(range(self.rank, total, self.num_replicas))


class _Batches(Dataset):
    """``dataset`` read a batch at a time: ``[dataset[i] for i in indices]``.

    A single index gives a batch of one: Lightning's ``overfit_batches`` swaps the loader's
    sampler for a plain sequential one, which yields indices, not batches.
    """

    def __init__(self, dataset: Dataset) -> None:
        self.dataset = dataset

    def __getitem__(self, indices: int | list[int]) -> list[Any]:
        if isinstance(indices, int):
            return [self.dataset[indices]]
        return [self.dataset[i] for i in indices]

    def __len__(self) -> int:
        return len(cast(Sized, self.dataset))  # torch's Dataset declares no __len__


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


def processes_on_this_node() -> int:
    """Training processes sharing this machine: from torchrun or SLURM, else the process
    group's size (one node), else 1."""
    for name in ("LOCAL_WORLD_SIZE", "SLURM_NTASKS_PER_NODE"):
        value = os.environ.get(name, "")
        if value.isdigit() and int(value) > 0:
            return int(value)
    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size()
    return 1


def default_workers(limit: int = 8) -> int:
    """DataLoader workers chosen from the machine: the CPUs this process may use, shared by
    the training processes on this node, one kept for the process itself; at most ``limit``
    (more rarely helps and costs memory)."""
    affinity = getattr(os, "sched_getaffinity", None)  # Linux: the CPUs this process may use
    cpus = len(affinity(0)) if affinity else os.cpu_count() or 1
    return max(0, min(limit, cpus // processes_on_this_node() - 1))


_reported: set[int] = set()


def seeded_loader(
    dataset: Dataset,
    batch_size: int,
    num_workers: int | None,
    seed: int,
    shuffle: bool = False,
    collate_fn: Callable | None = None,
    prefetch_factor: int | None = None,
    batches: BatchOrder | None = None,
) -> DataLoader:
    """The DataLoader every DataModule uses: epoch-seeded shuffling for training, each sample
    exactly once for evaluation (also under DDP), and worker seeds drawn from a generator of
    its own, not the global one that training draws on.

    ``num_workers`` None picks :func:`default_workers`; workers persist across epochs, memory
    is pinned for GPU copies, and each worker keeps ``prefetch_factor`` batches ready (torch's
    default, 2, when None). ``batches`` replaces the sampling by a :class:`BatchOrder` that
    forms the batches itself (``batch_size`` then only informs).
    """
    workers = default_workers() if num_workers is None else num_workers
    if num_workers is None and workers not in _reported:
        _reported.add(workers)
        rank_zero_info(f"DataLoader: {workers} worker processes (from this machine's CPUs).")
    sampler: Sampler | None
    if batches is not None:
        dataset, sampler = _Batches(dataset), batches
    elif shuffle:
        sampler = EpochShuffleSampler(len(cast(Sized, dataset)), seed)
    else:
        sampler = evaluation_sampler(dataset)
    return DataLoader(
        dataset,
        batch_size=None if batches is not None else batch_size,  # a BatchOrder forms them
        sampler=sampler,
        num_workers=workers,
        persistent_workers=workers > 0,
        prefetch_factor=prefetch_factor if workers > 0 else None,
        collate_fn=collate_fn,
        pin_memory=torch.cuda.is_available(),
        generator=torch.Generator().manual_seed(seed),
    )
