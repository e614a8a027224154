"""The sample data set of image classification: scikit-learn's handwritten digits, written as
PNGs in the image-folder layout (``python -m <package>.data.samples digits <folder>``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from ...task import SampleSpec, new_sample_folder


def write_digits_imagefolder(
    root: str | Path,
    *,
    per_class: int | None = None,
    val_fraction: float = 0.15,
    test_fraction: float = 0.15,
    seed: int = 0,
) -> Path:
    """Write scikit-learn's 1,797 handwritten digits as PNGs in the ImageFolder layout.

    Layout: ``root/{train,val,test}/<digit>/<index>.png`` (8x8 grayscale, as scanned).
    Each class is split on its own, so every split holds every digit.

    Args:
        root: folder to create (must not hold a data set already).
        per_class: keep at most this many images per digit (tiny sets for tests).
        val_fraction: share of each class written to ``val/``.
        test_fraction: share of each class written to ``test/``.
        seed: seed of the shuffle that assigns images to splits.
    Returns:
        ``root`` as a Path.
    """
    from sklearn.datasets import load_digits  # the images ship inside scikit-learn

    root = new_sample_folder(root)
    digits = load_digits()
    # The scans hold values 0..16; stretch them to the full 8-bit range of a PNG.
    images = (digits.images * (255.0 / 16.0)).round().astype(np.uint8)
    rng = np.random.default_rng(seed)
    for label in range(10):
        indices = rng.permutation(np.flatnonzero(digits.target == label))
        if per_class is not None:
            indices = indices[:per_class]
        n_val = max(1, round(len(indices) * val_fraction))
        n_test = max(1, round(len(indices) * test_fraction))
        splits = {
            "val": indices[:n_val],
            "test": indices[n_val : n_val + n_test],
            "train": indices[n_val + n_test :],
        }
        for split, split_indices in splits.items():
            folder = root / split / str(label)
            folder.mkdir(parents=True, exist_ok=True)
            for index in split_indices:
                Image.fromarray(images[index]).save(folder / f"{index:04d}.png")
    return root


SAMPLES = SampleSpec({"digits": write_digits_imagefolder}, per_class="images per class")
