"""The sample data sets of object detection: synthetic street-like scenes of drawn shapes, in
KITTI's layout (``kitti-shapes``) and in COCO's (``coco-shapes``); write them with
``python -m <package>.data.samples kitti-shapes <folder>``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from ...task import SampleSpec, new_sample_folder


def _draw_shape(
    draw: ImageDraw.ImageDraw, kind: str, box: tuple[int, int, int, int], rng: np.random.Generator
) -> None:
    """Car: a wide box with two wheels; Pedestrian: a tall bar with a head; Cyclist: a ring."""
    left, top, right, bottom = box
    shade = int(rng.integers(0, 60))
    if kind == "Car":
        body = (200 + shade // 2, 40 + shade, 40)
        draw.rectangle((left, top, right, bottom - (bottom - top) // 4), fill=body)
        wheel = (bottom - top) // 4
        for x in (left + wheel, right - 2 * wheel):
            draw.ellipse((x, bottom - 2 * wheel, x + wheel, bottom - wheel), fill=(20, 20, 20))
            draw.rectangle((x, bottom - wheel, x + wheel, bottom), fill=(20, 20, 20))
    elif kind == "Pedestrian":
        head = max(3, (right - left) // 2)
        middle = (left + right) // 2
        draw.ellipse((middle - head, top, middle + head, top + 2 * head), fill=(230, 190, 150))
        draw.rectangle((left, top + 2 * head, right, bottom), fill=(40, 60, 200 + shade // 2))
    else:
        width = max(3, (right - left) // 6)
        draw.ellipse((left, top, right, bottom), outline=(30, 170 + shade, 60), width=width)


def _overlaps(box: tuple[int, int, int, int], boxes: list[tuple[int, int, int, int]]) -> bool:
    left, top, right, bottom = box
    return any(
        left < x2 + 4 and x1 < right + 4 and top < y2 + 4 and y1 < bottom + 4
        for x1, y1, x2, y2 in boxes
    )


# The sample scenes: each class is a shape a small detector can learn to tell apart.
KITTI_SAMPLE_CLASSES = ("Car", "Pedestrian", "Cyclist")
# Height range in pixels of each class's shape: every one is above the 25 px of KITTI's
# Moderate level, about half above the 40 px of Easy. And its width as a share of its height.
_SHAPE_HEIGHTS = {"Car": (26, 44), "Pedestrian": (30, 56), "Cyclist": (26, 48)}
_SHAPE_ASPECT = {"Car": (1.6, 2.2), "Pedestrian": (0.35, 0.5), "Cyclist": (0.9, 1.1)}
# How many of the three classes' shapes a scene holds, and how often.
_OBJECTS_PER_SCENE = ((1, 2, 3), (0.3, 0.35, 0.35))
# Every tenth scene is empty (an empty KITTI label file, a COCO image without annotations).
_EMPTY_EVERY = 10


def _draw_scene(
    rng: np.random.Generator, width: int, height: int, empty: bool = False
) -> tuple[Image.Image, list[tuple[str, tuple[int, int, int, int]]]]:
    """A noisy road-coloured scene with 1 to 3 shapes, sometimes a Van and a DontCare region
    (``empty``: the road alone).

    Returns the image and its objects as (KITTI type, (left, top, right, bottom)).
    """
    base = rng.normal(110, 12, size=(height, width, 3)).clip(0, 255).astype(np.uint8)
    image = Image.fromarray(base, "RGB")
    draw = ImageDraw.Draw(image)
    objects: list[tuple[str, tuple[int, int, int, int]]] = []
    if empty:
        return image, objects
    counts, shares = _OBJECTS_PER_SCENE
    kinds = list(rng.choice(KITTI_SAMPLE_CLASSES, size=int(rng.choice(counts, p=shares))))
    if rng.random() < 0.1:
        kinds.append("Van")
    if rng.random() < 0.1:
        kinds.append("DontCare")
    for kind in kinds:
        shape = "Car" if kind in ("Van", "DontCare") else str(kind)
        low, high = _SHAPE_HEIGHTS[shape]
        for _ in range(20):  # a few tries to place it without touching another object
            box_height = int(rng.integers(low, min(high, height) + 1))
            box_width = min(int(box_height * rng.uniform(*_SHAPE_ASPECT[shape])), width - 1)
            left = int(rng.integers(0, width - box_width))
            top = int(rng.integers(0, height - box_height + 1))
            box = (left, top, left + box_width, top + box_height)
            if not _overlaps(box, [b for _, b in objects]):
                break
        else:
            continue
        if kind == "DontCare":
            draw.rectangle(box, fill=(150, 150, 150))
        elif kind == "Van":
            draw.rectangle(box, fill=(230, 230, 60))
        else:
            _draw_shape(draw, str(kind), box, rng)
        objects.append((str(kind), box))
    return image, objects


def write_shapes_kitti(
    root: str | Path,
    *,
    per_class: int | None = None,
    n_training: int = 300,
    n_testing: int = 20,
    image_size: tuple[int, int] = (192, 64),
    seed: int = 0,
) -> Path:
    """Write synthetic street-like scenes in the KITTI object-detection layout.

    Layout (as KITTI ships it)::

        root/training/image_2/000000.png   root/training/label_2/000000.txt
        root/testing/image_2/000000.png    (no labels, as in KITTI)

    Each scene holds 1 to 3 drawn objects on a noisy road-coloured background: Car (a wide
    box on wheels), Pedestrian (a tall bar with a head), Cyclist (a ring). Label lines have
    KITTI's 15 fields; the 3D fields are unknown here and hold KITTI's placeholders (-1,
    -1000, -10). Some scenes carry a DontCare region (drawn grey) and a Van (drawn like a car
    in another colour), so the evaluation's ignore rules are exercised. Every tenth label file
    is empty, which KITTI allows.

    Args:
        root: folder to create (must not hold a data set already).
        per_class: when given, write about this many objects per class in total (tiny sets
            for tests) instead of ``n_training`` scenes.
        n_training: number of labelled scenes in ``training/``.
        n_testing: number of unlabelled scenes in ``testing/``.
        image_size: (width, height) in pixels.
        seed: seed of everything drawn.
    Returns:
        ``root`` as a Path.
    """
    root = new_sample_folder(root)
    if per_class is not None:
        n_training = max(4, per_class * len(KITTI_SAMPLE_CLASSES) // 2)
        n_testing = min(n_testing, 4)
    rng = np.random.default_rng(seed)
    width, height = image_size
    for split, count in (("training", n_training), ("testing", n_testing)):
        (root / split / "image_2").mkdir(parents=True, exist_ok=True)
        if split == "training":
            (root / split / "label_2").mkdir(parents=True, exist_ok=True)
        for index in range(count):
            image, objects = _draw_scene(rng, width, height, index % _EMPTY_EVERY == 5)
            name = f"{index:06d}"
            image.save(root / split / "image_2" / f"{name}.png")
            if split == "training":
                lines = [
                    f"{kind} {'-1 -1' if kind == 'DontCare' else '0.00 0'} -10 "
                    f"{box[0]:.2f} {box[1]:.2f} {box[2]:.2f} {box[3]:.2f}"
                    " -1 -1 -1 -1000 -1000 -1000 -10"
                    for kind, box in objects
                ]
                text = "".join(line + "\n" for line in lines)
                (root / split / "label_2" / f"{name}.txt").write_text(text)
    return root


# COCO categories of the sample (COCO's own ids, not contiguous): the shapes' KITTI types map
# to them; DontCare regions become crowd annotations of "car".
COCO_SAMPLE_CATEGORIES = {"Pedestrian": (1, "person"), "Cyclist": (2, "bicycle"), "Car": (3, "car")}
COCO_SAMPLE_CATEGORIES["Van"] = (8, "truck")


def write_shapes_coco(
    root: str | Path,
    *,
    per_class: int | None = None,
    n_train: int = 240,
    n_val: int = 60,
    image_size: tuple[int, int] = (192, 64),
    seed: int = 0,
) -> Path:
    """Write the same kind of synthetic scenes as :func:`write_shapes_kitti` in COCO's layout.

    Layout (as COCO 2017 ships it)::

        root/annotations/instances_train2017.json   root/train2017/000000000000.jpg
        root/annotations/instances_val2017.json     root/val2017/000000000000.jpg

    Categories keep COCO's non-contiguous ids (person 1, bicycle 2, car 3, truck 8); boxes are
    ``[x, y, width, height]`` with their ``area``; DontCare regions are ``iscrowd: 1``
    annotations. Every tenth image is a grayscale JPEG, as in COCO; images without objects
    have no annotations.

    Args:
        root: folder to create (must not hold a data set already).
        per_class: when given, write about this many objects per class in total (tiny sets
            for tests) instead of ``n_train`` and ``n_val`` images.
        n_train: images in ``train2017``.
        n_val: images in ``val2017``.
        image_size: (width, height) in pixels.
        seed: seed of everything drawn.
    Returns:
        ``root`` as a Path.
    """
    root = new_sample_folder(root)
    if per_class is not None:
        n_train = max(4, per_class * len(KITTI_SAMPLE_CLASSES) // 2)
        n_val = max(2, n_train // 3)
    rng = np.random.default_rng(seed)
    width, height = image_size
    categories = [
        {"id": category_id, "name": name, "supercategory": "road"}
        for category_id, name in sorted(COCO_SAMPLE_CATEGORIES.values())
    ]
    (root / "annotations").mkdir(parents=True, exist_ok=True)
    annotation_id = 1
    for split, count in (("train2017", n_train), ("val2017", n_val)):
        (root / split).mkdir(parents=True, exist_ok=True)
        images, annotations = [], []
        for index in range(count):
            image, objects = _draw_scene(rng, width, height, index % _EMPTY_EVERY == 5)
            image_id = index + 1
            name = f"{image_id:012d}.jpg"
            (image.convert("L") if index % 10 == 9 else image).save(root / split / name, quality=95)
            images.append({"id": image_id, "file_name": name, "width": width, "height": height})
            for kind, (left, top, right, bottom) in objects:
                crowd = kind == "DontCare"
                category_id = COCO_SAMPLE_CATEGORIES["Car" if crowd else kind][0]
                box_width, box_height = right - left, bottom - top
                annotations.append(
                    {
                        "id": annotation_id,
                        "image_id": image_id,
                        "category_id": category_id,
                        "bbox": [left, top, box_width, box_height],
                        "area": box_width * box_height,
                        "iscrowd": int(crowd),
                    }
                )
                annotation_id += 1
        document = {"images": images, "annotations": annotations, "categories": categories}
        (root / "annotations" / f"instances_{split}.json").write_text(json.dumps(document))
    return root


SAMPLES = SampleSpec(
    {"kitti-shapes": write_shapes_kitti, "coco-shapes": write_shapes_coco},
    per_class="about this many objects per class",
)
