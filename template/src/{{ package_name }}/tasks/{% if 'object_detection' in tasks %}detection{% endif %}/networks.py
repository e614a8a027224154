"""The detector networks, one interface for every family (torchvision's): images + targets in
-> losses (training); images in -> boxes, scores and labels 1..num_classes (evaluation).

- ``fasterrcnn``, ``retinanet``, ``fcos``: torchvision's heads on any timm backbone. The
  backbone's feature maps (timm ``features_only``) feed a feature pyramid (FPN); the heads,
  losses, box coding and non-maximum suppression are torchvision's.
- ``torchvision:<builder>`` (e.g. ``torchvision:fasterrcnn_resnet50_fpn_v2``): torchvision's
  complete detectors with their COCO weights, the class head replaced for our classes.
- ``hf:<hub id, local folder or model type>``: Hugging Face's detectors (``hf_detector.py``).

:func:`create_detector` builds the family an ``architecture`` names; :func:`part_names` tells
surgery and fine-tuning where a built detector keeps its backbone and its class head.
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn
from torchvision.models.detection import FCOS, FasterRCNN, RetinaNet
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.fcos import FCOSClassificationHead
from torchvision.models.detection.retinanet import RetinaNetClassificationHead
from torchvision.ops import FeaturePyramidNetwork, MultiScaleRoIAlign
from torchvision.ops.feature_pyramid_network import LastLevelMaxPool, LastLevelP6P7

from ...models.backbones import BackboneError, data_config
from ...network import host_reachable
from .backbones import create_feature_maps
from .hf_detector import HuggingFaceDetector, build_hf_detector
from .settings import DetectorSettings

TIMM_ARCHITECTURES = ("fasterrcnn", "retinanet", "fcos")


class FeaturePyramid(nn.Module):
    """timm feature maps -> FPN maps, as torchvision's detectors expect (``out_channels``).

    Faster R-CNN adds one max-pooled level on top; RetinaNet and FCOS add P6 and P7.
    """

    def __init__(
        self, body: nn.Module, in_channels: list[int], out_channels: int, extra: str
    ) -> None:
        super().__init__()
        self.body = body
        top = LastLevelMaxPool() if extra == "pool" else LastLevelP6P7(out_channels, out_channels)
        self.fpn = FeaturePyramidNetwork(in_channels, out_channels, extra_blocks=top)
        self.out_channels = out_channels

    def forward(self, images: Tensor) -> OrderedDict[str, Tensor]:
        features = self.body(images)
        return self.fpn(OrderedDict((str(i), f) for i, f in enumerate(features)))


def build_detector(architecture: str, settings: DetectorSettings) -> nn.Module:
    """A torchvision detector (``fasterrcnn``, ``retinanet``, ``fcos``) on the settings' timm
    backbone; labels 1..num_classes (0 is background)."""
    backbone, fpn_channels = settings.backbone, settings.fpn_channels
    if architecture == "fcos" and fpn_channels % 32:
        raise ValueError(
            f"FCOS's heads use GroupNorm with 32 groups: fpn_channels must be a multiple of 32, "
            f"got {fpn_channels} (e.g. 32, 64 or 256)."
        )
    # Faster R-CNN uses strides 4-32 (+ a pooled level); RetinaNet and FCOS 8-32 (+ P6, P7).
    two_stage = architecture == "fasterrcnn"
    out_indices = (1, 2, 3, 4) if two_stage else (2, 3, 4)
    options = settings.backbone_kwargs or {}
    features = create_feature_maps(backbone, settings.pretrained, out_indices, **options)
    extra = "pool" if two_stage else "p6p7"
    pyramid = FeaturePyramid(features.model, features.channels, fpn_channels, extra)
    levels = len(out_indices) + (1 if two_stage else 2)
    # Anchors double in size from level to level, starting at the finest one.
    sizes = [settings.smallest_anchor * 2**level for level in range(levels)]
    config = data_config(backbone)
    common = dict(
        min_size=settings.min_size,
        max_size=settings.max_size,
        image_mean=list(config.mean),
        image_std=list(config.std),
    )
    classes = settings.num_classes + 1  # torchvision counts the background as a class
    if architecture == "fasterrcnn":
        anchors = AnchorGenerator(tuple((s,) for s in sizes), ((0.5, 1.0, 2.0),) * levels)
        return FasterRCNN(
            pyramid,
            num_classes=classes,
            rpn_anchor_generator=anchors,
            box_roi_pool=MultiScaleRoIAlign([str(i) for i in range(len(out_indices))], 7, 2),
            box_score_thresh=settings.score_threshold,
            box_detections_per_img=settings.detections_per_image,
            **common,
        )
    # RetinaNet and FCOS, both one-stage, take the same arguments; only their anchors differ.
    one_stage: type[RetinaNet] | type[FCOS]
    if architecture == "retinanet":
        # Three scales per level, a third of an octave apart, as in the RetinaNet paper.
        scales = tuple(tuple(s * 2 ** (k / 3) for k in range(3)) for s in sizes)
        one_stage, anchors = RetinaNet, AnchorGenerator(scales, ((0.5, 1.0, 2.0),) * levels)
    else:
        # FCOS is anchor-free: one "anchor" per location only sets the size ranges per level.
        one_stage = FCOS
        anchors = AnchorGenerator(tuple((s // 4,) for s in sizes), ((1.0,),) * levels)
    return one_stage(
        pyramid,
        num_classes=classes,
        anchor_generator=anchors,
        score_thresh=settings.score_threshold,
        detections_per_img=settings.detections_per_image,
        **common,
    )


# --- torchvision's complete detectors, COCO-pretrained -------------------------------------

TORCHVISION_FAMILIES = ("fasterrcnn", "retinanet", "fcos")


def torchvision_detectors() -> list[str]:
    """The torchvision builders this module can fine-tune (boxes only: no masks, keypoints)."""
    from torchvision.models import detection, list_models

    return sorted(n for n in list_models(module=detection) if n.startswith(TORCHVISION_FAMILIES))


def _torchvision_weights_or_fail(builder: str) -> Any:
    """The COCO weights of ``builder``; fails at once when they are neither cached nor
    downloadable (torch.hub would otherwise wait on the network)."""
    from urllib.parse import urlparse

    from torchvision.models import get_model_weights

    weights = get_model_weights(builder).DEFAULT
    url = urlparse(weights.url)
    cached = Path(torch.hub.get_dir()) / "checkpoints" / Path(url.path).name
    if not cached.is_file() and not host_reachable(url.hostname or "download.pytorch.org"):
        raise BackboneError(
            f"The COCO weights of 'torchvision:{builder}' are not in the local cache ({cached}) "
            f"and {url.hostname} cannot be reached. Either train from random weights with "
            "`--model.init_args.pretrained=false`, or download them once on a machine with "
            f'network access (python -c "import torchvision; torchvision.models.get_model('
            f"'{builder}', weights='DEFAULT')\") and copy {cached.name} to {cached.parent}."
        )
    return weights


def _replace_class_logits(
    head: RetinaNetClassificationHead | FCOSClassificationHead, classes: int
) -> None:
    """A new last convolution for ``classes`` on a RetinaNet / FCOS classification head; the
    pretrained tower below it stays. Initialised as torchvision does: prior probability 0.01."""
    old = head.cls_logits
    anchors = old.out_channels // head.num_classes
    head.cls_logits = nn.Conv2d(old.in_channels, anchors * classes, 3, padding=1)
    nn.init.normal_(head.cls_logits.weight, std=0.01)
    nn.init.constant_(head.cls_logits.bias, -torch.log(torch.tensor((1 - 0.01) / 0.01)).item())
    head.num_classes = classes


def build_torchvision_detector(builder: str, settings: DetectorSettings) -> nn.Module:
    """torchvision's ``builder`` (e.g. ``fasterrcnn_resnet50_fpn_v2``) for the settings'
    classes, labels 1..num_classes (0 is background); with ``pretrained``, its COCO weights
    with a new class head."""
    from torchvision.models import get_model
    from torchvision.models.detection.faster_rcnn import FastRCNNPredictor

    known = torchvision_detectors()
    if builder not in known:
        raise BackboneError(
            f"Unknown torchvision detector 'torchvision:{builder}'. Choose one of: "
            + ", ".join(f"torchvision:{name}" for name in known)
        )
    classes = settings.num_classes + 1  # torchvision counts the background as a class
    two_stage = builder.startswith("fasterrcnn")
    threshold, most = settings.score_threshold, settings.detections_per_image
    limits = (
        dict(box_score_thresh=threshold, box_detections_per_img=most)
        if two_stage
        else dict(score_thresh=threshold, detections_per_img=most)
    )
    common = dict(min_size=settings.min_size, max_size=settings.max_size, **limits)
    if not settings.pretrained:
        random = dict(weights=None, weights_backbone=None, num_classes=classes)
        return get_model(builder, **random, **common)
    model = get_model(builder, weights=_torchvision_weights_or_fail(builder), **common)
    if two_stage:
        features = model.roi_heads.box_predictor.cls_score.in_features
        model.roi_heads.box_predictor = FastRCNNPredictor(features, classes)
    else:
        _replace_class_logits(model.head.classification_head, classes)
    return model


def create_detector(architecture: str, settings: DetectorSettings) -> nn.Module:
    """The detector that ``architecture`` names, with torchvision's interface (labels
    1..num_classes, 0 is background)."""
    family, _, name = architecture.partition(":")
    if architecture in TIMM_ARCHITECTURES:
        return build_detector(architecture, settings)
    if family == "torchvision" and name:
        return build_torchvision_detector(name, settings)
    if family == "hf" and name:
        return build_hf_detector(name, settings)
    raise BackboneError(
        f"Unknown architecture {architecture!r}: use fasterrcnn, retinanet or fcos (on the timm "
        "`backbone`), torchvision:<detector> (e.g. torchvision:fasterrcnn_resnet50_fpn_v2) or "
        "hf:<model id or type> (e.g. hf:PekingU/rtdetr_r50vd, hf:facebook/detr-resnet-50)."
    )


def part_names(detector: nn.Module) -> tuple[str, str]:
    """Names inside ``detector`` of its pretrained feature extractor and of the layer that
    scores the classes (for ``surgery.py`` and ``finetuning.py``); empty where unknown."""
    if isinstance(detector, FasterRCNN):  # two stages: the second one classifies
        return "backbone.body", "roi_heads.box_predictor.cls_score"
    if isinstance(detector, (RetinaNet, FCOS)):  # a convolution over every pyramid level
        return "backbone.body", "head.classification_head.cls_logits"
    if isinstance(detector, HuggingFaceDetector):
        return detector.backbone_name, detector.head_name
    return "", ""
