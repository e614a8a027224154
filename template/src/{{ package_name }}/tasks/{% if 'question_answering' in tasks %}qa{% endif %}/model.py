"""Extractive question answering: a Hugging Face ``AutoModelForQuestionAnswering``.

The model scores every token as the start and as the end of the answer. Post-processing (the
reference recipe, spelled out in :func:`postprocess`) turns those scores into text: the
``n_best`` starts and ends of every window are paired, impossible or over-long spans dropped,
the best span mapped back to characters of the context; for SQuAD v2.0 the "no answer" score
(start and end on the CLS token) competes with the best span.

Logged each validation epoch: the official EM and F1 (``val/em``, ``val/f1``; v2.0 adds the
HasAns / NoAns parts and the best no-answer threshold), an HTML page of answers highlighted in
their context (``answers/val_epochNNN.html`` in the run folder) and, with wandb, a table.
``predict`` writes ``predictions.json`` (``{question id: answer}``, the official format) and,
for v2.0, ``null_odds.json`` (the no-answer scores the official script takes as
``--na-prob-file``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch
from torch import Tensor

from ...distributed import gather_objects
from ...metrics.exact import logged
from ...models.backbones import (
    BackboneError,
    enable_gradient_checkpointing,
    is_missing_weights,
    offline_message,
    use_cache_only_if_hub_unreachable,
)
from ...models.base import EvaluationPages, HuggingFaceModule, TaskModule
from ...runs import run_dir
from .answer_pages import ANSWER_PAGES, AnsweredQuestion
from .features import MODEL_INPUTS
from .squad_metric import evaluate_v1, evaluate_v2, score_question


@dataclass
class WindowScores:
    """The model's start and end scores for one window, and how to map them to characters.

    ``offsets`` is ``(L, 2)``: the characters of the context each token covers, -1 for tokens
    outside the context (question, special tokens, padding). ``index``: the window's place in
    the data set (-1: unknown), to put windows gathered from several processes back in order.
    """

    example_id: str
    context: str
    start_logits: np.ndarray
    end_logits: np.ndarray
    offsets: np.ndarray
    index: int = -1


@dataclass
class SpanPrediction:
    """The answer to one question.

    ``text`` is "" for "no answer" (v2.0); ``start`` is its first character (-1 when empty);
    ``best_span`` / ``best_start`` are the best non-empty span whatever the null score;
    ``null_score_diff`` is the no-answer score minus the best span's (higher: more likely
    unanswerable; 0 for v1.1).
    """

    text: str
    start: int
    best_span: str
    best_start: int
    null_score_diff: float


def best_spans(
    window: WindowScores, n_best: int = 20, max_answer_length: int = 30
) -> list[tuple[float, int, int]]:
    """Valid spans of one window as ``(score, first char, end char)``, best first.

    The ``n_best`` highest start and end scores are paired; a pair is dropped when either
    token lies outside the context, the end precedes the start, or it spans more than
    ``max_answer_length`` tokens. A span's score is its start plus its end score.
    """
    starts = np.argsort(window.start_logits)[::-1][:n_best]
    ends = np.argsort(window.end_logits)[::-1][:n_best]
    spans = []
    for s in starts:
        for e in ends:
            if window.offsets[s][0] < 0 or window.offsets[e][0] < 0:
                continue  # not a context token
            if e < s or e - s + 1 > max_answer_length:
                continue
            score = float(window.start_logits[s] + window.end_logits[e])
            spans.append((score, int(window.offsets[s][0]), int(window.offsets[e][1])))
    return sorted(spans, key=lambda span: -span[0])[:n_best]


def postprocess(
    windows: list[WindowScores],
    version: Literal["v1", "v2"] = "v1",
    n_best: int = 20,
    max_answer_length: int = 30,
    null_score_diff_threshold: float = 0.0,
) -> dict[str, SpanPrediction]:
    """One answer per question from the scores of all its windows.

    The best span over all windows wins. For v2.0 the no-answer score is the lowest CLS score
    (token 0) over the question's windows; the answer is "" when that score exceeds the best
    span's by more than ``null_score_diff_threshold``.
    """
    by_example: dict[str, list[WindowScores]] = {}
    for window in windows:
        by_example.setdefault(window.example_id, []).append(window)
    predictions = {}
    for example_id, group in by_example.items():
        spans = [span for window in group for span in best_spans(window, n_best, max_answer_length)]
        context = group[0].context
        if spans:
            score, start, end = max(spans, key=lambda span: span[0])
            text = context[start:end]
        else:  # no valid span at all (e.g. every window holds only the question)
            score, start, text = -1e9, -1, ""
        null_score = min(float(w.start_logits[0] + w.end_logits[0]) for w in group)
        diff = null_score - score if version == "v2" else 0.0
        if version == "v2" and (diff > null_score_diff_threshold or not text):
            predictions[example_id] = SpanPrediction("", -1, text, start, diff)
        else:
            predictions[example_id] = SpanPrediction(text, start, text, start, diff)
    return predictions


def official_files(
    predictions: dict[str, SpanPrediction],
) -> tuple[dict[str, str], dict[str, float]]:
    """What ``predict`` writes: ``predictions.json`` and (v2.0) ``null_odds.json``.

    Validation scores these two dicts, in this key order (it breaks ties in the official
    threshold search), so it logs what ``score squad`` gives on the written files.
    """
    answers = {qid: p.text for qid, p in predictions.items()}
    odds = {qid: p.null_score_diff for qid, p in predictions.items()}
    return answers, odds


def build_qa_model(
    model_name: str, pretrained: bool, config_overrides: dict[str, Any] | None = None
) -> torch.nn.Module:
    """An extractive QA model by Hugging Face id or local folder, or by model type.

    With ``pretrained: false``, ``model_name`` may also be a bare model type (``bert``,
    ``distilbert``, ``roberta``, ...): a random model of that type is built from its default
    config and ``config_overrides`` (e.g. ``{hidden_size: 64, num_hidden_layers: 2}``),
    with no download at all.
    """
    from transformers import AutoConfig, AutoModelForQuestionAnswering
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING

    overrides = dict(config_overrides or {})
    if pretrained:
        use_cache_only_if_hub_unreachable()
    try:
        if pretrained:
            return AutoModelForQuestionAnswering.from_pretrained(model_name, **overrides)
        if model_name in CONFIG_MAPPING:
            config = AutoConfig.for_model(model_name, **overrides)
        else:
            config = AutoConfig.from_pretrained(model_name, **overrides)
        return AutoModelForQuestionAnswering.from_config(config)
    except ValueError as error:
        raise BackboneError(
            f"{model_name!r} has no question-answering head in transformers ({error}); use an "
            "encoder such as distilbert-base-uncased, bert-base-uncased, roberta-base, "
            "microsoft/deberta-v3-base or answerdotai/ModernBERT-base."
        ) from error
    except OSError as error:
        if pretrained and is_missing_weights(error):
            raise BackboneError(offline_message(model_name)) from error
        raise BackboneError(
            f"Cannot load model {model_name!r}: {error}. Offline, give a local folder holding "
            "config.json (and the weights for pretrained: true), or a model type such as "
            "'bert' with pretrained: false."
        ) from error


class QuestionAnsweringModel(HuggingFaceModule, EvaluationPages, TaskModule):
    """A Hugging Face extractive QA model, trained on start / end token labels.

    Args:
        model_name: Hugging Face id or local folder (``distilbert-base-uncased``,
            ``bert-base-uncased``, ``roberta-base``, ``microsoft/deberta-v3-base``,
            ``answerdotai/ModernBERT-base``), or a model type (``bert``) with
            ``pretrained: false``.
        pretrained: load the published weights (needs the hub or its cache).
        config_overrides: config fields to change, e.g. a tiny ``hidden_size`` for tests.
        vocab_size: tokens of the tokenizer (linked from the DataModule); sizes the
            embeddings of a model trained from scratch, and is checked against pretrained ones.
        squad_version: ``v1`` (every question answered) or ``v2`` (linked from the
            DataModule).
        n_best: start and end candidates per window in post-processing.
        max_answer_length: longest answer, in tokens.
        null_score_diff_threshold: v2.0 answers "no answer" when the no-answer score beats
            the best span by more than this (tune it with ``val/best_f1_thresh``; its search
            sees the answers given at this threshold, as the official script does on
            predictions.json). ``score squad --na-prob-thresh`` this value: the logged numbers.
        html_examples: questions shown on each epoch's answers page and wandb table.
        gradient_checkpointing: recompute each layer's activations in the backward pass
            instead of storing them: about a third more compute for much less memory, so
            longer sequences or larger batches fit on the GPU.
        **kwargs: the optimiser (AdamW, lr 3e-5 for fine-tuning), its schedule, ``surgery``
            (e.g. ``[{op: lora, target_modules: [query, value], r: 8}]``) and ``lr_groups``
            (e.g. ``{backbone_scale: 1.0, layer_decay: 0.9}``): see ``models/base.py``.
    """

    # For surgery.py and finetuning.py: the span-scoring layer (start and end per token).
    head_name = "model.qa_outputs"
    # A Hugging Face QA model (``config`` ...), or export's runtime in its place: no class of
    # theirs declares what all answer, so typed by use rather than as nn.Module.
    model: Any

    def __init__(
        self,
        model_name: str = "distilbert-base-uncased",
        pretrained: bool = True,
        config_overrides: dict[str, Any] | None = None,
        vocab_size: int | None = None,
        squad_version: Literal["v1", "v2"] = "v2",
        n_best: int = 20,
        max_answer_length: int = 30,
        null_score_diff_threshold: float = 0.0,
        html_examples: int = 50,
        gradient_checkpointing: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        overrides = dict(config_overrides or {})
        if vocab_size is not None and not pretrained:
            overrides.setdefault("vocab_size", vocab_size)
        self.model = build_qa_model(model_name, pretrained, overrides)
        if gradient_checkpointing:
            enable_gradient_checkpointing(self.model, model_name)
        embeddings = self.model.config.vocab_size
        if vocab_size is not None and vocab_size > embeddings:
            raise BackboneError(
                f"The tokenizer has {vocab_size} tokens but model {model_name!r} embeds only "
                f"{embeddings}: use the model's own tokenizer (data.init_args.tokenizer)."
            )
        self._windows: list[WindowScores] = []
        self._gold: dict[str, tuple[str, list[tuple[int, str]]]] = {}
        # The last evaluation's official numbers, unrounded (logging stores float32).
        self.squad_scores: dict[str, float] = {}
        self.apply_surgery()

    def forward(self, batch: dict) -> Any:
        """The Hugging Face output (``start_logits``, ``end_logits``, ``loss`` with labels)."""
        names = (*MODEL_INPUTS, "start_positions", "end_positions")
        return self.model(**{name: batch[name] for name in names if name in batch})

    def inference_args(self, batch: dict) -> tuple:
        """The arguments of ``forward`` for a batch of the DataModule (for profiling)."""
        return ({name: batch[name] for name in MODEL_INPUTS if name in batch},)

    def training_step(self, batch: dict, batch_idx: int) -> Tensor:
        loss = self(batch).loss  # mean of the start and end cross-entropies
        self.log("train/loss", loss, prog_bar=True, batch_size=len(batch["input_ids"]))
        return loss

    def _collect(self, batch: dict) -> None:
        """Score the batch's windows and keep them (and their questions) for the epoch's end."""
        output = self({name: batch[name] for name in MODEL_INPUTS if name in batch})
        starts = output.start_logits.float().cpu().numpy()
        ends = output.end_logits.float().cpu().numpy()
        offsets = batch["offsets"].cpu().numpy()
        indices = batch.get("window", [-1] * len(batch["example_id"]))
        for i, example_id in enumerate(batch["example_id"]):
            window = WindowScores(
                example_id, batch["context"][i], starts[i], ends[i], offsets[i], indices[i]
            )
            self._windows.append(window)
            self._gold[example_id] = (batch["question"][i], batch["answers"][i])

    def validation_step(self, batch: dict, batch_idx: int) -> None:
        self._collect(batch)

    def test_step(self, batch: dict, batch_idx: int) -> None:
        self._collect(batch)

    def predict_step(self, batch: dict, batch_idx: int) -> None:
        self._collect(batch)

    def _predictions(self) -> dict[str, SpanPrediction]:
        h = self.hparams
        return postprocess(
            self._windows,
            h.squad_version,
            h.n_best,
            h.max_answer_length,
            h.null_score_diff_threshold,
        )

    def _evaluate(self, stage: str) -> dict[str, SpanPrediction]:
        predictions = self._predictions()
        # Every gold answer as the data set has it (also "the", which normalises to nothing:
        # v2.0 decides "has an answer" from the raw list), in the data set's order.
        gold = {qid: [text for _, text in self._gold[qid][1]] for qid in predictions}
        answers, odds = official_files(predictions)
        if self.hparams.squad_version == "v2":
            scores = evaluate_v2(gold, answers, odds, self.hparams.null_score_diff_threshold)
        else:
            scores = evaluate_v1(gold, answers)
        self.squad_scores = scores
        for key, value in scores.items():
            if not key.endswith("total"):  # counts, not metrics
                # exact_match, exact -> em; HasAns_f1 -> has_ans_f1; best_exact -> best_em ...
                name = key.replace("exact_match", "em").replace("exact", "em")
                name = name.replace("HasAns", "has_ans").replace("NoAns", "no_ans")
                # Unrounded (metrics.exact.logged): equal to `score squad` on predict's files.
                logged_value = logged(value, self.device)
                self.log(f"{stage}/{name}", logged_value, prog_bar=name in ("em", "f1"))
        return predictions

    def _answered(self, predictions: dict[str, SpanPrediction]) -> list[AnsweredQuestion]:
        contexts = {window.example_id: window.context for window in self._windows}
        questions = []
        for qid in list(predictions)[: self.hparams.html_examples]:
            question, gold = self._gold[qid]
            prediction = predictions[qid]
            em, f1 = score_question(
                prediction.text, [text for _, text in gold], self.hparams.squad_version
            )
            questions.append(
                AnsweredQuestion(
                    qid,
                    question,
                    contexts[qid],
                    list(gold),
                    prediction.text,
                    prediction.start,
                    100 * em,
                    100 * f1,
                )
            )
        return questions

    def _gather(self) -> None:
        """Under DDP, every process gets all processes' windows: a question's windows may
        have been scored on different processes, and each must see them all to pick the
        answer (each window is scored exactly once: see ``data.sampling``)."""
        # Stable: windows without an index (-1) keep their order.
        self._windows = sorted(gather_objects(self._windows), key=lambda window: window.index)
        self._gold = dict(gather_objects(list(self._gold.items())))

    def _finish_evaluation(self, stage: str, page_name: str, title: str) -> None:
        self._gather()
        predictions = self._evaluate(stage)
        if not self.trainer.sanity_checking and self.trainer.is_global_zero:
            questions = self._answered(predictions)
            ANSWER_PAGES.write(questions, run_dir(self.trainer) / "answers" / page_name, title)
            ANSWER_PAGES.log_table(self.trainer, questions, key=f"answers/{stage}")
        self._windows.clear()
        self._gold.clear()

    def on_predict_epoch_end(self) -> None:
        self._gather()
        if not self.trainer.is_global_zero:  # rank 0 writes the files for all processes
            self._windows.clear()
            self._gold.clear()
            return
        predictions = self._predictions()
        folder = run_dir(self.trainer)
        folder.mkdir(parents=True, exist_ok=True)
        answers, odds = official_files(predictions)
        (folder / "predictions.json").write_text(json.dumps(answers, indent=1) + "\n")
        if self.hparams.squad_version == "v2":
            (folder / "null_odds.json").write_text(json.dumps(odds, indent=1) + "\n")
        print(f"Wrote {len(answers)} answers to {folder / 'predictions.json'}")
        self._windows.clear()
        self._gold.clear()
