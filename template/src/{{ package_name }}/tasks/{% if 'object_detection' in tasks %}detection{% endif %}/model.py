"""Object detection: detectors of three families behind one LightningModule.

The networks (``networks.py``, ``hf_detector.py``): torchvision's heads on a timm backbone
(``fasterrcnn``, ``retinanet``, ``fcos``), torchvision's complete COCO-pretrained detectors
(``torchvision:<builder>``) and Hugging Face's (``hf:<model>``: DETR, RT-DETR, YOLOS, ...).
One interface for every family: images + targets in -> losses (training); images in ->
boxes, scores and labels in the original image's pixels (validation, prediction).

Logged: the training losses, and for validation the numbers of the data's evaluation
(``evaluation.py``: KITTI's AP or COCO's mAP, linked from the DataModule). A figure of
predictions and ground truth, and per-class precision-recall curves, are saved each
validation epoch (PNG + CSV; with wandb, boxes and a PR chart). ``predict`` writes the
evaluation's result files into the run folder (KITTI: ``kitti_results/data/``, COCO:
``coco_results.json``).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from ...distributed import gather_objects
from ...metrics.exact import logged
from ...models.base import TaskModule
from ...runs import run_dir
from ...viz import (
    log_pr_curves_to_wandb,
    plot_pr_curves,
    save_and_log_figure,
    write_pr_csv,
)
from .draw import log_boxes_to_wandb, plot_detections
from .evaluation import EvaluationName, evaluation_named
from .networks import create_detector, part_names
from .settings import DetectorSettings


class ObjectDetector(TaskModule):
    """An object detector of any family, evaluated the KITTI or the COCO way.

    Args:
        architecture: ``fasterrcnn`` (two-stage), ``retinanet`` or ``fcos`` (one-stage) on the
            timm ``backbone``; ``torchvision:<detector>`` (torchvision's own, COCO-pretrained,
            e.g. ``torchvision:fasterrcnn_resnet50_fpn_v2``); or ``hf:<model>`` (a Hugging
            Face ``AutoModelForObjectDetection``: hub id, local folder, or with
            ``pretrained: false`` a model type such as ``rt_detr``, ``detr``, ``yolos``).
        backbone: ``timm:<model name>`` (see ``models/backbones.py``); only for
            ``fasterrcnn``, ``retinanet`` and ``fcos``.
        pretrained: start from published weights: the timm backbone's (the heads start
            random), or the whole torchvision / Hugging Face detector's but its class head.
        num_classes: number of object classes (linked from the DataModule).
        class_names: class names in label order (linked from the DataModule).
        min_size: every family resizes each image's shorter side to this many pixels.
        max_size: ... and its longer side to at most this many.
        fpn_channels: channels of every feature-pyramid level (a multiple of 32 for FCOS).
        smallest_anchor: anchor size in pixels on the finest level (doubles per level).
        score_threshold: detections below this score are dropped.
        detections_per_image: at most this many detections per image.
        images_drawn: validation images drawn with their boxes each epoch (0: none).
        evaluation: ``kitti`` or ``coco`` protocol (linked from the DataModule).
        category_ids: COCO category id of each label, for COCO result files (linked from
            the DataModule; None writes label + 1).
        backbone_kwargs: extra arguments for ``timm.create_model``.
        config_overrides: fields of the Hugging Face config to set (e.g. ``num_queries``); with
            ``pretrained: false`` and a model type, the whole size of a random model.
        **kwargs: the optimiser, its schedule, ``surgery`` (e.g. ``[{op: replace_head,
            hidden: [256]}]``) and ``lr_groups`` (e.g. ``{backbone_scale: 0.1}``); see
            ``models/base.py``.
    """

    @property
    def backbone_name(self) -> str:
        """For surgery.py and finetuning.py: the pretrained feature extractor (the timm or
        torchvision backbone under the feature pyramid; a Hugging Face model's backbone)."""
        name = part_names(self.detector)[0]
        return f"detector.{name}" if name else ""

    @property
    def head_name(self) -> str:
        """For surgery.py: the layer that scores the classes (a Linear for Faster R-CNN and
        the DETR family, a convolution for RetinaNet and FCOS)."""
        name = part_names(self.detector)[1]
        return f"detector.{name}" if name else ""

    def __init__(
        self,
        architecture: str = "fasterrcnn",
        backbone: str = "timm:resnet50",
        pretrained: bool = True,
        num_classes: int = 3,
        class_names: list[str] | None = None,
        min_size: int = 375,
        max_size: int = 1242,
        fpn_channels: int = 256,
        smallest_anchor: int = 32,
        score_threshold: float = 0.05,
        detections_per_image: int = 100,
        images_drawn: int = 8,
        evaluation: EvaluationName = "kitti",
        category_ids: list[int] | None = None,
        backbone_kwargs: dict[str, Any] | None = None,
        config_overrides: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if class_names is not None and len(class_names) != num_classes:
            raise ValueError(f"{len(class_names)} class_names given for {num_classes} classes")
        self.class_names = list(class_names or [str(i) for i in range(num_classes)])
        settings = DetectorSettings(
            tuple(self.class_names),
            min_size,
            max_size,
            score_threshold,
            detections_per_image,
            pretrained,
            backbone,
            fpn_channels,
            smallest_anchor,
            backbone_kwargs,
            config_overrides,
        )
        self.detector = create_detector(architecture, settings)
        # KITTI or COCO: the metric, the logged numbers, the result files (evaluation.py).
        self.evaluation = evaluation_named(evaluation, self.class_names, category_ids)
        self.val_metric = self.evaluation.metric()
        self._drawn: list[tuple[str, dict, dict]] = []
        self._results: dict = {}
        self.apply_surgery()  # last: the whole network exists

    def forward(self, images: list[Tensor], original_sizes: list[tuple[int, int]] | None = None):
        """Detections per image: ``boxes`` (x1, y1, x2, y2), ``scores``, ``labels`` (0-based).

        Args:
            images: float images ``(3, H, W)`` in [0, 1], any sizes.
            original_sizes: (height, width) of each image before the data transforms; boxes
                are scaled to them. None keeps the pixels of ``images``.
        """
        outputs = self.detector(images)
        results = []
        for index, (image, output) in enumerate(zip(images, outputs, strict=True)):
            # One-stage heads score the background slot too; it is never an object. Boxes
            # clipped to nothing at the image border are not objects either.
            sides = output["boxes"][:, 2:] - output["boxes"][:, :2]
            keep = (output["labels"] > 0) & (sides > 0).all(dim=1)
            boxes = output["boxes"][keep]
            if original_sizes is not None:
                height, width = original_sizes[index]
                scale = boxes.new_tensor([width / image.shape[-1], height / image.shape[-2]] * 2)
                boxes = boxes * scale
            results.append(
                {
                    "boxes": boxes,
                    "scores": output["scores"][keep],
                    "labels": output["labels"][keep] - 1,
                }
            )
        return results

    def inference_args(self, batch: dict) -> tuple:
        """The arguments of ``forward`` for a batch of the DataModule (for profiling)."""
        return (batch["images"],)

    def training_step(self, batch: dict, batch_idx: int) -> Tensor:
        targets = [
            {"boxes": t["boxes"], "labels": t["labels"] + 1}  # 0 is the background
            for t in batch["targets"]
        ]
        losses = self.detector(batch["images"], targets)
        loss = sum(losses.values())
        size = len(batch["images"])
        self.log("train/loss", loss, prog_bar=True, batch_size=size)
        parts = {f"train/{k}": v for k, v in losses.items() if k != "loss"}
        self.log_dict(parts, batch_size=size)  # the parts of the loss, where a family has them
        return loss

    def validation_step(self, batch: dict, batch_idx: int) -> None:
        sizes = [m["orig_size"] for m in batch["meta"]]
        preds = self(batch["images"], sizes)
        self.val_metric.update(preds, batch["meta"])
        room = self.hparams.images_drawn - len(self._drawn)
        for pred, meta in list(zip(preds, batch["meta"], strict=True))[: max(room, 0)]:
            self._drawn.append((meta["path"], _to_cpu(pred), self._truth(meta)))

    def _truth(self, meta: dict) -> dict:
        """Ground truth of one image for the figures: boxes and a name per box."""
        boxes = torch.as_tensor(meta["gt_boxes"], dtype=torch.float32).reshape(-1, 4)
        return {"boxes": boxes.cpu(), "names": self.evaluation.truth_names(meta)}

    def on_validation_epoch_end(self) -> None:
        results = self.val_metric.compute()
        self.val_metric.reset()
        # Logged unrounded (metrics.exact.logged): they are to equal `score` on the files
        # that predict writes, to the last digit.
        monitor = self.evaluation.monitor
        for key, value in self.evaluation.logged(results).items():
            self.log(key, logged(value, self.device), prog_bar=key == monitor)
        curves = self.val_metric.pr_curves
        drawn, self._drawn = self._drawn, []
        if self.trainer.sanity_checking or not self.trainer.is_global_zero:
            return
        epoch = self.current_epoch
        if curves:
            self._save_pr_curves(curves, epoch)
        if not drawn:
            return
        figure = plot_detections(drawn, self.class_names, title=f"Validation, epoch {epoch}")
        path = run_dir(self.trainer) / "detections" / f"val_epoch{epoch:03d}.png"
        save_and_log_figure(self.trainer, figure, path, key="detections/val")
        log_boxes_to_wandb(self.trainer, drawn, self.class_names, key="detections/boxes")

    def _save_pr_curves(self, curves: dict, epoch: int) -> None:
        """Per-class PR curves of the epoch: PNG + CSV in the run folder, a wandb chart."""
        title = f"Validation, epoch {epoch}: {self.evaluation.pr_title}"
        path = run_dir(self.trainer) / "pr_curves" / f"val_epoch{epoch:03d}.png"
        write_pr_csv(curves, path.with_suffix(".csv"))  # for `report figures`
        figure = plot_pr_curves(curves, title)
        # wandb gets the interactive chart instead of the picture.
        save_and_log_figure(self.trainer, figure, path, key="pr_curve/val", wandb=False)
        log_pr_curves_to_wandb(self.trainer, curves, "pr_curve/val", title)

    def predict_step(self, batch: dict, batch_idx: int) -> list[dict]:
        sizes = [m["orig_size"] for m in batch["meta"]]
        preds = self(batch["images"], sizes)
        for pred, meta in zip(preds, batch["meta"], strict=True):
            self._results[meta["image_id"]] = self.evaluation.image_results(pred, meta)
        return preds

    def on_predict_epoch_end(self) -> None:
        results, self._results = dict(gather_objects(list(self._results.items()))), {}
        if not self.trainer.is_global_zero:  # rank 0 writes the files for all processes
            return
        written = self.evaluation.write_results(run_dir(self.trainer), results)
        print(f"Wrote the detections of {len(results)} images to {written}")


def _to_cpu(record: dict) -> dict:
    return {k: v.detach().cpu() if isinstance(v, Tensor) else v for k, v in record.items()}
