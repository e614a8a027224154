"""Hugging Face's ``AutoModelForObjectDetection`` (DETR, RT-DETR, YOLOS, ...) behind
torchvision's detector interface, so :class:`~.model.ObjectDetector` treats every family alike.

These are set-prediction models trained with Hungarian matching: a fixed number of queries,
each a box and a class (or "no object").
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ...models.backbones import BackboneError, loading_weights
from .settings import DetectorSettings

# Where the published models keep the layer that scores the classes, first match wins: DETR,
# Conditional DETR and YOLOS; Deformable DETR; RT-DETR and D-FINE (one per decoder layer).
CLASS_HEADS = ("class_labels_classifier", "class_embed", "model.decoder.class_embed")


class HuggingFaceDetector(nn.Module):
    """A Hugging Face object-detection model behind torchvision's detector interface.

    ``forward(images, targets)`` returns a dict of losses in training mode and, in eval mode,
    one dict per image with ``boxes`` (x1, y1, x2, y2 in the pixels of the image given),
    ``scores`` and ``labels`` (1..num_classes; 0 is background, as in torchvision).

    Each image is resized keeping its aspect ratio (shorter side ``min_size``, longer side at
    most ``max_size``), normalised with the image processor's mean and std (only where the
    processor normalises: RT-DETR takes pixels in [0, 1]), and padded at the bottom and right
    to the batch's size, a multiple of 32; ``pixel_mask`` marks the real pixels for models
    that read it. Boxes are (cx, cy, w, h) relative to each image's unpadded size, the
    convention the published DETR-family weights were trained with.
    """

    # A transformers model (or a module like one: ``config.num_labels``, ``logits``,
    # ``pred_boxes``); transformers' own annotations differ between the versions we allow.
    model: Any
    mean: Tensor  # buffers
    std: Tensor

    def __init__(
        self,
        model: nn.Module,
        mean: tuple[float, ...] | None,
        std: tuple[float, ...] | None,
        min_size: int,
        max_size: int,
        score_threshold: float = 0.05,
        detections_per_image: int = 100,
    ) -> None:
        super().__init__()
        self.model = model
        normalise = mean is not None and std is not None
        self.register_buffer("mean", torch.tensor(mean or (0.0,) * 3).view(3, 1, 1), False)
        self.register_buffer("std", torch.tensor(std or (1.0,) * 3).view(3, 1, 1), False)
        self.normalise = normalise
        self.min_size = min_size
        self.max_size = max_size
        self.score_threshold = score_threshold
        self.detections_per_image = detections_per_image
        self.takes_mask = "pixel_mask" in inspect.signature(model.forward).parameters

    @property
    def backbone_name(self) -> str:
        """The pretrained feature extractor (a name inside this module): the base model's
        ``backbone`` where it has one (DETR, RT-DETR: a CNN), else the whole base model
        (YOLOS: the ViT)."""
        prefix = getattr(self.model, "base_model_prefix", "")
        base = getattr(self.model, prefix, None) if prefix else None
        if base is None:
            return ""
        return f"model.{prefix}.backbone" if hasattr(base, "backbone") else f"model.{prefix}"

    @property
    def head_name(self) -> str:
        """The layer (or per-decoder-layer list of layers) that scores the classes, a name
        inside this module; empty for a model that keeps it elsewhere."""
        for name in CLASS_HEADS:
            try:
                self.model.get_submodule(name)
            except AttributeError:
                continue
            return f"model.{name}"
        return ""

    def resized_size(self, height: int, width: int) -> tuple[int, int]:
        """(height, width) after resizing: shorter side min_size, longer side <= max_size."""
        scale = min(self.min_size / min(height, width), self.max_size / max(height, width))
        return round(height * scale), round(width * scale)

    def preprocess(self, images: list[Tensor]) -> tuple[Tensor, Tensor]:
        """Images in [0, 1] -> ``pixel_values`` (B, 3, H, W) and ``pixel_mask`` (B, H, W)."""
        sizes = [self.resized_size(*image.shape[-2:]) for image in images]
        height = -(-max(h for h, _ in sizes) // 32) * 32
        width = -(-max(w for _, w in sizes) // 32) * 32
        pixels = images[0].new_zeros(len(images), 3, height, width)
        mask = torch.zeros(len(images), height, width, dtype=torch.long, device=pixels.device)
        for index, (image, (h, w)) in enumerate(zip(images, sizes, strict=True)):
            resized = F.interpolate(image[None], size=(h, w), mode="bilinear", align_corners=False)
            if self.normalise:
                resized = (resized - self.mean) / self.std
            pixels[index, :, :h, :w] = resized[0]
            mask[index, :h, :w] = 1
        return pixels, mask

    def forward(self, images: list[Tensor], targets: list[dict] | None = None):
        pixels, mask = self.preprocess(images)
        inputs = {"pixel_values": pixels}
        if self.takes_mask:
            inputs["pixel_mask"] = mask
        if self.training:
            if targets is None:
                raise ValueError("targets are needed in training mode")
            labels = [
                {
                    "class_labels": target["labels"] - 1,  # the model's labels start at 0
                    "boxes": _to_relative_cxcywh(target["boxes"], image.shape[-2:]),
                }
                for image, target in zip(images, targets, strict=True)
            ]
            # The model's own weighted sum (classification, L1 and GIoU, auxiliary decoders).
            return {"loss": self.model(**inputs, labels=labels).loss}
        outputs = self.model(**inputs)
        return [
            self.postprocess(logits, boxes, image.shape[-2:])
            for logits, boxes, image in zip(outputs.logits, outputs.pred_boxes, images, strict=True)
        ]

    def postprocess(self, logits: Tensor, boxes: Tensor, size: Sequence[int]) -> dict:
        """One image's queries -> detections in the pixels of an image of ``size`` (h, w)."""
        classes: int = self.model.config.num_labels
        if logits.shape[-1] == classes + 1:  # softmax over the classes and "no object" (DETR)
            scores, labels = logits.softmax(-1)[:, :classes].max(-1)
        else:  # independent sigmoids, the best (query, class) pairs (RT-DETR, Deformable DETR)
            flat = logits.sigmoid().flatten()
            scores, index = flat.topk(min(self.detections_per_image, flat.numel()))
            labels, boxes = index % classes, boxes[index // classes]
        keep = scores > self.score_threshold
        order = scores[keep].argsort(descending=True)[: self.detections_per_image]
        height, width = size
        scale = boxes.new_tensor([width, height, width, height])
        xyxy = _to_xyxy(boxes[keep][order]) * scale
        xyxy = torch.minimum(xyxy.clamp(min=0), scale)  # inside the image
        return {"boxes": xyxy, "scores": scores[keep][order], "labels": labels[keep][order] + 1}


def _to_relative_cxcywh(boxes: Tensor, size: Sequence[int]) -> Tensor:
    """(x1, y1, x2, y2) in pixels -> (cx, cy, w, h) as fractions of the image's (h, w)."""
    height, width = size
    x1, y1, x2, y2 = boxes.unbind(-1)
    cxcywh = torch.stack([(x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1], dim=-1)
    return cxcywh / boxes.new_tensor([width, height, width, height])


def _to_xyxy(cxcywh: Tensor) -> Tensor:
    cx, cy, w, h = cxcywh.unbind(-1)
    return torch.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], dim=-1)


