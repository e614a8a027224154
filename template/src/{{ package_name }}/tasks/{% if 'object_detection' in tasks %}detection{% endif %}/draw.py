"""Detection's drawings: predictions and ground truth on the images (a PNG figure), and the
same boxes in wandb's interactive format."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from lightning.pytorch import Trainer
from lightning.pytorch.loggers import WandbLogger
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from PIL import Image
from torch import Tensor

from ...data.media import open_rgb, to_rgb
from ...viz import class_colour

# Per image: (path, prediction, truth); see plot_detections.
Drawn = list[tuple[str, dict[str, Tensor], dict]]


def plot_detections(
    drawn: Drawn,
    class_names: list[str],
    title: str = "",
    min_score: float = 0.3,
    columns: int = 2,
) -> Figure:
    """Predictions and ground truth drawn on the original images, in a grid.

    Args:
        drawn: per image (path, prediction, truth): the prediction's ``boxes`` (original
            pixels), ``scores`` and ``labels`` (indices into ``class_names``); the truth's
            ``boxes`` and ``names`` (class names, or e.g. ``DontCare`` / ``crowd``).
        class_names: the model's classes; each gets its colour.
        title: figure title.
        min_score: predictions below this score are not drawn.
        columns: images per row.
    Ground truth is dashed (grey when it is not a trained class, e.g. DontCare, Van, crowd);
    predictions are solid, labelled with class and score.
    """
    rows = math.ceil(len(drawn) / columns)
    # A Figure of its own (not pyplot's): nothing to close, no display backend needed.
    figure = Figure(figsize=(7 * columns, 2.6 * rows), layout="constrained")
    axes_grid = figure.subplots(rows, columns, squeeze=False)
    for axes in axes_grid.flat:
        axes.axis("off")
    for axes, (path, pred, truth) in zip(axes_grid.flat, drawn, strict=False):
        with Image.open(path) as image:
            axes.imshow(to_rgb(image))
        for box, name in zip(truth["boxes"].tolist(), truth["names"], strict=True):
            known = name in class_names
            colour = class_colour(class_names.index(name)) if known else (0.6, 0.6, 0.6, 1.0)
            x1, y1, x2, y2 = box
            axes.add_patch(
                Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, ec=colour, ls="--", lw=1.2)
            )
        keep = pred["scores"] >= min_score
        for box, score, label in zip(
            pred["boxes"][keep].tolist(),
            pred["scores"][keep].tolist(),
            pred["labels"][keep].tolist(),
            strict=True,
        ):
            colour = class_colour(label)
            x1, y1, x2, y2 = box
            axes.add_patch(Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, ec=colour, lw=1.8))
            axes.text(
                x1,
                y1,
                f"{class_names[label]} {score:.2f}",
                color="white",
                fontsize=7,
                va="bottom",
                bbox={"facecolor": colour, "alpha": 0.8, "pad": 1, "lw": 0},
            )
        axes.set_title(Path(path).name, fontsize=8)
    figure.suptitle(f"{title} (dashed: ground truth, solid: predictions)".strip())
    return figure


def wandb_boxes(pred: dict[str, Tensor], truth: dict, class_names: list[str]) -> dict:
    """One image's predictions and ground truth (``boxes``, ``names``) in wandb's format."""

    def entry(box: list[float], class_id: int, caption: str, score: float | None) -> dict:
        x1, y1, x2, y2 = box
        item = {
            "position": {"minX": x1, "minY": y1, "maxX": x2, "maxY": y2},
            "domain": "pixel",
            "class_id": class_id,
            "box_caption": caption,
        }
        if score is not None:
            item["scores"] = {"score": score}
        return item

    labels = {i: name for i, name in enumerate(class_names)}
    labels[len(class_names)] = "other / ignored"
    predictions = [
        entry(box, label, f"{class_names[label]} {score:.2f}", score)
        for box, score, label in zip(
            pred["boxes"].tolist(), pred["scores"].tolist(), pred["labels"].tolist(), strict=True
        )
    ]
    ground_truth = []
    for box, name in zip(truth["boxes"].tolist(), truth["names"], strict=True):
        class_id = class_names.index(name) if name in class_names else len(class_names)
        ground_truth.append(entry(box, class_id, name, None))
    return {
        "predictions": {"box_data": predictions, "class_labels": labels},
        "ground_truth": {"box_data": ground_truth, "class_labels": labels},
    }


def log_boxes_to_wandb(trainer: Trainer, drawn: Drawn, class_names: list[str], key: str) -> None:
    """Send the images with interactive boxes to wandb, when wandb is one of the loggers."""
    for logger in trainer.loggers:
        if isinstance(logger, WandbLogger):
            images = [np.asarray(open_rgb(Path(path))) for path, _, _ in drawn]
            boxes = [wandb_boxes(pred, truth, class_names) for _, pred, truth in drawn]
            logger.log_image(key=key, images=images, boxes=boxes, step=trainer.global_step)
