"""Image classification data in the ImageFolder layout: ``root/{train,val,test}/<class>/<image>``.

The tree is checked once, up front, and every problem is reported with its path. When there
is no ``val/`` folder, a seeded share of each class of ``train/`` becomes the validation set.
With ``folds`` (k-fold cross-validation) ``train/`` is cut into k class-balanced folds instead,
one of which validates; a ``val/`` folder is then left unused and ``test/`` stays held out.
Input size and normalisation come from the backbone's published data config.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from torch.utils.data import Dataset
from torchvision.transforms import InterpolationMode, v2

from ...data.base import TaskDataModule
from ...data.errors import DataValidationError
from ...data.folds import split_fold
from ...data.media import check_media, decode_image, describe_image_error, open_rgb
from ...models.backbones import DataConfig, data_config
from .sample import write_digits_imagefolder

IMAGE_EXTENSIONS = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm"}
SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class ImageSample:
    """One image file and its class index (-1 when unlabelled, for predict)."""

    path: Path
    label: int


@dataclass
class ImageFolderIndex:
    """What :func:`scan_image_folder` found: class names and the samples of each split."""

    class_names: list[str]
    splits: dict[str, list[ImageSample]]


def _is_hidden(path: Path) -> bool:
    return path.name.startswith(".")


def _not_an_image(path: Path) -> str | None:
    """Describe ``path`` if its extension is not an image's, or return None."""
    if path.suffix.lower() not in IMAGE_EXTENSIONS:
        return f"{path}: not an image file ({path.suffix or 'no extension'}); move it out"
    return None


def scan_image_folder(
    root: str | Path,
    val_fraction: float = 0.1,
    seed: int = 42,
    verify_images: bool = True,
    hold_out: bool = True,
) -> ImageFolderIndex:
    """Index an ImageFolder tree and check it, reporting every problem at once.

    Args:
        root: folder holding ``train/`` and optionally ``val/`` and ``test/``.
        val_fraction: share of each class of ``train/`` held out when ``val/`` is absent.
        seed: seed of that hold-out split (the same seed gives the same split).
        verify_images: decode every file once to check it is a whole, readable image
            (in parallel; files that decoded before are remembered in
            ``root/.media_check.json``, see ``data/media.py``).
        hold_out: split ``val_fraction`` off ``train/`` when ``val/`` is absent (False keeps
            ``train/`` whole, e.g. to cut it into folds).
    Raises:
        DataValidationError: listing every missing split, empty class folder, stray,
            non-image or unreadable file, and validation/test class unknown to ``train/``.
    """
    root = Path(root)
    problems: list[str] = []
    if not root.is_dir():
        raise DataValidationError(
            str(root),
            [f"{root}: folder does not exist"],
            hint="Point data.init_args.root at a folder laid out as root/train/<class>/<image>.",
        )
    train_dir = root / "train"
    if not train_dir.is_dir():
        problems.append(f"{train_dir}: missing split; expected {train_dir}/<class>/<image>")
        class_names: list[str] = []
    else:
        class_names = sorted(
            p.name for p in train_dir.iterdir() if p.is_dir() and not _is_hidden(p)
        )
        if not class_names:
            problems.append(f"{train_dir}: no class folders; expected {train_dir}/<class>/<image>")

    files: dict[str, list[tuple[Path, int]]] = {}
    for split in SPLITS:
        split_dir = root / split
        if not split_dir.is_dir():
            continue
        files[split] = []
        for entry in sorted(split_dir.iterdir()):
            if _is_hidden(entry):
                continue
            if not entry.is_dir():
                problems.append(
                    f"{entry}: file outside a class folder; move it into {split}/<class>/"
                )
                continue
            if entry.name not in class_names:
                problems.append(f"{entry}: class {entry.name!r} is not in {train_dir}")
                continue
            images = [p for p in sorted(entry.rglob("*")) if p.is_file() and not _is_hidden(p)]
            if not images:
                problems.append(f"{entry}: empty class folder; add images or remove the folder")
            label = class_names.index(entry.name)
            files[split] += [(path, label) for path in images]

    all_paths = [path for split_files in files.values() for path, _ in split_files]
    strays = {path: _not_an_image(path) for path in all_paths}
    problems += [problem for problem in strays.values() if problem]
    if verify_images:
        images = [path for path, problem in strays.items() if not problem]
        _, bad_images = check_media(images, decode_image, root, "images", describe_image_error)
        problems += bad_images
    if problems:
        raise DataValidationError(
            str(root), problems, hint="Fix or remove these files; nothing was loaded."
        )
    splits = {
        split: [ImageSample(path, label) for path, label in split_files]
        for split, split_files in files.items()
    }
    if hold_out and "val" not in splits:
        splits["train"], splits["val"] = split_off_validation(splits["train"], val_fraction, seed)
    return ImageFolderIndex(class_names=class_names, splits=splits)


