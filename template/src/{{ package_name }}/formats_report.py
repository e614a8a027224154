"""The formats benchmark's outputs: a Rich table on screen, CSV, a chart, the recommendation
and the metric floor (``--min-metric``) that turns the benchmark into a CI gate.

The result comes from :func:`formats_benchmark.formats`; ``benchmark.py`` saves it as JSON.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import UserError
from .formats_benchmark import DROPPED, FAILED, FORMAT_NAMES, OK, formats

if TYPE_CHECKING:  # matplotlib loads slowly; only the chart needs it
    from matplotlib.figure import Figure

COLUMNS = (
    "format",
    "status",
    "device",
    "size_mb",
    "metric",
    "model_ms_b1",
    "model_ms_b1_x_eager",
    "e2e_ms_b1",
    "e2e_ms_b1_x_eager",
    "items_per_s_b8",
    "items_per_s_b8_x_eager",
    "reason",
)
WORDS = {OK: "ok", DROPPED: "dropped", FAILED: "failed"}  # the chart's fonts lack the emoji


class MetricFloorError(UserError):
    """A format scored below ``--min-metric``."""


def _cells(row: dict) -> dict[str, object]:
    """A row's values by CSV column (empty where the format failed)."""
    ratios = row.get("ratio_to_eager", {})
    cells: dict[str, object] = {key: row.get(key) for key in COLUMNS}
    for measure, ratio in ratios.items():
        cells[f"{measure}_x_eager"] = ratio
    return {key: "" if value is None else value for key, value in cells.items()}


def write_csv(result: dict, path: Path) -> None:
    """One line per format; the metric's column is named after it (e.g. ``val/acc``)."""
    with path.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow([result["metric"] if key == "metric" else key for key in COLUMNS])
        for row in result["rows"]:
            cells = _cells(row)
            writer.writerow([cells[key] for key in COLUMNS])


def print_table(result: dict) -> None:
    """The table: format, status, size, metric, and each speed with its ratio to eager."""
    from rich.console import Console
    from rich.table import Table

    title = (
        f"{result['task']}: formats on {result['device']}, {result['threads']} threads, "
        f"median of {result['rounds']} alternated rounds"
    )
    caption = "x eager: a latency below 1x is faster than eager, a throughput above 1x is faster"
    table = Table(title=title, caption=caption)
    for heading in ("format", "status", "size MB", result["metric"]):
        table.add_column(heading, justify="left" if heading in ("format", "status") else "right")
    for heading in ("b1 model ms", "x eager", "b1 end-to-end ms", "x eager", "b8 items/s"):
        table.add_column(heading, justify="right")
    table.add_column("x eager", justify="right")
    for row in result["rows"]:
        ratios = row.get("ratio_to_eager")
        speeds = []
        for measure in ("model_ms_b1", "e2e_ms_b1", "items_per_s_b8"):
            value = row.get(measure)
            speeds += ["", ""] if value is None else [f"{value:.2f}", f"{ratios[measure]:.2f}x"]
        size = row.get("size_mb")
        metric = row.get("metric")
        table.add_row(
            f"{row['format']} ({row['device']})" if "device" in row else row["format"],
            row["status"],
            "" if size is None else f"{size:.1f}",
            "" if metric is None else f"{metric:.4f}",
            *speeds,
        )
    # A terminal gets its own width; a log file gets the whole table on one line per format.
    Console(width=None if sys.stdout.isatty() else 140).print(table)
    for row in result["rows"]:
        if row["status"] != OK:
            print(f"{row['status']} {row['format']}: {row['reason']}")


def plot_formats(result: dict) -> Figure:
    """Bars of each format's speeds as ratios to eager (higher is faster), its status and
    metric under its name."""
    import matplotlib.pyplot as plt
    import numpy as np

    rows = result["rows"]
    labels = [
        f"{row['format']}\n{WORDS[row['status']]}"
        + (f"\n{row['metric']:.3f}" if row.get("metric") is not None else "")
        for row in rows
    ]
    # Latency ratios are inverted so that every bar reads the same way: speed-up over eager.
    speedups = {
        "model, batch 1": lambda r: 1 / r["model_ms_b1"],
        "end to end, batch 1": lambda r: 1 / r["e2e_ms_b1"],
        "throughput, batch 8": lambda r: r["items_per_s_b8"],
    }
    figure, axis = plt.subplots(figsize=(2.0 + 1.5 * len(rows), 3.8))
    width = 0.8 / len(speedups)
    for index, (label, speedup) in enumerate(speedups.items()):
        values = [
            speedup(row["ratio_to_eager"]) if "ratio_to_eager" in row else 0.0 for row in rows
        ]
        positions = np.arange(len(rows)) + (index - (len(speedups) - 1) / 2) * width
        bars = axis.bar(positions, values, width, label=label)
        axis.bar_label(bars, labels=[f"{v:.2f}" if v else "" for v in values], fontsize=7)
    axis.axhline(1.0, color="grey", linestyle="--", linewidth=1)
    axis.set_xticks(np.arange(len(rows)), labels)
    axis.set_ylabel("speed-up over eager (higher is faster)")
    axis.set_title(f"{result['task']} on {result['device']}: {result['metric']} under each name")
    axis.legend(fontsize=8)
    figure.tight_layout()
    return figure


