"""COCO annotation files, read and checked: categories, images and their objects.

Each annotation file is checked once, up front, and every problem is reported with its file and
key (e.g. ``annotations[12].bbox``). Numbers stay as written (Python floats, float64), so the
metric sees the file's own values.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple, cast

from ...data.bulk import gc_paused
from ...data.errors import DataValidationError
from ...data.media import check_media, decode_image, describe_image_error
from .coco_cache import cached_annotations
from .labelled import LabelledImage
from .transforms import BORDER_TOLERANCE


class CocoObject(NamedTuple):
    """One annotation: category id (COCO's), box (left, top, right, bottom), area, crowd.

    ``bbox`` is the ``[x, y, width, height]`` as written and ``annotation_id`` the file's id:
    the evaluation uses them, not ``box`` (``(x + w) - x`` need not equal ``w`` in floats).
    A named tuple, not a dataclass: COCO has 860 k of them, built 3x faster and half the size.
    """

    category_id: int
    box: tuple[float, float, float, float]
    area: float
    iscrowd: bool
    bbox: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
    annotation_id: int = 0


# One image: COCO id, path, size (width, height) and its annotations.
CocoImage = LabelledImage  # image_id: int, objects: CocoObject


@dataclass
class CocoSplit:
    """What :func:`read_coco` found: categories (id -> name, in id order) and images.

    ``entries``: each image's index in the file's ``images`` list, for messages.
    """

    categories: dict[int, str]
    images: list[CocoImage]
    entries: dict[int, int] = field(default_factory=dict)

    @property
    def image_ids(self) -> set[int]:
        return {cast(int, image.image_id) for image in self.images}  # COCO's ids are ints


# The numbers JSON gives (``type(v) in``: a bool is not a number, and is faster to rule out).
_NUMBERS = (int, float)


def _check_image_files(
    path: Path, image_dir: str | Path, images: dict[int, CocoImage], entries: dict[int, list[int]]
) -> list[str]:
    """Decode each image file once (cached, ``data.media.check_media``);
    a problem for each that does not decode in full or whose size is not the one written."""
    files = sorted({image.path for image in images.values()})
    facts, problems = check_media(
        files, decode_image, Path(image_dir), "images", describe_image_error
    )
    for image_id, image in images.items():
        size = facts.get(image.path, {}).get("size")
        if size is not None and tuple(size) != image.size:
            problems.append(
                f"{path}: images[{entries[image_id][0]}] (id {image_id}): {image.path} is "
                f"{size[0]}x{size[1]} pixels, the entry says {image.size[0]}x{image.size[1]}; "
                "correct width and height"
            )
    return problems


def _repeated_image_ids(path: Path, document: dict, indices: dict[int, list[int]]) -> list[str]:
    """A problem for each image entry that repeats an earlier entry's id, naming both entries
    and the annotations that point at the id (they cannot tell the images apart)."""
    repeated = [image_id for image_id, found in indices.items() if len(found) > 1]
    if not repeated:
        return []
    entries = document["images"]
    pointing: dict[int, list[int]] = {}  # looked up only here: rare, and a cost per box
    wanted = set(repeated)
    for i, annotation in enumerate(document["annotations"]):
        if isinstance(annotation, dict) and annotation.get("image_id") in wanted:
            pointing.setdefault(annotation["image_id"], []).append(i)
    problems = []
    for image_id in repeated:
        first, *repeats = indices[image_id]
        annotations = pointing.get(image_id, [])
        shown = ", ".join(map(str, annotations[:10])) + (", ..." if len(annotations) > 10 else "")
        which = f"; annotations [{shown}] point at id {image_id}" if annotations else ""
        for i in repeats:
            problems.append(
                f"{path}: images[{i}].id {image_id} repeats images[{first}].id "
                f"({entries[first]['file_name']!r} and {entries[i]['file_name']!r}): give each "
                f"image its own id{which}"
            )
    return problems


def read_coco(
    annotation_file: str | Path, image_dir: str | Path | None, cache: bool = True
) -> CocoSplit:
    """Read and check one ``instances_<split>.json``, reporting every problem at once.

    ``image_dir`` None reads the annotations alone (scoring needs no pixels): image files are
    then neither checked nor opened. Otherwise every image is decoded once, in full (cached in
    ``image_dir/.media_check.json``), and its size compared with the entry's.

    ``cache``: the checked annotations of a file without problems are kept beside it
    (``coco_cache.py``, keyed by the file's size, time and hash), so the next run reads them
    in a fraction of the time instead of parsing and checking the JSON again.

    Raises:
        DataValidationError: for a missing or unparsable file, missing top-level keys, images
            without an integer ``id`` or whose file is missing, truncated or of another size,
            duplicate image ids (naming both entries, and each annotation of such an id), and
            annotations with an unknown image or category id, an ``id`` that is missing, 0 or
            repeated (pycocotools keys annotations by id, and counts a match to id 0 as a
            false positive), a malformed or empty ``bbox``, or a box outside its image.
    """
    path = Path(annotation_file)
    if not path.is_file():
        raise DataValidationError(
            str(path),
            [f"{path}: file does not exist"],
            hint="Point data.init_args.root at the folder that holds annotations/ and the "
            "image folders (COCO's layout).",
        )
    split: CocoSplit
    with gc_paused():  # a million small objects, no cycles: see data/bulk.py
        if cache:
            classes = (CocoSplit, LabelledImage, CocoObject)
            split, problems = cached_annotations(path, check_annotations, classes)
        else:
            split, problems = check_annotations(path)
    if image_dir is not None:
        problems += _with_image_files(path, split, Path(image_dir))
    if problems:
        raise DataValidationError(str(path), problems, hint=_HINT)
    return split


_HINT = "Fix the annotation file or the images; nothing was loaded."


def _with_image_files(path: Path, split: CocoSplit, image_dir: Path) -> list[str]:
    """Point ``split``'s images into ``image_dir``; a problem for each missing file and for
    each that does not decode in full or whose size is not the one written."""
    present: dict[int, CocoImage] = {}
    problems = []
    for image in split.images:
        image_id = cast(int, image.image_id)  # COCO's ids: integers, checked on reading
        image.path = image_dir / image.path
        if image.path.is_file():
            present[image_id] = image
        else:
            problems.append(
                f"{path}: images[{split.entries[image_id]}] (id {image_id}): "
                f"{image.path} does not exist"
            )
    entries = {image_id: [index] for image_id, index in split.entries.items()}
    return problems + _check_image_files(path, image_dir, present, entries)


def _load_json(path: Path) -> dict:
    """The parsed file; a problem naming the line where it is not JSON.

    (orjson parses COCO's files 2x faster but reaches twice the resident memory of the
    standard library's parser, 16 bytes reserved per byte of input; the standard library's
    is what pycocotools uses.)
    """
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as error:
        problem = f"{path}:{error.lineno}: not JSON ({error.msg})"
        raise DataValidationError(str(path), [problem]) from None


def check_annotations(path: Path) -> tuple[CocoSplit, list[str]]:
    """What the annotation file alone says, checked: the split (image paths relative to the
    image folder) and every problem found (the split is incomplete when there are any).

    The loop over the annotations (860 k in COCO's training split) tests types with
    ``type(v) in ...`` and builds its messages only on a problem: it runs once per box.
    """
    document = _load_json(path)
    missing = [key for key in ("images", "annotations", "categories") if key not in document]
    if missing:
        raise DataValidationError(
            str(path), [f"{path}: missing top-level key {key!r}" for key in missing], hint=_HINT
        )
    problems: list[str] = []
    categories = {}
    for i, category in enumerate(document["categories"]):
        if not isinstance(category.get("id"), int) or "name" not in category:
            problems.append(f"{path}: categories[{i}] needs an integer 'id' and a 'name'")
            continue
        categories[category["id"]] = str(category["name"])
    images: dict[int, CocoImage] = {}
    entries: dict[int, list[int]] = {}  # image id -> its indices in "images" (one, if valid)
    for i, entry in enumerate(document["images"]):
        keys = ("id", "file_name", "width", "height")
        if any(key not in entry for key in keys):
            problems.append(f"{path}: images[{i}] needs the keys {', '.join(keys)}")
            continue
        image_id = entry["id"]
        if type(image_id) is not int:  # JSON's integers; a bool is not an id
            problems.append(f"{path}: images[{i}].id {image_id!r} is not an integer")
            continue
        entries.setdefault(image_id, []).append(i)
        if len(entries[image_id]) > 1:
            continue  # reported below, with the annotations that point at the id
        size = (int(entry["width"]), int(entry["height"]))
        images[image_id] = CocoImage(image_id, Path(entry["file_name"]), size)
    seen_ids: dict[object, int] = {}
    tol = BORDER_TOLERANCE
    for i, annotation in enumerate(document["annotations"]):
        annotation_id = annotation.get("id")
        if type(annotation_id) is not int or annotation_id == 0 or annotation_id in seen_ids:
            first = seen_ids.get(annotation_id) if type(annotation_id) is int else None
            what = f"repeats annotations[{first}].id" if first is not None else "is not valid"
            problems.append(
                f"{path}: annotations[{i}].id: {annotation_id!r} {what}: give every "
                "annotation its own non-zero integer id"
            )
            continue
        seen_ids[annotation_id] = i
        image_id = annotation.get("image_id")
        image = images.get(image_id)
        if image is None:
            if image_id not in entries:  # else the image's own problem is reported
                problems.append(f"{path}: annotations[{i}]: image_id {image_id!r} is not in images")
            continue
        category_id = annotation.get("category_id")
        if category_id not in categories:
            problems.append(
                f"{path}: annotations[{i}]: category_id {category_id!r} is not in categories"
            )
            continue
        bbox = annotation.get("bbox")
        if type(bbox) is not list or len(bbox) != 4:
            bbox_problem = "is not [x, y, width, height] numbers"
        else:
            x, y, w, h = bbox
            if not (type(x) in _NUMBERS and type(y) in _NUMBERS) or not (
                type(w) in _NUMBERS and type(h) in _NUMBERS
            ):
                bbox_problem = "is not [x, y, width, height] numbers"
            elif w <= 0 or h <= 0:
                bbox_problem = "has no area (width and height must be > 0)"
            else:
                width, height = image.size
                if x < -tol or y < -tol or x + w > width + tol or y + h > height + tol:
                    bbox_problem = f"lies outside the {width}x{height} image"
                else:
                    x, y, w, h = float(x), float(y), float(w), float(h)
                    image.objects.append(
                        CocoObject(
                            category_id,
                            (x, y, x + w, y + h),
                            float(annotation.get("area", w * h)),
                            bool(annotation.get("iscrowd", 0)),
                            (x, y, w, h),
                            annotation_id,
                        )
                    )
                    continue
        problems.append(f"{path}: annotations[{i}].bbox: {bbox!r} {bbox_problem}")
    problems += _repeated_image_ids(path, document, entries)
    first_entry = {image_id: indices[0] for image_id, indices in entries.items()}
    split = CocoSplit(
        dict(sorted(categories.items())), [images[k] for k in sorted(images)], first_entry
    )
    return split, problems
