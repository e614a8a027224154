"""Detections of a folder of images with ``model.whole.onnx`` alone: ONNX Runtime, NumPy, Pillow.

Written beside the export by ``python -m <package>.export export`` (the export folder holds
``model.whole.onnx``, its weights ``model.whole.onnx.data`` and ``whole.json``); it imports
neither torch nor the project, so the folder can be shipped as it is:

    python predict_onnx.py IMAGES_FOLDER --output-dir predictions/
    python predict_onnx.py val2017/ --output-dir predictions/ --annotations instances_val2017.json

It writes what ``train.py predict`` writes: one KITTI result file per image
(``<output-dir>/kitti_results/data/<image stem>.txt``) for a KITTI-trained model, or COCO's
results JSON (``<output-dir>/coco_results.json``; the image ids are read from the COCO
annotation file of the images, ``--annotations``) for a COCO-trained one. The images are
prepared as in training: resized with Pillow (bilinear, shorter side to ``min_size``, longer
at most ``max_size``), scaled to [0, 1], normalised, padded to a multiple of 32; the boxes
are scaled back to each image's own pixels. At most ``detections_per_image`` per image.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
from PIL import Image

EXTENSIONS = {".png", ".jpg", ".jpeg", ".bmp", ".webp"}
# KITTI's result line after the box: unknown 3D fields (height .. rotation_y), then the score.
UNKNOWN_3D = "-1.00 -1.00 -1.00 -1000.00 -1000.00 -1000.00 -10.00"


def resized_size(height: int, width: int, min_size: int, max_size: int) -> tuple[int, int]:
    """(height, width) after the training transform's resize (torchvision's ``v2.Resize(
    size=min_size, max_size=max_size)``): the shorter side to ``min_size``, the longer one at
    most ``max_size``, the aspect ratio kept."""
    short, long = min(height, width), max(height, width)
    new_short, new_long = min_size, int(min_size * long / short)
    if new_long > max_size:
        new_short, new_long = int(max_size * new_short / new_long), max_size
    return (new_short, new_long) if height <= width else (new_long, new_short)


def bilinear(pixels: np.ndarray, height: int, width: int) -> np.ndarray:
    """``(3, H, W)`` resized to ``(3, height, width)`` as torch's ``interpolate(mode=
    "bilinear", align_corners=False)``, the detector's own resize."""
    if pixels.shape[1:] == (height, width):
        return pixels

    def taps(size_in: int, size_out: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        where = np.maximum((np.arange(size_out) + 0.5) * size_in / size_out - 0.5, 0.0)
        low = np.minimum(np.floor(where).astype(np.int64), size_in - 1)
        return low, np.minimum(low + 1, size_in - 1), (where - low).astype(np.float32)

    top, bottom, dy = taps(pixels.shape[1], height)
    left, right, dx = taps(pixels.shape[2], width)
    rows = pixels[:, top] * (1 - dy)[:, None] + pixels[:, bottom] * dy[:, None]
    return rows[:, :, left] * (1 - dx) + rows[:, :, right] * dx


def prepare(path: Path, settings: dict) -> tuple[np.ndarray, tuple[int, int], tuple[int, int]]:
    """One image as the model's input ``(3, h, w)`` (unpadded), its original (height,
    width) and the size the data transform gave it."""
    with Image.open(path) as image:
        rgb = image.convert("RGB")
    width, height = rgb.size
    data_h, data_w = resized_size(height, width, settings["min_size"], settings["max_size"])
    if (data_h, data_w) != (height, width):
        rgb = rgb.resize((data_w, data_h), Image.Resampling.BILINEAR)
    pixels = np.asarray(rgb, dtype=np.float32).transpose(2, 0, 1) / 255.0
    # The detector's transform resizes again (a no-op but for rounding) and normalises.
    scale = min(
        settings["min_size"] / min(data_h, data_w), settings["max_size"] / max(data_h, data_w)
    )
    pixels = bilinear(pixels, math.floor(data_h * scale), math.floor(data_w * scale))
    mean = np.asarray(settings["mean"], dtype=np.float32)[:, None, None]
    std = np.asarray(settings["std"], dtype=np.float32)[:, None, None]
    return (pixels - mean) / std, (height, width), (data_h, data_w)


def detect(session: ort.InferenceSession, images: list[np.ndarray]) -> list[tuple]:
    """(boxes, scores, labels) of each image (in its input's pixels), one padded batch."""
    divisible = 32
    height = max(i.shape[1] for i in images)
    width = max(i.shape[2] for i in images)
    height, width = (divisible * math.ceil(s / divisible) for s in (height, width))
    batch = np.zeros((len(images), 3, height, width), dtype=np.float32)
    for row, image in enumerate(images):
        batch[row, :, : image.shape[1], : image.shape[2]] = image
    sizes = np.asarray([i.shape[1:] for i in images], dtype=np.int64)
    boxes, scores, labels, count = session.run(None, {"images": batch, "sizes": sizes})
    return [
        (boxes[r, : count[r]], scores[r, : count[r]], labels[r, : count[r]])
        for r in range(len(images))
    ]


def original_pixels(
    boxes: np.ndarray, model: tuple[int, int], data: tuple[int, int], original: tuple[int, int]
) -> np.ndarray:
    """Boxes from the model input's pixels back to the image's, through the data size (as
    the detector's postprocess, then ObjectDetector.forward, scale them)."""
    for (from_h, from_w), (to_h, to_w) in ((model, data), (data, original)):
        ratio = np.asarray([to_w / from_w, to_h / from_h] * 2, dtype=np.float32)
        boxes = boxes * ratio
    return boxes


def kitti_line(name: str, box: np.ndarray, score: float) -> str:
    """One 16-field KITTI result line, as train.py predict writes it (truncated 0, occluded
    0, alpha -10: unknown)."""
    corners = " ".join(f"{float(v):.2f}" for v in box)
    return f"{name} 0.00 0 -10.00 {corners} {UNKNOWN_3D} {score:.4f}"


def main(argv: list[str] | None = None) -> Path:
    here = Path(__file__).resolve().parent
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("images", type=Path, help="folder of images")
    parser.add_argument("--output-dir", type=Path, required=True)
    parser.add_argument("--model", type=Path, default=here / "model.whole.onnx")
    parser.add_argument("--annotations", type=Path, help="COCO models: the images' COCO JSON")
    parser.add_argument("--batch-size", type=int, default=8)
    args = parser.parse_args(argv)
    settings = json.loads(args.model.with_name("whole.json").read_text())
    paths = sorted(p for p in args.images.iterdir() if p.suffix.lower() in EXTENSIONS)
    if not paths:
        raise SystemExit(f"{args.images}: no images ({', '.join(sorted(EXTENSIONS))})")
    ids: dict[str, Any] = {p.stem: p.stem for p in paths}
    if settings["evaluation"] == "coco":
        if args.annotations is None:
            raise SystemExit("A COCO model writes COCO image ids: give --annotations FILE.json")
        records = json.loads(args.annotations.read_text())["images"]
        by_name = {Path(r["file_name"]).name: r["id"] for r in records}
        ids = {p.stem: by_name[p.name] for p in paths if p.name in by_name}
        paths = [p for p in paths if p.name in by_name]
    session = ort.InferenceSession(str(args.model), providers=["CPUExecutionProvider"])
    names, categories = settings["class_names"], settings["category_ids"]
    kitti, coco = {}, []
    for start in range(0, len(paths), args.batch_size):
        chunk = paths[start : start + args.batch_size]
        prepared = [prepare(p, settings) for p in chunk]
        found = detect(session, [p[0] for p in prepared])
        for path, (image, original, data), (boxes, scores, labels) in zip(
            chunk, prepared, found, strict=True
        ):
            boxes = original_pixels(boxes, image.shape[1:], data, original)
            if settings["evaluation"] == "coco":
                coco += [
                    {
                        "image_id": ids[path.stem],
                        "category_id": categories[int(label)],
                        "bbox": [float(x1), float(y1), float(x2 - x1), float(y2 - y1)],
                        "score": float(score),
                    }
                    for (x1, y1, x2, y2), score, label in zip(boxes, scores, labels, strict=True)
                ]
            else:
                kitti[path.stem] = [
                    kitti_line(names[int(label)], box, float(score))
                    for box, score, label in zip(boxes, scores, labels, strict=True)
                ]
        print(f"{min(start + args.batch_size, len(paths))}/{len(paths)} images", flush=True)
    if settings["evaluation"] == "coco":
        written = args.output_dir / "coco_results.json"
        written.parent.mkdir(parents=True, exist_ok=True)
        written.write_text(json.dumps(coco))
    else:
        written = args.output_dir / "kitti_results" / "data"
        written.mkdir(parents=True, exist_ok=True)
        for stem, lines in kitti.items():
            (written / f"{stem}.txt").write_text("".join(line + "\n" for line in lines))
    print(f"Wrote the detections of {len(paths)} images to {written}")
    return written


if __name__ == "__main__":
    main()
