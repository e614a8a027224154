"""KITTI's files, read and checked: label lines, the image tree, and train / val id lists.

::

    root/training/image_2/000000.png   root/training/label_2/000000.txt
    root/testing/image_2/000000.png    (KITTI ships no test labels)

(torchvision's download layout ``root/Kitti/raw/training/...`` is found too.) A label line has
15 space-separated fields: type, truncated, occluded, alpha, left, top, right, bottom, height,
width, length, x, y, z, rotation_y; result files add a 16th, the score. Empty label files are
valid (no objects). Every bad file and line is reported with its path and line number, all at
once.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...data.errors import DataValidationError
from ...data.media import check_media, decode_image, describe_image_error
from .kitti_lines import KittiObject
from .labelled import LabelledImage
from .transforms import BORDER_TOLERANCE

# Every object type of the KITTI labels.
KITTI_TYPES = (
    "Car",
    "Van",
    "Truck",
    "Pedestrian",
    "Person_sitting",
    "Cyclist",
    "Tram",
    "Misc",
    "DontCare",
)
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg")


def type_table(class_names: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """Object types as numbers for tensors: KITTI's types, then any extra configured class."""
    return tuple(dict.fromkeys([*KITTI_TYPES, *class_names]))


def parse_label_line(line: str, with_score: bool = False) -> KittiObject:
    """Parse one label line (15 fields) or result line (16 fields, ``with_score``).

    Raises:
        ValueError: saying which field is wrong and what was expected.
    """
    fields = line.split()
    expected = 16 if with_score else 15
    if len(fields) != expected:
        kind = "result" if with_score else "label"
        raise ValueError(
            f"{len(fields)} fields, expected {expected} in a KITTI {kind} line (type, truncated, "
            "occluded, alpha, left, top, right, bottom, height, width, length, x, y, z, "
            f"rotation_y{', score' if with_score else ''})"
        )
    names = (
        *("truncated", "occluded", "alpha", "left", "top", "right", "bottom"),
        *("height", "width", "length", "x", "y", "z", "rotation_y", "score"),
    )
    values = []
    for index, text in enumerate(fields[1:], start=2):
        try:
            values.append(float(text))
        except ValueError:
            name = names[index - 2]
            raise ValueError(f"{name} (field {index}) is {text!r}, not a number") from None
    truncated, occluded, alpha, left, top, right, bottom = values[:7]
    # A result line may hold an empty box: the devkit scores it (it overlaps nothing and is
    # lower than every level's minimum height, so it is ignored), and so does `score kitti`.
    if not with_score and not (left < right and top < bottom):
        raise ValueError(
            f"box ({left}, {top}, {right}, {bottom}) is empty: need left < right and top < bottom"
        )
    return KittiObject(
        type=fields[0],
        box=(left, top, right, bottom),
        truncated=truncated,
        occluded=int(occluded),
        alpha=alpha,
        score=values[14] if with_score else 1.0,
    )


def read_label_file(
    path: Path,
    image_size: tuple[int, int] | None = None,
    known_types: tuple[str, ...] | None = KITTI_TYPES,
    with_score: bool = False,
) -> tuple[list[KittiObject], list[str]]:
    """The objects of one label (or result) file, and a problem line for each bad line.

    Numbers are parsed to Python floats (float64) and stay so up to the evaluation: the
    devkit compares truncation 0.15 and heights like 64.04 - 24.04 in double precision.

    Args:
        path: the ``.txt`` file.
        image_size: (width, height) of its image, to check that boxes lie inside it.
        known_types: accepted object types (None: any, as the devkit reads result files).
        with_score: a result file (16 fields).
    """
    objects, problems = [], []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            obj = parse_label_line(line, with_score)
        except ValueError as error:
            problems.append(f"{where}: {error}")
            continue
        if known_types is not None and obj.type not in known_types:
            problems.append(
                f"{where}: unknown class {obj.type!r}; expected one of {', '.join(known_types)} "
                "(add it to data.init_args.classes to train on it)"
            )
            continue
        if image_size is not None:
            width, height = image_size
            left, top, right, bottom = obj.box
            tol = BORDER_TOLERANCE
            if left < -tol or top < -tol or right > width + tol or bottom > height + tol:
                problems.append(
                    f"{where}: box ({left}, {top}, {right}, {bottom}) lies outside the "
                    f"{width}x{height} image; clip it to the image or fix the coordinates"
                )
                continue
        objects.append(obj)
    return objects, problems


# One image: its id (file stem), path, size (width, height) and labelled objects.
KittiImage = LabelledImage  # image_id: str (the file stem), objects: KittiObject


@dataclass
class KittiIndex:
    """What :func:`scan_kitti` found: labelled training images, and unlabelled test images."""

    root: Path
    training: dict[str, KittiImage]
    testing: list[KittiImage]


def find_split_dir(root: Path, split: str) -> Path | None:
    """``root/<split>``, or torchvision's ``root/Kitti/raw/<split>`` / ``root/raw/<split>``."""
    for candidate in (root / split, root / "Kitti" / "raw" / split, root / "raw" / split):
        if (candidate / "image_2").is_dir():
            return candidate
    return None


