"""One KITTI object as the 2D evaluation sees it, and the result line that predict writes.

A label line (ground truth) and a result line (detection) share the first 15 fields; a result
line adds the score. :func:`as_written` gives a detection as the devkit reads it back from
its line, so that the metric scores exactly what the result file holds.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class KittiObject:
    """The 2D part of one KITTI label line (ground truth) or result line (detection).

    Attributes:
        type: KITTI class name (``Car``, ``Van``, ``Pedestrian``, ``DontCare``, ...).
        box: (left, top, right, bottom) in pixels of the original image.
        truncated: share of the object outside the image, 0 to 1 (ground truth).
        occluded: 0 fully visible, 1 partly occluded, 2 largely occluded, 3 unknown.
        alpha: observation angle in radians (-10 when unknown).
        score: detection confidence (results only; 1 for ground truth).
    """

    type: str
    box: tuple[float, float, float, float]
    truncated: float = 0.0
    occluded: int = 0
    alpha: float = -10.0
    score: float = 1.0

    @property
    def height(self) -> float:
        return self.box[3] - self.box[1]


# --- result lines: what predict writes and the devkit reads -----------------------------


# The 3D fields of a result line (height, width, length, x, y, z, rotation_y): unknown.
UNKNOWN_3D = ("-1.00", "-1.00", "-1.00", "-1000.00", "-1000.00", "-1000.00", "-10.00")


def _result_fields(obj: KittiObject) -> list[str]:
    """The 16 text fields of ``obj``'s result line (2D box to 0.01 px, score to 0.0001)."""
    left, top, right, bottom = obj.box
    return [
        obj.type,
        f"{obj.truncated:.2f}",
        f"{obj.occluded:d}",
        f"{obj.alpha:.2f}",
        *(f"{value:.2f}" for value in (left, top, right, bottom)),
        *UNKNOWN_3D,
        f"{obj.score:.4f}",
    ]


def format_result_line(obj: KittiObject) -> str:
    """One 16-field KITTI result line; the 3D fields hold KITTI's "unknown" placeholders."""
    return " ".join(_result_fields(obj))


def as_written(obj: KittiObject) -> KittiObject:
    """``obj`` as the devkit reads it back from :func:`format_result_line`'s line.

    The metric scores detections through this, so rounding (scores that become equal, boxes
    that move by up to 0.005 px) changes the logged AP exactly as it changes the devkit's.
    """
    fields = _result_fields(obj)
    box = (float(fields[4]), float(fields[5]), float(fields[6]), float(fields[7]))
    return KittiObject(
        obj.type, box, float(fields[1]), int(fields[2]), float(fields[3]), float(fields[15])
    )
