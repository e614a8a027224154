"""What every detector family is built for, whatever its architecture (``networks.py``)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DetectorSettings:
    """The classes a detector tells apart, the image sizes it resizes to and the limits on
    what it returns: one object handed to each family's builder, so that a new setting is
    added in one place rather than to four signatures.

    Attributes:
        class_names: the classes, labels 1..len(class_names) (0 is the background).
        min_size, max_size: each image is resized so that its shorter side is ``min_size``
            and its longer side at most ``max_size``.
        score_threshold: detections scoring at most this are dropped.
        detections_per_image: the most detections returned per image, best first.
    """

    class_names: tuple[str, ...]
    min_size: int
    max_size: int
    score_threshold: float = 0.05
    detections_per_image: int = 100

    @property
    def num_classes(self) -> int:
        return len(self.class_names)
