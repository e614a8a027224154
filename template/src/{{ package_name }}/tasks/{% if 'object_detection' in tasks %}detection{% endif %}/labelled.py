"""One labelled image, as both detection readers (:mod:`.kitti_parsing`, :mod:`.coco_parsing`)
return it: each data set its own id and object record, one shape for the rest."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class LabelledImage:
    """One image: its id, path, size (width, height) and labelled objects.

    ``image_id`` is KITTI's file stem (str) or COCO's image id (int); ``objects`` hold
    KittiObject or CocoObject records. (Not a ``Generic`` class: the project's Python versions
    disagree on how to write one, 3.12's ``class C[T]`` being a syntax error before.)
    """

    image_id: int | str
    path: Path
    size: tuple[int, int]
    objects: list[Any] = field(default_factory=list)
