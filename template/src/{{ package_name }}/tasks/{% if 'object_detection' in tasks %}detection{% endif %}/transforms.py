"""What KITTI and COCO share on the way to the detector: the box tolerance at the image border,
the torchvision v2 transforms (image and boxes together) and the collate.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor
from torchvision.transforms import v2

# Boxes may reach this far past the image border (KITTI's boxes are clipped to the image).
BORDER_TOLERANCE = 1.0


def build_detection_transforms(
    train: bool,
    min_size: int | None = None,
    max_size: int | None = None,
    hflip: float = 0.5,
    photometric: bool = True,
) -> v2.Compose:
    """torchvision v2 on the image and its boxes together.

    Training adds photometric distortion and horizontal flips; both resize the shorter side to
    ``min_size`` (the longer side at most ``max_size``), keeping the aspect ratio. Images
    come out as float in [0, 1]: the detector normalises them itself.
    """
    steps: list[v2.Transform] = [v2.ToImage()]
    if train and photometric:
        steps.append(v2.RandomPhotometricDistort(p=0.5))
    if train and hflip > 0:
        steps.append(v2.RandomHorizontalFlip(p=hflip))
    if min_size is not None:
        steps.append(v2.Resize(size=min_size, max_size=max_size, antialias=True))
    steps += [
        v2.ClampBoundingBoxes(),
        v2.SanitizeBoundingBoxes(min_size=1.0),  # drops boxes a transform made empty
        v2.ToDtype(torch.float32, scale=True),
    ]
    return v2.Compose(steps)


def transforms_for(settings: Any, train: bool) -> v2.Compose:
    """:func:`build_detection_transforms` with a detection DataModule's settings (its
    ``hparams``: ``min_size``, ``max_size``, ``hflip``, ``photometric``)."""
    s = settings
    return build_detection_transforms(train, s.min_size, s.max_size, s.hflip, s.photometric)


def collate_detection(batch: list[tuple[Tensor, dict, dict]]) -> dict:
    """Images of different sizes and box counts stay lists: ``{"images", "targets", "meta"}``."""
    images, targets, meta = zip(*batch, strict=True)
    return {"images": list(images), "targets": list(targets), "meta": list(meta)}
