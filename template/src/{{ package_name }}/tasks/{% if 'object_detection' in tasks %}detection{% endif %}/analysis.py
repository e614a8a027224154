"""The data-set analysis of a detection data set (KITTI or COCO): boxes, classes, and what
each format adds (KITTI's truncation, occlusion and DontCare regions; COCO's crowd
annotations)."""

from __future__ import annotations

import statistics
from collections import Counter

import numpy as np

from ...charts import bar_chart, histogram, progress, slide_axes, spread
from ...task import Analysis, Table
from .coco import CocoDataModule
from .kitti import KittiDataModule

# Per split, per image: the (class name, (left, top, right, bottom)) of each object counted.
Boxes = dict[str, list[list[tuple[str, tuple[float, float, float, float]]]]]


def analyze(data: KittiDataModule | CocoDataModule) -> Analysis:
    """The boxes of either format, and what the format adds (see the module's docstring)."""
    if isinstance(data, KittiDataModule):
        return analyze_kitti(data)
    return analyze_coco(data)


def analyze_boxes(title: str, boxes: Boxes) -> Analysis:
    """Objects per image, class balance, and box width, height and aspect ratio (w / h)."""
    # Counts, typed as the numbers the histogram takes.
    per_image: dict[str, list[float]] = {
        split: [len(image) for image in images] for split, images in boxes.items()
    }
    counts = {
        split: dict(sorted(Counter(name for image in images for name, _ in image).items()))
        for split, images in boxes.items()
    }
    widths: dict[str, list[float]] = {}
    heights: dict[str, list[float]] = {}
    for images in boxes.values():
        for image in images:
            for name, (left, top, right, bottom) in image:
                widths.setdefault(name, []).append(right - left)
                heights.setdefault(name, []).append(bottom - top)
    aspects = {
        name: [w / h for w, h in zip(widths[name], heights[name], strict=True) if h > 0]
        for name in widths
    }
    numbers = {
        "images": {split: len(images) for split, images in boxes.items()},
        "objects": {split: sum(values) for split, values in per_image.items()},
        "objects_per_image": {
            split: {str(k): v for k, v in sorted(Counter(values).items())}
            for split, values in per_image.items()
        },
        "per_class": counts,
        "box_width": {name: spread(values) for name, values in sorted(widths.items())},
        "box_height": {name: spread(values) for name, values in sorted(heights.items())},
        "box_aspect": {name: spread(values) for name, values in sorted(aspects.items())},
    }
    splits = list(boxes)
    classes = sorted(widths)
    tables: list[Table] = [
        (
            "Objects per class",
            ["class", *splits, "median width", "median height", "median w / h"],
            [
                [
                    name,
                    *(counts[s].get(name, 0) for s in splits),
                    f"{statistics.median(widths[name]):.1f}",
                    f"{statistics.median(heights[name]):.1f}",
                    f"{statistics.median(aspects[name]):.2f}" if aspects[name] else "-",
                ]
                for name in classes
            ],
        ),
        (
            "Images and objects",
            ["split", "images", "objects", "objects per image (mean)", "images without objects"],
            [
                [
                    s,
                    len(per_image[s]),
                    sum(per_image[s]),
                    f"{sum(per_image[s]) / max(len(per_image[s]), 1):.2f}",
                    per_image[s].count(0),
                ]
                for s in splits
            ],
        ),
    ]
    figures = [
        (
            "objects_per_image",
            histogram([("objects in the image", per_image)], "Objects per image", integer=True),
        ),
        ("class_balance", bar_chart(counts, "Objects per class", "objects")),
    ]
    figure, (size_axes, aspect_axes) = slide_axes(2)
    for name in classes:
        size_axes.scatter(widths[name], heights[name], s=80, alpha=0.6, label=name)
    size_axes.set_xlabel("box width (pixels)")
    size_axes.set_ylabel("box height (pixels)")
    size_axes.legend()
    aspect_axes.hist([aspects[name] for name in classes], bins=30, label=classes, stacked=True)
    aspect_axes.set_xlabel("aspect ratio (width / height)")
    aspect_axes.set_ylabel("boxes")
    aspect_axes.legend()
    figure.suptitle("Box sizes and shapes")
    figures.append(("box_sizes", figure))
    return Analysis(title, numbers, tables, figures)


