"""Learning-rate schedules shared by every task: linear warm-up, then cosine, step or constant.

The optimiser itself is chosen in YAML (``optimizer: {class_path: torch.optim.SGD, ...}``);
the schedule is a few numbers next to it, applied per optimisation step.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from lightning.pytorch.utilities.types import LRSchedulerConfigType

Schedule = Literal["cosine", "step", "constant"]


class WarmupSchedule:
    """Multiplier of the base learning rate at a given optimisation step.

    Args:
        kind: decay after warm-up: ``cosine`` to 0 at the last step, ``step`` (times
            ``gamma`` every ``step_epochs`` epochs) or ``constant``.
        total_steps: optimisation steps in the whole run.
        steps_per_epoch: optimisation steps in one epoch.
        warmup_epochs: epochs (fractions allowed) of linear warm-up from ~0 to 1.
        step_epochs: epochs between decays, for ``step``.
        gamma: decay factor, for ``step``.
    """

    def __init__(
        self,
        kind: Schedule,
        total_steps: int,
        steps_per_epoch: float,
        warmup_epochs: float = 0.0,
        step_epochs: int = 30,
        gamma: float = 0.1,
    ) -> None:
        self.kind = kind
        self.total_steps = max(1, int(total_steps))
        self.steps_per_epoch = max(1.0, float(steps_per_epoch))
        self.warmup_steps = round(warmup_epochs * self.steps_per_epoch)
        self.step_epochs = step_epochs
        self.gamma = gamma

    def __call__(self, step: int) -> float:
        if step < self.warmup_steps:
            return (step + 1) / self.warmup_steps
        if self.kind == "constant":
            return 1.0
        if self.kind == "step":
            return self.gamma ** int(step / self.steps_per_epoch // self.step_epochs)
        progress = (step - self.warmup_steps) / max(1, self.total_steps - self.warmup_steps)
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))


def build_scheduler(
    optimizer: torch.optim.Optimizer,
    trainer,
    kind: Schedule,
    warmup_epochs: float = 0.0,
    step_epochs: int = 30,
    gamma: float = 0.1,
) -> LRSchedulerConfigType:
    """The ``lr_scheduler`` entry of ``configure_optimizers``, stepped every batch."""
    total = int(trainer.estimated_stepping_batches)
    epochs = trainer.max_epochs if trainer.max_epochs and trainer.max_epochs > 0 else 1
    schedule = WarmupSchedule(kind, total, total / epochs, warmup_epochs, step_epochs, gamma)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
    return {"scheduler": scheduler, "interval": "step"}
