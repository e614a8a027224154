"""The whole one-stage detector as one graph: normalised images in, boxes, scores, labels out.

torchvision's RetinaNet and FCOS keep, per image, a variable number of candidates and call
``batched_nms``, whose shapes depend on the data: ``torch.export`` cannot trace them (it stops
on a guard inside ``batched_nms``). :class:`WholeDetector` computes the same detections with
fixed shapes: per pyramid level the ``topk_candidates`` best scores of every image (torchvision
first drops those under ``score_thresh``; here they are dropped by the suppression below),
decoded by the detector's own box coder and clipped to each image; then one class-aware
non-maximum suppression, :func:`class_nms`, an operator of this package that is written as
ONNX's ``NonMaxSuppression``; then the ``detections_per_img`` best survivors per image, with
the background class and empty boxes left out as ``ObjectDetector.forward`` does.

Outputs are padded to a fixed ``K = detections_per_img``: ``boxes (B, K, 4)`` (x1, y1, x2, y2
in the input's pixels), ``scores (B, K)``, ``labels (B, K)`` (0-based), best first, and
``count (B,)``: how many of each row are detections (the rest are zeros, label -1).

Faster R-CNN is not offered: its second stage pools a data-dependent number of proposals per
image (RoIAlign over the RPN's survivors) before a second suppression; the Hugging Face
detectors have no suppression, but their post-processing is the transformers library's.
"""

from __future__ import annotations

from typing import Any, cast

import torch
import torchvision
from torch import Tensor, nn
from torchvision.models.detection import FCOS, RetinaNet
from torchvision.models.detection.image_list import ImageList

OUTPUT_NAMES = ["boxes", "scores", "labels", "count"]
_NAMESPACE = (__package__ or "detection").split(".")[0]


@torch.library.custom_op(f"{_NAMESPACE}::class_nms", mutates_args=())
def class_nms(
    boxes: Tensor, scores: Tensor, labels: Tensor, classes: int, iou: float, threshold: float
) -> Tensor:
    """``(B, N)`` 1.0 where a candidate survives: score above ``threshold`` and not
    overlapping (IoU > ``iou``) a better one of its class in its image; else 0.0.

    An operator with a fixed output shape, so that ``torch.export`` keeps the suppression's
    data-dependent count inside it; ``_onnx_class_nms`` writes it as ONNX's operator.
    """
    kept = torch.zeros_like(scores)
    for image in range(scores.shape[0]):
        (valid,) = torch.where(scores[image] > threshold)
        keep = torchvision.ops.batched_nms(
            boxes[image, valid], scores[image, valid], labels[image, valid], iou
        )
        kept[image, valid[keep]] = 1.0
    return kept


@class_nms.register_fake
def _class_nms_shape(
    boxes: Tensor, scores: Tensor, labels: Tensor, classes: int, iou: float, threshold: float
) -> Tensor:
    return torch.empty_like(scores)


def _onnx_class_nms(
    boxes: Any, scores: Any, labels: Any, classes: int, iou: float, threshold: float
) -> Any:
    """:func:`class_nms` as ONNX's ``NonMaxSuppression``: each candidate scores only in its
    own class's row of ``(B, classes, N)``, so the suppression is per class, as
    ``batched_nms``'s; the selected ``(image, box)`` pairs are scattered into a mask."""
    from onnxscript import FLOAT, INT64, opset18

    # onnxscript's stubs type every input by its ONNX tensor type; the constants built inline
    # here (Python ints, Constant nodes) are typed only at export time.
    op = cast(Any, opset18)

    def ints(*values: int) -> INT64:
        return cast("INT64", list(values))

    ids = op.Reshape(op.Range(0, classes, 1), ints(1, classes, 1))
    own_class = op.Cast(op.Equal(op.Unsqueeze(labels, ints(1)), ids), to=FLOAT.dtype)
    per_class = op.Mul(own_class, op.Unsqueeze(scores, ints(1)))
    candidates = op.Shape(scores, start=1, end=2)
    selected = op.NonMaxSuppression(
        boxes,
        per_class,
        candidates,
        op.Constant(value_floats=[iou]),
        op.Constant(value_floats=[threshold]),
    )  # (M, 3): image, class, box
    where = op.Gather(selected, ints(0, 2), axis=1)
    zeros = op.Expand(op.Constant(value_float=0.0), op.Shape(scores))
    ones = op.Expand(op.Constant(value_float=1.0), op.Shape(selected, start=0, end=1))
    return op.ScatterND(zeros, where, ones)


