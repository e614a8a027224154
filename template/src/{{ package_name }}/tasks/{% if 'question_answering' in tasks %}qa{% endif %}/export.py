"""How the question-answering model is exported: token ids in, start and end scores out.

The Hugging Face model exports with a dynamic batch and sequence length; the span search
(n-best, no-answer threshold) stays in Python. It is a transformer encoder that ONNX Runtime's
optimiser knows, so the fused fp32 export and int8 quantisation are offered too.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from torch import Tensor, nn
from torch.export import Dim

from ...runtimes import batch_dim
from ...task import ExportSpec
from ...transformer_onnx import export_fused, export_int8_from_best
from .model import QuestionAnsweringModel

ROOT_PACKAGE = __name__.split(".")[0]
# int8 at most 0.55x the fused fp32 model (the plain one where fusion was skipped), 2 cores.
INT8_TARGET = 0.55


class _SpanScores(nn.Module):
    """A Hugging Face QA model as tensors in, ``(start_logits, end_logits)`` out."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(
        self, input_ids: Tensor, attention_mask: Tensor, token_type_ids: Tensor | None = None
    ) -> tuple[Tensor, Tensor]:
        inputs = {"input_ids": input_ids, "attention_mask": attention_mask}
        if token_type_ids is not None:  # BERT-like models; DistilBERT and RoBERTa have none
            inputs["token_type_ids"] = token_type_ids
        output = self.model(**inputs)
        return output.start_logits, output.end_logits


class _SpanScoresFromRuntime(nn.Module):
    """An exported QA model, called like the Hugging Face model it replaces."""

    def __init__(self, runtime: nn.Module, input_names: Sequence[str]) -> None:
        super().__init__()
        self.runtime = runtime
        self.input_names = list(input_names)

    def forward(self, **inputs: Tensor) -> SimpleNamespace:
        start, end = self.runtime(*(inputs[name] for name in self.input_names))
        return SimpleNamespace(start_logits=start, end_logits=end, loss=None)


def _input_names(module: QuestionAnsweringModel) -> list[str]:
    accepted = inspect.signature(module.model.forward).parameters
    return [name for name in ("input_ids", "attention_mask", "token_type_ids") if name in accepted]


def _inputs(module: QuestionAnsweringModel, batch: dict, count: int) -> dict[str, Tensor]:
    names = [name for name in _input_names(module) if name in batch]
    inputs = {name: batch[name][:count] for name in names}
    if count == 1:  # cut the padding: a shorter sequence checks that its length is dynamic
        length = max(int(inputs["attention_mask"].sum()), 2)
        inputs = {name: tensor[:, :length] for name, tensor in inputs.items()}
    return inputs


def _dynamic_axes(module: QuestionAnsweringModel) -> dict[str, dict[int, Any]]:
    batch = batch_dim()
    longest = module.model.config.max_position_embeddings
    sequence = Dim("sequence", min=2, max=longest)
    return {name: {0: batch, 1: sequence} for name in _input_names(module)}


def _attach(module: QuestionAnsweringModel, runtime: nn.Module) -> None:
    module.model = _SpanScoresFromRuntime(runtime, _input_names(module))


def fusion(module: QuestionAnsweringModel) -> dict[str, Any]:
    """ONNX Runtime's optimiser's arguments for this model."""
    # "bert" is the optimiser's fusion of the BERT family's encoder (BERT, RoBERTa, ...).
    config = module.model.config
    return {
        "model_type": "bert",
        "num_heads": config.num_attention_heads,
        "hidden_size": config.hidden_size,
    }


def _fused(
    module: QuestionAnsweringModel, network: nn.Module, inputs: dict, names: list, path: Path
) -> dict[str, int]:
    return export_fused(network, inputs, names, path, fusion(module))


EXPORT = ExportSpec(
    network=lambda module: _SpanScores(module.model),
    inputs=_inputs,
    dynamic_axes=_dynamic_axes,
    output_names=lambda module: ["start_logits", "end_logits"],
    attach=_attach,
    metric=lambda module: "val/f1",
    fused=_fused,
    int8=export_int8_from_best,
    int8_max_drop=1.0,  # F1 points
    latency_targets={"int8": ("fused", INT8_TARGET)},
    benchmark_notes={
        "int8": "(a model of this size is overhead-bound; for int8 at a realistic size run "
        f"`python -m {ROOT_PACKAGE}.benchmark int8`)"
    },
)
# `benchmark int8` (int8_benchmark.py, which reads this spec) is added in __init__.py.
