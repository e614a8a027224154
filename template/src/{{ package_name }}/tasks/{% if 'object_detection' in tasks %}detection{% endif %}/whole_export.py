"""``model.whole.onnx``: the detector from normalised images to detections, for ONNX Runtime alone.

Written by ``python -m <package>.export export`` beside ``model.onnx`` (which stays the backbone
+ pyramid that ``predict``, the benchmark and the demo run with the heads in Python), with
``whole.json`` (what the standalone ``predict_onnx.py`` needs: classes, sizes, normalisation)
and ``predict_onnx.py`` itself. Verified before it is written: its detections on the first
validation images, at batch 1 and batch 3, are eager ``ObjectDetector.forward``'s (the same
count, labels, boxes within 0.01 px and scores within 1e-4); its validation metric, computed
through it, is reported as the others' are.
"""

from __future__ import annotations

import copy
import json
import shutil
import time
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch
from torch import Tensor, nn
from torch.export import Dim

from ...runtimes import ExportError, batch_dim, export_onnx
from ...verify import validation_metrics
from .model import ObjectDetector
from .whole import OUTPUT_NAMES, WholeDetector, onnx_translations, refusal

FILE = "model.whole.onnx"
BOX_TOLERANCE = 0.01  # pixels: the precision of a KITTI result line
SCORE_TOLERANCE = 1e-4


def _first_images(datamodule: Any, count: int = 3) -> list[Tensor]:
    """The first ``count`` validation images (repeated when there are fewer)."""
    datamodule.setup("validate")
    images: list[Tensor] = []
    for batch in datamodule.val_dataloader():
        images += list(batch["images"])
        if len(images) >= count:
            break
    if not images:
        raise ExportError("The validation set is empty: model.whole.onnx cannot be checked.")
    return (images * count)[:count]


def _check(module: ObjectDetector, session: Any, images: list[Tensor]) -> dict[str, float]:
    """Eager detections against the export's on ``images``; raises beyond the tolerance."""
    detector = cast(Any, module.detector)  # torchvision's detectors are untyped
    with torch.no_grad():
        expected = module(images)
        batch, _ = detector.transform(images)
    sizes = np.asarray(batch.image_sizes, dtype=np.int64)
    feeds = {"images": batch.tensors.numpy(), "sizes": sizes}
    boxes, scores, labels, count = session.run(None, feeds)
    worst = {"boxes": 0.0, "scores": 0.0}
    for row, (want, image) in enumerate(zip(expected, images, strict=True)):
        found = int(count[row])
        if found != len(want["boxes"]) or labels[row, :found].tolist() != want["labels"].tolist():
            raise ExportError(
                f"{FILE} finds {found} detections in validation image {row} of a batch of "
                f"{len(images)}, eager {len(want['boxes'])} (or other labels)."
            )
        # The detector's postprocess scales boxes back to the image it was given.
        height, width = (int(v) for v in sizes[row])
        ratio = np.asarray([image.shape[-1] / width, image.shape[-2] / height] * 2)
        got = boxes[row, :found] * ratio.astype(np.float32)
        worst["boxes"] = max(worst["boxes"], _largest(got - want["boxes"].numpy()))
        worst["scores"] = max(
            worst["scores"], _largest(scores[row, :found] - want["scores"].numpy())
        )
    if worst["boxes"] > BOX_TOLERANCE or worst["scores"] > SCORE_TOLERANCE:
        raise ExportError(
            f"{FILE} differs from eager by {worst['boxes']:.3g} px (allowed {BOX_TOLERANCE}) "
            f"and {worst['scores']:.3g} in score (allowed {SCORE_TOLERANCE})."
        )
    return worst


class _DetectorFromSession(nn.Module):
    """``model.whole.onnx`` in the place of ``ObjectDetector.detector``: a list of images in,
    torchvision's detections out (labels 1.., boxes in the given images' pixels), so that
    the validation metric is computed through the export end to end."""

    def __init__(self, session: Any, transform: nn.Module) -> None:
        super().__init__()
        self.session = session
        self.transform = transform

    def forward(self, images: list[Tensor]) -> list[dict[str, Tensor]]:
        batch, _ = self.transform(images)
        sizes = np.asarray(batch.image_sizes, dtype=np.int64)
        feeds = {"images": batch.tensors.cpu().numpy(), "sizes": sizes}
        boxes, scores, labels, count = self.session.run(None, feeds)
        found = []
        for row, image in enumerate(images):
            (height, width), kept = sizes[row], int(count[row])
            ratio = torch.tensor([image.shape[-1] / width, image.shape[-2] / height] * 2)
            found.append(
                {
                    "boxes": torch.from_numpy(boxes[row, :kept]) * ratio.float(),
                    "scores": torch.from_numpy(scores[row, :kept]),
                    "labels": torch.from_numpy(labels[row, :kept]) + 1,  # 0 is the background
                }
            )
        return found


