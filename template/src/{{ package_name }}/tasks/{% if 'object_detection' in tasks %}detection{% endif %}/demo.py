"""The detection demo: an uploaded or webcam image in, the boxes found drawn on it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PIL import Image
from torchvision.transforms.v2.functional import pil_to_tensor

from ...data.media import to_rgb
from ...image_demo import image_page, image_requests
from ...task import DemoSpec, TimedPredictor

Detections = list[tuple[tuple[int, ...], str]]


def detect_objects(module: Any, data_settings: dict) -> Callable[[Image.Image], Detections]:
    """Image -> ``[((x1, y1, x2, y2), "class score"), ...]`` in the image's pixels."""

    def predict(image: Image.Image) -> Detections:
        pixels = pil_to_tensor(to_rgb(image)).float() / 255
        detections = module([pixels])[0]
        return [
            (tuple(int(v) for v in box.tolist()), f"{module.class_names[label]} {score:.2f}")
            for box, score, label in zip(
                detections["boxes"], detections["scores"], detections["labels"], strict=True
            )
        ]

    return predict


def page(predictor: TimedPredictor, latency: Any) -> None:
    """An image, and the same image with a labelled box per detection."""
    import gradio as gr

    image_page(
        predictor,
        latency,
        lambda: gr.AnnotatedImage(label="Detections"),
        show=lambda image, detections: (image, detections),
    )


DEMO = DemoSpec(predictor=detect_objects, page=page, requests=image_requests, inputs="images")