def recommendation(result: dict) -> str:
    """The fastest format end to end at batch 1 among those whose metric is within the
    tolerance of eager's."""
    kept = [row for row in result["rows"] if row["status"] == OK]
    best = min(kept, key=lambda row: row["e2e_ms_b1"])
    ratios = best["ratio_to_eager"]
    return (
        f"Recommended: {best['format']}: the fastest end to end at batch 1 "
        f"({best['e2e_ms_b1']:.2f} ms, {ratios['e2e_ms_b1']:.2f}x eager; model alone "
        f"{ratios['model_ms_b1']:.2f}x, batch 8 throughput {ratios['items_per_s_b8']:.2f}x) "
        f"with {result['metric']} {best['metric']:.4f} within the tolerance of eager's."
    )


def check_floor(result: dict, floor: float | None) -> None:
    """Raise when a format scores worse than ``floor`` (for a metric where lower is better,
    such as WER, ``floor`` is the highest acceptable value)."""
    if floor is None:
        return
    higher = result["higher_is_better"]
    sign = "<" if higher else ">"
    below = [
        (row["format"], row["metric"])
        for row in result["rows"]
        if row.get("metric") is not None
        and (row["metric"] < floor if higher else row["metric"] > floor)
    ]
    if below:
        (name, value), others = below[0], below[1:]
        also = ", ".join(f"{other} {score:.4f}" for other, score in others)
        raise MetricFloorError(
            f"{name} scores {result['metric']} {value:.4f} {sign} --min-metric {floor:g} "
            f"({result['export_dir']})" + (f"; also {sign} it: {also}" if also else "")
        )


def write_outputs(result: dict, output: Path) -> None:
    """The CSV and the chart beside the JSON that ``benchmark.py`` saved at ``output``."""
    write_csv(result, output.with_suffix(".csv"))
    figure = plot_formats(result)
    figure.savefig(output.with_suffix(".png"), dpi=120, bbox_inches="tight")
    print(f"Table: {output.with_suffix('.csv')}\nChart: {output.with_suffix('.png')}")


def finish(result: dict, output: Path, floor: float | None) -> None:
    """After the JSON is saved: the CSV and chart, the recommendation (the last line), then
    the metric floor."""
    write_outputs(result, output)
    print(recommendation(result))
    check_floor(result, floor)


def run_formats(args: argparse.Namespace) -> dict:
    """Measure, print the table; the JSON goes beside the export unless ``--output`` says."""
    result = formats(
        args.checkpoint,
        args.export_dir,
        args.formats,
        args.rounds,
        args.calls,
        args.items,
        args.threads,
        args.data_root,
        args.device,
        args.tolerance,
    )
    print_table(result)
    args.output = args.output or str(Path(result["export_dir"]) / "formats.json")
    return result


def add_formats_command(commands: argparse._SubParsersAction) -> None:
    """The ``benchmark formats`` sub-command (``benchmark.py`` saves the JSON, then calls
    :func:`finish`)."""
    table = commands.add_parser(
        "formats", help="every format: status, size, metric, speed as ratios to eager"
    )
    table.add_argument("checkpoint", help="a .ckpt written by `python train.py fit`")
    table.add_argument(
        "--export-dir",
        default=None,
        help="the folder export.py wrote (default: <run>/export, exported first if empty)",
    )
    table.add_argument(
        "--formats",
        nargs="+",
        choices=FORMAT_NAMES,
        default=None,
        help="default: those the task offers and the export folder holds",
    )
    table.add_argument(
        "--min-metric",
        type=float,
        default=None,
        help="fail (exit status 2) when a format's validation metric is below this "
        "(above it for a metric where lower is better, such as WER)",
    )
    table.add_argument(
        "--tolerance",
        type=float,
        default=None,
        help="most of the metric a format may lose to eager (default: 1%% of eager's; "
        "int8: the task's limit)",
    )
    table.add_argument("--rounds", type=int, default=5)
    table.add_argument("--calls", type=int, default=5, help="model calls timed per round")
    table.add_argument("--items", type=int, default=8, help="end-to-end items per round")
    table.add_argument("--threads", type=int, default=None, help="default: torch's default")
    table.add_argument("--data-root", default=None, help="default: the checkpoint's data")
    table.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    table.add_argument("--output", default=None, help="default: <export-dir>/formats.json")
    table.set_defaults(run=run_formats)
