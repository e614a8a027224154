"""The reference that ``benchmark squad-scale`` measures this project's preprocessing against:
Hugging Face's ``examples/pytorch/question-answering/run_qa.py`` training preprocessing,
written here from what that script does (not copied):

1. the SQuAD JSON flattened into one record per question (``id``, ``title``, ``context``,
   ``question``, ``answers: {text: [...], answer_start: [...]}``), as the ``squad`` loader does;
2. ``datasets.map(batched=True)`` over batches of 1000 questions, each batch: questions
   left-stripped, one fast-tokenizer call (``truncation="only_second"``, ``max_length``,
   ``stride``, overflowing windows, offsets, ``padding="max_length"``), then a Python loop
   over the windows that labels each with the first answer's start and end token by walking
   the offsets, or with the CLS token when the answer is not whole in the window;
3. each batch's columns stored as ``datasets`` stores them in Arrow: ``input_ids`` int32,
   the masks int8, the positions int64 (held in memory here; ``datasets`` would write them
   to a cache file on disk).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

# datasets' "optimised" integer columns for tokenizer outputs; other integers stay int64.
_ARROW_TYPES = {"input_ids": np.int32, "attention_mask": np.int8, "token_type_ids": np.int8}
BATCH = 1000  # datasets.map's default batch size, which run_qa.py keeps


def flatten_squad(path: Path) -> dict[str, list]:
    """One column per field, one row per question (the ``squad`` loader's records)."""
    document = json.loads(Path(path).read_text(encoding="utf-8"))
    columns: dict[str, list] = {"id": [], "title": [], "context": [], "question": []}
    columns["answers"] = []
    for article in document["data"]:
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                columns["id"].append(qa["id"])
                columns["title"].append(article.get("title", ""))
                columns["context"].append(paragraph["context"])
                columns["question"].append(qa["question"])
                columns["answers"].append(
                    {
                        "text": [answer["text"] for answer in qa["answers"]],
                        "answer_start": [answer["answer_start"] for answer in qa["answers"]],
                    }
                )
    return columns


def label_batch(
    batch: dict[str, list], tokenizer: Any, max_seq_length: int, doc_stride: int
) -> dict[str, list]:
    """One batch of questions -> windows with start / end labels, as run_qa.py's
    ``prepare_train_features`` (right-padding tokenizers: question first)."""
    questions = [question.lstrip() for question in batch["question"]]
    encoded = tokenizer(
        questions,
        batch["context"],
        truncation="only_second",
        max_length=max_seq_length,
        stride=doc_stride,
        return_overflowing_tokens=True,
        return_offsets_mapping=True,
        padding="max_length",
    )
    window_to_example = encoded.pop("overflow_to_sample_mapping")
    all_offsets = encoded.pop("offset_mapping")
    encoded["start_positions"], encoded["end_positions"] = [], []
    for window, offsets in enumerate(all_offsets):
        input_ids = encoded["input_ids"][window]
        cls = input_ids.index(tokenizer.cls_token_id) if tokenizer.cls_token_id in input_ids else 0
        sequence_ids = encoded.sequence_ids(window)
        answers = batch["answers"][window_to_example[window]]
        if not answers["answer_start"]:
            encoded["start_positions"].append(cls)
            encoded["end_positions"].append(cls)
            continue
        start_char = answers["answer_start"][0]
        end_char = start_char + len(answers["text"][0])
        token_start = 0  # walk to the context's first token ...
        while sequence_ids[token_start] != 1:
            token_start += 1
        token_end = len(input_ids) - 1  # ... and back to its last
        while sequence_ids[token_end] != 1:
            token_end -= 1
        if not (offsets[token_start][0] <= start_char and offsets[token_end][1] >= end_char):
            encoded["start_positions"].append(cls)
            encoded["end_positions"].append(cls)
            continue
        # The script's own comment: this walk can run past the context (the answer being
        # its last word), through [SEP] and the padding, whose offsets are (0, 0).
        while token_start < len(offsets) and offsets[token_start][0] <= start_char:
            token_start += 1
        encoded["start_positions"].append(token_start - 1)
        while offsets[token_end][1] >= end_char:
            token_end -= 1
        encoded["end_positions"].append(token_end + 1)
    return dict(encoded)


def reference_train_features(
    path: Path, tokenizer: Any, max_seq_length: int = 384, doc_stride: int = 128
) -> dict[str, np.ndarray]:
    """The whole file through the reference: read, flatten, label in batches of 1000, store
    each batch as Arrow would; one array per column."""
    columns = flatten_squad(path)
    stored: list[dict[str, np.ndarray]] = []
    for first in range(0, len(columns["id"]), BATCH):
        batch = {name: values[first : first + BATCH] for name, values in columns.items()}
        labelled = label_batch(batch, tokenizer, max_seq_length, doc_stride)
        stored.append(
            {
                name: np.asarray(values, dtype=_ARROW_TYPES.get(name, np.int64))
                for name, values in labelled.items()
            }
        )
    return {name: np.concatenate([batch[name] for batch in stored]) for name in stored[0]}