def onnx_translations() -> dict:
    """The ONNX translation of :func:`class_nms` for ``torch.onnx.export``."""
    return {class_nms._opoverload: _onnx_class_nms}


def refusal(detector: nn.Module) -> str | None:
    """Why ``detector`` cannot be exported whole (None: it can)."""
    if isinstance(detector, (RetinaNet, FCOS)):
        return None
    return (
        f"{type(detector).__name__} is not exported whole: only the one-stage families "
        "(retinanet, fcos, torchvision:retinanet_*, torchvision:fcos_*) are. Faster R-CNN's "
        "second stage pools a data-dependent number of proposals per image; the Hugging Face "
        "detectors' post-processing is the transformers library's. model.onnx (backbone + "
        "pyramid) is exported as before."
    )


class WholeDetector(nn.Module):
    """A torchvision RetinaNet or FCOS from normalised, padded images to padded detections.

    ``forward(images, sizes)``: ``images (B, 3, H, W)`` as the detector's transform gives them
    (resized, normalised, padded to a multiple of 32); ``sizes (B, 2)`` int64, each image's
    (height, width) inside the padding, which its boxes are clipped to.
    """

    def __init__(self, detector: nn.Module) -> None:
        super().__init__()
        if refusal(detector):
            raise ValueError(refusal(detector))
        self.detector = detector
        self.fcos = isinstance(detector, FCOS)

    def forward(self, images: Tensor, sizes: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        detector = cast(Any, self.detector)  # torchvision's detectors are untyped
        features = list(detector.backbone(images).values())
        head = detector.head(features)
        anchors = detector.anchor_generator(ImageList(images, [(1, 1)]), features)[0]
        per_location = detector.anchor_generator.num_anchors_per_location()[0]
        logits = head["cls_logits"]  # (B, N, classes), N over every level and anchor
        classes = logits.shape[-1]
        height, width = sizes[:, :1, None].float(), sizes[:, 1:, None].float()
        boxes, scores, labels = [], [], []
        start = 0
        for feature in features:
            end = start + feature.shape[-2] * feature.shape[-1] * per_location
            level = logits[:, start:end].sigmoid()
            if self.fcos:  # FCOS weighs the class by its centre-ness
                level = torch.sqrt(level * head["bbox_ctrness"][:, start:end].sigmoid())
            level = level.flatten(1)
            top = torch.topk(level, torch.sym_min(detector.topk_candidates, level.shape[1]))
            where = torch.div(top.indices, classes, rounding_mode="floor")
            codes = torch.gather(
                head["bbox_regression"][:, start:end], 1, where[..., None].expand(-1, -1, 4)
            )
            # FCOS's BoxLinearCoder names it decode, RetinaNet's BoxCoder decode_single.
            decode = detector.box_coder.decode if self.fcos else detector.box_coder.decode_single
            decoded = decode(codes.reshape(-1, 4), anchors[start:end][where.reshape(-1)])
            decoded = decoded.reshape(codes.shape)
            x = decoded[..., 0::2].clamp(min=0).minimum(width)
            y = decoded[..., 1::2].clamp(min=0).minimum(height)
            boxes.append(torch.stack([x[..., 0], y[..., 0], x[..., 1], y[..., 1]], dim=-1))
            scores.append(top.values)
            labels.append(top.indices % classes)
            start = end
        every = torch.cat(boxes, 1), torch.cat(scores, 1), torch.cat(labels, 1)
        kept = class_nms(*every, classes, detector.nms_thresh, detector.score_thresh)
        # The best survivors, as torchvision keeps; then ObjectDetector.forward's filter
        # (no background, no empty box), the detections moved to the front of each row.
        rank = torch.where(kept > 0, every[1], -1.0)
        most = torch.sym_min(detector.detections_per_img, rank.shape[1])
        best = torch.topk(rank, most).indices
        box = torch.gather(every[0], 1, best[..., None].expand(-1, -1, 4))
        score = torch.gather(every[1], 1, best)
        label = torch.gather(every[2], 1, best)
        sides = box[..., 2:] - box[..., :2]
        valid = (torch.gather(rank, 1, best) >= 0) & (label > 0) & (sides > 0).all(-1)
        order = torch.topk(torch.where(valid, score, -1.0), most).indices
        valid = torch.gather(valid, 1, order)
        box = torch.gather(box, 1, order[..., None].expand(-1, -1, 4)) * valid[..., None]
        score = torch.gather(score, 1, order) * valid
        label = torch.where(valid, torch.gather(label, 1, order) - 1, -1)
        return box, score, label, valid.sum(1)
