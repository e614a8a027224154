"""What a detector is built for and from, whatever its family (``networks.py``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class DetectorSettings:
    """The classes a detector tells apart, the image sizes it resizes to, the limits on what
    it returns and the options of its family: one object handed to each family's builder, so
    that a new setting is added in one place rather than to four signatures. The
    LightningModule's arguments of the same names (``model.py``) fill it.

    Attributes:
        class_names: the classes, labels 1..len(class_names) (0 is the background).
        min_size, max_size: each image is resized so that its shorter side is ``min_size``
            and its longer side at most ``max_size``.
        score_threshold: detections scoring at most this are dropped.
        detections_per_image: the most detections returned per image, best first.
        pretrained: start from the family's pretrained weights.
        backbone, fpn_channels, smallest_anchor, backbone_kwargs: the timm backbone, the
            feature pyramid's width, the finest level's anchor size and timm's extra
            arguments (``fasterrcnn``, ``retinanet``, ``fcos`` only).
        config_overrides: Hugging Face config values (``hf:`` detectors only).
    """

    class_names: tuple[str, ...]
    min_size: int
    max_size: int
    score_threshold: float = 0.05
    detections_per_image: int = 100
    pretrained: bool = True
    backbone: str = "resnet18"
    fpn_channels: int = 256
    smallest_anchor: int = 32
    backbone_kwargs: dict[str, Any] | None = None
    config_overrides: dict[str, Any] | None = None

    @property
    def num_classes(self) -> int:
        return len(self.class_names)
