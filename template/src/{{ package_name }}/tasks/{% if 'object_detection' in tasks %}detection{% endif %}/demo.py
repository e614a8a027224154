"""The detection demo: an uploaded or webcam image in, the boxes found drawn on it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PIL import Image
from torchvision.transforms.v2.functional import pil_to_tensor

from ...data.media import to_rgb
from ...image_demo import image_requests
from ...task import DemoSpec, TimedPredictor

# ((x1, y1, x2, y2) in the image's pixels, class name, score), best first.
Detections = list[tuple[tuple[int, ...], str, float]]
# The page's starting minimum score: the model keeps boxes down to its score_threshold (0.05
# by default, for the AP computation), far too many to look at.
MIN_SCORE = 0.5


def detect_objects(module: Any, data_settings: dict) -> Callable[[Image.Image], Detections]:
    """Image -> every detection the model keeps: ``[(box, class, score), ...]``."""

    def predict(image: Image.Image) -> Detections:
        pixels = pil_to_tensor(to_rgb(image)).float() / 255
        detections = module([pixels])[0]
        return [
            (tuple(int(v) for v in box.tolist()), module.class_names[label], float(score))
            for box, score, label in zip(
                detections["boxes"], detections["scores"], detections["labels"], strict=True
            )
        ]

    return predict


def shown(detections: Detections, min_score: float) -> list[tuple[tuple[int, ...], str]]:
    """The boxes scoring at least ``min_score``, labelled "class score"."""
    return [(box, f"{name} {score:.2f}") for box, name, score in detections if score >= min_score]


def page(predictor: TimedPredictor, latency: Any) -> None:
    """An image and a minimum score; the image with a labelled box per detection above it."""
    import gradio as gr

    image = gr.Image(type="pil", sources=["upload", "webcam"], label="Image")
    min_score = gr.Slider(0.0, 1.0, value=MIN_SCORE, step=0.05, label="Minimum score")
    annotated = gr.AnnotatedImage(label="Detections")

    def respond(picture: Image.Image, minimum: float) -> tuple:
        return (picture, shown(predictor(picture), minimum)), predictor.last

    image.change(respond, [image, min_score], [annotated, latency], api_name="predict")
    # Moving the slider answers again (one forward pass: cheap next to looking at the boxes).
    min_score.release(respond, [image, min_score], [annotated, latency], api_name="rescore")


DEMO = DemoSpec(predictor=detect_objects, page=page, requests=image_requests, inputs="images")
