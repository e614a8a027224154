"""KITTI 2D object detection in the official layout, read by our own loader.

::

    root/training/image_2/000000.png   root/training/label_2/000000.txt
    root/testing/image_2/000000.png    (KITTI ships no test labels)

(torchvision's download layout ``root/Kitti/raw/training/...`` is found too.) Everything is
checked once, up front (``kitti_parsing.py``), and every bad file and line is reported with its
path and line number.

The configured classes (default Car, Pedestrian, Cyclist) are the training targets. Every
other object (Van, Person_sitting, DontCare, ...) is kept for the evaluation, which ignores
neighbouring classes and DontCare regions (``kitti_metric.py``), but is not a target.

KITTI has no official validation split: a seeded share of ``training/`` is held out, or the
ids listed in ``train.txt`` / ``val.txt`` (one id a line) are used. The split actually used
is written to ``<run folder>/split/``. With ``folds``, ``training/`` is cut into k folds
instead, one of which validates (k-fold cross-validation).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import Tensor
from torch.utils.data import Dataset
from torchvision import tv_tensors
from torchvision.transforms import v2

from ...data.base import TaskDataModule
from ...data.errors import DataValidationError
from ...data.folds import split_fold, write_split_files
from ...data.media import open_rgb
from ...runs import run_dir
from .kitti_parsing import KittiImage, image_sizes, images_in, scan_kitti, split_ids
from .kitti_parsing import parse_label_line as parse_label_line  # re-exported: tests
from .kitti_parsing import read_label_file as read_label_file  # re-exported: kitti_files.py
from .kitti_parsing import read_split_file as read_split_file  # re-exported: kitti_files.py
from .kitti_parsing import type_table as type_table  # re-exported: model.py reads it here
from .sample import write_shapes_kitti
from .transforms import collate_detection, transforms_for


class KittiDetectionDataset(Dataset):
    """Returns ``(image, target, meta)`` for one image.

    ``target`` holds the training boxes (pixels of the transformed image) and labels
    (0-based indices into ``class_names``). ``meta`` holds the index, id, path, original size
    (height, width) and every labelled object in original pixels, for the evaluation:
    ``gt_types`` (indices into :func:`type_table`) and ``gt_occluded`` as tensors,
    ``gt_boxes`` and ``gt_truncated`` as Python lists of the label file's values (float64:
    in float32, truncation 0.15 exceeds 0.15 and a 40.00 px box can be taller than 40, which
    moves boxes between the evaluation's levels; lists are not moved to the accelerator,
    which may have no float64).
    """

    def __init__(
        self, images: list[KittiImage], class_names: list[str], transform: v2.Compose
    ) -> None:
        self.images = images
        self.class_names = list(class_names)
        self.types = type_table(class_names)
        self.transform = transform

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> tuple[Tensor, dict, dict]:
        record = self.images[index]
        pixels = open_rgb(record.path)
        width, height = record.size
        targets = [o for o in record.objects if o.type in self.class_names]
        boxes = tv_tensors.BoundingBoxes(
            torch.tensor([o.box for o in targets], dtype=torch.float32).reshape(-1, 4),
            format="XYXY",
            canvas_size=(height, width),
        )
        labels = torch.tensor([self.class_names.index(o.type) for o in targets], dtype=torch.long)
        image_tensor, target = self.transform(pixels, {"boxes": boxes, "labels": labels})
        objects = record.objects
        meta = {
            "index": index,
            "image_id": record.image_id,
            "path": str(record.path),
            "orig_size": (height, width),
            "gt_boxes": [o.box for o in objects],
            "gt_types": torch.tensor([self.types.index(o.type) for o in objects], dtype=torch.long),
            "gt_truncated": [o.truncated for o in objects],
            "gt_occluded": torch.tensor([o.occluded for o in objects], dtype=torch.long),
        }
        target = {"boxes": target["boxes"].as_subclass(Tensor), "labels": target["labels"]}
        return image_tensor.as_subclass(Tensor), target, meta


class KittiDataModule(TaskDataModule):
    """KITTI 2D object detection (``root/training/{image_2,label_2}``, ``root/testing``).

    Args:
        root: data set folder (holding ``training/``, or torchvision's ``Kitti/raw/``).
        classes: the classes to train on, in label order; other objects are kept only for
            the evaluation (neighbour classes and DontCare regions are ignored there).
        batch_size: images per batch.
        val_fraction: share of ``training/`` held out for validation (seeded).
        split_dir: folder with ``train.txt`` and ``val.txt`` (one image id a line); when
            given it replaces the seeded split.
        min_size: shorter image side after resizing in pixels (None keeps the size).
        max_size: cap on the longer side after resizing.
        hflip: probability of a horizontal flip in training.
        photometric: random brightness, contrast, saturation and hue in training.
        predict_dir: folder of images to predict; None predicts ``testing/image_2``
            (or the validation split when there is none).
        write_sample_if_missing: write the built-in shapes sample to ``root`` if absent.
        **kwargs: ``num_workers``, ``folds`` (k-fold cross-validation: ``training/`` cut into
            seeded folds of whole images; not together with ``split_dir``), ``fold`` and
            ``seed`` (also of the hold-out split): see ``data/base.py``.
    """

    evaluation = "kitti"  # the protocol the detector scores this data with

    def __init__(
        self,
        root: str = "data/kitti",
        classes: list[str] | None = None,
        batch_size: int = 8,
        val_fraction: float = 0.2,
        split_dir: str | None = None,
        min_size: int | None = None,
        max_size: int | None = None,
        hflip: float = 0.5,
        photometric: bool = True,
        predict_dir: str | None = None,
        write_sample_if_missing: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(batch_size, **kwargs)
        folds, fold, seed = self.hparams.folds, self.hparams.fold, self.hparams.seed
        if folds is not None and split_dir is not None:
            raise ValueError(
                "data.init_args.split_dir and data.init_args.folds both choose the validation "
                "images: set one of them"
            )
        self._class_names = list(classes or ["Car", "Pedestrian", "Cyclist"])
        if write_sample_if_missing:
            self.write_sample_if_absent(root, write_shapes_kitti, "KITTI-format shapes sample")
        # Scanned here, not in setup(), so the class names can be linked to the model.
        self.index = scan_kitti(root, self._class_names)
        if folds is None:
            self.train_ids, self.val_ids = split_ids(
                sorted(self.index.training), val_fraction, seed, split_dir
            )
        else:
            ids = sorted(self.index.training)
            self.train_ids, self.val_ids = split_fold(ids, folds, fold, seed)
        self.collate_fn = collate_detection

    @property
    def class_names(self) -> list[str]:
        return self._class_names

    @property
    def num_classes(self) -> int:
        return len(self._class_names)

    def _dataset(self, images: list[KittiImage], train: bool) -> KittiDetectionDataset:
        return KittiDetectionDataset(images, self._class_names, transforms_for(self.hparams, train))

    def write_split(self, folder: Path) -> None:
        """Write the ids of the split in use to ``folder/{train,val}.txt`` (and the fold to
        ``fold.json`` under k-fold); ``split_dir`` reads them back."""
        h = self.hparams
        details = {}
        if h.folds is not None:
            details = {"folds": h.folds, "fold": h.fold, "seed": h.seed, "grouped_by": "image"}
        write_split_files(folder, self.train_ids, self.val_ids, **details)

    def setup(self, stage: str) -> None:
        training = self.index.training
        if stage == "fit":
            self.datasets["train"] = self._dataset([training[i] for i in self.train_ids], True)
        if stage in ("fit", "validate"):
            self.datasets["val"] = self._dataset([training[i] for i in self.val_ids], False)
            # Beside the run: the ids it scored (score kitti --ids reads val.txt).
            trainer = self.trainer
            if trainer is not None and trainer.is_global_zero:  # run_dir: no collective call
                self.write_split(run_dir(trainer) / "split")
        if stage == "test":
            raise DataValidationError(
                str(self.hparams.root),
                ["KITTI's testing/ split has no labels, so `test` cannot score it"],
                hint="Evaluate the validation split with `validate`, or write result files "
                "for testing/ with `predict` and submit them.",
            )
        if stage == "predict":
            if self.hparams.predict_dir:
                folder = self.existing_folder(self.hparams.predict_dir)
                paths = images_in(folder)
                sizes, problems = image_sizes(list(paths.values()), folder)
                if problems:
                    raise DataValidationError(str(folder), problems)
                images = [KittiImage(i, path, sizes[path]) for i, path in paths.items()]
            else:
                images = self.index.testing or [training[i] for i in self.val_ids]
            self.datasets["predict"] = self._dataset(images, False)