def analyze_kitti(data: KittiDataModule) -> Analysis:
    """KITTI boxes (DontCare regions counted apart), truncation and occlusion levels."""
    images = data.index.training
    splits = {"train": data.train_ids, "val": data.val_ids}
    boxes: Boxes = {}
    dont_care: dict[str, int] = {}
    truncated: list[float] = []
    occluded: Counter[int] = Counter()
    for split, ids in splits.items():
        boxes[split], dont_care[split] = [], 0
        for image_id in progress(ids, f"Reading {split} labels"):
            kept = []
            for obj in images[image_id].objects:
                if obj.type == "DontCare":
                    dont_care[split] += 1
                    continue
                kept.append((obj.type, obj.box))
                truncated.append(obj.truncated)
                occluded[obj.occluded] += 1
            boxes[split].append(kept)
    analysis = analyze_boxes(f"KITTI object detection: {data.hparams.root}", boxes)
    levels = ["fully visible", "partly occluded", "largely occluded", "unknown"]
    analysis.numbers["dont_care_regions"] = dont_care
    analysis.numbers["occluded"] = {levels[k]: occluded.get(k, 0) for k in range(4)}
    analysis.numbers["truncated_share"] = round(
        sum(t > 0 for t in truncated) / max(len(truncated), 1), 4
    )
    analysis.tables.append(
        (
            "Occlusion and truncation (all labelled objects but DontCare)",
            ["level", "objects"],
            [
                *([level, occluded.get(k, 0)] for k, level in enumerate(levels)),
                ["truncated (any amount)", sum(t > 0 for t in truncated)],
            ],
        )
    )
    figure, (occlusion_axes, truncation_axes) = slide_axes(2)
    occlusion_axes.bar(levels, [occluded.get(k, 0) for k in range(4)])
    occlusion_axes.set_ylabel("objects")
    occlusion_axes.set_title("Occlusion level")
    occlusion_axes.tick_params(axis="x", rotation=20)
    truncation_axes.hist(truncated, bins=np.linspace(0, 1, 11).tolist())
    truncation_axes.set_xlabel("truncated share of the object")
    truncation_axes.set_ylabel("objects")
    truncation_axes.set_title("Truncation")
    analysis.figures.append(("occlusion_truncation", figure))
    return analysis


def analyze_coco(data: CocoDataModule) -> Analysis:
    """COCO boxes (crowd annotations counted apart) and the share of crowd annotations."""
    boxes: Boxes = {}
    crowd: dict[str, int] = {}
    for split, coco in data.splits.items():
        names = coco.categories
        boxes[split], crowd[split] = [], 0
        for image in progress(coco.images, f"Reading {split} annotations"):
            boxes[split].append(
                [(names[o.category_id], o.box) for o in image.objects if not o.iscrowd]
            )
            crowd[split] += sum(o.iscrowd for o in image.objects)
    analysis = analyze_boxes(f"COCO-format detection: {data.hparams.root}", boxes)
    objects = analysis.numbers["objects"]
    analysis.numbers["crowd_annotations"] = crowd
    analysis.numbers["crowd_share"] = {
        split: round(crowd[split] / max(crowd[split] + objects[split], 1), 4) for split in boxes
    }
    analysis.tables.append(
        (
            "Crowd annotations (ignored by COCO's evaluation)",
            ["split", "crowd annotations", "share of all annotations"],
            [[s, crowd[s], f"{analysis.numbers['crowd_share'][s]:.1%}"] for s in boxes],
        )
    )
    return analysis