def build_hf_detector(model_id: str, settings: DetectorSettings) -> HuggingFaceDetector:
    """``AutoModelForObjectDetection`` by hub id or local folder, or (``pretrained: false``)
    a random model of a type (``detr``, ``rt_detr``, ``yolos``, ...) from its default config
    and ``config_overrides``. The class head is made for ``class_names``."""
    from transformers import AutoConfig, AutoModelForObjectDetection
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING

    class_names, pretrained = settings.class_names, settings.pretrained
    labels = dict(
        num_labels=len(class_names),
        id2label=dict(enumerate(class_names)),
        label2id={name: i for i, name in enumerate(class_names)},
    )
    overrides = {**labels, **(settings.config_overrides or {})}
    by_type = not pretrained and model_id in CONFIG_MAPPING
    name = f"hf:{model_id}"
    try:
        with loading_weights(name, pretrained):
            if pretrained:
                # The class head of the checkpoint has other classes: it starts anew.
                model = AutoModelForObjectDetection.from_pretrained(
                    model_id, ignore_mismatched_sizes=True, **overrides
                )
            else:
                config = (
                    AutoConfig.for_model(model_id, **overrides)
                    if by_type
                    else AutoConfig.from_pretrained(model_id, **overrides)
                )
                model = AutoModelForObjectDetection.from_config(config)
            processor = _image_processor(model_id, model.config.model_type, by_type)
    except ValueError as error:
        raise BackboneError(
            f"{name!r} has no object-detection head in transformers ({error}); use e.g. "
            "hf:PekingU/rtdetr_r50vd, hf:facebook/detr-resnet-50 or hf:hustvl/yolos-small "
            "(or, with pretrained: false, the model types rt_detr, detr, yolos)."
        ) from error
    except OSError as error:
        raise BackboneError(
            f"Cannot load {name!r}: {error}. Offline, give a local folder holding config.json "
            "and preprocessor_config.json (and the weights for pretrained: true), or a model "
            "type such as 'hf:rt_detr' with pretrained: false."
        ) from error
    normalises = getattr(processor, "do_normalize", True)
    return HuggingFaceDetector(
        model,
        tuple(processor.image_mean) if normalises else None,
        tuple(processor.image_std) if normalises else None,
        settings.min_size,
        settings.max_size,
        settings.score_threshold,
        settings.detections_per_image,
    )


def _image_processor(model_id: str, model_type: str, by_type: bool) -> Any:
    """The checkpoint's image processor, or the default one of a model type."""
    import transformers
    from transformers import AutoImageProcessor
    from transformers.models.auto.image_processing_auto import IMAGE_PROCESSOR_MAPPING_NAMES

    if not by_type:
        return AutoImageProcessor.from_pretrained(model_id)
    # transformers 5 maps a type to {"torchvision": fast, "pil": slow}; 4.x to (slow, fast).
    names = IMAGE_PROCESSOR_MAPPING_NAMES[model_type]
    candidates = names.values() if isinstance(names, dict) else names
    name = next(n for n in candidates if n)
    return getattr(transformers, name)()
