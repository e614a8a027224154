"""Speech recognition: a CTC encoder (wav2vec2, HuBERT, WavLM) or Whisper, one LightningModule.

Two families share the DataModule and this module; the family follows from ``model_name``
(Whisper ids and the ``whisper`` type are sequence-to-sequence, every other model CTC):

- **CTC** (``AutoModelForCTC``, or our small :class:`LogMelBiGRUForCTC` trained from
  scratch): the encoder scores every 20 ms frame over the character vocabulary built from the
  training transcripts; :func:`ctc_greedy_decode` keeps the best character of each frame,
  merges repeats and drops the blank (``[PAD]``); :func:`ctc_prefix_beam_search` (``decoding:
  beam``) looks for the most probable transcript over all frame paths.
- **Whisper** (``WhisperForConditionalGeneration``): a decoder writes the transcript token by
  token (``generate`` in validation). A pretrained Whisper keeps its own tokenizer; one
  trained from scratch (``model_name: whisper``) writes characters of the same vocabulary.

Logged each validation epoch: corpus WER and CER over all validation splits (``val/wer``,
``val/cer``) and per split (``val/dev-clean/wer`` ...), an HTML page of transcripts aligned with
their references, substitutions, insertions and deletions marked
(``transcripts/val_epochNNN.html`` in the run folder), and with wandb a table with the audio.
``predict`` writes ``hypotheses.txt`` in the LibriSpeech transcript format.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Sequence
from typing import Any, Literal

import torch
from lightning.pytorch.utilities import rank_zero_warn
from torch import Tensor

from ...distributed import gather_objects
from ...metrics.exact import logged
from ...models.backbones import (
    BackboneError,
    enable_gradient_checkpointing,
    loading_weights,
)
from ...models.base import EvaluationPages, HuggingFaceModule, TaskModule
from ...runs import run_dir
from .decoding import ctc_greedy_decode, ctc_prefix_beam_search, ids_to_text
from .logmel_bigru import LogMelBiGRUForCTC
from .metric import corpus_error_rates, normalize_transcript
from .transcript_pages import TRANSCRIPT_PAGES, Transcript
from .vocabulary import (
    BOS,
    EOS,
    LOG_MEL_BIGRU,
    PAD,
    is_model_type,
    model_family,
)

CTC_INPUTS = ("input_values", "attention_mask")
# Set from the vocabulary and the module's arguments, not from config_overrides.
_HF_CTC_FIELDS = ("vocab_size", "pad_token_id", "ctc_loss_reduction", "ctc_zero_infinity")


def _config(model_name: str, overrides: dict[str, Any]) -> Any:
    from transformers import AutoConfig

    if is_model_type(model_name):
        return AutoConfig.for_model(model_name, **overrides)
    return AutoConfig.from_pretrained(model_name, **overrides)


def build_asr_model(
    model_name: str,
    pretrained: bool,
    vocabulary: Sequence[str] | None,
    config_overrides: dict[str, Any] | None = None,
    ctc_zero_infinity: bool = True,
) -> torch.nn.Module:
    """A CTC model or a Whisper, by Hugging Face id, local folder or (from scratch) model type.

    A CTC model's output layer is sized to ``vocabulary`` (a pretrained head of another size
    is replaced by a new one). A Whisper with ``vocabulary`` writes its characters (start
    ``<s>``, end ``</s>``); without, it keeps its tokenizer.
    """
    from transformers import AutoModelForCTC, AutoModelForSpeechSeq2Seq

    family = model_family(model_name)
    overrides = dict(config_overrides or {})
    if vocabulary is not None:
        ids = {token: i for i, token in enumerate(vocabulary)}
        overrides.update(vocab_size=len(vocabulary), pad_token_id=ids[PAD])
        if family == "seq2seq":
            overrides.update(
                bos_token_id=ids[BOS], eos_token_id=ids[EOS], decoder_start_token_id=ids[BOS]
            )
    elif family == "ctc":
        raise BackboneError("A CTC model needs the character vocabulary (linked from the data).")
    if family == "ctc":
        overrides.update(ctc_loss_reduction="mean", ctc_zero_infinity=ctc_zero_infinity)
    if pretrained and is_model_type(model_name):
        raise BackboneError(
            f"{model_name!r} is a model type, which has no pretrained weights: give a Hugging "
            "Face id (facebook/wav2vec2-base, openai/whisper-tiny) or set pretrained: false."
        )
    if model_name == LOG_MEL_BIGRU:
        sizes = {k: v for k, v in overrides.items() if k not in _HF_CTC_FIELDS}
        allowed = inspect.signature(LogMelBiGRUForCTC).parameters
        unknown = sorted(set(sizes) - set(allowed))
        if unknown:
            raise BackboneError(
                f"config_overrides {unknown} are not settings of {LOG_MEL_BIGRU!r}; it takes "
                f"{', '.join(name for name in allowed if name not in _HF_CTC_FIELDS)}."
            )
        assert vocabulary is not None  # a CTC model without one was refused above
        ids = {token: i for i, token in enumerate(vocabulary)}
        return LogMelBiGRUForCTC(
            len(vocabulary), ids[PAD], ctc_zero_infinity=ctc_zero_infinity, **sizes
        )
    model_class = AutoModelForSpeechSeq2Seq if family == "seq2seq" else AutoModelForCTC
    try:
        with loading_weights(model_name, pretrained):
            if pretrained:
                model = model_class.from_pretrained(
                    model_name, ignore_mismatched_sizes=family == "ctc", **overrides
                )
            else:
                config = _config(model_name, overrides)
                model = model_class.from_config(config)
    except (OSError, ValueError) as error:
        if isinstance(error, BackboneError):
            raise
        raise BackboneError(
            f"Cannot build speech model {model_name!r} ({error}). Use a CTC model "
            "(facebook/wav2vec2-base, facebook/hubert-base-ls960, microsoft/wavlm-base-plus) or "
            "a Whisper (openai/whisper-tiny), or a model type ('wav2vec2', 'hubert', 'wavlm', "
            f"'whisper', {LOG_MEL_BIGRU!r}) with pretrained: false."
        ) from error
    if family == "seq2seq" and vocabulary is not None:
        generation = model.generation_config
        generation.decoder_start_token_id = overrides["decoder_start_token_id"]
        generation.bos_token_id = overrides["bos_token_id"]
        generation.eos_token_id = overrides["eos_token_id"]
        generation.pad_token_id = overrides["pad_token_id"]
        generation.suppress_tokens = None  # Whisper's defaults refer to its own tokenizer
        generation.begin_suppress_tokens = None
        generation.forced_decoder_ids = None
    if family == "seq2seq":
        model.generation_config.max_length = None  # the length is max_new_tokens
    return model


class SpeechRecognitionModel(HuggingFaceModule, EvaluationPages, TaskModule):
    """A CTC speech encoder or a Whisper, trained on LibriSpeech-format transcripts.

    Args:
        model_name: Hugging Face id or local folder (``facebook/wav2vec2-base``,
            ``facebook/hubert-base-ls960``, ``microsoft/wavlm-base-plus``,
            ``openai/whisper-tiny``), or a model type (``wav2vec2``, ``hubert``, ``wavlm``,
            ``whisper``) with ``pretrained: false``.
        pretrained: load the published weights (needs the hub or its cache).
        config_overrides: config fields to change, e.g. a tiny ``hidden_size`` for tests.
        vocabulary: the character vocabulary (linked from the DataModule, which builds it
            from the training transcripts); None for a pretrained Whisper's own tokenizer.
        freeze_feature_encoder: keep the CTC model's convolutional waveform encoder fixed
            (the usual choice when fine-tuning a pretrained one).
        ctc_zero_infinity: zero the CTC loss of utterances too short for their transcript
            instead of letting an infinite loss stop training.
        max_new_tokens: longest transcript Whisper writes, in tokens.
        decoding: ``greedy`` (the best token of each frame / step) or ``beam``: CTC prefix
            beam search (:func:`ctc_prefix_beam_search`), Whisper's beam search in
            ``generate``; slower, at times more accurate.
        beam_width: hypotheses kept by beam search.
        html_examples: utterances shown on each epoch's transcripts page and wandb table.
        gradient_checkpointing: recompute each layer's activations in the backward pass
            instead of storing them: about a third more compute for much less memory, so
            longer utterances or larger batches fit on the GPU.
        **kwargs: the optimiser (AdamW; about 1e-4 to fine-tune), its schedule, ``surgery``
            (e.g. ``[{op: freeze, pattern: model.wav2vec2.encoder.layers.0*}]``) and
            ``lr_groups`` (e.g. ``{backbone_scale: 1.0, layer_decay: 0.9}``): see
            ``models/base.py``.
    """

    # A Hugging Face CTC model or Whisper, our LogMelBiGRUForCTC, or export's runtime in its
    # place: no class of theirs declares what all answer (``generate``,
    # ``_get_feat_extract_output_lengths`` ...), so typed by use rather than as nn.Module.
    model: Any

    @property
    def head_name(self) -> str:
        """For surgery.py and finetuning.py: the output layer (CTC characters or Whisper
        tokens)."""
        return "model.lm_head" if self.family == "ctc" else "model.proj_out"

    def __init__(
        self,
        model_name: str = "facebook/wav2vec2-base",
        pretrained: bool = True,
        config_overrides: dict[str, Any] | None = None,
        vocabulary: list[str] | None = None,
        freeze_feature_encoder: bool = True,
        ctc_zero_infinity: bool = True,
        max_new_tokens: int = 128,
        decoding: Literal["greedy", "beam"] = "greedy",
        beam_width: int = 8,
        html_examples: int = 50,
        gradient_checkpointing: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.family = model_family(model_name)
        self.model = build_asr_model(
            model_name, pretrained, vocabulary, config_overrides, ctc_zero_infinity
        )
        if gradient_checkpointing:
            enable_gradient_checkpointing(self.model, model_name)
        if self.family == "ctc" and freeze_feature_encoder:
            self.model.freeze_feature_encoder()
        self.processor = None
        if self.family == "seq2seq" and vocabulary is None:
            from transformers import WhisperProcessor

            with loading_weights(model_name, pretrained=True):
                self.processor = WhisperProcessor.from_pretrained(model_name)
        self._results: list[Transcript] = []
        self._loss_sum, self._loss_count = 0.0, 0
        self.apply_surgery()

    def _model_inputs(self, batch: dict) -> dict[str, Tensor]:
        names = CTC_INPUTS if self.family == "ctc" else ("input_features",)
        return {name: batch[name] for name in names}

    def forward(self, batch: dict) -> Any:
        """The Hugging Face output (``logits``, and ``loss`` when the batch has ``labels``)."""
        inputs = self._model_inputs(batch)
        if "labels" in batch:
            inputs["labels"] = batch["labels"]
        return self.model(**inputs)

    def inference_args(self, batch: dict) -> tuple:
        """The arguments of ``forward`` for a batch of the DataModule (for profiling)."""
        return (self._model_inputs(batch),)

    def transcribe(self, batch: dict, output: Any | None = None) -> list[str]:
        """Hypotheses for a batch: greedy CTC decoding, or Whisper's ``generate``."""
        if self.family == "ctc":
            output = output if output is not None else self(self._model_inputs(batch))
            samples = batch["attention_mask"].sum(dim=-1)
            frames = self.model._get_feat_extract_output_lengths(samples)
            vocabulary = self.hparams.vocabulary
            if self.hparams.decoding == "beam":
                width = self.hparams.beam_width
                return ctc_prefix_beam_search(output.logits, vocabulary, frames, beam_width=width)
            return ctc_greedy_decode(output.logits, vocabulary, frames)
        features = batch["input_features"]
        beams = {"num_beams": self.hparams.beam_width} if self.hparams.decoding == "beam" else {}
        if self.processor is not None:
            generated = self.model.generate(
                input_features=features,
                language="en",
                task="transcribe",
                max_new_tokens=self.hparams.max_new_tokens,
                **beams,
            )
            return self.processor.batch_decode(generated, skip_special_tokens=True)
        generated = self.model.generate(
            input_features=features, max_new_tokens=self.hparams.max_new_tokens, **beams
        )
        eos = self.hparams.vocabulary.index(EOS)
        texts = []
        for row in generated.tolist():
            row = row[: row.index(eos)] if eos in row else row
            texts.append(ids_to_text(row, self.hparams.vocabulary))
        return texts

    def training_step(self, batch: dict, batch_idx: int) -> Tensor:
        loss = self(batch).loss
        self.log("train/loss", loss, prog_bar=True, batch_size=len(batch["id"]))
        return loss

    def _evaluate_batch(self, batch: dict) -> None:
        output = self(batch)
        size = len(batch["id"])
        self._loss_sum += float(output.loss) * size
        self._loss_count += size
        hypotheses = self.transcribe(batch, output)
        for i, hypothesis in enumerate(hypotheses):
            self._results.append(
                Transcript(
                    batch["id"][i],
                    batch["split"][i],
                    batch["path"][i],
                    normalize_transcript(batch["transcript"][i]),
                    normalize_transcript(hypothesis),
                )
            )

    def validation_step(self, batch: dict, batch_idx: int, dataloader_idx: int = 0) -> None:
        self._evaluate_batch(batch)

    def test_step(self, batch: dict, batch_idx: int, dataloader_idx: int = 0) -> None:
        self._evaluate_batch(batch)

    def predict_step(self, batch: dict, batch_idx: int, dataloader_idx: int = 0) -> list[str]:
        hypotheses = self.transcribe(batch)
        for i, hypothesis in enumerate(hypotheses):
            self._results.append(
                Transcript(batch["id"][i], batch["split"][i], batch["path"][i], "", hypothesis)
            )
        return hypotheses

    def _finish_evaluation(self, stage: str, page_name: str, title: str) -> None:
        # Under DDP each process scored its share of the utterances (each exactly once):
        # every process joins all of them, so all log the same corpus WER / CER.
        results = gather_objects(self._results)
        totals = gather_objects([(self._loss_sum, self._loss_count)])
        loss_sum, count = sum(s for s, _ in totals), sum(n for _, n in totals)
        scores = corpus_error_rates([t.hypothesis for t in results], [t.reference for t in results])
        # Rates logged unrounded (metrics.exact.logged): they are to equal `score asr` on
        # predict's hypotheses.txt to the last digit.
        self.log(f"{stage}/loss", loss_sum / max(count, 1))
        self.log(f"{stage}/wer", logged(scores["wer"], self.device), prog_bar=True)
        self.log(f"{stage}/cer", logged(scores["cer"], self.device), prog_bar=True)
        for split in dict.fromkeys(t.split for t in results):
            part = [t for t in results if t.split == split]
            rates = corpus_error_rates([t.hypothesis for t in part], [t.reference for t in part])
            for name, value in rates.items():
                self.log(f"{stage}/{split}/{name}", logged(value, self.device))
        if not self.trainer.sanity_checking and self.trainer.is_global_zero:
            shown = results[: self.hparams.html_examples]
            pages = run_dir(self.trainer) / "transcripts"
            TRANSCRIPT_PAGES.write(shown, pages / page_name, title)
            TRANSCRIPT_PAGES.log_table(self.trainer, shown, key=f"transcripts/{stage}")
        self._results = []
        self._loss_sum, self._loss_count = 0.0, 0

    def on_predict_epoch_end(self) -> None:
        results, self._results = gather_objects(self._results), []
        if not self.trainer.is_global_zero:  # rank 0 writes the file for all processes
            return
        folder = run_dir(self.trainer)
        folder.mkdir(parents=True, exist_ok=True)
        lines = [f"{t.id} {normalize_transcript(t.hypothesis)}" for t in results]
        (folder / "hypotheses.txt").write_text("\n".join(lines) + "\n")
        print(f"Wrote {len(lines)} transcripts to {folder / 'hypotheses.txt'}")

    def setup(self, stage: str) -> None:
        """Under DDP, switch off LayerDrop unless DDP looks for unused parameters.

        LayerDrop (wav2vec2 and kin, Whisper) skips random layers in training. Each process
        draws its own: the random state drifts apart as dropout consumes it on audio of
        different lengths, so one process may skip a layer that another trains, and DDP's
        gradient sync then waits forever (seen with 2 processes on the sample data).
        """
        if stage != "fit" or self.trainer.world_size < 2:
            return
        config = getattr(self.model, "config", None)  # the BiGRU model has no LayerDrop
        strategy_options = getattr(self.trainer.strategy, "_ddp_kwargs", {})
        if strategy_options.get("find_unused_parameters"):
            return
        for name in ("layerdrop", "encoder_layerdrop", "decoder_layerdrop"):
            if getattr(config, name, 0.0):
                rank_zero_warn(
                    f"{name}={getattr(config, name)} is switched off under DDP: processes would "
                    "skip different layers and DDP would wait for their gradients forever. To "
                    "keep it, use --trainer.strategy=ddp_find_unused_parameters_true."
                )
                setattr(config, name, 0.0)
        for module in self.model.modules():  # Whisper keeps its own copies of the rates
            if isinstance(getattr(module, "layerdrop", None), float):
                module.layerdrop = 0.0

    def on_fit_start(self) -> None:
        """Save the character vocabulary with the run (``vocab.json``, ``{token: id}``)."""
        if self.hparams.vocabulary is not None and self.trainer.is_global_zero:
            folder = run_dir(self.trainer)
            folder.mkdir(parents=True, exist_ok=True)
            vocabulary = {token: i for i, token in enumerate(self.hparams.vocabulary)}
            (folder / "vocab.json").write_text(json.dumps(vocabulary, indent=1) + "\n")
