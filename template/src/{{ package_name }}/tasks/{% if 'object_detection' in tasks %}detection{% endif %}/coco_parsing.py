"""COCO annotation files, read and checked: categories, images and their objects.

Each annotation file is checked once, up front, and every problem is reported with its file and
key (e.g. ``annotations[12].bbox``). Numbers stay as written (Python floats, float64), so the
metric sees the file's own values.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ...data.errors import DataValidationError
from ...data.media import check_media, decode_image, describe_image_error
from .labelled import LabelledImage
from .transforms import BORDER_TOLERANCE


@dataclass(frozen=True)
class CocoObject:
    """One annotation: category id (COCO's), box (left, top, right, bottom), area, crowd.

    ``bbox`` is the ``[x, y, width, height]`` as written and ``annotation_id`` the file's id:
    the evaluation uses them, not ``box`` (``(x + w) - x`` need not equal ``w`` in floats).
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
    """What :func:`read_coco` found: categories (id -> name, in id order) and images."""

    categories: dict[int, str]
    images: list[CocoImage]

    @property
    def image_ids(self) -> set[int]:
        return {int(image.image_id) for image in self.images}  # COCO's ids are ints


def _number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _integer(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


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


def _repeated_image_ids(
    path: Path, entries: list[dict], indices: dict[int, list[int]], pointing: dict[int, list[int]]
) -> list[str]:
    """A problem for each image entry that repeats an earlier entry's id, naming both entries
    and the annotations that point at the id (they cannot tell the images apart)."""
    problems = []
    for image_id, (first, *repeats) in indices.items():
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


def read_coco(annotation_file: str | Path, image_dir: str | Path | None) -> CocoSplit:
    """Read and check one ``instances_<split>.json``, reporting every problem at once.

    ``image_dir`` None reads the annotations alone (scoring needs no pixels): image files are
    then neither checked nor opened. Otherwise every image is decoded once, in full (cached in
    ``image_dir/.media_check.json``), and its size compared with the entry's.

    Raises:
        DataValidationError: for a missing or unparsable file, missing top-level keys, images
            without an integer ``id`` or whose file is missing, truncated or of another size,
            duplicate image ids (naming both entries, and each annotation of such an id), and
            annotations with an unknown image or category id, an ``id`` that is missing, 0 or
            repeated (pycocotools keys annotations by id, and counts a match to id 0 as a
            false positive), a malformed or empty ``bbox``, or a box outside its image.
    """
    path = Path(annotation_file)
    hint = "Fix the annotation file or the images; nothing was loaded."
    if not path.is_file():
        raise DataValidationError(
            str(path),
            [f"{path}: file does not exist"],
            hint="Point data.init_args.root at the folder that holds annotations/ and the "
            "image folders (COCO's layout).",
        )
    try:
        document = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        problem = f"{path}:{error.lineno}: not JSON ({error.msg})"
        raise DataValidationError(str(path), [problem]) from None
    missing = [key for key in ("images", "annotations", "categories") if key not in document]
    if missing:
        raise DataValidationError(
            str(path), [f"{path}: missing top-level key {key!r}" for key in missing], hint=hint
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
        if not _integer(image_id):
            problems.append(f"{path}: images[{i}].id {image_id!r} is not an integer")
            continue
        entries.setdefault(image_id, []).append(i)
        if len(entries[image_id]) > 1:
            continue  # reported below, with the annotations that point at the id
        file = Path(image_dir or ".") / entry["file_name"]
        if image_dir is not None and not file.is_file():
            problems.append(f"{path}: images[{i}] (id {image_id}): {file} does not exist")
            continue
        images[image_id] = CocoImage(image_id, file, (int(entry["width"]), int(entry["height"])))
    if image_dir is not None:
        problems += _check_image_files(path, image_dir, images, entries)
    seen_ids: dict[object, int] = {}
    pointing: dict[int, list[int]] = {}  # image id -> the annotations that point at it
    for i, annotation in enumerate(document["annotations"]):
        where = f"{path}: annotations[{i}]"
        annotation_id = annotation.get("id")
        if not _integer(annotation_id) or annotation_id == 0 or annotation_id in seen_ids:
            first = seen_ids.get(annotation_id) if _integer(annotation_id) else None
            what = f"repeats annotations[{first}].id" if first is not None else "is not valid"
            problems.append(
                f"{where}.id: {annotation_id!r} {what}: give every annotation its own non-zero "
                "integer id"
            )
            continue
        seen_ids[annotation_id] = i
        image_id = annotation.get("image_id")
        if image_id in entries:
            pointing.setdefault(image_id, []).append(i)
        image = images.get(image_id)
        if image is None:
            if image_id not in entries:  # else the image's own problem is reported
                problems.append(f"{where}: image_id {image_id!r} is not in images")
            continue
        if annotation.get("category_id") not in categories:
            problems.append(
                f"{where}: category_id {annotation.get('category_id')!r} is not in categories"
            )
            continue
        bbox = annotation.get("bbox")
        if not isinstance(bbox, list) or len(bbox) != 4 or not all(map(_number, bbox)):
            problems.append(f"{where}.bbox: {bbox!r} is not [x, y, width, height] numbers")
            continue
        x, y, w, h = (float(v) for v in bbox)
        width, height = image.size
        if w <= 0 or h <= 0:
            problems.append(f"{where}.bbox: {bbox} has no area (width and height must be > 0)")
            continue
        tol = BORDER_TOLERANCE
        if x < -tol or y < -tol or x + w > width + tol or y + h > height + tol:
            problems.append(f"{where}.bbox: {bbox} lies outside the {width}x{height} image")
            continue
        image.objects.append(
            CocoObject(
                annotation["category_id"],
                (x, y, x + w, y + h),
                float(annotation.get("area", w * h)),
                bool(annotation.get("iscrowd", 0)),
                (x, y, w, h),
                annotation_id,
            )
        )
    problems += _repeated_image_ids(path, document["images"], entries, pointing)
    if problems:
        raise DataValidationError(str(path), problems, hint=hint)
    return CocoSplit(dict(sorted(categories.items())), [images[k] for k in sorted(images)])
