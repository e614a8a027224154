"""The single factory for backbones: ``timm:<name>`` or ``hf:<id or local folder>``.

Every task builds its feature extractor here, so that swapping ResNet for ConvNeXt or a
Hugging Face ViT is a one-line change in YAML. A backbone maps images ``(B, 3, H, W)`` to
pooled features ``(B, num_features)``.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlparse

from torch import Tensor, nn

from ..errors import UserError
from ..network import host_reachable

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class BackboneError(UserError, ValueError):
    """A backbone name that cannot be resolved, or weights that cannot be loaded."""


@dataclass(frozen=True)
class DataConfig:
    """How a backbone expects its input: square size in pixels, normalisation, crop ratio."""

    input_size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    crop_pct: float = 0.875
    interpolation: str = "bilinear"


@dataclass
class Backbone:
    """A feature extractor and the size of the feature vector it returns."""

    name: str
    model: nn.Module
    num_features: int


def parse_name(name: str) -> tuple[str, str]:
    """Split ``"timm:resnet18"`` into ``("timm", "resnet18")``; the prefix is required."""
    source, sep, model_id = name.partition(":")
    if not sep or source not in ("timm", "hf") or not model_id:
        raise BackboneError(
            f"Backbone {name!r} is not of the form 'timm:<model name>' or 'hf:<model id>'; "
            "e.g. 'timm:resnet18', 'timm:convnext_tiny' or 'hf:google/vit-base-patch16-224'."
        )
    return source, model_id


def create_backbone(name: str, pretrained: bool, **kwargs: Any) -> Backbone:
    """Build the backbone ``name`` (``timm:...`` or ``hf:...``).

    Args:
        name: ``timm:<model name>`` or ``hf:<hub id or local folder with config.json>``.
        pretrained: load the published weights (needs the Hugging Face Hub or its local cache).
        **kwargs: passed to ``timm.create_model`` (e.g. ``drop_rate``) or used to override
            fields of the Hugging Face config (e.g. ``hidden_size``).
    """
    source, model_id = parse_name(name)
    with loading_weights(name, pretrained):
        if source == "timm":
            return _create_timm(name, model_id, pretrained, kwargs)
        return _create_hf(name, model_id, pretrained, kwargs)


def data_config(name: str) -> DataConfig:
    """The input size and normalisation the published weights of ``name`` were trained with.

    Reads only metadata (timm's pretrained config or the Hugging Face config), never weights.
    """
    source, model_id = parse_name(name)
    if source == "timm":
        import timm
        from timm.data import resolve_data_config

        check_timm_name(name, model_id)
        cfg = timm.get_pretrained_cfg(model_id)
        resolved = resolve_data_config(pretrained_cfg=cfg.to_dict() if cfg else {})
        return DataConfig(
            input_size=int(resolved["input_size"][-1]),
            mean=tuple(resolved["mean"]),
            std=tuple(resolved["std"]),
            crop_pct=float(resolved.get("crop_pct", 0.875)),
            interpolation=str(resolved.get("interpolation", "bilinear")),
        )
    config = _load_hf_config(name, model_id, {})
    size = getattr(config, "image_size", 224)
    size = size[-1] if isinstance(size, (list, tuple)) else size
    # ViT-style checkpoints normalise to [-1, 1]; CNN ports use the ImageNet statistics.
    is_vit = "vit" in config.model_type or "deit" in config.model_type
    mean, std = ((0.5,) * 3, (0.5,) * 3) if is_vit else (IMAGENET_MEAN, IMAGENET_STD)
    return DataConfig(input_size=int(size), mean=mean, std=std)


# --- timm -------------------------------------------------------------------------------


def check_timm_name(name: str, model_id: str) -> None:
    """Refuse an unknown timm architecture, naming the closest known ones."""
    import timm

    architecture = model_id.split(".")[0]  # "resnet50.a1_in1k" -> "resnet50"
    if not timm.is_model(architecture):
        close = difflib.get_close_matches(architecture, timm.list_models(), n=5, cutoff=0.6)
        hint = f" Did you mean: {', '.join('timm:' + c for c in close)}?" if close else ""
        raise BackboneError(
            f"Unknown timm model in backbone {name!r}.{hint} "
            "List them with: python -c \"import timm; print(timm.list_models('*resnet*'))\""
        )


def _create_timm(name: str, model_id: str, pretrained: bool, kwargs: dict) -> Backbone:
    import timm

    check_timm_name(name, model_id)
    # num_classes=0 removes the classifier: the model returns pooled features.
    model = timm.create_model(model_id, pretrained=pretrained, num_classes=0, **kwargs)
    width = cast(int, model.num_features)  # every timm model sets it; torch types it as a module
    return Backbone(name=name, model=model, num_features=width)


# --- Hugging Face -----------------------------------------------------------------------


class HFImageEncoder(nn.Module):
    """A Hugging Face vision model seen as a backbone: pixels in, pooled features out."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, images: Tensor) -> Tensor:
        outputs = self.model(pixel_values=images)
        pooled = getattr(outputs, "pooler_output", None)
        if pooled is not None:
            return pooled.flatten(1)
        hidden = outputs.last_hidden_state
        # Tokens (B, N, C) are averaged over N; feature maps (B, C, H, W) over H and W.
        return hidden.mean(dim=1) if hidden.dim() == 3 else hidden.mean(dim=(2, 3))


def _load_hf_config(name: str, model_id: str, overrides: dict) -> Any:
    from transformers import AutoConfig

    try:
        return AutoConfig.from_pretrained(model_id, **overrides)
    except OSError as error:
        raise BackboneError(
            f"Cannot read the Hugging Face config of backbone {name!r}: {error}. Offline, "
            "point 'hf:' at a local folder that holds config.json (and the weights, for "
            "pretrained: true)."
        ) from error


def _create_hf(name: str, model_id: str, pretrained: bool, overrides: dict) -> Backbone:
    from transformers import AutoModel

    if pretrained:
        model = AutoModel.from_pretrained(model_id, **overrides)
    else:
        model = AutoModel.from_config(_load_hf_config(name, model_id, overrides))
    config = model.config
    sizes = getattr(config, "hidden_sizes", None)  # CNNs (ResNet, ConvNeXt) list one per stage
    num_features = sizes[-1] if sizes else config.hidden_size
    return Backbone(name=name, model=HFImageEncoder(model), num_features=int(num_features))


# --- Offline: fail in well under a second instead of retrying for a minute ----------------


def _hub_reachable() -> bool:
    endpoint = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co"))
    return host_reachable(endpoint.hostname or "huggingface.co", endpoint.port or 443)


def use_cache_only_if_hub_unreachable() -> None:
    """Switch the Hugging Face libraries to their local cache when the hub cannot be reached.

    Without this, each download is retried for about 50 seconds before it fails.
    """
    if os.environ.get("HF_HUB_OFFLINE", "0").lower() in ("1", "true", "yes"):
        offline = True
    else:
        offline = not _hub_reachable()
    if offline:
        os.environ["HF_HUB_OFFLINE"] = "1"
        import huggingface_hub.constants

        huggingface_hub.constants.HF_HUB_OFFLINE = True  # read at call time, set at import


@contextmanager
def loading_weights(name: str, pretrained: bool) -> Iterator[None]:
    """Around building ``name``: with ``pretrained``, use the cache when the hub is unreachable,
    and turn a failure to find the weights into :func:`offline_message`."""
    if pretrained:
        use_cache_only_if_hub_unreachable()
    try:
        yield
    except BackboneError:
        raise
    except Exception as error:  # the hub and timm raise many types; all mean "not loadable"
        if pretrained and (is_missing_weights(error) or _offline_miss(name, error)):
            raise BackboneError(offline_message(name)) from error
        raise


def enable_gradient_checkpointing(model: Any, model_name: str) -> None:
    """Recompute each layer's activations in the backward pass of a Hugging Face ``model``.

    Raises:
        BackboneError: when transformers cannot checkpoint this architecture.
    """
    if not model.supports_gradient_checkpointing:
        raise BackboneError(
            f"{model_name!r} does not support gradient checkpointing in transformers; "
            "set model.init_args.gradient_checkpointing: false."
        )
    model.gradient_checkpointing_enable()


def _offline_miss(name: str, error: BaseException) -> bool:
    """Offline, a hub id (not a local folder) not in the cache: transformers then says "make
    sure you don't have a local directory with the same name", never that it is offline."""
    from huggingface_hub import constants

    return constants.HF_HUB_OFFLINE and isinstance(error, OSError) and not Path(name).exists()


def is_missing_weights(error: BaseException) -> bool:
    text = f"{type(error).__name__}: {error}".lower()
    markers = ("offline", "localentrynotfound", "cannot find", "connection", "couldn't connect")
    return any(marker in text for marker in markers)


def offline_message(name: str) -> str:
    return (
        f"Pretrained weights for backbone {name!r} are not in the local cache and the Hugging "
        "Face Hub cannot be reached (no network, or HF_HUB_OFFLINE=1). Either train from "
        "random weights with `--model.init_args.pretrained=false` (pretrained: false in the "
        "YAML), or download the weights once on a machine with network access (run the same "
        "command there) and copy ~/.cache/huggingface to this machine."
    )
