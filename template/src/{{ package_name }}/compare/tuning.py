"""``compare search``: tune the values of a search-space file with Optuna (TPE with median
pruning), or plain grid or random search."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import yaml

from .profile import OptunaPruning
from .table import write_search_figure, write_table
from .training import OUTPUT_DIR, RunResult, combine_folds, format_value, train, train_folds
from .variants import check_folds


def load_space(path: Path) -> dict[str, Any]:
    """A search-space file: ``parameters`` (config key -> ``choices`` or ``low``/``high``
    [``log``, ``step``]), and optionally ``monitor`` and ``direction``."""
    space = yaml.safe_load(path.read_text()) or {}
    parameters = space.get("parameters")
    if not isinstance(parameters, dict) or not parameters:
        raise SystemExit(
            f"error: {path} needs a 'parameters' mapping, e.g. parameters: "
            "{model.init_args.optimizer.init_args.lr: {low: 0.0001, high: 0.01, log: true}}"
        )
    for key, spec in parameters.items():
        if not isinstance(spec, dict) or not ("choices" in spec or {"low", "high"} <= set(spec)):
            raise SystemExit(
                f"error: {path}: parameter {key!r} needs 'choices: [...]' or 'low' and 'high' "
                f"(got {spec!r})"
            )
    if space.get("direction") not in (None, "maximize", "minimize"):
        raise SystemExit(f"error: {path}: direction must be maximize or minimize")
    return space


def suggest(trial: Any, parameters: dict[str, dict]) -> dict[str, Any]:
    """The trial's value for each parameter of the space."""
    values = {}
    for key, spec in parameters.items():
        if "choices" in spec:
            values[key] = trial.suggest_categorical(key, spec["choices"])
        elif isinstance(spec["low"], int) and isinstance(spec["high"], int):
            values[key] = trial.suggest_int(
                key, spec["low"], spec["high"], step=spec.get("step", 1), log=spec.get("log", False)
            )
        else:
            values[key] = trial.suggest_float(
                key, spec["low"], spec["high"], step=spec.get("step"), log=spec.get("log", False)
            )
    return values


def _monitor_of(configs: list[Path]) -> str:
    """The checkpoint's monitored metric in the last config that sets it (else val/loss)."""
    monitor = "val/loss"
    for path in configs:
        config = yaml.safe_load(path.read_text()) or {}
        monitor = (config.get("checkpoint") or {}).get("monitor") or monitor
    return monitor


def make_sampler(kind: str, parameters: dict[str, dict], seed: int) -> Any:
    import optuna

    if kind == "tpe":
        return optuna.samplers.TPESampler(seed=seed)
    if kind == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    not_listed = [key for key, spec in parameters.items() if "choices" not in spec]
    if not_listed:
        raise SystemExit(
            f"error: grid search needs 'choices' for every parameter; add them to {not_listed}"
        )
    grid = {key: spec["choices"] for key, spec in parameters.items()}
    return optuna.samplers.GridSampler(grid, seed=seed)


def search(
    name: str,
    base: list[Path],
    space_path: Path,
    sampler: str,
    trials: int,
    arguments: list[str],
    prune: bool = True,
    seed: int = 42,
    folds: int | None = None,
) -> list[RunResult]:
    """Run ``trials`` trials (in total, counting earlier sessions of the same study); with
    ``folds``, each trial's value is its metric's mean over the folds (pruning watches the
    first fold)."""
    check_folds(folds)
    try:
        import optuna
    except ImportError:
        raise SystemExit("error: search needs optuna: pip install -e '.[tune]'") from None
    space = load_space(space_path)
    folder = OUTPUT_DIR / name
    folder.mkdir(parents=True, exist_ok=True)
    storage = f"sqlite:///{(folder / 'study.db').resolve()}"
    monitor = space.get("monitor") or _monitor_of(base)
    direction: Literal["minimize", "maximize"] = space.get("direction") or (
        "minimize" if "loss" in monitor else "maximize"
    )
    study = optuna.create_study(
        study_name=name,
        storage=storage,
        sampler=make_sampler(sampler, space["parameters"], seed),
        direction=direction,
        load_if_exists=True,
    )
    state = optuna.trial.TrialState
    # Trials left running by an interrupted session start again with the same values.
    for stale in study.get_trials(deepcopy=False, states=(state.RUNNING,)):
        study._storage.set_trial_state_values(stale._trial_id, state.FAIL)
        study.enqueue_trial(stale.params)
    done = len(study.get_trials(deepcopy=False, states=(state.COMPLETE, state.PRUNED)))
    results: dict[int, RunResult] = {}
    fold_runs: list[RunResult] = []

    def objective(trial: optuna.Trial) -> float:
        values = suggest(trial, space["parameters"])
        overrides = [f"--{key}={json.dumps(value)}" for key, value in values.items()]
        run_name = f"search-{name}/trial_{trial.number:03d}"
        callbacks = []
        if prune:
            pruning = {
                "class_path": f"{OptunaPruning.__module__}.OptunaPruning",
                "init_args": {
                    "storage": storage,
                    "study_name": name,
                    "trial_id": trial._trial_id,
                    "monitor": monitor,
                },
            }
            callbacks.append(json.dumps(pruning))
        overrides += [f"--checkpoint.monitor={monitor}", f"--checkpoint.mode={direction[:3]}"]
        label = f"trial_{trial.number:03d}"
        print(f"[trial {trial.number}] {values}", flush=True)
        if folds:
            arguments_of_trial = [*overrides, *arguments]
            logs = folder / "logs"
            runs = train_folds(
                label, base, arguments_of_trial, run_name, logs, folds, False, callbacks
            )
            fold_runs.extend(runs)
            write_table(fold_runs, folder / "folds")
            result = combine_folds(label, runs)
            trial.set_user_attr("metric_std", result.metric_std)
            trial.set_user_attr("folds", result.folds)
        else:
            log = folder / "logs" / f"{label}.log"
            result = train(label, base, [*overrides, *arguments], run_name, log, False, callbacks)
        result.values = values
        results[trial.number] = result
        print(f"  {label}: {result.status} {result.monitor} {format_value(result.metric)}")
        if result.status == "failed":
            raise RuntimeError(result.error)
        if result.status == "pruned":
            raise optuna.TrialPruned()
        if result.metric is None:
            raise RuntimeError(f"{label}: the run logged no {result.monitor or 'monitor'} value")
        return result.metric

    remaining = max(0, trials - done)
    if remaining:
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        study.optimize(objective, n_trials=remaining, catch=(RuntimeError,))
    rows = []
    for trial in study.get_trials(deepcopy=False):
        row = results.get(trial.number) or RunResult(
            f"trial_{trial.number:03d}",
            trial.state.name.lower(),
            metric=trial.value,
            values=dict(trial.params),
            metric_std=trial.user_attrs.get("metric_std"),
            folds=trial.user_attrs.get("folds", ""),
        )
        status = trial.state.name.lower()
        row.status = {"complete": "finished", "fail": "failed"}.get(status, status)
        rows.append(row)
    write_table(rows, folder)
    write_search_figure(study, folder)
    finished = [t for t in study.trials if t.state == state.COMPLETE]
    if finished:
        best = study.best_trial
        print(f"Best: trial {best.number}, {monitor} {best.value:.4g}, {best.params}")
        print("Re-run it: " + next(r.command for r in rows if r.name == f"trial_{best.number:03d}"))
    print(f"Wrote {folder / 'results.csv'}, {folder / 'results.md'}, {folder / 'search.png'}")
    return rows
