"""Questions and contexts tokenised into model windows, the Hugging Face reference recipe for
extractive QA: a context longer than one window is cut into overlapping windows
(``doc_stride`` tokens shared), and every window remembers its question and which characters
of the context each token covers. The windows come from ``windows.py`` (each context
tokenised once), 1000 questions at a time, into compact numpy arrays.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import torch
from rich.progress import track
from torch.utils.data import Dataset

from ...data.errors import DataValidationError
from .squad_json import QAExample
from .windows import PairWindows, Windows, context_offsets, labels, recipe_windows


def require_fast_tokenizer(tokenizer: Any, name: str) -> None:
    """Refuse a slow (pure Python) tokenizer: windowing needs offsets, which only fast ones give."""
    if not getattr(tokenizer, "is_fast", False):
        raise DataValidationError(
            name,
            [
                f"tokenizer {name!r} is a slow {type(tokenizer).__name__}; question answering "
                "needs a fast tokenizer (character offsets and overflowing windows)"
            ],
            hint="Use a model whose tokenizer has a fast version (tokenizer.json), e.g. "
            "distilbert-base-uncased, bert-base-uncased, roberta-base or "
            "microsoft/deberta-v3-base.",
        )


def load_tokenizer(name: str) -> Any:
    """The fast tokenizer of a hub id or a local folder, refusing slow ones."""
    from transformers import AutoTokenizer

    from ...models.backbones import use_cache_only_if_hub_unreachable

    use_cache_only_if_hub_unreachable()  # offline: fail now, not after a minute of retries
    try:
        tokenizer = AutoTokenizer.from_pretrained(name)
    except (OSError, ValueError) as error:
        raise DataValidationError(
            name,
            [f"cannot load tokenizer {name!r}: {str(error).splitlines()[0]}"],
            hint="Give a Hugging Face model id (online, or cached: offline, download it once on "
            "a machine with network access and copy ~/.cache/huggingface here) or a local "
            "folder holding tokenizer.json and tokenizer_config.json.",
        ) from error
    require_fast_tokenizer(tokenizer, name)
    return tokenizer


# Examples per tokenizer call, as the reference recipe (`datasets.map`'s batches of 1000): the
# tokenizer's own per-token records (tokens, offsets, words) live only for one batch.
ENCODE_BATCH = 1000
FAST_PATH_FROM = 256  # questions; fewer go straight through the recipe's tokenizer call


def _model_inputs(windows: Windows) -> dict[str, np.ndarray]:
    """Token ids as int32 and the 0/1 masks as int8: a quarter of int64's memory and cache."""
    arrays = {"input_ids": windows["input_ids"].astype(np.int32)}
    for key in ("attention_mask", "token_type_ids"):
        if key in windows:
            arrays[key] = windows[key].astype(np.int8)
    return arrays


def _windows(
    tokenizer: Any,
    examples: list[QAExample],
    max_seq_length: int,
    doc_stride: int,
    description: str | None,
) -> Iterable[tuple[list[QAExample], Windows, np.ndarray]]:
    """Each batch of examples, its windows and the examples' indices of its windows."""
    # Setting up the faster path (two tokenizer copies, a check against the recipe) costs about
    # what tokenising a few hundred questions does: a demo's single question skips it.
    fast = None
    if len(examples) > FAST_PATH_FROM:
        fast = PairWindows(tokenizer, max_seq_length, doc_stride)
    for offset, batch in _in_batches(examples, description):
        windows = fast(batch) if fast else None
        if windows is None:
            windows = recipe_windows(tokenizer, batch, max_seq_length, doc_stride)
        yield batch, windows, (windows["example"] + offset).astype(np.int32)


def _in_batches(
    examples: list[QAExample], description: str | None
) -> Iterable[tuple[int, list[QAExample]]]:
    starts: Iterable[int] = range(0, len(examples), ENCODE_BATCH)
    if description and len(examples) > ENCODE_BATCH:  # a bar where it takes seconds
        starts = track(starts, description=description)
    for first in starts:
        yield first, examples[first : first + ENCODE_BATCH]


