"""Reading COCO's annotations at full size: this project's reader beside pycocotools.

    python -m <package>.benchmark coco-scale [--images 118287 --boxes 860001 ...]

Writes a synthetic ``instances_train2017.json`` the size of COCO 2017's training split
(118,287 images, 860,001 boxes, 80 of the category ids 1..90, a polygon per box, 1 % crowd
regions with RLE counts) in the official layout; metadata only, no image is written. Then it
times, side by side in one process, and measures the peak memory of

- ``read_coco(file, image_dir=None, cache=False)``: what ``CocoDataModule`` does with each
  annotation file on its first run (parse, check every entry, index images with their
  objects), without the image files: the per-image check (file exists, decodes in full, size
  as written) needs the pixels and is cached after the first run (``data/media.py``);
- pycocotools' ``COCO(file)``: parse and ``createIndex``, which checks nothing;
- ``read_coco(file, None)`` on a second run: the checked annotations read back from the
  cache beside the file (``coco_cache.py``: key of size, time and hash included).

Peak memory is Python's heap traced by ``tracemalloc`` (``data/scale.py``), in a separate
call. The cached split is checked equal to a fresh one before the numbers are returned.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import random
from pathlib import Path
from typing import Any

from rich.progress import track

from ...data.scale import compare_readers, print_comparison
from ...errors import UserError
from ...subcommands import add_benchmark, add_defaults
from .coco_cache import cache_path
from .coco_parsing import read_coco

FRESH = "read_coco, first run"
REFERENCE = "pycocotools COCO()"
CACHED = "read_coco, cached"

# The ids COCO 2017 uses for its 80 categories (1..90 with gaps).
COCO_CATEGORY_IDS = (
    *range(1, 12), *range(13, 26), 27, 28, *range(31, 45), *range(46, 66), 67, 70,
    *range(72, 83), *range(84, 91),
)  # fmt: skip
_SIZES = ((640, 480), (480, 640), (640, 427), (500, 375), (640, 640))  # common COCO sizes


def _polygon(rng: random.Random, x: float, y: float, w: float, h: float, points: int) -> list:
    """An ellipse-like polygon inside the box, 2 decimals (as COCO writes them)."""
    coordinates = []
    for k in range(points):
        angle = 2 * math.pi * k / points
        radius = 0.8 + 0.2 * rng.random()
        coordinates.append(round(x + w / 2 * (1 + radius * math.cos(angle)), 2))
        coordinates.append(round(y + h / 2 * (1 + radius * math.sin(angle)), 2))
    return [coordinates]


def _annotation(rng: random.Random, index: int, image: dict, polygon_points: int) -> dict[str, Any]:
    width, height = image["width"], image["height"]
    w = round(rng.uniform(4, width / 2), 2)
    h = round(rng.uniform(4, height / 2), 2)
    x = round(rng.uniform(0, width - w), 2)
    y = round(rng.uniform(0, height - h), 2)
    crowd = rng.random() < 0.01
    segmentation: Any
    if crowd:  # uncompressed RLE, as COCO writes its crowd regions
        counts = [rng.randrange(1, 400) for _ in range(24)]
        segmentation = {"counts": counts, "size": [height, width]}
    else:
        segmentation = _polygon(rng, x, y, w, h, polygon_points)
    return {
        "segmentation": segmentation,
        "area": round(w * h * 0.7, 4),
        "iscrowd": int(crowd),
        "image_id": image["id"],
        "bbox": [x, y, w, h],
        "category_id": rng.choice(COCO_CATEGORY_IDS),
        "id": index + 1,
    }


def write_coco_annotations(
    path: str | Path, images: int, boxes: int, polygon_points: int = 16, seed: int = 0
) -> Path:
    """Write a synthetic COCO instances file of ``images`` images and ``boxes`` boxes.

    Image ids are scattered as COCO's are (not 1..N), each box lands on a random image (some
    images get none, as in COCO) and lies inside it. Written entry by entry, so the writer
    never holds the whole document.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    ids = sorted(rng.sample(range(1, 6 * images + 2), images))
    entries = []
    for image_id in ids:
        width, height = rng.choice(_SIZES)
        entries.append(
            {
                "license": rng.randrange(1, 9),
                "file_name": f"{image_id:012d}.jpg",
                "coco_url": f"http://images.cocodataset.org/train2017/{image_id:012d}.jpg",
                "height": height,
                "width": width,
                "date_captured": "2013-11-14 11:18:45",
                "flickr_url": f"http://farm4.staticflickr.com/{image_id}.jpg",
                "id": image_id,
            }
        )
    categories = [
        {"supercategory": f"group{i // 8}", "id": category_id, "name": f"category{category_id}"}
        for i, category_id in enumerate(COCO_CATEGORY_IDS)
    ]
    head = {
        "info": {"description": "synthetic COCO-sized annotations", "version": "1.0"},
        "licenses": [{"url": "", "id": i, "name": f"license {i}"} for i in range(1, 9)],
    }
    with path.open("w") as file:
        file.write(json.dumps(head)[:-1] + ', "images": [')
        file.write(",".join(json.dumps(entry) for entry in entries))
        file.write('], "annotations": [')
        for index in track(range(boxes), description=f"Writing {path.name}", transient=True):
            annotation = _annotation(rng, index, rng.choice(entries), polygon_points)
            file.write(("," if index else "") + json.dumps(annotation))
        file.write('], "categories": ' + json.dumps(categories) + "}")
    return path


