"""Shuffling that a resumed run repeats exactly, and evaluation that sees each sample once."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import torch
import torch.distributed as dist
from lightning.pytorch.overrides.distributed import UnrepeatedDistributedSampler
from lightning.pytorch.utilities import rank_zero_info
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
) -> DataLoader:
    """The DataLoader every DataModule uses: epoch-seeded shuffling for training, each sample
    exactly once for evaluation (also under DDP), and worker seeds drawn from a generator of
    its own, not the global one that training draws on.

    ``num_workers`` None picks :func:`default_workers`; workers persist across epochs, memory
    is pinned for GPU copies, and each worker keeps ``prefetch_factor`` batches ready (torch's
    default, 2, when None).
    """
    workers = default_workers() if num_workers is None else num_workers
    if num_workers is None and workers not in _reported:
        _reported.add(workers)
        rank_zero_info(f"DataLoader: {workers} worker processes (from this machine's CPUs).")
    sampler = EpochShuffleSampler(len(dataset), seed) if shuffle else evaluation_sampler(dataset)
    return DataLoader(
        dataset,
        batch_size=batch_size,
        sampler=sampler,
        num_workers=workers,
        persistent_workers=workers > 0,
        prefetch_factor=prefetch_factor if workers > 0 else None,
        collate_fn=collate_fn,
        pin_memory=torch.cuda.is_available(),
        generator=torch.Generator().manual_seed(seed),
    )
