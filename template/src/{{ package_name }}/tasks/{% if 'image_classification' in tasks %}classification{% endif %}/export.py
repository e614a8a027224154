"""How the image classifier is exported: its backbone and head, images in, logits out."""

from __future__ import annotations

from torch import Tensor, nn

from ...runtimes import batch_dim
from ...task import ExportSpec
from .model import ImageClassifier


class _FirstOutput(nn.Module):
    """Unwraps the runtime's one-tensor tuple (the classifier's logits)."""

    def __init__(self, runtime: nn.Module) -> None:
        super().__init__()
        self.runtime = runtime

    def forward(self, images: Tensor) -> Tensor:
        return self.runtime(images)[0]


def _attach(module: ImageClassifier, runtime: nn.Module) -> None:
    module.backbone = _FirstOutput(runtime)
    module.head = nn.Identity()


EXPORT = ExportSpec(
    network=lambda module: nn.Sequential(module.backbone, module.head),
    inputs=lambda module, batch, count: {"images": batch["image"][:count]},
    dynamic_axes=lambda module: {"images": {0: batch_dim()}},
    output_names=lambda module: ["logits"],
    attach=_attach,
    metric=lambda module: "val/acc",
    latency_targets={"onnx": ("eager", 0.6)},  # ONNX Runtime at most 0.6x eager on 2 cores
)
