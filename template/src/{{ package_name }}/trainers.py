"""Lightning Trainers for work outside a training run (predicting for an export, validating an
exported model, timing epochs and steps): nothing logged, no checkpoint, no model summary."""

from __future__ import annotations

from typing import Any

import lightning as L


def bare_trainer(**settings: Any) -> L.Trainer:
    """A Trainer on one CPU that logs and saves nothing; ``settings`` add to or override that
    (e.g. ``accelerator="gpu"``, ``max_epochs=1``, ``callbacks=[timer]``)."""
    quiet: dict[str, Any] = {
        "accelerator": "cpu",
        "devices": 1,
        "logger": False,
        "enable_checkpointing": False,
        "enable_model_summary": False,
    }
    return L.Trainer(**(quiet | settings))
