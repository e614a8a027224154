"""One labelled image, as both detection readers (:mod:`.kitti_parsing`, :mod:`.coco_parsing`)
return it: each data set its own id and object record, one shape for the rest."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Generic, TypeVar

Id = TypeVar("Id")  # KITTI's file stem (str), COCO's image id (int)
Obj = TypeVar("Obj")  # KittiObject, CocoObject


@dataclass
class LabelledImage(Generic[Id, Obj]):
    """One image: its id, path, size (width, height) and labelled objects."""

    image_id: Id
    path: Path
    size: tuple[int, int]
    objects: list[Obj] = field(default_factory=list)
