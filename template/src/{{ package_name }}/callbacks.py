"""Callbacks the CLI adds to every run (the metrics file, per-epoch reseeding, a checkpoint
on Ctrl-C, trimming the CSV logs of a resumed run, wandb artifacts), and ``ChannelsLast``,
which the GPU trainer presets add; and the wandb artifact of an export
(:func:`log_export_to_wandb`, called by ``export.py``)."""

from __future__ import annotations

import csv
import json
import math
import os
import re
import time
from pathlib import Path

import lightning as L
import torch
from lightning.pytorch import Callback, Trainer
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger, WandbLogger
from lightning.pytorch.trainer.states import TrainerFn
from lightning.pytorch.utilities import rank_zero_info, rank_zero_only

from . import loggers
from .runs import WANDB_RUN_FILE, run_dir


class MetricsFile(Callback):
    """Writes the final metrics of a fit, validate or test run to ``<run folder>/metrics.json``.

    Also written, with ``"status": "failed"`` and the error, when the run crashes, so the
    metrics reached so far are not lost; after Ctrl-C with ``"status": "interrupted"`` and
    ``"resume"``, how to go on from the checkpoint :class:`SaveOnInterrupt` saved.
    """

    def __init__(self, filename: str = "metrics.json") -> None:
        self.filename = filename
        self._started = time.perf_counter()

    def setup(self, trainer: Trainer, pl_module: L.LightningModule, stage: str) -> None:
        self._started = time.perf_counter()

    @rank_zero_only
    def write(
        self, trainer: Trainer, stage: str, status: str = "finished", error: str = ""
    ) -> Path:
        metrics = {
            name: float(value)
            for name, value in sorted(trainer.callback_metrics.items())
            if value.numel() == 1 and math.isfinite(float(value))
        }
        record: dict = {
            "stage": stage,
            "status": status,
            "epoch": trainer.current_epoch,
            "global_step": trainer.global_step,
            "seconds": round(time.perf_counter() - self._started, 2),
            "metrics": metrics,
        }
        checkpoint = trainer.checkpoint_callback
        # Only a ModelCheckpoint keeps a best score (a bare Checkpoint subclass does not).
        if stage == "fit" and isinstance(checkpoint, ModelCheckpoint):
            score = checkpoint.best_model_score
            last = Path(checkpoint.dirpath or "") / "last.ckpt"
            record.update(
                monitor=checkpoint.monitor,
                best_score=None if score is None else float(score),
                best_checkpoint=checkpoint.best_model_path or None,
                last_checkpoint=str(last) if last.is_file() else None,
            )
        if error:
            record["error"] = error
        if status == "interrupted" and record.get("last_checkpoint"):
            record["resume"] = "run the same command again with --ckpt_path last"
        path = run_dir(trainer) / self.filename
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(record, indent=2) + "\n")
        return path

    def on_fit_end(self, trainer: Trainer, pl_module: L.LightningModule) -> None:
        self.write(trainer, "fit")

    def on_validation_end(self, trainer: Trainer, pl_module: L.LightningModule) -> None:
        if trainer.state.fn == "validate":
            self.write(trainer, "validate")

    def on_test_end(self, trainer: Trainer, pl_module: L.LightningModule) -> None:
        self.write(trainer, "test")

    def on_exception(
        self, trainer: Trainer, pl_module: L.LightningModule, exception: BaseException
    ) -> None:
        stage = str(trainer.state.fn.value) if trainer.state.fn else "unknown"
        if isinstance(exception, KeyboardInterrupt):
            self.write(trainer, stage, status="interrupted", error="KeyboardInterrupt (Ctrl-C)")
            return
        self.write(
            trainer, stage, status="failed", error=f"{type(exception).__name__}: {exception}"
        )