def _concatenate(chunks: list[dict[str, np.ndarray]], max_seq_length: int) -> dict:
    """One array per key, filled chunk by chunk, each chunk freed once copied (``np.concatenate``
    would need all chunks and the result at once). The measured peak at SQuAD's size did not
    move with it (the allocator keeps freed chunks): it is set by the parsed file, its
    examples and one batch's tokenizer output."""
    if not chunks:
        return {"input_ids": np.zeros((0, max_seq_length), np.int32)}
    joined = {}
    for key in list(chunks[0]):
        first = chunks[0][key]
        rows = sum(len(chunk[key]) for chunk in chunks)
        joined[key] = np.empty((rows, *first.shape[1:]), first.dtype)
        row = 0
        for chunk in chunks:
            part = chunk.pop(key)
            joined[key][row : row + len(part)] = part
            row += len(part)
    return joined


def tokenize_for_training(
    tokenizer: Any,
    examples: list[QAExample],
    max_seq_length: int = 384,
    doc_stride: int = 128,
    description: str | None = None,
) -> dict[str, np.ndarray]:
    """Windows labelled with the answer's first and last token.

    A window that does not hold the whole answer, and every window of an unanswerable
    question, is labelled with the index of the CLS token (the model's "no answer"). The first
    gold answer is the label, as in the reference recipe. The examples are tokenised 1000 at
    a time (``description``: the progress bar's title, none when None).

    Returns:
        ``input_ids`` (int32), ``attention_mask`` (and ``token_type_ids`` when the model uses
        them; int8), ``start_positions``, ``end_positions`` and ``example_index`` (which
        example each window came from; int32), one row per window.
    """
    chunks = []
    args = (tokenizer, examples, max_seq_length, doc_stride, description)
    for batch, windows, example_index in _windows(*args):
        chunk = _model_inputs(windows)
        chunk.update(labels(windows, batch, tokenizer.cls_token_id))
        chunk["example_index"] = example_index
        chunks.append(chunk)
    return _concatenate(chunks, max_seq_length)


def tokenize_for_evaluation(
    tokenizer: Any,
    examples: list[QAExample],
    max_seq_length: int = 384,
    doc_stride: int = 128,
    description: str | None = None,
) -> dict[str, np.ndarray]:
    """Windows for prediction: offsets of non-context tokens are blanked to -1.

    Post-processing then maps a predicted token span back to characters of the context, and
    can only pick context tokens.

    Returns:
        ``input_ids``, ``attention_mask`` (and ``token_type_ids``), ``offset_mapping`` (int32,
        ``(windows, tokens, 2)``, -1 outside the context) and ``example_index``.
    """
    chunks = []
    args = (tokenizer, examples, max_seq_length, doc_stride, description)
    for _, windows, example_index in _windows(*args):
        chunk = _model_inputs(windows)
        chunk["example_index"] = example_index
        chunk["offset_mapping"] = context_offsets(windows)
        chunks.append(chunk)
    return _concatenate(chunks, max_seq_length)


MODEL_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


class QAFeatureDataset(Dataset):
    """Tokenised windows; evaluation windows also carry their example for post-processing.

    An item holds the model inputs as tensors, and for evaluation ``offsets`` (a ``(L, 2)``
    tensor with -1 outside the context), ``example_id``, ``context``, ``question`` and
    ``answers`` (every gold ``(start, text)`` pair of the file, none dropped: SQuAD v2.0 reads
    "has an answer" from the raw list) and ``window`` (the item's index) so the model can
    score without the files.
    """

    def __init__(self, features: dict[str, np.ndarray], examples: list[QAExample]) -> None:
        self.features = features
        self.examples = examples

    def __len__(self) -> int:
        return len(self.features["input_ids"])

    def __getitem__(self, index: int) -> dict:
        item: dict[str, Any] = {
            key: torch.as_tensor(self.features[key][index], dtype=torch.long)
            for key in (*MODEL_INPUTS, "start_positions", "end_positions")
            if key in self.features
        }
        if "offset_mapping" in self.features:
            example = self.examples[int(self.features["example_index"][index])]
            item["offsets"] = torch.as_tensor(
                self.features["offset_mapping"][index], dtype=torch.long
            )
            item["example_id"] = example.id
            item["window"] = index  # puts windows scored by several processes back in order
            item["context"] = example.context
            item["question"] = example.question
            item["answers"] = [(answer.start, answer.text) for answer in example.answers]
        return item


def collate(items: list[dict]) -> dict:
    """Stack tensors; keep strings and answer lists as lists."""
    return {
        key: torch.stack([item[key] for item in items])
        if isinstance(items[0][key], torch.Tensor)
        else [item[key] for item in items]
        for key in items[0]
    }
