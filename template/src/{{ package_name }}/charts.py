"""Slide-sized charts, Markdown tables and summary statistics, shared by every task's data-set
analysis (``tasks/<task>/analysis.py``), ``analyze.py`` and ``report.py``.

Figures are 1920 x 1080 pixels (16:9 at ``SLIDE_DPI``); drawn inside
``matplotlib.pyplot.style.context(SLIDE_STYLE)`` their smallest text is 14 pt, readable from
the back of a room. Nothing here chooses a matplotlib backend: the commands that write files do.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from rich.progress import track

if TYPE_CHECKING:  # matplotlib is imported when a figure is drawn, not when a task loads
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

# 16:9 at 1920 x 1080 pixels; the smallest text is 14 pt.
SLIDE_SIZE = (16.0, 9.0)
SLIDE_DPI = 120
SLIDE_STYLE = {
    "font.size": 20,
    "axes.titlesize": 26,
    "axes.labelsize": 22,
    "xtick.labelsize": 18,
    "ytick.labelsize": 18,
    "legend.fontsize": 18,
    "figure.titlesize": 28,
    "lines.linewidth": 3.0,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
}

# Scans over more items than this show a progress bar.
PROGRESS_THRESHOLD = 1000


def progress(items: Sequence[Any], description: str) -> Iterable[Any]:
    """``items``, with a progress bar when there are many of them."""
    return track(items, description=description, disable=len(items) < PROGRESS_THRESHOLD)


def spread(values: Sequence[float]) -> dict[str, float]:
    """Minimum, median, mean and maximum (zeros for no values)."""
    if not values:
        return {"min": 0.0, "median": 0.0, "mean": 0.0, "max": 0.0}
    return {
        "min": float(min(values)),
        "median": float(statistics.median(values)),
        "mean": round(float(statistics.fmean(values)), 4),
        "max": float(max(values)),
    }


def markdown_table(columns: list[str], rows: list[list[Any]]) -> str:
    """A Markdown (GitHub) table of ``rows`` under the header ``columns``."""
    lines = ["| " + " | ".join(columns) + " |", "|" + " --- |" * len(columns)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def slide_axes(columns: int = 1) -> tuple[Figure, list[Axes]]:
    """A slide-sized figure with ``columns`` panels side by side."""
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(
        1, columns, figsize=SLIDE_SIZE, dpi=SLIDE_DPI, layout="constrained", squeeze=False
    )
    return figure, list(axes.flat)


def bar_chart(counts: dict[str, dict[str, int]], title: str, ylabel: str) -> Figure:
    """Grouped bars: one group per category, one bar per split (``counts[split][category]``)."""
    figure, (axes,) = slide_axes()
    categories = list(dict.fromkeys(c for split in counts.values() for c in split))
    positions = np.arange(len(categories))
    width = 0.8 / max(len(counts), 1)
    for index, (split, values) in enumerate(counts.items()):
        heights = [values.get(category, 0) for category in categories]
        axes.bar(positions + index * width, heights, width, label=split)
    axes.set_xticks(
        positions + width * (len(counts) - 1) / 2,
        categories,
        rotation=45 if len(categories) > 8 else 0,
        ha="right" if len(categories) > 8 else "center",
    )
    axes.set_ylabel(ylabel)
    axes.set_title(title)
    axes.legend()
    return figure


def histogram(
    panels: list[tuple[str, dict[str, list[float]]]], title: str, integer: bool = False
) -> Figure:
    """One panel per (x label, {split: values}); integer values get one bar per value."""
    figure, axes_list = slide_axes(len(panels))
    for axes, (xlabel, by_split) in zip(axes_list, panels, strict=True):
        values = [v for split_values in by_split.values() for v in split_values]
        edges = np.arange(min(values) - 0.5, max(values) + 1.5) if integer and values else None
        bins = 30 if edges is None else edges.tolist()
        axes.hist(list(by_split.values()), bins=bins, label=list(by_split), stacked=True)
        axes.set_xlabel(xlabel)
        axes.set_ylabel("count")
        axes.legend()
    figure.suptitle(title)
    return figure