class SaveOnInterrupt(Callback):
    """On Ctrl-C during fit, saves the training state as ``last.ckpt`` in the run's
    checkpoints folder, so ``--ckpt_path last`` resumes from the step it stopped at.

    A crash keeps the ``last.ckpt`` of the last finished epoch instead: a state saved while
    failing may itself be broken. A checkpoint saved mid-epoch resumes at that step, but the
    rest of the epoch draws its batches afresh (Lightning warns about it), so the result is
    close to, not exactly, that of an uninterrupted run.
    """

    def on_exception(
        self, trainer: Trainer, pl_module: L.LightningModule, exception: BaseException
    ) -> None:
        if not isinstance(exception, KeyboardInterrupt) or trainer.state.fn != TrainerFn.FITTING:
            return
        folders = [
            callback.dirpath
            for callback in trainer.checkpoint_callbacks
            if isinstance(callback, ModelCheckpoint) and callback.dirpath
        ]
        if not folders:  # checkpointing is off (enable_checkpointing false, fast_dev_run)
            return
        path = Path(folders[0]) / f"{ModelCheckpoint.CHECKPOINT_NAME_LAST}.ckpt"
        trainer.save_checkpoint(path)
        rank_zero_info(
            f"Interrupted: saved {path} (epoch {trainer.current_epoch}, step "
            f"{trainer.global_step}). Resume with the same command and --ckpt_path last."
        )


class TrimResumedLogs(Callback):
    """When fit resumes from a checkpoint, drops the rows of the run's ``metrics.csv`` that
    were logged after that checkpoint (before the crash): training logs them again, so a
    resumed run ends with the same rows as an uninterrupted one.

    Works with a CSV logger that keeps the rows of an earlier ``metrics.csv`` in its folder
    (the CLI's ``ContinuingCSVLogger``); Lightning's own deletes them.
    """

    def on_train_start(self, trainer: Trainer, pl_module: L.LightningModule) -> None:
        if trainer.ckpt_path is None or not trainer.is_global_zero:
            return
        for logger in trainer.loggers:
            if isinstance(logger, CSVLogger):
                logger.save()  # rows of this run written so far, if any, before trimming
                drop_csv_rows_from(Path(logger.log_dir) / "metrics.csv", trainer.global_step)


def drop_csv_rows_from(path: Path, step: int) -> int:
    """Remove the rows of a Lightning ``metrics.csv`` whose ``step`` is ``step`` or more;
    returns how many were removed (0 when the file does not exist).

    A row's ``step`` is the number of optimizer steps done before it was logged: the rows of
    training after a checkpoint saved at global step ``G`` have ``step >= G``, those of the
    epoch that ended with it (its validation included) ``step < G``.
    """
    if not path.is_file():
        return 0
    with path.open(newline="") as file:
        reader = csv.DictReader(file)
        fields = reader.fieldnames or []
        rows = list(reader)
    kept = [row for row in rows if not row.get("step") or int(float(row["step"])) < step]
    if len(kept) < len(rows):
        with path.open("w", newline="") as file:
            writer = csv.DictWriter(file, fieldnames=fields)
            writer.writeheader()
            writer.writerows(kept)
    return len(rows) - len(kept)


class ReseedEachEpoch(Callback):
    """Reseeds every random generator at the start of each training epoch from (seed, epoch).

    Shuffling, augmentation and dropout of epoch ``e`` then depend only on the seed and ``e``,
    so a run resumed from ``last.ckpt`` ends with the same weights as an uninterrupted one
    (exactly so with ``num_workers: 0``; worker processes draw their own augmentations).
    """

    def __init__(self) -> None:
        self.base_seed: int | None = None

    def setup(self, trainer: Trainer, pl_module: L.LightningModule, stage: str) -> None:
        seed = os.environ.get("PL_GLOBAL_SEED")  # set by the CLI's --seed_everything
        self.base_seed = int(seed) if seed is not None else None

    def on_train_epoch_start(self, trainer: Trainer, pl_module: L.LightningModule) -> None:
        if self.base_seed is None:
            return
        L.seed_everything(self.base_seed + trainer.current_epoch, workers=True, verbose=False)
        os.environ["PL_GLOBAL_SEED"] = str(self.base_seed)  # keep the run's seed visible