def images_in(folder: Path) -> dict[str, Path]:
    """The image files directly in ``folder``, by id (the file name without extension)."""
    return {
        p.stem: p
        for p in sorted(folder.iterdir())
        if p.suffix.lower() in IMAGE_EXTENSIONS and not p.name.startswith(".")
    }


def image_sizes(paths: list[Path], root: Path) -> tuple[dict[Path, tuple[int, int]], list[str]]:
    """Decode every image once (cached, ``data.media.check_media``):
    its (width, height), and a problem line per file that does not decode in full."""
    facts, problems = check_media(paths, decode_image, root, "images", describe_image_error)
    return {path: tuple(fact["size"]) for path, fact in facts.items()}, problems


def scan_kitti(root: str | Path, classes: list[str] | tuple[str, ...] = ()) -> KittiIndex:
    """Index a KITTI tree and check every label line, reporting all problems at once.

    Raises:
        DataValidationError: listing every missing folder, image without a label file, label
            file without an image, unreadable image, and bad label line (wrong field count,
            non-numeric value, empty box, box outside the image, unknown class) with its path
            and line number.
    """
    root = Path(root)
    hint = "Fix these files; nothing was loaded. Layout: root/training/{image_2,label_2}/."
    training = find_split_dir(root, "training")
    if training is None:
        raise DataValidationError(
            str(root),
            [f"{root / 'training' / 'image_2'}: folder does not exist"],
            hint="Point data.init_args.root at the folder that holds training/image_2 and "
            "training/label_2 (KITTI's object detection layout).",
        )
    problems: list[str] = []
    label_dir = training / "label_2"
    if not label_dir.is_dir():
        problems.append(f"{label_dir}: folder does not exist; KITTI's labels go there")
    images = images_in(training / "image_2")
    labels = {p.stem: p for p in sorted(label_dir.glob("*.txt"))} if label_dir.is_dir() else {}
    if not images:
        problems.append(f"{training / 'image_2'}: holds no images (.png or .jpg)")
    for image_id in sorted(set(images) - set(labels)):
        problems.append(
            f"{images[image_id]}: image without a label file; add {label_dir / image_id}.txt "
            "(empty if the image holds no objects)"
        )
    for image_id in sorted(set(labels) - set(images)):
        problems.append(f"{labels[image_id]}: label file without an image in {training}/image_2")
    known = type_table(classes)
    ids = sorted(set(images) & set(labels))
    found: dict[str, KittiImage] = {}
    testing_dir = find_split_dir(root, "testing")
    testing_images = images_in(testing_dir / "image_2") if testing_dir is not None else {}
    sizes, image_problems = image_sizes(
        [images[i] for i in ids] + list(testing_images.values()), root
    )
    problems += image_problems
    for image_id in ids:
        size = sizes.get(images[image_id])
        if size is None:
            continue
        objects, line_problems = read_label_file(labels[image_id], size, known)
        problems += line_problems
        found[image_id] = KittiImage(image_id, images[image_id], size, objects)
    testing = [
        KittiImage(image_id, path, sizes[path])
        for image_id, path in testing_images.items()
        if path in sizes
    ]
    if problems:
        raise DataValidationError(str(root), problems, hint=hint)
    return KittiIndex(root=root, training=found, testing=testing)


def read_split_file(path: Path, known_ids: set[str]) -> tuple[list[str], list[str]]:
    """Ids listed in ``path`` (one a line), and a problem for each id that is not an image."""
    ids, problems = [], []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        image_id = line.strip()
        if not image_id:
            continue
        if image_id not in known_ids:
            problems.append(f"{path}:{number}: id {image_id!r} is not an image in training/")
        ids.append(image_id)
    return ids, problems


def split_ids(
    ids: list[str], val_fraction: float, seed: int, split_dir: str | Path | None = None
) -> tuple[list[str], list[str]]:
    """Training and validation ids: from ``split_dir/{train,val}.txt``, else a seeded split."""
    if split_dir is not None:
        split_dir = Path(split_dir)
        problems: list[str] = []
        result: list[list[str]] = []  # the train ids, then the val ids
        for name in ("train.txt", "val.txt"):
            path = split_dir / name
            if not path.is_file():
                problems.append(f"{path}: split file does not exist (one image id a line)")
                result.append([])
                continue
            listed, bad = read_split_file(path, set(ids))
            problems += bad
            result.append(listed)
        overlap = sorted(set(result[0]) & set(result[1]))
        if overlap:
            problems.append(f"{split_dir}: ids in both train.txt and val.txt: {overlap[:10]}")
        if problems:
            raise DataValidationError(str(split_dir), problems)
        return result[0], result[1]
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must lie strictly between 0 and 1, got {val_fraction}")
    order = np.random.default_rng(seed).permutation(len(ids))
    n_val = max(1, round(len(ids) * val_fraction))
    val = sorted(ids[i] for i in order[:n_val])
    train = sorted(ids[i] for i in order[n_val:])
    return train, val
