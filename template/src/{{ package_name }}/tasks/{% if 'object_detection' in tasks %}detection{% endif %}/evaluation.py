"""How detections are scored and written: the KITTI way or the COCO way, one object each.

The data's format decides (the DataModule's ``evaluation``, linked to the model). The
LightningModule asks its :class:`Evaluation` for the validation metric, the numbers to log,
the names drawn on ground-truth boxes and the result files ``predict`` writes; it never
branches on the format itself. A new format is one more subclass in :data:`EVALUATIONS`.

- KITTI: the official 2D AP|R40 and AP|R11 of every class and level (``val/AP_moderate``, the
  mean Moderate AP|R40, is monitored); result files one per image in
  ``<run>/kitti_results/data/``, as the devkit reads them.
- COCO: the 12 COCOeval numbers and per-class AP (``val/mAP`` monitored); one results JSON,
  ``<run>/coco_results.json``, with COCO's category ids and (x, y, width, height) boxes.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from torch import Tensor

from .coco_metric import CocoMeanAveragePrecision
from .kitti_files import write_kitti_results
from .kitti_lines import KittiObject
from .kitti_metric import KittiAveragePrecision
from .kitti_parsing import type_table

EvaluationName = Literal["kitti", "coco"]
# The validation metrics (torchmetrics): a new format adds its own here.
DetectionMetric = KittiAveragePrecision | CocoMeanAveragePrecision


class Evaluation(ABC):
    """An evaluation protocol, as :class:`~.model.ObjectDetector` uses it.

    Attributes:
        monitor: the logged key that checkpoints and early stopping watch.
        pr_title: what the per-class precision-recall curves of :meth:`metric` show.
    """

    monitor: str
    pr_title: str

    def __init__(self, class_names: Sequence[str], category_ids: Sequence[int] | None = None):
        self.class_names = list(class_names)

    @abstractmethod
    def metric(self) -> DetectionMetric:
        """A new validation metric: ``update(predictions, metas)``, ``compute()`` -> numbers
        by name, and ``pr_curves`` (class -> recall, precision, AP) once computed."""

    @abstractmethod
    def logged(self, results: dict[str, float]) -> dict[str, float]:
        """The numbers of ``metric().compute()`` to log, by logged key (``monitor`` among
        them)."""

    @abstractmethod
    def truth_names(self, meta: dict) -> list[str]:
        """A name per ground-truth box of one image (its ``meta``), for the figures."""

    @abstractmethod
    def image_results(self, prediction: dict[str, Tensor], meta: dict) -> list[Any]:
        """One image's detections (0-based labels, original pixels) as the results file
        records them."""

    @abstractmethod
    def write_results(self, folder: Path, results: dict[Any, list[Any]]) -> Path:
        """Write the results of every image (image id -> :meth:`image_results`) under the
        run ``folder``; returns what was written."""


def _fields(prediction: dict[str, Tensor]) -> zip:
    """(box, score, label) of each detection, as Python numbers."""
    boxes, scores, labels = (prediction[k].tolist() for k in ("boxes", "scores", "labels"))
    return zip(boxes, scores, labels, strict=True)


class KittiEvaluation(Evaluation):
    """KITTI's 2D object benchmark: AP|R40 and AP|R11 per class and difficulty level."""

    monitor = "val/AP_moderate"
    pr_title = "KITTI Moderate, official IoU (AP|R40)"

    def __init__(self, class_names: Sequence[str], category_ids: Sequence[int] | None = None):
        super().__init__(class_names)
        self.types = type_table(self.class_names)  # KITTI's object types, as coded in meta

    def metric(self) -> KittiAveragePrecision:
        return KittiAveragePrecision(self.class_names, self.types)

    def logged(self, results: dict[str, float]) -> dict[str, float]:
        # "Car/moderate/R40" -> val/AP_Car_moderate_R40; the mean Moderate AP|R40 is monitored.
        numbers = {
            f"val/AP_{key.replace('/', '_')}": value
            for key, value in results.items()
            if key != "moderate/R40"
        }
        return {**numbers, self.monitor: results["moderate/R40"]}

    def truth_names(self, meta: dict) -> list[str]:
        return [self.types[code] for code in meta["gt_types"].tolist()]

    def image_results(self, prediction: dict[str, Tensor], meta: dict) -> list[KittiObject]:
        return [
            KittiObject(self.class_names[label], tuple(box), score=score)
            for box, score, label in _fields(prediction)
        ]

    def write_results(self, folder: Path, results: dict[Any, list[Any]]) -> Path:
        return write_kitti_results(folder / "kitti_results" / "data", results)


class CocoEvaluation(Evaluation):
    """COCO's detection evaluation (COCOeval): mAP over IoU 0.5:0.95 and its 11 siblings."""

    monitor = "val/mAP"
    pr_title = "COCO, IoU 0.5 (AP50)"

    def __init__(self, class_names: Sequence[str], category_ids: Sequence[int] | None = None):
        super().__init__(class_names)
        # Without the data's ids (a model built outside the CLI), labels 0.. are ids 1..
        self.category_ids = list(category_ids or range(1, len(self.class_names) + 1))

    def metric(self) -> CocoMeanAveragePrecision:
        return CocoMeanAveragePrecision(self.class_names)

    def logged(self, results: dict[str, float]) -> dict[str, float]:
        # COCOeval reports -1 where there is nothing to score; such numbers are not logged.
        kept = {f"val/{k}": v for k, v in results.items() if v >= 0 and k != "mAP"}
        return {**kept, self.monitor: max(results["mAP"], 0.0)}

    def truth_names(self, meta: dict) -> list[str]:
        labels, crowds = meta["gt_labels"].tolist(), meta["gt_iscrowd"].tolist()
        return [
            "crowd" if crowd else self.class_names[label]
            for label, crowd in zip(labels, crowds, strict=True)
        ]

    def image_results(self, prediction: dict[str, Tensor], meta: dict) -> list[dict]:
        return [
            {
                "image_id": meta["image_id"],
                "category_id": self.category_ids[label],
                "bbox": [x1, y1, x2 - x1, y2 - y1],  # COCO boxes are x, y, width, height
                "score": score,
            }
            for (x1, y1, x2, y2), score, label in _fields(prediction)
        ]

    def write_results(self, folder: Path, results: dict[Any, list[Any]]) -> Path:
        written = folder / "coco_results.json"
        written.parent.mkdir(parents=True, exist_ok=True)
        written.write_text(json.dumps([entry for entries in results.values() for entry in entries]))
        return written


EVALUATIONS: dict[str, type[Evaluation]] = {"kitti": KittiEvaluation, "coco": CocoEvaluation}


def evaluation_named(
    name: str, class_names: Sequence[str], category_ids: Sequence[int] | None = None
) -> Evaluation:
    """The evaluation ``name`` (``kitti`` or ``coco``) for these classes."""
    if name not in EVALUATIONS:
        raise ValueError(f"Unknown evaluation {name!r}: use one of {', '.join(EVALUATIONS)}.")
    return EVALUATIONS[name](class_names, category_ids)
