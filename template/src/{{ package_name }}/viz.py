"""Figures of results, saved as PNG in the run folder and sent to loggers that show images."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display needed: figures go to files and loggers

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from lightning.pytorch import Trainer  # noqa: E402
from lightning.pytorch.loggers import TensorBoardLogger, WandbLogger  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402


def plot_confusion_matrix(matrix: np.ndarray, class_names: list[str], title: str = "") -> Figure:
    """Counts per (true, predicted) class, each row also shown as a share of its true class."""
    matrix = np.asarray(matrix)
    n = len(class_names)
    size = min(16.0, 2.0 + 0.5 * n)
    figure, axes = plt.subplots(figsize=(size, size * 0.85), layout="constrained")
    row_share = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    image = axes.imshow(row_share, cmap="Blues", vmin=0.0, vmax=1.0)
    figure.colorbar(image, ax=axes, label="share of true class")
    axes.set_xticks(range(n), class_names, rotation=45 if n > 6 else 0, ha="right")
    axes.set_yticks(range(n), class_names)
    axes.set_xlabel("predicted class")
    axes.set_ylabel("true class")
    if n <= 30:  # beyond that the numbers no longer fit in the cells
        for true in range(n):
            for pred in range(n):
                colour = "white" if row_share[true, pred] > 0.5 else "black"
                axes.text(
                    pred,
                    true,
                    int(matrix[true, pred]),
                    ha="center",
                    va="center",
                    color=colour,
                    fontsize=8,
                )
    accuracy = np.trace(matrix) / max(matrix.sum(), 1)
    axes.set_title(f"{title} (accuracy {accuracy:.1%})".strip())
    return figure


def save_and_log_figure(trainer: Trainer, figure: Figure, path: Path, key: str) -> Path:
    """Write ``figure`` to ``path`` (PNG) and show it in wandb / TensorBoard when they log."""
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=150)
    for logger in trainer.loggers:
        if isinstance(logger, WandbLogger):
            logger.log_image(key=key, images=[str(path)], step=trainer.global_step)
        elif isinstance(logger, TensorBoardLogger):
            logger.experiment.add_figure(key, figure, global_step=trainer.global_step)
    plt.close(figure)
    return path


def run_dir(trainer: Trainer) -> Path:
    """The folder of the current run: the logger's version folder, else the root dir."""
    return Path(trainer.log_dir or trainer.default_root_dir)