def split_off_validation(
    samples: list[ImageSample], val_fraction: float, seed: int
) -> tuple[list[ImageSample], list[ImageSample]]:
    """Hold out ``val_fraction`` of each class (at least one image of every class with two)."""
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must lie strictly between 0 and 1, got {val_fraction}")
    rng = np.random.default_rng(seed)
    by_class: dict[int, list[ImageSample]] = {}
    for sample in samples:
        by_class.setdefault(sample.label, []).append(sample)
    train, val = [], []
    for label in sorted(by_class):
        members = by_class[label]
        order = rng.permutation(len(members))
        n_val = max(1, round(len(members) * val_fraction)) if len(members) > 1 else 0
        val += [members[i] for i in sorted(order[:n_val])]
        train += [members[i] for i in sorted(order[n_val:])]
    return train, val


def list_images(folder: str | Path) -> list[ImageSample]:
    """Every image file under ``folder`` (any depth), unlabelled, for prediction."""
    folder = TaskDataModule.existing_folder(folder)
    paths = [p for p in sorted(folder.rglob("*")) if p.suffix.lower() in IMAGE_EXTENSIONS]
    if not paths:
        raise DataValidationError(str(folder), [f"{folder}: holds no image files"])
    return [ImageSample(path, -1) for path in paths]


class ImageFileDataset(Dataset):
    """Reads each image as 8-bit RGB (``data.media.to_rgb``); returns
    ``{"image", "target", "path"}``."""

    def __init__(self, samples: list[ImageSample], transform: v2.Transform) -> None:
        self.samples = samples
        self.transform = transform

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> dict:
        sample = self.samples[index]
        pixels = self.transform(open_rgb(sample.path))
        return {"image": pixels, "target": sample.label, "path": str(sample.path)}


def build_transforms(
    config: DataConfig,
    train: bool,
    image_size: int | None = None,
    hflip: float = 0.5,
    crop_scale: tuple[float, float] = (0.08, 1.0),
    auto_augment: str = "none",
) -> v2.Compose:
    """torchvision v2 pipeline: augmentation for training, resize + centre crop otherwise."""
    size = image_size or config.input_size
    interpolation = (
        InterpolationMode.BICUBIC
        if config.interpolation == "bicubic"
        else InterpolationMode.BILINEAR
    )
    if train:
        steps: list[v2.Transform] = [
            v2.RandomResizedCrop(size, scale=crop_scale, interpolation=interpolation)
        ]
        if hflip > 0:
            steps.append(v2.RandomHorizontalFlip(p=hflip))
        augment = {
            "randaugment": v2.RandAugment,
            "autoaugment": v2.AutoAugment,
            "trivialaugment": v2.TrivialAugmentWide,
        }
        if auto_augment != "none":
            steps.append(augment[auto_augment]())
    else:
        steps = [
            v2.Resize(round(size / config.crop_pct), interpolation=interpolation),
            v2.CenterCrop(size),
        ]
    return v2.Compose(
        [
            v2.ToImage(),  # uint8 tensor: the augmentations work on this
            *steps,
            v2.ToDtype(torch.float32, scale=True),
            v2.Normalize(mean=list(config.mean), std=list(config.std)),
        ]
    )