def _largest(difference: np.ndarray) -> float:
    return float(np.abs(difference).max()) if difference.size else 0.0


def _settings(module: ObjectDetector) -> dict[str, Any]:
    """What predict_onnx.py needs to prepare images and name detections (``whole.json``)."""
    transform = cast(Any, module.detector).transform
    return {
        "class_names": module.class_names,
        "category_ids": list(module.evaluation.category_ids)
        if hasattr(module.evaluation, "category_ids")
        else None,
        "evaluation": module.hparams.evaluation,
        "min_size": int(transform.min_size[0]),
        "max_size": int(transform.max_size),
        "mean": [float(v) for v in transform.image_mean],
        "std": [float(v) for v in transform.image_std],
        "detections_per_image": int(cast(Any, module.detector).detections_per_img),
        "inputs": "images (B, 3, H, W) float32, normalised, padded to a multiple of 32; "
        "sizes (B, 2) int64: each image's (height, width) inside the padding",
        "outputs": "boxes (B, K, 4) x1 y1 x2 y2 in input pixels, scores (B, K), labels (B, K) "
        "0-based (-1 past count), count (B,)",
    }


def export_whole(module: ObjectDetector, datamodule: Any, folder: Path) -> dict[str, Any]:
    """Write and verify ``model.whole.onnx``, ``whole.json`` and ``predict_onnx.py`` into
    ``folder``; returns the report's entry (``skipped``, with the reason, for Faster R-CNN
    and the Hugging Face detectors; ``failed``, with the reason, when the export or its check
    failed: the rest of the export stands, so the whole model's files are removed instead)."""
    why = refusal(module.detector)
    if why:
        print(f"Skipped {FILE}: {why}")
        return {"skipped": why}
    try:
        return _export_whole(module, datamodule, folder)
    except ExportError as error:
        for path in folder.glob(f"{FILE}*"):
            path.unlink()
        print(f"{FILE} not written: {error}")
        return {"failed": str(error)}


def _export_whole(module: ObjectDetector, datamodule: Any, folder: Path) -> dict[str, Any]:
    import onnxruntime as ort

    print(f"Exporting {FILE} (detector, box decoding and NMS) ...")
    started = time.perf_counter()
    images = _first_images(datamodule)
    network = WholeDetector(module.detector).eval()
    with torch.no_grad():
        batch, _ = cast(Any, module.detector).transform(images)
    inputs = {"images": batch.tensors, "sizes": torch.tensor(batch.image_sizes)}
    images_batch = batch_dim()
    dynamic = {
        "images": {
            0: images_batch,
            2: 32 * Dim("height_32", min=1, max=256),
            3: 32 * Dim("width_32", min=1, max=256),
        },
        "sizes": {0: images_batch},
    }
    export_onnx(network, inputs, dynamic, OUTPUT_NAMES, folder / FILE, onnx_translations())
    session = ort.InferenceSession(str(folder / FILE), providers=["CPUExecutionProvider"])
    entry: dict[str, Any] = {
        "file": FILE,
        "detections_per_image": _settings(module)["detections_per_image"],
    }
    for count in (1, 3):
        worst = _check(module, session, images[:count])
        entry[f"max_box_diff_batch{count}"] = worst["boxes"]
        entry[f"max_score_diff_batch{count}"] = worst["scores"]
    exported = copy.deepcopy(module)
    exported.detector = _DetectorFromSession(session, cast(Any, module.detector).transform)
    print(f"Validation {module.evaluation.monitor} of {FILE} ...")
    values = validation_metrics(exported, datamodule, [module.evaluation.monitor], folder / "runs")
    entry["metric"] = values[module.evaluation.monitor]
    (folder / "whole.json").write_text(json.dumps(_settings(module), indent=2) + "\n")
    shutil.copyfile(Path(__file__).with_name("predict_onnx.py"), folder / "predict_onnx.py")
    entry["export_seconds"] = round(time.perf_counter() - started, 2)
    largest = max(entry["max_box_diff_batch1"], entry["max_box_diff_batch3"])
    print(
        f"{FILE}: the same detections as eager at batch 1 and 3 (boxes within {largest:.2g} "
        f"px); {module.evaluation.monitor} {entry['metric']:.4f} through it"
    )
    return entry
