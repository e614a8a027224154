"""The classification demo: an uploaded or webcam image in, its top classes out."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PIL import Image

from ...data.media import to_rgb
from ...image_demo import image_page, image_requests
from ...models.backbones import data_config
from ...task import DemoSpec, TimedPredictor
from .imagefolder import build_transforms


def classify_images(module: Any, data_settings: dict) -> Callable[[Image.Image], dict]:
    """Image -> {class name: probability}, with the validation transforms of the data."""
    transform = build_transforms(
        data_config(module.hparams.backbone), False, data_settings.get("image_size")
    )

    def predict(image: Image.Image) -> dict[str, float]:
        pixels = transform(to_rgb(image)).unsqueeze(0)
        probabilities = module(pixels).softmax(dim=-1)[0].tolist()
        return dict(zip(module.class_names, probabilities, strict=True))

    return predict


def page(predictor: TimedPredictor, latency: Any) -> None:
    """An image and its five most likely classes."""
    import gradio as gr

    image_page(predictor, latency, lambda: gr.Label(num_top_classes=5, label="Classes"))


DEMO = DemoSpec(predictor=classify_images, page=page, requests=image_requests, inputs="images")
