"""Detection's backbones: timm models as multi-scale feature extractors (feature maps at
several strides, for the feature pyramid), built with the shared factory's name checks and
offline handling (``models/backbones.py``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from torch import nn

from ...models.backbones import BackboneError, check_timm_name, loading_weights, parse_name


@dataclass
class FeatureMaps:
    """A backbone that returns feature maps (for detection), their channels and strides."""

    name: str
    model: nn.Module
    channels: list[int]
    strides: list[int]


def create_feature_maps(
    name: str, pretrained: bool, out_indices: tuple[int, ...], **kwargs: Any
) -> FeatureMaps:
    """Build ``timm:<name>`` as a multi-scale feature extractor (timm's ``features_only``).

    Args:
        name: ``timm:<model name>``; detection needs feature maps, which timm provides for
            nearly every CNN and for many transformers.
        pretrained: load the published weights.
        out_indices: which stages to return (e.g. ``(1, 2, 3, 4)`` for strides 4 to 32).
        **kwargs: passed to ``timm.create_model``.
    """
    import timm
    from timm.models import FeatureInfo

    source, model_id = parse_name(name)
    if source != "timm":
        raise BackboneError(
            f"Detection backbones come from timm (feature maps at several scales); got {name!r}. "
            "Use e.g. 'timm:resnet50' or 'timm:convnext_tiny'."
        )
    check_timm_name(name, model_id)
    with loading_weights(name, pretrained):
        model = timm.create_model(
            model_id, pretrained=pretrained, features_only=True, out_indices=out_indices, **kwargs
        )
    info = cast(FeatureInfo, model.feature_info)  # set by features_only
    return FeatureMaps(name, model, list(info.channels()), list(info.reduction()))
