"""Models and data modules rebuilt from what a run saved: a checkpoint, or an export folder.

Only this project's classes are built (their dotted paths are checked), and weights files are
read with ``weights_only=True``, so loading runs no code from the file.
"""

from __future__ import annotations

import importlib
import json
import pickle
from pathlib import Path
from typing import Any

import lightning as L
import torch

from . import tasks
from .checkpoints import read_checkpoint
from .runtimes import ExportError, load_runtime

PACKAGE = __package__
# Weights of the parts that stay in Python (e.g. the detection heads), saved beside the export.
PYTHON_PART = "python_part.pt"


def import_class(class_path: str, what: str) -> type:
    """A class of this project by its dotted path (nothing outside the project is imported)."""
    if not class_path.startswith(f"{PACKAGE}."):
        raise ExportError(
            f"The {what} was saved by {class_path!r}, not by this project ({PACKAGE}): export "
            "and predict only load this project's models and data modules."
        )
    module_name, _, name = class_path.rpartition(".")
    return getattr(importlib.import_module(module_name), name)


def arguments(hparams: dict) -> dict:
    """The constructor arguments among saved settings (``_class_path`` and such left out)."""
    return {key: value for key, value in hparams.items() if not key.startswith("_")}


def load_weights(path: Path, what: str) -> dict:
    """A file written by ``torch.save``, loaded with ``weights_only=True``: tensors and plain
    values only, so loading runs no code from the file; anything else is refused, unread."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        raise ExportError(
            f"refused to load this {what} ({path}): it holds Python objects other than tensors "
            "and plain values, and unpickling them could run any code. Load only files this "
            "project wrote, or write it again (train, or export the checkpoint again). "
            f"({str(error).splitlines()[0]})"
        ) from None


def load_checkpoint(path: str | Path) -> tuple[L.LightningModule, dict]:
    """The model of a LightningCLI checkpoint (in eval mode), and its data module's settings.

    The weights come from the checkpoint, so ``pretrained`` is switched off: nothing is
    downloaded.
    """
    path = Path(path)
    # Named when missing or truncated; tensors and plain settings only, so no code runs.
    checkpoint = read_checkpoint(path)
    hparams = checkpoint.get("hyper_parameters", {})
    data = checkpoint.get("datamodule_hyper_parameters")
    if "_class_path" not in hparams or not data:
        raise ExportError(
            f"{path}: not a checkpoint written by `python train.py fit` (it lacks the model's "
            "or the data module's class and settings)."
        )
    model_class = import_class(hparams["_class_path"], "checkpoint's model")
    module = model_class(**{**arguments(hparams), "pretrained": False})
    module.load_state_dict(checkpoint["state_dict"])
    module.hparams["pretrained"] = hparams.get("pretrained", False)
    return module.eval(), dict(data)


def build_datamodule(settings: dict, **overrides: Any) -> L.LightningDataModule:
    """The data module saved with a checkpoint, with some settings changed (e.g. ``root``)."""
    data_class = import_class(settings["_class_path"], "data module")
    given = {key: value for key, value in overrides.items() if value is not None}
    return data_class(**{**arguments(settings), **given})


def load_model(path: str | Path, threads: int | None = None) -> tuple[L.LightningModule, dict]:
    """A model to run: a checkpoint, or an export (``.onnx`` / ``.pt2``) inside its module.

    For an export, the LightningModule is rebuilt from ``export.json`` (random weights), the
    weights of the parts that stay in Python are loaded, and the export's runtime takes the
    exported network's place (the task's ``ExportSpec.attach``); everything around it (pre-
    and post-processing, prediction files) is the module's own code. Returns the model and the
    settings of its data.
    """
    path = Path(path)
    if path.suffix == ".ckpt":
        return load_checkpoint(path)
    manifest_path = path.parent / "export.json"
    if not path.is_file() or not manifest_path.is_file():
        raise ExportError(
            f"{path}: expected an exported model with export.json beside it; run "
            f"`python -m {PACKAGE}.export export <checkpoint> --output {path.parent}` first."
        )
    manifest = json.loads(manifest_path.read_text())
    model_class = import_class(manifest["model"]["_class_path"], "export's model")
    module = model_class(**{**arguments(manifest["model"]), "pretrained": False})
    rest = path.parent / PYTHON_PART
    if rest.is_file():
        module.load_state_dict(load_weights(rest, "part of the export"), strict=False)
    spec = tasks.named(manifest["task"]).export
    if spec is None:
        raise ExportError(f"{path}: the task {manifest['task']!r} offers no export here.")
    spec.attach(module, load_runtime(path, threads))
    return module.eval(), manifest["data"]