class ChannelsLast(Callback):
    """Keeps the model's 4-D weights in channels-last memory order (NHWC).

    Convolutions on tensor-core GPUs run faster in that order under mixed precision, and
    activations follow the weights' order from the first convolution on. Models without
    convolutions are unaffected. Used by ``configs/trainer/gpu.yaml`` and ``ddp.yaml``.
    """

    def setup(self, trainer: Trainer, pl_module: L.LightningModule, stage: str) -> None:
        pl_module.to(memory_format=torch.channels_last)


def log_wandb_artifact(
    trainer: Trainer,
    path: str | Path,
    name: str,
    kind: str = "model",
    aliases: list[str] | None = None,
    metadata: dict | None = None,
) -> bool:
    """Log the file (or every file of the folder) ``path`` as a wandb artifact of type
    ``kind``, when wandb is a logger.

    Offline runs keep the artifact in their run folder; ``wandb sync`` uploads it later.
    Returns whether it was logged (False without a wandb logger).
    """
    loggers = [logger for logger in trainer.loggers if isinstance(logger, WandbLogger)]
    if not loggers or not trainer.is_global_zero:
        return False
    for logger in loggers:
        artifact = wandb_artifact(path, name, kind, metadata)
        logger.experiment.log_artifact(artifact, aliases=aliases or ["latest"])
    return True


def wandb_artifact(path: str | Path, name: str, kind: str, metadata: dict | None = None):
    """A ``wandb.Artifact`` holding the file ``path``, or every file of the folder ``path``."""
    import wandb  # only projects that log to wandb need it installed

    path = Path(path)
    artifact = wandb.Artifact(name=artifact_name(name), type=kind, metadata=metadata or {})
    if path.is_dir():
        artifact.add_dir(str(path))
    else:
        artifact.add_file(str(path), name=path.name)
    return artifact


