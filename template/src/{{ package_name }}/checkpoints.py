"""Checkpoints recognised before use: a missing, truncated or other task's file is named."""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch

from .errors import UserError

# ``--ckpt_path`` values that Lightning resolves itself (not files).
LIGHTNING_NAMES = ("last", "best", "hpc")


class CheckpointError(UserError, RuntimeError):
    """A checkpoint that is missing, unreadable, or of another model than the config's."""


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """The contents of a ``.ckpt``, read as tensors and plain settings only (no code runs).

    Raises:
        CheckpointError: naming the path, when it is missing, not a checkpoint, or truncated.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(
            f"no such checkpoint ({path}); look under logs/<run>/version_N/checkpoints/"
        )
    if not zipfile.is_zipfile(path):
        raise CheckpointError(
            f"not a checkpoint, or a truncated one ({path}): a .ckpt written by "
            "`python train.py fit` is a zip archive; copy it again or pick another"
        )
    try:
        # mmap: the weights are mapped, not read, so checking a large checkpoint before
        # Lightning loads it costs no second copy in memory.
        checkpoint = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except pickle.UnpicklingError as error:  # weights_only refused an object: never unpickled
        raise CheckpointError(
            f"refused to load this checkpoint ({path}): it holds Python objects other than "
            "tensors and plain values, and unpickling them could run any code; load only "
            f"checkpoints this project wrote ({str(error).strip().splitlines()[0]})"
        ) from None
    except (RuntimeError, EOFError, OSError, zipfile.BadZipFile) as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise CheckpointError(
            f"unreadable checkpoint ({path}): {first}; copy it again or pick another"
        ) from error
    if not isinstance(checkpoint, dict):
        raise CheckpointError(f"not a Lightning checkpoint ({path}): it holds no dict")
    return checkpoint


def _short(class_path: str) -> str:
    return class_path.rsplit(".", 1)[-1]


def check_matches_config(
    path: str | Path, checkpoint: dict[str, Any], model: str | None, data: str | None
) -> None:
    """Refuse a checkpoint whose saved model (or data module) class is not the config's.

    ``model`` and ``data`` are the config's class paths (None: not checked).
    """
    saved_model = (checkpoint.get("hyper_parameters") or {}).get("_class_path")
    saved_data = (checkpoint.get("datamodule_hyper_parameters") or {}).get("_class_path")
    for saved, given, key in ((saved_model, model, "model"), (saved_data, data, "data")):
        if saved and given and _short(saved) != _short(given):
            raise CheckpointError(
                f"this is a checkpoint of {_short(saved_model or '?')} (data: "
                f"{_short(saved_data or '?')}), the config's {key} is {_short(given)} ({path}); "
                "use the config the run saved beside its checkpoints "
                "(logs/<run>/version_N/config.yaml), or a checkpoint of this task"
            )


def check_ckpt_path(config: Any) -> None:
    """Check a LightningCLI subcommand's ``ckpt_path`` (when it names a file) against its config.

    Called before Lightning reads the file, so that a bad one fails in one line.
    """
    subcommand = config.get("subcommand")
    if not subcommand:
        return
    settings = config[subcommand]
    ckpt_path = settings.get("ckpt_path")
    if not ckpt_path or str(ckpt_path) in LIGHTNING_NAMES or str(ckpt_path).startswith("registry"):
        return
    checkpoint = read_checkpoint(ckpt_path)

    def class_path(key: str) -> str | None:
        node = settings.get(key)
        return node.get("class_path") if hasattr(node, "get") else None

    check_matches_config(ckpt_path, checkpoint, class_path("model"), class_path("data"))
