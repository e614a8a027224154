"""How the speech model is exported: raw audio and its mask in, a score per frame out.

The CTC family's whole inference is one forward pass (audio in, a score per 20 ms frame out),
exported with a dynamic batch and audio length; decoding (the module's own, greedy or beam
search) and the CTC loss stay in Python. The sample's BiGRU exports its GRU layers through an
operator of ours (``model.gru_layer``, written as ONNX's GRU by :func:`_onnx_gru`). Whisper is
not exported: see :func:`_refusal`.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, cast

import torch
from torch import Tensor, nn
from torch.export import Dim

from ...runtimes import batch_dim
from ...task import ExportSpec
from ...transformer_onnx import export_int8_from_best
from . import librispeech_scale
from .logmel_bigru import gru_layer
from .model import CTC_INPUTS, SpeechRecognitionModel

if TYPE_CHECKING:
    from onnxscript import INT64

MAX_AUDIO_SECONDS = 600
SAMPLE_RATE = 16_000


class _CtcScores(nn.Module):
    """The module's CTC model as tensors in (raw audio, its mask), frame scores out."""

    def __init__(self, module: SpeechRecognitionModel) -> None:
        super().__init__()
        self.model = module.model

    def forward(self, input_values: Tensor, attention_mask: Tensor) -> Tensor:
        return self.model(input_values=input_values, attention_mask=attention_mask).logits


class _CtcScoresFromRuntime(nn.Module):
    """An exported CTC model, called like the Hugging Face model it replaces.

    ``logits`` come from the runtime; the CTC loss (validation reports it) is computed here as
    the Hugging Face model computes it (our BiGRU computes its own). Everything else (the
    config, the frame count of an audio length that decoding uses) is read from the model it
    replaces.
    """

    def __init__(self, runtime: nn.Module, replaced: nn.Module, input_names: list[str]) -> None:
        super().__init__()
        self.runtime = runtime
        self.input_names = input_names
        self.__dict__["replaced"] = replaced  # not a submodule: its weights are not used

    def __getattr__(self, name: str) -> Any:
        try:
            return super().__getattr__(name)
        except AttributeError:
            return getattr(self.__dict__["replaced"], name)

    def forward(self, labels: Tensor | None = None, **inputs: Tensor) -> SimpleNamespace:
        (logits,) = self.runtime(*(inputs[name] for name in self.input_names))
        loss = None
        replaced = self.__dict__["replaced"]
        if labels is not None and hasattr(type(replaced), "_ctc_loss"):  # our BiGRU: its own
            loss = replaced._ctc_loss(logits, labels, inputs["attention_mask"])
        elif labels is not None:
            loss = self._ctc_loss(logits, inputs["attention_mask"], labels)
        return SimpleNamespace(logits=logits, loss=loss)

    def _ctc_loss(self, logits: Tensor, attention_mask: Tensor, labels: Tensor) -> Tensor:
        config = self.config
        frames = self._get_feat_extract_output_lengths(attention_mask.sum(-1)).long()
        known = labels >= 0  # padding is -100
        log_probs = nn.functional.log_softmax(logits.float(), dim=-1).transpose(0, 1)
        return nn.functional.ctc_loss(
            log_probs,
            labels.masked_select(known),
            frames,
            known.sum(-1),
            blank=config.pad_token_id,
            reduction=config.ctc_loss_reduction,
            zero_infinity=config.ctc_zero_infinity,
        )


def _refusal(module: SpeechRecognitionModel) -> str | None:
    if module.family == "ctc":
        return None
    if module.family != "seq2seq":
        return (
            f"export.py has no entry for the {module.family!r} speech family yet: give it "
            "one in tasks/asr/export.py (its inputs and dynamic axes), or serve the .ckpt."
        )
    return (
        f"{module.hparams.model_name!r} is a sequence-to-sequence model (Whisper): it writes a "
        "transcript with generate(), a loop of decoder calls as long as the transcript, with "
        "a cache that grows each step, which is not one fixed forward pass that ONNX or "
        "torch.export can capture whole. Alternatives: a CTC model (model_name wav2vec2, "
        "hubert or wavlm; configs/asr/librispeech_wav2vec2.yaml), whose inference is one "
        "forward pass and exports; or serve this checkpoint as it is (predict and demo.py "
        "take the .ckpt), compiling its encoder and decoder with torch.compile for speed."
    )


