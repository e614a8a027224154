"""How the detector is exported: its backbone and feature pyramid, images in, levels out.

The pyramid's output shapes follow the input's, so it exports with a dynamic batch and image
size. The heads' box decoding and non-maximum suppression give data-dependent shapes: they
stay in Python, fed by the export's levels (the export folder keeps their weights).
The whole one-stage detector, decoding and NMS included, is written beside it as
``model.whole.onnx`` with a standalone ``predict_onnx.py`` (``whole_export.py``).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import cast

import torch
from torch import Tensor, nn
from torch.export import Dim

from ...runtimes import batch_dim
from ...task import ExportSpec
from . import coco_scale, loader_benchmark
from .model import ObjectDetector
from .whole_export import export_whole


def _pyramid_levels(module: ObjectDetector) -> list[str]:
    """The names of the feature-pyramid levels, in the order the pyramid returns them."""
    pyramid = cast(nn.Module, module.detector.backbone)  # torchvision's detectors are untyped
    with torch.no_grad():
        return list(pyramid(torch.zeros(1, 3, 64, 64)).keys())


class _PyramidFromRuntime(nn.Module):
    """The exported backbone + FPN, returning named levels as torchvision's heads expect."""

    def __init__(self, runtime: nn.Module, levels: list[str], out_channels: int) -> None:
        super().__init__()
        self.runtime = runtime
        self.levels = levels
        self.out_channels = out_channels

    def forward(self, images: Tensor) -> OrderedDict[str, Tensor]:
        return OrderedDict(zip(self.levels, self.runtime(images), strict=True))


def _inputs(module: ObjectDetector, batch: dict, count: int) -> dict[str, Tensor]:
    # The detector's own transform (normalise, resize, pad to a multiple of 32) runs first.
    transform = cast(nn.Module, module.detector.transform)  # torchvision's detectors are untyped
    images, _ = transform(list(batch["images"][:count]))
    return {"images": images.tensors}


def _dynamic_axes(module: ObjectDetector) -> dict[str, dict[int, object]]:
    return {
        "images": {
            0: batch_dim(),
            2: 32 * Dim("height_32", min=1, max=256),
            3: 32 * Dim("width_32", min=1, max=256),
        }
    }


def _attach(module: ObjectDetector, runtime: nn.Module) -> None:
    pyramid = cast(nn.Module, module.detector.backbone)  # torchvision's detectors are untyped
    levels = _pyramid_levels(module)
    out_channels = cast(int, pyramid.out_channels)
    module.detector.backbone = _PyramidFromRuntime(runtime, levels, out_channels)


EXPORT = ExportSpec(
    network=lambda module: module.detector.backbone,
    inputs=_inputs,
    dynamic_axes=_dynamic_axes,
    output_names=lambda module: [f"level_{name}" for name in _pyramid_levels(module)],
    attach=_attach,
    metric=lambda module: "val/AP_moderate" if module.hparams.evaluation == "kitti" else "val/mAP",
    atol=1e-4,
    latency_targets={"onnx": ("eager", 0.6)},  # ONNX Runtime at most 0.6x eager on 2 cores
    benchmarks=(loader_benchmark.add_benchmark_command, coco_scale.add_benchmark_command),
    whole=export_whole,  # model.whole.onnx: + box decoding and NMS (RetinaNet, FCOS)
)
