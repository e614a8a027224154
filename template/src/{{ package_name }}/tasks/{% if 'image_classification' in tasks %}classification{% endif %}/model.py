"""Image classification: a backbone from ``backbones.py`` and a linear head.

Logged each epoch: loss, accuracy and macro precision / recall / F1 for train and val, and for
validation a confusion matrix and per-class precision-recall curves (CSV in the run folder each
epoch; PNG for the best checkpoint's epoch and the last, drawn when the fit ends; with wandb, an
interactive PR chart and a table of the worst predictions with their images). ``predict``
writes ``predictions.csv`` (file, class, probability of every class) to the run folder.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch
from torch import Tensor, nn
from torchmetrics import MeanMetric, MetricCollection
from torchmetrics.classification import (
    MulticlassAccuracy,
    MulticlassConfusionMatrix,
    MulticlassF1Score,
    MulticlassPrecision,
    MulticlassPrecisionRecallCurve,
    MulticlassRecall,
)

from ...data.media import open_rgb
from ...distributed import gather_objects
from ...models.backbones import create_backbone
from ...models.base import TaskModule
from ...pages import log_wandb_table, wandb_loggers
from ...runs import epochs_to_draw, run_dir
from ...viz import (
    PrCurves,
    log_pr_curves_to_wandb,
    plot_confusion_matrix,
    plot_pr_curves,
    read_confusion_csv,
    read_pr_csv,
    save_and_log_figure,
    write_confusion_csv,
    write_pr_csv,
)

# Score thresholds of the precision-recall curves: 0, 0.01, ..., 1 (fixed bins keep the
# metric's state small and summable across processes, whatever the size of the data set).
PR_THRESHOLDS = 101


def classification_metrics(num_classes: int, prefix: str) -> MetricCollection:
    """Accuracy (share of correct images) and macro-averaged precision, recall and F1."""
    return MetricCollection(
        {
            "acc": MulticlassAccuracy(num_classes, average="micro"),
            "precision": MulticlassPrecision(num_classes, average="macro"),
            "recall": MulticlassRecall(num_classes, average="macro"),
            "f1": MulticlassF1Score(num_classes, average="macro"),
        },
        prefix=prefix,
    )


def precision_recall_curves(
    metric: MulticlassPrecisionRecallCurve, class_names: list[str], support: np.ndarray
) -> PrCurves:
    """Per class with validation images (``support`` > 0): recall ascending, precision, AP.

    AP is the area under the step curve, sum over thresholds of (recall gained) x precision,
    as ``torchmetrics``' ``MulticlassAveragePrecision`` with the same thresholds computes it.
    A threshold above every score predicts nothing: its precision (0 / 0) is taken as 1, at
    recall 0, as scikit-learn's curves start.
    """
    precision, recall, _ = metric.compute()
    curves: PrCurves = {}
    for index, name in enumerate(class_names):
        if support[index] == 0:
            continue  # no image of this class: its recall is undefined
        p = precision[index].cpu().double().nan_to_num(nan=1.0)
        r = recall[index].cpu().double()
        ap = float(-torch.sum((r[1:] - r[:-1]) * p[:-1]))
        curves[name] = (r.flip(0).numpy(), p.flip(0).numpy(), ap)
    return curves


def table_order(row: tuple) -> tuple:
    """Sort key of the predictions table: confident mistakes first, then unsure hits."""
    _, true, predicted, confidence, _ = row
    return (0, -confidence) if true != predicted else (1, confidence)


class ImageClassifier(TaskModule):
    """Backbone + dropout + linear head, trained with cross-entropy.

    Args:
        backbone: ``timm:<name>`` or ``hf:<id>`` (see ``models/backbones.py``).
        pretrained: start from the published weights (needs the hub or its cache).
        num_classes: number of classes (linked from the DataModule).
        class_names: class names in label order (linked from the DataModule; used in
            figures and prediction files).
        drop_rate: dropout before the head.
        label_smoothing: cross-entropy label smoothing.
        backbone_kwargs: extra arguments for the backbone (e.g. ``drop_path_rate``).
        table_rows: validation images in the wandb predictions table each epoch: the most
            confident mistakes first, then the least confident correct predictions.
        **kwargs: the optimiser, its schedule, ``surgery`` and ``lr_groups`` (see
            ``models/base.py``).
    """

    # For surgery.py and finetuning.py: the pretrained part, and the layer making the logits.
    backbone_name = "backbone"
    head_name = "head"
    # Any module that maps images to features / features to logits: surgery and export's
    # runtimes replace them with others.
    backbone: nn.Module
    head: nn.Module
    # For ``train.py --compile true``: images all have the configured size, so only the last
    # partial batch of an epoch changes a shape, and static shapes cost one more compile for
    # it. Dynamic shapes there crashed on an H100 (torch 2.11) with channels_last weights
    # (configs/trainer/gpu.yaml): inductor expected a channels-last weight gradient from
    # cuDNN's convolution backward and got a contiguous one (pytorch/pytorch#171622).
    compile_options = {"dynamic": False}

    def __init__(
        self,
        backbone: str = "timm:resnet18",
        pretrained: bool = True,
        num_classes: int = 2,
        class_names: list[str] | None = None,
        drop_rate: float = 0.0,
        label_smoothing: float = 0.0,
        backbone_kwargs: dict[str, Any] | None = None,
        table_rows: int = 32,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if class_names is not None and len(class_names) != num_classes:
            raise ValueError(f"{len(class_names)} class_names given for {num_classes} classes")
        self.class_names = class_names or [str(i) for i in range(num_classes)]
        features = create_backbone(backbone, pretrained, **(backbone_kwargs or {}))
        self.backbone = features.model
        self.head = nn.Sequential(
            nn.Dropout(drop_rate), nn.Linear(features.num_features, num_classes)
        )
        self.loss = nn.CrossEntropyLoss(label_smoothing=label_smoothing)
        self.train_metrics = classification_metrics(num_classes, "train/")
        self.val_metrics = classification_metrics(num_classes, "val/")
        self.test_metrics = classification_metrics(num_classes, "test/")
        self.confusion = MulticlassConfusionMatrix(num_classes)
        self.pr_curve = MulticlassPrecisionRecallCurve(num_classes, thresholds=PR_THRESHOLDS)
        # (path, true, predicted, confidence, p(true)) of the validation images kept for the
        # wandb table: at most ``table_rows``, by ``table_order``.
        self._table: list[tuple[str, int, int, float, float]] = []
        # Mean loss per image over the whole set, synced across processes under DDP.
        self.eval_loss = nn.ModuleDict({"val": MeanMetric(), "test": MeanMetric()})
        self._predictions: list[tuple[str, Tensor]] = []
        self._validated_epochs: list[int] = []  # their figures are drawn when fit ends
        self.apply_surgery()

    def forward(self, images: Tensor) -> Tensor:
        """Class logits ``(B, num_classes)`` for normalised images ``(B, 3, H, W)``."""
        return self.head(self.backbone(images))

    def inference_args(self, batch: dict) -> tuple:
        """The arguments of ``forward`` for a batch of the DataModule (for profiling)."""
        return (batch["image"],)

    def training_step(self, batch: dict, batch_idx: int) -> Tensor:
        logits = self(batch["image"])
        loss = self.loss(logits, batch["target"])
        # update, not forward: the training metrics are logged per epoch, and a forward would
        # also compute each batch's values (594 tensor operations a step instead of 94)
        self.train_metrics.update(logits, batch["target"])
        size = len(batch["target"])
        self.log("train/loss", loss, prog_bar=True, batch_size=size)
        self.log_dict(self.train_metrics, on_step=False, on_epoch=True, batch_size=size)
        return loss

    def _evaluate(self, batch: dict, stage: str, metrics: MetricCollection) -> None:
        logits = self(batch["image"])
        size = len(batch["target"])
        mean_loss = cast(MeanMetric, self.eval_loss[stage])  # a ModuleDict types its values Module
        mean_loss.update(self.loss(logits, batch["target"]), weight=size)
        self.log(f"{stage}/loss", mean_loss, prog_bar=True, batch_size=size)
        metrics.update(logits, batch["target"])
        for name, metric in metrics.items():  # computed over the whole epoch by torchmetrics
            self.log(name, metric, prog_bar=name.endswith("/acc"), batch_size=size)
        self.confusion.update(logits, batch["target"])
        self.pr_curve.update(logits, batch["target"])
        if stage == "val" and self._logs_to_wandb():
            self._keep_for_table(batch, logits)

    def _logs_to_wandb(self) -> bool:
        trainer = self._trainer  # None when the module runs outside a Trainer
        return trainer is not None and bool(wandb_loggers(trainer))

    def _keep_for_table(self, batch: dict, logits: Tensor) -> None:
        probabilities = logits.detach().float().softmax(dim=-1)
        confidence, predicted = probabilities.max(dim=-1)
        true_share = probabilities.gather(1, batch["target"][:, None])[:, 0]
        rows = zip(
            batch["path"],
            batch["target"].tolist(),
            predicted.tolist(),
            confidence.tolist(),
            true_share.tolist(),
            strict=True,
        )
        self._table = sorted([*self._table, *rows], key=table_order)[: self.hparams.table_rows]

    def validation_step(self, batch: dict, batch_idx: int) -> None:
        self._evaluate(batch, "val", self.val_metrics)

    def test_step(self, batch: dict, batch_idx: int) -> None:
        self._evaluate(batch, "test", self.test_metrics)

    def _save_evaluation(self, name: str) -> None:
        """Write the confusion matrix and the precision-recall curves of the epoch as CSV
        (cheap, kept even if the run crashes; ``report`` draws from them), and give wandb its
        interactive PR chart. The PNGs cost seconds each, more than a small data set's epoch,
        so they are drawn by :meth:`_draw_evaluation`: for the test at once, for validation
        when the fit ends (the best checkpoint's epoch and the last)."""
        matrix = self.confusion.compute().cpu().numpy()
        self.confusion.reset()
        curves = precision_recall_curves(self.pr_curve, self.class_names, matrix.sum(axis=1))
        self.pr_curve.reset()
        if self.trainer.sanity_checking or not self.trainer.is_global_zero:
            return
        folder = run_dir(self.trainer)
        write_confusion_csv(matrix, self.class_names, folder / "confusion_matrix" / f"{name}.csv")
        write_pr_csv(curves, folder / "pr_curves" / f"{name}.csv")
        stage = name.split("_")[0]
        title = "Test" if stage == "test" else f"Validation, epoch {self.current_epoch}"
        log_pr_curves_to_wandb(self.trainer, curves, f"pr_curve/{stage}", title)

    def _draw_evaluation(self, name: str, title: str) -> None:
        """The PNGs of the CSVs :meth:`_save_evaluation` wrote as ``name``, shown in wandb /
        TensorBoard too."""
        folder, stage = run_dir(self.trainer), name.split("_")[0]
        path = folder / "confusion_matrix" / f"{name}.png"
        matrix, class_names = read_confusion_csv(path.with_suffix(".csv"))
        figure = plot_confusion_matrix(matrix, class_names, title)
        save_and_log_figure(self.trainer, figure, path, key=f"confusion_matrix/{stage}")
        path = folder / "pr_curves" / f"{name}.png"
        figure = plot_pr_curves(read_pr_csv(path.with_suffix(".csv")), f"{title}: precision-recall")
        # wandb has the interactive chart instead of the picture.
        save_and_log_figure(self.trainer, figure, path, key=f"pr_curve/{stage}", wandb=False)

    def _log_predictions_table(self) -> None:
        """The kept validation images as a wandb table (image, true and predicted class,
        confidence, probability of the true class), the worst first."""
        rows = sorted(gather_objects(self._table), key=table_order)[: self.hparams.table_rows]
        self._table = []
        if self.trainer.sanity_checking or not self.trainer.is_global_zero or not rows:
            return
        import wandb  # only projects that log to wandb need it installed

        data = []
        for path, true, predicted, confidence, true_share in rows:
            thumbnail = open_rgb(Path(path))
            thumbnail.thumbnail((256, 256))  # keeps the run folder small
            name = self.class_names
            data.append(
                [
                    wandb.Image(thumbnail, caption=Path(path).name),
                    name[true],
                    name[predicted],
                    round(confidence, 4),
                    round(true_share, 4),
                    true == predicted,
                ]
            )
        columns = ["image", "true", "predicted", "confidence", "p(true)", "correct"]
        log_wandb_table(self.trainer, "predictions/val", columns, data)

    def on_validation_epoch_end(self) -> None:
        name = f"val_epoch{self.current_epoch:03d}"
        self._save_evaluation(name)
        if self.trainer.sanity_checking:
            pass
        elif self.trainer.state.fn == "fit":  # drawn when the fit ends
            self._validated_epochs.append(self.current_epoch)
        elif self.trainer.is_global_zero:  # `train.py validate`: one epoch, drawn now
            self._draw_evaluation(name, f"Validation, epoch {self.current_epoch}")
        if self._logs_to_wandb():
            self._log_predictions_table()

    def on_fit_end(self) -> None:
        if not self.trainer.is_global_zero:
            return
        for epoch, note in epochs_to_draw(self.trainer, self._validated_epochs).items():
            self._draw_evaluation(f"val_epoch{epoch:03d}", f"Validation, epoch {epoch} ({note})")

    def on_test_epoch_end(self) -> None:
        self._save_evaluation("test")
        if self.trainer.is_global_zero:
            self._draw_evaluation("test", "Test")

    def predict_step(self, batch: dict, batch_idx: int) -> dict:
        probabilities = self(batch["image"]).softmax(dim=-1)
        self._predictions += zip(batch["path"], probabilities.cpu(), strict=True)
        return {"path": batch["path"], "probabilities": probabilities}

    def on_predict_epoch_end(self) -> None:
        predictions, self._predictions = gather_objects(self._predictions), []
        if not self.trainer.is_global_zero:  # rank 0 writes the file for all processes
            return
        path = run_dir(self.trainer) / "predictions.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", newline="") as file:
            writer = csv.writer(file)
            writer.writerow(["path", "class", "probability", *(f"p_{c}" for c in self.class_names)])
            for image_path, probs in predictions:
                best = int(probs.argmax())
                row = [f"{p:.6f}" for p in probs.tolist()]
                writer.writerow([image_path, self.class_names[best], f"{probs[best]:.6f}", *row])
        print(f"Wrote {len(predictions)} predictions to {path}")