def artifact_name(text: str) -> str:
    """``text`` with the characters wandb refuses in artifact names replaced by ``-``."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text)


def find_wandb_run(checkpoint: str | Path) -> Path | None:
    """The ``wandb_run.json`` of the run folder that holds ``checkpoint``, if it logged to
    wandb (``<run folder>/checkpoints/<name>.ckpt``, or the checkpoint's own folder)."""
    checkpoint = Path(checkpoint).resolve()
    for folder in (checkpoint.parent, checkpoint.parent.parent):
        if (folder / WANDB_RUN_FILE).is_file():
            return folder / WANDB_RUN_FILE
    return None


def log_export_to_wandb(checkpoint: str | Path, export_folder: str | Path, report: dict) -> bool:
    """Log a verified export as a ``model`` artifact to the wandb run that trained it.

    The run is found through ``wandb_run.json`` in the checkpoint's run folder and resumed
    with its id (offline when there is no key or network, like training: ``wandb sync``
    then uploads it into the same run). The artifact, ``<run name>-export`` with aliases
    ``export`` and ``latest``, holds every file of ``export_folder`` (the models and
    ``export.json``, the verification report); its metadata carries the validation metric
    of eager PyTorch and of each exported file.
    Returns False, and does nothing, when the checkpoint's run did not log to wandb. The
    export is already in place when this runs: a wandb failure is reported, not raised.
    """
    run_file = find_wandb_run(checkpoint)
    if run_file is None:
        return False
    import wandb  # only projects that log to wandb need it installed

    info = json.loads(run_file.read_text())
    offline = loggers.wandb_offline()
    if offline is None:  # a project made with another logger, and wandb set in a config
        offline = bool(info.get("offline", True))
    export_folder = Path(export_folder)
    manifest = json.loads((export_folder / "export.json").read_text())
    metadata = {
        "checkpoint": str(Path(checkpoint).resolve()),
        "task": manifest["task"],
        "metric": manifest["metric"],  # its value on the validation set, per runtime:
        "eager": report["eager"]["metric"],
        **{
            entry["file"]: entry["metric"]
            for entry in report.values()
            if isinstance(entry, dict) and "file" in entry
        },
    }
    name = artifact_name(f"{run_file.parent.parent.name}-export")
    try:
        run = wandb.init(
            id=info["id"],
            project=info["project"],
            entity=info.get("entity") or None,
            name=info.get("name"),
            dir=info["save_dir"],
            resume="allow",
            mode="offline" if offline else "online",
            reinit="create_new",
        )
        try:
            run.log_artifact(
                wandb_artifact(export_folder, name, "model", metadata),
                aliases=["export", "latest"],
            )
            folder = Path(run.dir).parent
        finally:
            run.finish()
    except Exception as error:  # the export itself succeeded and stays
        print(
            f"wandb: could not log {export_folder} to run {info['id']} "
            f"({type(error).__name__}: {error}); the export itself is complete. To keep it "
            "for wandb, run the export again with WANDB_MODE=offline, then `wandb sync`."
        )
        return False
    print(f"wandb: logged {export_folder} as model artifact {name!r} to run {info['id']}")
    if offline:
        print(f"wandb: this export is stored offline; upload it with: wandb sync {folder}")
    return True


class WandbModelArtifact(Callback):
    """With a wandb logger: the best checkpoint becomes a ``model`` artifact at the end of fit.

    At the start of fit the run is recorded in ``<run folder>/wandb_run.json``, so that an
    export of the checkpoint is logged to the same run (:func:`log_export_to_wandb`).

    The artifact is named ``<run name>-best`` and carries the monitored metric and its score.
    For an offline run, the command that uploads it is printed at the end, also after a crash.
    Does nothing without a wandb logger.
    """

    def setup(self, trainer: Trainer, pl_module: L.LightningModule, stage: str) -> None:
        if stage == "fit":
            self.write_run_file(trainer)

    @staticmethod
    @rank_zero_only
    def write_run_file(trainer: Trainer) -> None:
        """Record the wandb run in ``<run folder>/wandb_run.json`` (see :func:`find_wandb_run`)."""
        for logger in trainer.loggers:
            if isinstance(logger, WandbLogger):
                run = logger.experiment
                record = {
                    "id": run.id,
                    "project": run.project,
                    "entity": run.entity or None,
                    "name": run.name,
                    "save_dir": logger.save_dir,
                    "offline": bool(run.offline),
                    "run_folder": str(Path(run.dir).parent),
                }
                path = run_dir(trainer) / WANDB_RUN_FILE
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(json.dumps(record, indent=2) + "\n")
                return

    def on_fit_end(self, trainer: Trainer, pl_module: L.LightningModule) -> None:
        checkpoint = trainer.checkpoint_callback
        # Only a ModelCheckpoint keeps a best checkpoint (a bare Checkpoint subclass does not).
        best = checkpoint.best_model_path if isinstance(checkpoint, ModelCheckpoint) else ""
        if best and Path(best).is_file():
            assert isinstance(checkpoint, ModelCheckpoint)
            score = checkpoint.best_model_score
            metadata = {
                "monitor": checkpoint.monitor,
                "score": None if score is None else float(score),
                "epoch": trainer.current_epoch,
            }
            name = artifact_name(f"{Path(run_dir(trainer)).parent.name}-best")
            log_wandb_artifact(trainer, best, name, "model", ["best", "latest"], metadata)
        self.print_sync_command(trainer)

    def on_exception(
        self, trainer: Trainer, pl_module: L.LightningModule, exception: BaseException
    ) -> None:
        self.print_sync_command(trainer)

    @staticmethod
    @rank_zero_only
    def print_sync_command(trainer: Trainer) -> None:
        for logger in trainer.loggers:
            if isinstance(logger, WandbLogger) and logger.experiment.offline:
                folder = Path(logger.experiment.dir).parent
                print(f"wandb: this run is stored offline; upload it with: wandb sync {folder}")