def _onnx_gru(hidden: Any, weight_ih: Any, weight_hh: Any, bias_ih: Any, bias_hh: Any) -> Any:
    """The BiGRU's ``gru_layer`` (one batch-first, one-way layer) as ONNX's ``GRU`` operator.

    ONNX orders the gates update, reset, new where torch orders reset, update, new;
    ``linear_before_reset=1`` is torch's formula (the reset gate scales the recurrent
    product after its bias). ONNX's GRU reads ``(frames, batch, features)``.
    """
    from onnxscript import opset18 as op

    size = weight_hh.shape[1]

    def ints(*values: int) -> INT64:
        # The exporter makes a constant input of a list; onnxscript's types name only tensors.
        return cast("INT64", list(values))

    def update_reset_new(tensor: Any) -> Any:  # slices, which the exporter folds into weights
        reset, update, new = (
            op.Slice(tensor, ints(i * size), ints((i + 1) * size), ints(0)) for i in range(3)
        )
        return op.Concat(update, reset, new, axis=0)

    output, _ = op.GRU(
        op.Transpose(hidden, perm=[1, 0, 2]),
        op.Unsqueeze(update_reset_new(weight_ih), ints(0)),
        op.Unsqueeze(update_reset_new(weight_hh), ints(0)),
        op.Unsqueeze(
            op.Concat(update_reset_new(bias_ih), update_reset_new(bias_hh), axis=0), ints(0)
        ),
        hidden_size=size,
        linear_before_reset=1,
    )  # (frames, directions = 1, batch, hidden)
    return op.Transpose(op.Squeeze(output, ints(1)), perm=[1, 0, 2])


def _inputs(module: SpeechRecognitionModel, batch: dict, count: int) -> dict[str, Tensor]:
    (named,) = module.inference_args(batch)
    inputs = {name: named[name][:count] for name in list(CTC_INPUTS)}
    if count == 1:  # cut the padding: another length checks that the length is dynamic
        length = int(inputs["attention_mask"].sum())
        inputs = {name: tensor[:, :length] for name, tensor in inputs.items()}
    return inputs


def _shortest_audio(module: SpeechRecognitionModel) -> int:
    """The fewest samples that give the model two frames (its conv stack's receptive field)."""
    lengths = torch.arange(1, 2 * SAMPLE_RATE)
    frames = module.model._get_feat_extract_output_lengths(lengths)
    return int(lengths[frames >= 2][0])


def _dynamic_axes(module: SpeechRecognitionModel) -> dict[str, dict[int, Any]]:
    batch = batch_dim()
    samples = Dim("samples", min=_shortest_audio(module), max=MAX_AUDIO_SECONDS * SAMPLE_RATE)
    return {name: {0: batch, 1: samples} for name in list(CTC_INPUTS)}


def _attach(module: SpeechRecognitionModel, runtime: nn.Module) -> None:
    module.model = _CtcScoresFromRuntime(runtime, module.model, list(CTC_INPUTS))


def _onnx_translations() -> dict:
    """The ONNX translation of the BiGRU's own operator."""
    return {gru_layer._opoverload: _onnx_gru}


EXPORT = ExportSpec(
    network=_CtcScores,
    inputs=_inputs,
    dynamic_axes=_dynamic_axes,
    output_names=lambda module: ["logits"],
    attach=_attach,
    metric=lambda module: "val/wer",
    higher_is_better=False,
    int8=export_int8_from_best,
    int8_max_drop=0.01,  # WER: one word in a hundred
    refuse=_refusal,
    onnx_translations=_onnx_translations,
    steps_per_second=SAMPLE_RATE,
    also_report=("val/cer", "val/loss"),
    benchmarks=(librispeech_scale.add_benchmark_command,),
)
