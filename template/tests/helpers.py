"""Helpers for tests that need a run to fail, or be interrupted, on purpose."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import lightning as L
from lightning.pytorch import Callback


class SimulatedCrash(RuntimeError):
    """Stands in for a killed process (power cut, preemption, out of memory)."""


class StopAtStep(Callback):
    """Raises :meth:`error` before training batch ``step`` (counted over the whole run)."""

    def __init__(self, step: int = 1) -> None:
        self.step = step

    def error(self) -> BaseException:
        return SimulatedCrash(f"simulated crash at step {self.step}")

    def on_train_batch_start(
        self, trainer: L.Trainer, pl_module: L.LightningModule, batch: object, batch_idx: int
    ) -> None:
        if trainer.global_step == self.step:
            raise self.error()


class CrashAtStep(StopAtStep):
    """A crash before training batch ``step``: after the checkpoint of the last finished
    epoch, and after the rows logged since then."""


class InterruptAtStep(StopAtStep):
    """Ctrl-C before training batch ``step``."""

    def error(self) -> BaseException:
        return KeyboardInterrupt()


def fake_trainer(folder: Path) -> SimpleNamespace:
    """What a DataModule needs of a trainer to write a fold's split: rank 0 and a run folder."""
    return SimpleNamespace(is_global_zero=True, loggers=[], default_root_dir=str(folder))
