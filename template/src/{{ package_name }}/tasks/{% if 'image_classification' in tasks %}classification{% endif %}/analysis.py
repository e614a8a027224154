"""The data-set analysis of an image folder: images per class and split, image sizes."""

from __future__ import annotations

from collections import Counter

import numpy as np
from PIL import Image

from ...charts import bar_chart, progress, slide_axes, spread
from ...task import Analysis
from .imagefolder import ImageFolderDataModule


def analyze(data: ImageFolderDataModule) -> Analysis:
    """Images per class and split (the split the DataModule uses), and image sizes in pixels."""
    names = data.class_names
    splits = data.index.splits
    counts = {split: dict.fromkeys(names, 0) for split in splits}
    sizes: Counter[tuple[int, int]] = Counter()
    samples = [(split, sample) for split, members in splits.items() for sample in members]
    for split, sample in progress(samples, "Reading image sizes"):
        counts[split][names[sample.label]] += 1
        with Image.open(sample.path) as image:  # reads the header only
            sizes[image.size] += 1
    widths = [w for (w, _), n in sizes.items() for _ in range(n)]
    heights = [h for (_, h), n in sizes.items() for _ in range(n)]
    train = [n for n in counts["train"].values()]
    numbers = {
        "classes": names,
        "images": {split: sum(values.values()) for split, values in counts.items()},
        "per_class": counts,
        "imbalance": round(max(train) / max(min(train), 1), 4),  # largest / smallest class
        "width": spread(widths),
        "height": spread(heights),
        "sizes": {f"{w}x{h}": n for (w, h), n in sizes.most_common(20)},
    }
    tables = [
        (
            "Images per class",
            ["class", *splits],
            [[n, *(counts[s][n] for s in splits)] for n in names],
        ),
        (
            "Most common image sizes",
            ["width x height", "images"],
            [[f"{w} x {h}", n] for (w, h), n in sizes.most_common(10)],
        ),
    ]
    figure, (axes,) = slide_axes()
    points = np.array([(w, h, n) for (w, h), n in sizes.items()], dtype=float)
    axes.scatter(points[:, 0], points[:, 1], s=40 + 400 * points[:, 2] / points[:, 2].max())
    axes.set_xlabel("width (pixels)")
    axes.set_ylabel("height (pixels)")
    axes.set_title("Image sizes (marker area: number of images)")
    figures = [
        ("class_balance", bar_chart(counts, "Images per class", "images")),
        ("image_sizes", figure),
    ]
    return Analysis(f"Image folders: {data.hparams.root}", numbers, tables, figures)
