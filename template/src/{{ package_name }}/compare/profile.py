"""What each training run of a comparison measures besides its metric (parameters,
GFLOPs, latency: ``profile.json``), and the Optuna pruning of a search trial; both are
callbacks added to the run's command line."""

from __future__ import annotations

import json
import statistics
import time
from typing import Any

import lightning as L
import torch
from lightning.pytorch import Callback, Trainer
from lightning.pytorch.utilities import rank_zero_only
from torch import Tensor
from torch.utils.flop_counter import FlopCounterMode

from ..runs import run_dir


def first_example(batch: Any) -> Any:
    """The first example of a batch, still batched (tensors and lists cut to length 1)."""
    if isinstance(batch, Tensor):
        return batch[:1]
    if isinstance(batch, dict):
        return {key: first_example(value) for key, value in batch.items()}
    if isinstance(batch, list):
        return batch[:1]
    if isinstance(batch, tuple):
        return tuple(first_example(value) for value in batch)
    return batch


def profile_model(
    model: torch.nn.Module, args: tuple, warmup: int = 3, repeats: int = 20
) -> dict[str, float]:
    """Parameters, trainable parameters, FLOPs (torch's counter) and median latency of one
    ``model(*args)`` call in eval mode without gradients."""
    was_training = model.training
    model.eval()
    params = list(model.parameters())
    result: dict[str, float] = {
        "params": sum(p.numel() for p in params),
        "trainable_params": sum(p.numel() for p in params if p.requires_grad),
    }
    with torch.no_grad():
        counter = FlopCounterMode(display=False)
        with counter:
            model(*args)
        result["gflops"] = counter.get_total_flops() / 1e9
        for _ in range(warmup):
            model(*args)
        times = []
        for _ in range(repeats):
            if torch.cuda.is_available():
                torch.cuda.synchronize()
            start = time.perf_counter()
            model(*args)
            if torch.cuda.is_available():
                torch.cuda.synchronize()
            times.append(time.perf_counter() - start)
    result["latency_ms"] = statistics.median(times) * 1000
    model.train(was_training)
    return result


class ModelProfile(Callback):
    """After fit, writes ``profile.json`` to the run folder: parameters, trainable parameters,
    GFLOPs and latency in ms, at batch 1 on the first validation example.

    The model must offer ``inference_args(batch)``: the arguments of its ``forward``.
    """

    def __init__(self, repeats: int = 20) -> None:
        self.repeats = repeats

    @rank_zero_only
    def on_fit_end(self, trainer: Trainer, pl_module: L.LightningModule) -> None:
        inference_args = getattr(pl_module, "inference_args", None)
        if inference_args is None:
            raise AttributeError(
                f"{type(pl_module).__name__} has no inference_args(batch): add one that returns "
                "the arguments of forward for a data batch, so that it can be profiled."
            )
        # trainer.datamodule: set by Lightning's fit, not declared in the Trainer class
        loaders = trainer.datamodule.val_dataloader()  # type: ignore[attr-defined]
        # A DataModule with several validation sets (speech: one per split) returns a list.
        loader = loaders[0] if isinstance(loaders, (list, tuple)) else loaders
        batch = next(iter(loader))
        batch = pl_module.transfer_batch_to_device(first_example(batch), pl_module.device, 0)
        measured = profile_model(pl_module, inference_args(batch), repeats=self.repeats)
        profile = {**measured, "device": str(pl_module.device)}
        path = run_dir(trainer) / "profile.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(profile, indent=2) + "\n")


class OptunaPruning(Callback):
    """Reports the monitored metric to an Optuna trial after each validation and stops the
    run when the study's median pruner says so (writing ``pruned.json`` to the run folder).

    Works across processes: the trial lives in the study's storage (an SQLite file).
    """

    def __init__(
        self,
        storage: str,
        study_name: str,
        trial_id: int,
        monitor: str,
        startup_trials: int = 2,
        warmup_epochs: int = 1,
    ) -> None:
        self.storage = storage
        self.study_name = study_name
        self.trial_id = trial_id
        self.monitor = monitor
        self.startup_trials = startup_trials
        self.warmup_epochs = warmup_epochs

    def on_validation_end(self, trainer: Trainer, pl_module: L.LightningModule) -> None:
        import optuna

        if trainer.sanity_checking or self.monitor not in trainer.callback_metrics:
            return
        pruner = optuna.pruners.MedianPruner(self.startup_trials, self.warmup_epochs)
        study = optuna.load_study(study_name=self.study_name, storage=self.storage, pruner=pruner)
        trial = optuna.trial.Trial(study, self.trial_id)
        epoch = trainer.current_epoch
        trial.report(float(trainer.callback_metrics[self.monitor]), step=epoch)
        if trial.should_prune():
            trainer.should_stop = True
            path = run_dir(trainer) / "pruned.json"
            path.write_text(json.dumps({"epoch": epoch}) + "\n")