class ImageFolderDataModule(TaskDataModule):
    """Image folders (``root/{train,val,test}/<class>/<image>``) for classification.

    Args:
        root: data set folder; ``train/`` required, ``val/`` and ``test/`` optional.
        backbone: the model's backbone (linked from the model); sets size and normalisation.
        image_size: square input size in pixels; None uses the backbone's own.
        batch_size: images per batch.
        val_fraction: share of each class held out of ``train/`` when there is no ``val/``.
        hflip: probability of a horizontal flip in training (0 for digits or text).
        crop_scale: area range of the random resized crop in training.
        auto_augment: learned augmentation policy added in training.
        predict_dir: folder of images to predict; None predicts the test (else val) split.
        verify_images: open every image once at start to check it is readable.
        write_sample_if_missing: write the built-in digits sample to ``root`` if it is absent.
        **kwargs: ``num_workers``, ``folds`` (k-fold cross-validation: ``train/`` cut into
            seeded folds of single images, each class spread evenly), ``fold`` and ``seed``
            (also of the hold-out split): see ``data/base.py``.
    """

    def __init__(
        self,
        root: str = "data/images",
        backbone: str = "timm:resnet18",
        image_size: int | None = None,
        batch_size: int = 64,
        val_fraction: float = 0.1,
        hflip: float = 0.5,
        crop_scale: tuple[float, float] = (0.08, 1.0),
        auto_augment: Literal["none", "randaugment", "autoaugment", "trivialaugment"] = "none",
        predict_dir: str | None = None,
        verify_images: bool = True,
        write_sample_if_missing: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(batch_size, **kwargs)
        if write_sample_if_missing:
            self.write_sample_if_absent(root, write_digits_imagefolder, "digits sample data set")
        # Scanned here, not in setup(), so the class count can be linked to the model.
        folds, fold, seed = self.hparams.folds, self.hparams.fold, self.hparams.seed
        self.index = scan_image_folder(root, val_fraction, seed, verify_images, folds is None)
        if folds is not None:
            pool = self.index.splits["train"]
            labels = [sample.label for sample in pool]
            self.index.splits["train"], self.index.splits["val"] = split_fold(
                pool, folds, fold, seed, strata=labels
            )
        self.data_config = data_config(backbone)

    @property
    def class_names(self) -> list[str]:
        return self.index.class_names

    @property
    def num_classes(self) -> int:
        return len(self.index.class_names)

    def _transform(self, train: bool) -> v2.Compose:
        h = self.hparams
        return build_transforms(
            self.data_config, train, h.image_size, h.hflip, tuple(h.crop_scale), h.auto_augment
        )

    def setup(self, stage: str) -> None:
        splits = self.index.splits
        if stage == "fit":
            self.datasets["train"] = ImageFileDataset(splits["train"], self._transform(True))
            if self.hparams.folds is not None:
                self._save_split()
        if stage in ("fit", "validate"):
            self.datasets["val"] = ImageFileDataset(splits["val"], self._transform(False))
        if stage == "test":
            if "test" not in splits:
                raise DataValidationError(
                    str(self.hparams.root),
                    [f"{Path(self.hparams.root) / 'test'}: missing split needed by `test`"],
                    hint="Add a test/ folder, or evaluate the validation split with `validate`.",
                )
            self.datasets["test"] = ImageFileDataset(splits["test"], self._transform(False))
        if stage == "predict":
            if self.hparams.predict_dir:
                samples = list_images(self.hparams.predict_dir)
            else:
                samples = splits.get("test", splits["val"])
            self.datasets["predict"] = ImageFileDataset(samples, self._transform(False))

    def _save_split(self) -> None:
        """The images of this fold's training and validation, relative to ``root``."""
        root = Path(self.hparams.root)
        ids = {
            split: [str(s.path.relative_to(root)) for s in self.index.splits[split]]
            for split in ("train", "val")
        }
        self.save_split(ids["train"], ids["val"], grouped_by="image", stratified_by="class")
