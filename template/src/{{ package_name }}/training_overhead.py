"""What the default training run costs per epoch over a plain PyTorch loop doing the same work.

    python -m <package>.benchmark trainer-overhead -c configs/<task>/sample.yaml

Both sides start from the same model, weights and batches (the config's, built as ``train.py``
builds them) and run ``epochs`` epochs:

- **default**: ``trainer.fit`` exactly as ``train.py fit`` runs it: the config's Trainer with
  every default callback and logger, the progress bar, validation, the two checkpoints (best
  and last) of each epoch and the task's own figures and pages.
- **plain**: a hand-written loop doing the same work per epoch: the module's ``training_step``
  (forward, loss, training metrics), backward, the optimiser and schedule step; its
  ``validation_step`` over every validation loader and the metrics' ``compute``; two
  ``torch.save`` of the weights and optimiser state (the default writes ``last.ckpt`` each
  epoch and the best checkpoint when the metric improves, which on a sample is most epochs).

The runs write under ``logs/trainer-overhead/``, removed when the benchmark ends (a wandb
logger's offline runs stay in its own folder). Whole fits alternate round by round, so that
machine noise hits both. The first epoch of each fit is not timed (allocator and kernel
warm-up, sanity check); the ratio of the medians of the others is the default run's cost.
Lightning's ``SimpleProfiler`` watches the default fits: the hooks beyond the loop's work are
printed in seconds per epoch, and what runs once at the end of the fit (e.g. figures drawn for
the best checkpoint) separately.
"""

from __future__ import annotations

import itertools
import shutil
import statistics
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.profilers import SimpleProfiler
from torchmetrics import Metric

from .finetuning import build_optimizer
from .optim import WarmupSchedule
from .runs import LOG_DIR
from .timing import alternate, print_rounds, ratio_verdict

TARGET = 1.05
RUN_NAME = "trainer-overhead"  # logs/trainer-overhead/, removed when the benchmark ends
# Profiler actions that are the work the plain loop also does (or Lightning's wrappers around
# it): everything else a default epoch spends time in is overhead.
_LOOP_WORK = (
    "run_training_epoch",
    "run_training_batch",
    "training_step",
    "validation_step",
    "backward",
    "optimizer_step",
    "optimizer_zero_grad",
    "_next",
    "batch_to_device",
    "[Strategy]",
)

Build = Callable[[list[str]], Any]  # config arguments -> a built CLI (model, datamodule, trainer)


class _EpochClock(L.Callback):
    """Wall time of each epoch: from its start to the next one's (training, validation, the
    checkpoints and every hook in between); the last one ends when training ends."""

    def __init__(self) -> None:
        self.marks: list[float] = []

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.marks.append(time.perf_counter())

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.marks.append(time.perf_counter())

    def epochs(self) -> list[float]:
        return [end - start for start, end in zip(self.marks, self.marks[1:], strict=False)]


def _default_fit(build: Build, args: list[str], folder: Path) -> tuple[list[float], dict]:
    """Epoch times of ``train.py fit`` with ``args``, and the profiler's durations by action."""
    # Its report goes to a file, not the terminal.
    where = [
        f"--trainer.profiler.init_args.{k}={v}"
        for k, v in (("dirpath", folder), ("filename", "profile"))
    ]
    cli = build([*args, "--trainer.profiler=SimpleProfiler", *where])
    clock = _EpochClock()
    cli.trainer.callbacks.append(clock)
    cli.trainer.fit(cli.model, cli.datamodule)
    recorded = cli.trainer.profiler
    durations = dict(recorded.recorded_durations) if isinstance(recorded, SimpleProfiler) else {}
    return clock.epochs(), durations


def _loaders(data: L.LightningDataModule, stage: str, limit: int | float) -> list[Cut]:
    """The stage's loaders, each with the number of batches an epoch takes from it, as
    ``trainer.limit_<stage>_batches`` says (an int: that many; a fraction: that share)."""
    loaders = getattr(data, f"{stage}_dataloader")()
    return [
        Cut(loader, limit if isinstance(limit, int) else int(len(loader) * limit))
        for loader in (loaders if isinstance(loaders, list) else [loaders])
    ]


@dataclass
class Cut:
    """A DataLoader and how many of its batches an epoch takes (iterated anew each epoch, so
    the loop loads its data as the Trainer does)."""

    loader: Any
    batches: int

    def __iter__(self) -> Iterator[Any]:
        return itertools.islice(iter(self.loader), self.batches)

    def __len__(self) -> int:
        return self.batches


def _compute_metrics(module: L.LightningModule) -> None:
    """What the end of an epoch computes: every torchmetrics state that was updated."""
    for metric in module.modules():
        if isinstance(metric, Metric) and metric.update_called:
            metric.compute()
            metric.reset()


