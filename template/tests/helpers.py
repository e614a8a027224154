"""Helpers for tests that need a run to fail, or be interrupted, on purpose."""

from __future__ import annotations

import lightning as L
from lightning.pytorch import Callback


class SimulatedCrash(RuntimeError):
    """Stands in for a killed process (power cut, preemption, out of memory)."""


class CrashAtEpoch(Callback):
    """Raises at the start of training epoch ``epoch``, after the previous epoch's checkpoint."""

    def __init__(self, epoch: int = 1) -> None:
        self.epoch = epoch

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.current_epoch == self.epoch:
            raise SimulatedCrash(f"simulated crash at the start of epoch {self.epoch}")


class InterruptAtStep(Callback):
    """Raises KeyboardInterrupt, as Ctrl-C does, before training batch ``step``."""

    def __init__(self, step: int = 1) -> None:
        self.step = step

    def on_train_batch_start(
        self, trainer: L.Trainer, pl_module: L.LightningModule, batch: object, batch_idx: int
    ) -> None:
        if trainer.global_step == self.step:
            raise KeyboardInterrupt
