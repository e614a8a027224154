"""Question + context pairs cut into model windows, as numpy arrays: the tokenizer call of
the Hugging Face recipe, and a faster way to the same windows.

The recipe calls the tokenizer on every (question, context) pair. SQuAD asks 4-5 questions
about each paragraph, so it tokenises every context 4-5 times. :class:`PairWindows` tokenises
each distinct context once and each question once, then lets the tokenizer's own
post-processor (the same Rust code its pair call runs: truncation with stride, special
tokens, padding) assemble every pair's windows. It is checked against the recipe's call on
the first questions of every run and is only used where it gives the same windows (right-
padding tokenizers: question first); otherwise the recipe's call runs.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .squad_json import QAExample

Windows = dict[str, np.ndarray]
# Questions compared between the fast path and the recipe's call before the fast path is used.
CHECKED_QUESTIONS = 64


def _model_inputs(tokenizer: Any) -> list[str]:
    return [name for name in tokenizer.model_input_names if name != "input_ids"]


def recipe_windows(
    tokenizer: Any, examples: list[QAExample], max_seq_length: int, doc_stride: int
) -> Windows:
    """The recipe's tokenizer call over the pairs, as arrays.

    Returns:
        ``input_ids`` (and the tokenizer's other model inputs: ``attention_mask``,
        ``token_type_ids``), ``offset_mapping`` ``(windows, tokens, 2)``, ``example`` (the
        example of each window) and ``context_first`` / ``context_last`` (the window's first
        and last context token).
    """
    pad_on_right = tokenizer.padding_side == "right"  # question first, unless padded left
    questions = [example.question.lstrip() for example in examples]  # leading spaces waste tokens
    contexts = [example.context for example in examples]
    encoded = tokenizer(
        questions if pad_on_right else contexts,
        contexts if pad_on_right else questions,
        truncation="only_second" if pad_on_right else "only_first",  # never cut the question
        max_length=max_seq_length,
        stride=doc_stride,
        return_overflowing_tokens=True,  # one feature per window
        return_offsets_mapping=True,  # token -> (start, end) characters
        padding="max_length",
    )
    context_id = 1 if pad_on_right else 0
    sequence_ids = [encoded.sequence_ids(window) for window in range(len(encoded["input_ids"]))]
    windows = {name: np.array(encoded[name]) for name in ("input_ids", *_model_inputs(tokenizer))}
    windows["offset_mapping"] = np.array(encoded["offset_mapping"]).reshape(-1, max_seq_length, 2)
    windows["example"] = np.array(encoded["overflow_to_sample_mapping"])
    windows.update(_context_bounds(sequence_ids, context_id))
    return windows


def _context_bounds(sequence_ids: list[list[int | None]], context_id: int) -> Windows:
    """First and last token of the context in every window (a window holds one piece)."""
    first = [ids.index(context_id) for ids in sequence_ids]
    last = [len(ids) - 1 - ids[::-1].index(context_id) for ids in sequence_ids]
    return {"context_first": np.array(first), "context_last": np.array(last)}


class PairWindows:
    """The recipe's windows for right-padding tokenizers, each distinct context tokenised once.

    Calling it returns what :func:`recipe_windows` returns, or None where it cannot (a
    left-padding tokenizer, or windows that differ from the recipe's on the checked
    questions): the caller then runs the recipe.
    """

    def __init__(self, tokenizer: Any, max_seq_length: int, doc_stride: int) -> None:
        from tokenizers import Tokenizer

        self.tokenizer, self.max_seq_length, self.doc_stride = tokenizer, max_seq_length, doc_stride
        self.usable: bool | None = None if tokenizer.padding_side == "right" else False
        state = tokenizer.backend_tokenizer.to_str()  # a private copy: settings change below
        self.pieces = Tokenizer.from_str(state)
        self.pieces.no_truncation()
        self.pieces.no_padding()
        self.pairs = Tokenizer.from_str(state)
        # What the transformers call sets up for truncation="only_second" and max_length padding.
        self.pairs.enable_truncation(
            max_seq_length, stride=doc_stride, strategy="only_second", direction="right"
        )
        self.pairs.enable_padding(
            direction="right",
            pad_id=tokenizer.pad_token_id,
            pad_type_id=tokenizer.pad_token_type_id,
            pad_token=tokenizer.pad_token,
            length=max_seq_length,
        )

    def __call__(self, examples: list[QAExample]) -> Windows | None:
        if self.usable is None:  # the first call: compare with the recipe on a few questions
            checked = examples[:CHECKED_QUESTIONS]
            expected = recipe_windows(self.tokenizer, checked, self.max_seq_length, self.doc_stride)
            found = self._assemble(checked)
            self.usable = expected.keys() == found.keys() and all(
                np.array_equal(expected[name], found[name]) for name in expected
            )
        return self._assemble(examples) if self.usable else None

    def _assemble(self, examples: list[QAExample]) -> Windows:
        distinct: dict[str, int] = {}
        for example in examples:
            distinct.setdefault(example.context, len(distinct))
        # Contexts as the second sequence of a pair (type id 1, sequence id 1), as in the call.
        contexts = self.pieces.encode_batch([("", c) for c in distinct], add_special_tokens=False)
        questions = self.pieces.encode_batch(
            [example.question.lstrip() for example in examples], add_special_tokens=False
        )
        windows, example_of = [], []
        for index, (question, example) in enumerate(zip(questions, examples, strict=True)):
            encoding = self.pairs.post_process(question, contexts[distinct[example.context]])
            for window in (encoding, *encoding.overflowing):
                windows.append(window)
                example_of.append(index)
        arrays = {"input_ids": np.array([window.ids for window in windows])}
        names = {"attention_mask": "attention_mask", "token_type_ids": "type_ids"}
        for name in _model_inputs(self.tokenizer):
            arrays[name] = np.array([getattr(window, names[name]) for window in windows])
        offsets = np.array([window.offsets for window in windows])
        arrays["offset_mapping"] = offsets.reshape(-1, self.max_seq_length, 2)
        arrays["example"] = np.array(example_of)
        arrays.update(_context_bounds([window.sequence_ids for window in windows], 1))
        return arrays


def labels(windows: Windows, examples: list[QAExample], cls_token_id: int | None) -> Windows:
    """Start and end token of the first gold answer in every window, CLS where it is not whole.

    The recipe's token walk, done for all windows at once: the start is the token before the
    first context token that starts after the answer, the end the token after the last context
    token that ends before it. Unlike the recipe, the walk stays inside the context: when the
    answer starts in the window's last context token, the recipe walks on through [SEP] and
    the padding (offsets (0, 0)) and labels the last padding token.
    """
    ids, offsets, example = windows["input_ids"], windows["offset_mapping"], windows["example"]
    first, last = windows["context_first"], windows["context_last"]
    answer_start = np.array([e.answers[0].start if e.answers else -1 for e in examples])[example]
    answer_end = np.array([e.answers[0].end if e.answers else -1 for e in examples])[example]
    rows = np.arange(len(ids))
    inside = (
        (answer_start >= 0)
        & (offsets[rows, first, 0] <= answer_start)
        & (offsets[rows, last, 1] >= answer_end)
    )
    position = np.arange(ids.shape[1])
    context = (position >= first[:, None]) & (position <= last[:, None])
    after = context & (offsets[:, :, 0] > answer_start[:, None])
    start = np.where(after.any(axis=1), after.argmax(axis=1), last + 1) - 1
    before = context & (offsets[:, :, 1] < answer_end[:, None])
    latest_before = ids.shape[1] - 1 - before[:, ::-1].argmax(axis=1)
    end = np.where(before.any(axis=1), latest_before, first - 1) + 1
    is_cls = ids == cls_token_id
    cls_index = np.where(is_cls.any(axis=1), is_cls.argmax(axis=1), 0)
    return {
        "start_positions": np.where(inside, start, cls_index).astype(np.int32),
        "end_positions": np.where(inside, end, cls_index).astype(np.int32),
    }


def context_offsets(windows: Windows) -> np.ndarray:
    """Character offsets of the context tokens, -1 for every other token (question, special
    tokens, padding): post-processing can only pick context tokens."""
    position = np.arange(windows["input_ids"].shape[1])
    first, last = windows["context_first"][:, None], windows["context_last"][:, None]
    context = (position >= first) & (position <= last)
    return np.where(context[:, :, None], windows["offset_mapping"], -1).astype(np.int32)
