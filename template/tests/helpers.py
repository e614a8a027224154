"""Helpers for tests that need a run to fail, or be interrupted, on purpose."""

from __future__ import annotations

import lightning as L
from lightning.pytorch import Callback


class SimulatedCrash(RuntimeError):
    """Stands in for a killed process (power cut, preemption, out of memory)."""


class CrashAtStep(Callback):
    """Raises before training batch ``step`` (counted over the whole run), after the
    checkpoint of the last finished epoch, and after the rows logged since then."""

    def __init__(self, step: int = 1) -> None:
        self.step = step

    def on_train_batch_start(
        self, trainer: L.Trainer, pl_module: L.LightningModule, batch: object, batch_idx: int
    ) -> None:
        if trainer.global_step == self.step:
            raise SimulatedCrash(f"simulated crash at step {self.step}")


class InterruptAtStep(Callback):
    """Raises KeyboardInterrupt, as Ctrl-C does, before training batch ``step``."""

    def __init__(self, step: int = 1) -> None:
        self.step = step

    def on_train_batch_start(
        self, trainer: L.Trainer, pl_module: L.LightningModule, batch: object, batch_idx: int
    ) -> None:
        if trainer.global_step == self.step:
            raise KeyboardInterrupt
