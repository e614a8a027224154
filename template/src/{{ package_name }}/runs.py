"""Run folders: where a run writes (``logs/<run name>/version_N/``), how it is named, and
which runs ``--ckpt_path last`` can resume.

Shared by the command line, the callbacks and the tools that read runs (compare, report),
so that none of them imports another for a folder name.
"""

from __future__ import annotations

from pathlib import Path

import torch
from lightning.pytorch import Trainer
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger

from .errors import UserError

LOG_DIR = "logs"

# Written to a run folder when the run logs to wandb: which wandb run it is, so that later
# steps (a resumed fit, an export of its checkpoint) log to the same run.
WANDB_RUN_FILE = "wandb_run.json"


def run_dir(trainer: Trainer) -> Path:
    """The folder of the current run: the first logger's version folder, else the root dir.

    Unlike ``trainer.log_dir`` it does not synchronise processes, so under DDP it may be
    called on rank 0 alone, which is the only process that writes files.
    """
    if not trainer.loggers:
        return Path(trainer.default_root_dir)
    logger = trainer.loggers[0]
    if isinstance(logger, (CSVLogger, TensorBoardLogger)):
        return Path(logger.log_dir)
    return Path(logger.save_dir or trainer.default_root_dir)


def best_epoch(trainer: Trainer) -> int | None:
    """The epoch of the best checkpoint so far (the monitored ``ModelCheckpoint``'s), or None
    when there is none (no monitor, or nothing saved yet)."""
    callback = trainer.checkpoint_callback
    if not isinstance(callback, ModelCheckpoint) or not callback.best_model_path:
        return None
    # mmap: only the few bytes of the epoch number are read, not the weights.
    saved = torch.load(callback.best_model_path, map_location="cpu", mmap=True, weights_only=False)
    return int(saved["epoch"])


def epochs_to_draw(trainer: Trainer, validated: list[int]) -> dict[int, str]:
    """The validation epochs whose figures are worth drawing once a fit ends: the best
    checkpoint's and the last one, each with a note for its title."""
    if not validated:
        return {}
    best, last = best_epoch(trainer), validated[-1]
    if best is None or best == last:
        return {last: "last epoch" if best is None else "last epoch, best checkpoint"}
    return {best: "best checkpoint", last: "last epoch"}


def run_name_from_configs(config_paths: list) -> str:
    """``configs/classification/sample.yaml`` -> ``classification-sample``.

    The last config that is not a debug or trainer preset names the run; with none,
    ``default``.
    """
    paths = [Path(str(p)) for p in config_paths or []]
    paths = [p for p in paths if p.parent.name not in ("debug", "trainer")]
    if not paths:
        return "default"
    path = paths[-1]
    return path.stem if path.parent.name == "configs" else f"{path.parent.name}-{path.stem}"


def latest_resumable_version(run_name: str) -> int | None:
    """The newest ``logs/<run_name>/version_N`` that holds ``checkpoints/last.ckpt``."""
    versions = [
        int(path.parent.parent.name.removeprefix("version_"))
        for path in Path(LOG_DIR, run_name).glob("version_*/checkpoints/last.ckpt")
        if path.parent.parent.name.removeprefix("version_").isdigit()
    ]
    return max(versions, default=None)


def resumable_runs() -> list[str]:
    """The runs under ``logs/`` with a ``version_N/checkpoints/last.ckpt``, as
    ``<run name>/version_N`` (the newest version of each run)."""
    lasts = Path(LOG_DIR).glob("*/version_*/checkpoints/last.ckpt")
    runs = sorted({path.parents[2].name for path in lasts})
    return [f"{run}/version_{latest_resumable_version(run)}" for run in runs]


class ResumeError(UserError, ValueError):
    """``--ckpt_path last`` with no checkpoint to resume from."""


def check_resumable(run_name: str) -> int:
    """The version folder of ``run_name`` that ``--ckpt_path last`` resumes.

    Raises:
        ResumeError: when the run has no ``last.ckpt``, naming the folder looked in and the
            runs that have one (a typo in ``--run_name`` or in the config would otherwise
            start a new run from scratch).
    """
    version = latest_resumable_version(run_name)
    if version is not None:
        return version
    runs = resumable_runs()
    others = (
        f"Runs that can resume: {', '.join(runs)}; pick one with --run_name <name>"
        if runs
        else "No run under logs/ has a last.ckpt yet"
    )
    raise ResumeError(
        f"--ckpt_path last: no {Path(LOG_DIR, run_name)}/version_*/checkpoints/last.ckpt to "
        f"resume (the run name comes from --run_name or the last config: {run_name!r}). "
        f"{others}. Or leave out --ckpt_path last to start a new run."
    )