def _plain_fit(build: Build, args: list[str], epochs: int, folder: Path) -> list[float]:
    """Epoch times of the hand-written loop over the same model, data and optimiser."""
    cli = build(args)
    module, data = cli.model, cli.datamodule
    folder.mkdir(parents=True, exist_ok=True)
    data.setup("fit")
    trainer = cli.trainer
    train = _loaders(data, "train", trainer.limit_train_batches)[0]
    validation = _loaders(data, "val", trainer.limit_val_batches)
    device = trainer.strategy.root_device
    module.to(device)
    hparams = module.hparams
    optimizer = build_optimizer(module, module.optimizer_factory, hparams.get("lr_groups"))
    total = epochs * len(train)
    schedule = WarmupSchedule(
        hparams.get("scheduler", "constant"),
        total,
        len(train),
        hparams.get("warmup_epochs", 0.0),
        hparams.get("step_epochs", 30),
        hparams.get("step_gamma", 0.1),
    )
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
    many = len(validation) > 1
    times = []
    with warnings.catch_warnings():
        # The steps call self.log, which only warns outside a Trainer.
        warnings.simplefilter("ignore")
        for epoch in range(epochs):
            start = time.perf_counter()
            module.train()
            for index, batch in enumerate(train):
                batch = module.transfer_batch_to_device(batch, device, 0)
                output = module.training_step(batch, index)
                loss = output["loss"] if isinstance(output, dict) else output
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                scheduler.step()
            module.eval()
            with torch.no_grad():
                for loader_index, loader in enumerate(validation):
                    for index, batch in enumerate(loader):
                        batch = module.transfer_batch_to_device(batch, device, loader_index)
                        if many:
                            module.validation_step(batch, index, loader_index)
                        else:
                            module.validation_step(batch, index)
            _compute_metrics(module)
            state = {"state_dict": module.state_dict(), "optimizer": optimizer.state_dict()}
            for name in ("plain_last.ckpt", "plain_best.ckpt"):
                torch.save({**state, "epoch": epoch}, folder / name)
            times.append(time.perf_counter() - start)
    return times


def _overhead_by_action(durations: dict[str, list[float]], epochs: int) -> dict[str, Any]:
    """The profiled actions that are not the loop's work: per epoch, and once at fit end."""
    per_epoch, at_end = {}, {}
    for action, seconds in durations.items():
        if any(part in action for part in _LOOP_WORK) or sum(seconds) < 0.001:
            continue
        if action.endswith(".on_fit_end") or action.endswith(".on_train_end"):
            at_end[action] = sum(seconds)
        else:
            per_epoch[action] = sum(seconds) / epochs
    top = sorted(per_epoch.items(), key=lambda item: -item[1])[:10]
    return {"per_epoch": dict(top), "at_fit_end": dict(sorted(at_end.items(), key=lambda i: -i[1]))}


def training_overhead(
    build: Build, config_args: list[str], epochs: int = 3, rounds: int = 2
) -> dict[str, Any]:
    """Alternate ``rounds`` default fits and plain loops of ``epochs`` epochs (after one of
    each not kept); return the epoch times, the ratio and where the difference goes."""
    if epochs < 2:
        raise ValueError(f"epochs must be at least 2 (the first is not timed), got {epochs}")
    # The runs write where train.py writes (relative data paths hold), in a run folder of
    # their own that is removed afterwards.
    folder = Path(LOG_DIR, RUN_NAME)
    args = [*config_args, f"--trainer.max_epochs={epochs}", f"--run_name={RUN_NAME}"]
    profiles: list[dict] = []
    try:

        def default() -> list[float]:
            times, durations = _default_fit(build, args, folder)
            profiles.append(durations)
            return times[1:]

        def plain() -> list[float]:
            return _plain_fit(build, args, epochs, folder)[1:]

        times = alternate({"default": default, "plain": plain}, rounds, warmup=0)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    default_times = [t for fit in times["default"] for t in fit]
    plain_times = [t for fit in times["plain"] for t in fit]
    ratio = statistics.median(default_times) / statistics.median(plain_times)
    return {
        "benchmark": "trainer-overhead",
        "config": config_args,
        "epochs": epochs,
        "rounds": rounds,
        "threads": torch.get_num_threads(),
        "default_seconds": default_times,
        "plain_seconds": plain_times,
        "ratio": ratio,
        "target": TARGET,
        "overhead": _overhead_by_action(profiles[-1], epochs) if profiles else {},
    }


def print_training_overhead(result: dict[str, Any]) -> None:
    print(
        f"trainer overhead: {' '.join(result['config'])}; {result['epochs']} epochs x "
        f"{result['rounds']} rounds (first epoch of each fit not timed), "
        f"{result['threads']} threads"
    )
    times = {"plain": result["plain_seconds"], "default": result["default_seconds"]}
    print_rounds(times, ("default", "plain"), first="epoch")
    overhead = result["overhead"]
    if overhead.get("per_epoch"):
        print("where the default run spends more (profiled hooks, seconds per epoch):")
        for action, seconds in overhead["per_epoch"].items():
            print(f"  {seconds:8.3f}  {action}")
    if overhead.get("at_fit_end"):
        print("once, when the fit ends (not in the epochs above):")
        for action, seconds in overhead["at_fit_end"].items():
            print(f"  {seconds:8.3f}  {action}")
    print(ratio_verdict(("default", "plain"), result["ratio"], result["target"]))
