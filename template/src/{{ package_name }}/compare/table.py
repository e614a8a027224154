"""The table (``results.csv``, ``results.md``) and the figures of a comparison or search."""

from __future__ import annotations

import csv
import math
from dataclasses import asdict
from pathlib import Path
from typing import Any

from .. import loggers
from .training import OUTPUT_DIR, RunResult, format_value

# --- tables and figures -----------------------------------------------------------------------

COLUMNS = [
    ("name", "variant"),
    ("status", "status"),
    ("metric", "metric"),
    ("params", "params"),
    ("trainable_params", "trainable"),
    ("gflops", "GFLOPs"),
    ("latency_ms", "latency ms"),
    ("train_s", "train s"),
    ("epochs", "epochs"),
]


def write_table(results: list[RunResult], folder: Path) -> tuple[Path, Path]:
    """``results.csv`` (every field) and ``results.md`` (the main columns) in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    csv_path = folder / "results.csv"
    rows = [asdict(r) for r in results]
    value_keys = sorted({k for r in results for k in r.values})
    with csv_path.open("w", newline="") as file:
        fields = [f for f in rows[0] if f != "values"] + value_keys if rows else []
        writer = csv.DictWriter(file, fieldnames=fields)
        writer.writeheader()
        for row in rows:
            values = row.pop("values")
            writer.writerow({**row, **values})
    monitor = next((r.monitor for r in results if r.monitor), "metric")
    kfold = any(r.folds for r in results)
    columns = [*COLUMNS, ("folds", "folds")] if kfold else COLUMNS
    metric_title = f"{monitor} (mean ± std)" if kfold else monitor
    headers = [metric_title if key == "metric" else title for key, title in columns] + value_keys
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    metric_at = [key for key, _ in columns].index("metric")
    for r in results:
        cells = [format_value(getattr(r, key)) for key, _ in columns]
        if r.metric_std is not None:
            cells[metric_at] += f" ± {format_value(r.metric_std)}"
        cells += [format_value(r.values.get(k)) for k in value_keys]
        lines.append("| " + " | ".join(cells) + " |")
    failed = [r for r in results if r.status == "failed"]
    if failed:
        lines += ["", "Failed:"] + [f"- {r.name}: {r.error}" for r in failed]
    commands = [f"- {r.name}: `{r.command}`" for r in results if r.command]
    if commands:
        note = " (fold 0; the others with --data.init_args.fold=<i>)" if kfold else ""
        lines += ["", f"Re-run one row{note}:", *commands]
    md_path = folder / "results.md"
    md_path.write_text("\n".join(lines) + "\n")
    return csv_path, md_path


def write_figures(results: list[RunResult], folder: Path) -> list[Path]:
    """Bar chart of the metric, and metric against latency and against parameters (PNG);
    under k-fold the bars and points carry the standard deviation over the folds."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scored = [(r, r.metric) for r in results if r.metric is not None and math.isfinite(r.metric)]
    if not scored:
        return []
    monitor = scored[0][0].monitor or "metric"
    spread = [r.metric_std or 0.0 for r, _ in scored]
    kfold = any(r.folds for r, _ in scored)
    if kfold:
        monitor = f"{monitor} (mean ± std over folds)"
    paths = []
    figure, axis = plt.subplots(figsize=(7, 0.5 * len(scored) + 1.5))
    axis.barh(
        [r.name for r, _ in scored],
        [metric for _, metric in scored],
        xerr=spread if kfold else None,
        capsize=4,
        color="tab:blue",
    )
    for index, (r, metric) in enumerate(scored):
        label = f" {metric:.3f}" + (f" ± {r.metric_std:.3f}" if r.metric_std is not None else "")
        axis.text(metric + spread[index], index, label, va="center")
    axis.invert_yaxis()
    axis.set_xlabel(monitor)
    axis.set_title(f"{monitor} by variant")
    figure.tight_layout()
    paths.append(folder / "metric.png")
    figure.savefig(paths[-1], dpi=150)
    plt.close(figure)
    for key, label, filename in (
        ("latency_ms", "latency at batch 1 (ms)", "metric_vs_latency.png"),
        # What a variant trains (LoRA or a frozen backbone trains a fraction of its size).
        ("trainable_params", "trainable parameters", "metric_vs_params.png"),
    ):
        points = [(r, metric) for r, metric in scored if getattr(r, key) is not None]
        if not points:
            continue
        figure, axis = plt.subplots(figsize=(6, 4.5))
        axis.errorbar(
            [getattr(r, key) for r, _ in points],
            [metric for _, metric in points],
            yerr=[r.metric_std or 0.0 for r, _ in points] if kfold else None,
            fmt="o",
            capsize=4,
        )
        for r, metric in points:
            axis.annotate(
                r.name, (getattr(r, key), metric), xytext=(4, 4), textcoords="offset points"
            )
        axis.set_xlabel(label)
        axis.set_ylabel(monitor)
        axis.set_title(f"{monitor} against {label}")
        axis.grid(alpha=0.3)
        figure.tight_layout()
        paths.append(folder / filename)
        figure.savefig(paths[-1], dpi=150)
        plt.close(figure)
    return paths


def write_search_figure(study: Any, folder: Path) -> Path | None:
    """Each finished trial's value (± its std over the folds under k-fold) and the best so
    far, then the value against each parameter."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    trials = [t for t in study.trials if t.value is not None]
    if not trials:
        return None
    names = sorted({k for t in trials for k in t.params})
    figure, axes = plt.subplots(1, 1 + len(names), figsize=(4.5 * (1 + len(names)), 3.8))
    axes = list(axes) if len(names) else [axes]
    numbers = [t.number for t in trials]
    values = [t.value for t in trials]
    pick = max if study.direction.name == "MAXIMIZE" else min
    best = [pick(values[: i + 1]) for i in range(len(values))]
    spread = [t.user_attrs.get("metric_std") or 0.0 for t in trials]  # k-fold: std over folds
    axes[0].errorbar(numbers, values, yerr=spread if any(spread) else None, fmt="o", label="trial")
    axes[0].plot(numbers, best, "-", label="best so far")
    axes[0].set_xlabel("trial")
    axes[0].set_ylabel("value")
    axes[0].legend()
    for axis, key in zip(axes[1:], names, strict=True):
        xs = [t.params.get(key) for t in trials]
        axis.scatter([str(x) if isinstance(x, str) else x for x in xs], values)
        axis.set_xlabel(key.rsplit(".", 1)[-1])
        if all(isinstance(x, float) for x in xs) and min(xs) > 0 and max(xs) / min(xs) > 20:
            axis.set_xscale("log")
    figure.tight_layout()
    path = folder / "search.png"
    figure.savefig(path, dpi=150)
    plt.close(figure)
    return path


def report(name: str, results: list[RunResult], final: bool = True) -> None:
    """Write the table and figures of a comparison; print the table when ``final`` (and log
    both to wandb in a project made with it)."""
    folder = OUTPUT_DIR / name
    csv_path, md_path = write_table(results, folder)
    figures = write_figures(results, folder)
    if not final:
        return
    columns = [title for _, title in COLUMNS]
    rows = [[getattr(r, key) for key, _ in COLUMNS] for r in results]
    loggers.log_summary(f"compare-{name}", "compare", columns, rows, figures)
    print(md_path.read_text())
    print(f"Wrote {csv_path}, {md_path}" + "".join(f", {p}" for p in figures))
