"""Training one configuration of a comparison in a subprocess (or reading its finished
run), and its k folds; one :class:`RunResult` per run."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..runs import LOG_DIR
from .profile import ModelProfile

# The project's package, whose train.py-equivalent each run starts.
PACKAGE = __name__.split(".")[0]
# Each study writes its table, figures and logs under comparisons/<name>/.
OUTPUT_DIR = Path("comparisons")


@dataclass
class RunResult:
    """One row of a comparison: a variant or a search trial."""

    name: str
    status: str  # finished | failed | pruned
    monitor: str = ""
    metric: float | None = None
    params: int | None = None
    trainable_params: int | None = None
    gflops: float | None = None
    latency_ms: float | None = None
    train_s: float | None = None
    epochs: int | None = None
    run_dir: str = ""
    command: str = ""
    error: str = ""
    values: dict[str, Any] = field(default_factory=dict)  # search: the trial's parameters
    metric_std: float | None = None  # k-fold: standard deviation over the folds (n - 1)
    folds: str = ""  # k-fold: folds scored / folds run, e.g. "5/5"


def _latest_run(run_name: str) -> Path | None:
    versions = sorted(
        (Path(LOG_DIR) / run_name).glob("version_*"), key=lambda p: int(p.name.split("_")[-1])
    )
    return versions[-1] if versions else None


def _has_last_checkpoint(run_name: str) -> bool:
    return any((Path(LOG_DIR) / run_name).glob("version_*/checkpoints/last.ckpt"))


def _read_result(name: str, run_name: str, command: str, profiled: bool = True) -> RunResult | None:
    """The result of a finished run from its ``metrics.json`` and ``profile.json``."""
    folder = _latest_run(run_name)
    if folder is None or not (folder / "metrics.json").is_file():
        return None
    record = json.loads((folder / "metrics.json").read_text())
    if record.get("status") != "finished" or record.get("stage") != "fit":
        return None
    monitor = record.get("monitor") or ""
    metric = record.get("best_score")
    if metric is None:
        metric = record.get("metrics", {}).get(monitor)
    pruned = (folder / "pruned.json").is_file()
    result = RunResult(
        name,
        "pruned" if pruned else "finished",
        monitor=monitor,
        metric=metric,
        train_s=record.get("seconds"),
        epochs=record.get("epoch"),
        run_dir=str(folder),
        command=command,
    )
    profile_path = folder / "profile.json"
    if profile_path.is_file():
        profile = json.loads(profile_path.read_text())
        for key in ("params", "trainable_params", "gflops", "latency_ms"):
            setattr(result, key, profile.get(key))
    elif profiled and not pruned:
        return None
    return result


def _child_environment() -> dict[str, str]:
    """The environment of a run: this package importable even when it is not installed."""
    env = dict(os.environ)
    source = str(Path(__file__).resolve().parents[2])  # src/, above the package
    env["PYTHONPATH"] = os.pathsep.join(p for p in (source, env.get("PYTHONPATH")) if p)
    return env


def train(
    name: str,
    configs: list[Path],
    arguments: list[str],
    run_name: str,
    log_path: Path,
    profile: bool = True,
    callbacks: list[str] | None = None,
) -> RunResult:
    """Fit one configuration in a subprocess (or reuse its finished run) and read its result.

    ``callbacks`` (JSON class_path / init_args) are added to this run only, and left out of
    the command shown for re-running it.
    """
    shown = " ".join(
        ["python train.py fit", *(f"-c {c}" for c in configs), *arguments, f"--run_name {run_name}"]
    )
    done = _read_result(name, run_name, shown, profile)
    if done is not None:
        print(f"  {name}: already finished ({done.run_dir}), not run again")
        return done
    command = [sys.executable, "-c", f"from {PACKAGE}.cli import main; main()", "fit"]
    command += [f"--config={c}" for c in configs] + arguments
    command += [f"--run_name={run_name}", "--trainer.enable_progress_bar=false"]
    if profile:
        command.append(f"--trainer.callbacks+={ModelProfile.__module__}.ModelProfile")
    command += [f"--trainer.callbacks+={callback}" for callback in callbacks or []]
    if _has_last_checkpoint(run_name):
        command.append("--ckpt_path=last")
        print(f"  {name}: resuming from its last checkpoint")
    log_path.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with log_path.open("a") as log:
        log.write(f"\n$ {' '.join(command)}\n")
        log.flush()
        process = subprocess.run(
            command, stdout=log, stderr=subprocess.STDOUT, env=_child_environment(), check=False
        )
    if process.returncode != 0:
        lines = [line for line in log_path.read_text().splitlines() if line.strip()]
        # A user error is the command's `error: ...` line (a hint on the traceback follows
        # it); anything else ends with the exception's last line.
        errors = [line for line in lines if line.startswith("error: ")]
        error = (errors or lines or [f"exit status {process.returncode}"])[-1]
        return RunResult(
            name,
            "failed",
            run_dir=str(_latest_run(run_name) or ""),
            command=shown,
            error=f"{error} (full log: {log_path})",
            train_s=round(time.perf_counter() - started, 2),
        )
    result = _read_result(name, run_name, shown, profile)
    if result is None:
        return RunResult(name, "failed", command=shown, error=f"no metrics.json; see {log_path}")
    return result


def fold_arguments(folds: int, fold: int) -> list[str]:
    """The DataModule arguments that make fold ``fold`` of ``folds`` validate."""
    return [f"--data.init_args.folds={folds}", f"--data.init_args.fold={fold}"]


def combine_folds(name: str, runs: list[RunResult]) -> RunResult:
    """One row for the k fold runs of a variant or trial: the metric's mean and standard
    deviation over the folds that scored, training time per fold, the other columns from the
    first such fold. It fails when any fold failed (the error names each), keeping the mean
    of the others."""
    scored = [r for r in runs if r.status != "failed" and r.metric is not None]
    failed = [r for r in runs if r.status == "failed"]
    metrics = [r.metric for r in scored if r.metric is not None]  # every one of scored
    first = scored[0] if scored else runs[0]
    times = [r.train_s for r in runs if r.train_s is not None]
    if failed:
        status = "failed"
    elif any(r.status == "pruned" for r in runs):
        status = "pruned"
    else:
        status = "finished"
    return RunResult(
        name,
        status,
        monitor=first.monitor,
        metric=statistics.mean(metrics) if metrics else None,
        params=first.params,
        trainable_params=first.trainable_params,
        gflops=first.gflops,
        latency_ms=first.latency_ms,
        train_s=round(statistics.mean(times), 2) if times else None,
        epochs=first.epochs,
        run_dir=str(Path(first.run_dir).parent.parent) if first.run_dir else "",
        command=runs[0].command,
        error="; ".join(f"{r.name}: {r.error}" for r in failed),
        metric_std=statistics.stdev(metrics) if len(metrics) > 1 else None,
        folds=f"{len(scored)}/{len(runs)}",
    )


def train_folds(
    name: str,
    configs: list[Path],
    arguments: list[str],
    run_name: str,
    log_folder: Path,
    folds: int,
    profile: bool = True,
    first_fold_callbacks: list[str] | None = None,
) -> list[RunResult]:
    """Train fold 0..folds-1 of one configuration, each its own resumable run
    (``<run_name>/fold_<i>``) with its own log; stops after a pruned fold (search)."""
    runs = []
    for fold in range(folds):
        label = f"{name}/fold_{fold}"
        print(f"  {label}: training", flush=True)
        run = train(
            label,
            configs,
            [*arguments, *fold_arguments(folds, fold)],
            f"{run_name}/fold_{fold}",
            log_folder / f"{name}_fold_{fold}.log",
            profile,
            first_fold_callbacks if fold == 0 else None,
        )
        print(f"  {label}: {run.status} {run.monitor} {format_value(run.metric)}", flush=True)
        runs.append(run)
        if run.status == "pruned":
            break
    return runs


def format_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1e5 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)