def _pycocotools_index(path: Path) -> Any:
    from pycocotools.coco import COCO

    with contextlib.redirect_stdout(io.StringIO()):  # it prints its own timings
        return COCO(str(path))


def coco_scale(
    images: int = 118_287,
    boxes: int = 860_001,
    polygon_points: int = 16,
    rounds: int = 3,
    folder: str = "data/coco_scale",
    seed: int = 0,
) -> dict[str, Any]:
    """Write the synthetic file to ``folder/annotations/`` (again only when its settings
    change) and compare ``read_coco`` with pycocotools' ``COCO`` on it, ``rounds`` each."""
    path = Path(folder) / "annotations" / "instances_train2017.json"
    settings = {"images": images, "boxes": boxes, "polygon_points": polygon_points, "seed": seed}
    recorded = path.with_name(path.name + ".settings.json")
    # The file was written by this benchmark with these settings: reuse it (writing the
    # full size takes about as long as reading it).
    if not (recorded.is_file() and json.loads(recorded.read_text()) == settings):
        if path.exists() and not recorded.is_file():  # a real data set's file, maybe
            raise UserError(
                f"{path} exists but was not written by this benchmark: give another --folder "
                "(it writes a synthetic annotation file there), or delete that file"
            )
        write_coco_annotations(path, images, boxes, polygon_points, seed)
        recorded.write_text(json.dumps(settings))
    cache_path(path).unlink(missing_ok=True)
    read_coco(path, None)  # fills the cache the third row reads; brings the file into the OS cache
    result = compare_readers(
        {
            FRESH: lambda: read_coco(path, None, cache=False),
            REFERENCE: lambda: _pycocotools_index(path),
            CACHED: lambda: read_coco(path, None),
        },
        reference=REFERENCE,
        items=images,
        rounds=rounds,
    )
    fresh, cached = (read_coco(path, None, cache=use) for use in (False, True))
    if cached != fresh:
        raise AssertionError(f"{cache_path(path)} does not hold what {path} says")
    return {
        "benchmark": "coco-scale",
        "file": str(path),
        "file_mb": path.stat().st_size / 1e6,
        "rounds": rounds,
        **settings,
        **result,
    }


def _print_coco_scale(result: dict[str, Any]) -> None:
    print(
        f"coco-scale: {result['images']:,} images, {result['boxes']:,} boxes, "
        f"{result['file_mb']:.0f} MB ({result['file']}); median of {result['rounds']} rounds"
    )
    print_comparison(result, "images")


def add_benchmark_command(commands: Any) -> argparse.ArgumentParser:
    """Add ``coco-scale`` to the ``benchmark`` sub-commands."""
    summary = "COCO-sized annotations: read_coco vs pycocotools (seconds, peak MB)"
    parser = add_benchmark(commands, "coco-scale", summary, coco_scale, _print_coco_scale)
    add_defaults(parser, coco_scale, "images", "boxes", "polygon_points", "rounds")
    add_defaults(parser, coco_scale, "folder", "seed")
    parser.add_argument("--output", default="logs/benchmarks/coco_scale.json")
    return parser
