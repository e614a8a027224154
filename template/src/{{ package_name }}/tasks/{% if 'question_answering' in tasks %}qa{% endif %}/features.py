"""Questions and contexts tokenised into model windows, the Hugging Face reference recipe for
extractive QA spelled out step by step: a context longer than one window is cut into
overlapping windows (``doc_stride`` tokens shared), and every window remembers its question
and which characters of the context each token covers.
"""

from __future__ import annotations

from typing import Any

import torch
from torch.utils.data import Dataset

from ...data.errors import DataValidationError
from .squad_json import QAExample


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


def _encode(
    tokenizer: Any, examples: list[QAExample], max_seq_length: int, doc_stride: int
) -> tuple[Any, int]:
    """Question + context pairs, the context cut into windows that overlap by ``doc_stride``.

    Returns the tokenizer's encoding and the sequence id of the context (1 when the question
    comes first, as for every right-padding model; 0 otherwise).
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
    return encoded, 1 if pad_on_right else 0


def tokenize_for_training(
    tokenizer: Any, examples: list[QAExample], max_seq_length: int = 384, doc_stride: int = 128
) -> dict[str, list]:
    """Windows labelled with the answer's first and last token.

    A window that does not hold the whole answer, and every window of an unanswerable
    question, is labelled with the index of the CLS token (the model's "no answer"). The first
    gold answer is the label, as in the reference recipe.

    Returns:
        ``input_ids``, ``attention_mask`` (and ``token_type_ids`` when the model uses them),
        ``start_positions``, ``end_positions`` and ``example_index`` (which example each
        window came from), one entry per window.
    """
    encoded, context_id = _encode(tokenizer, examples, max_seq_length, doc_stride)
    features: dict[str, list] = {key: [] for key in encoded if key != "offset_mapping"}
    features.pop("overflow_to_sample_mapping", None)
    features.update(start_positions=[], end_positions=[], example_index=[])
    for window, offsets in enumerate(encoded["offset_mapping"]):
        for key in features:
            if key in encoded:
                features[key].append(encoded[key][window])
        example = examples[encoded["overflow_to_sample_mapping"][window]]
        features["example_index"].append(encoded["overflow_to_sample_mapping"][window])
        input_ids = encoded["input_ids"][window]
        cls_index = (
            input_ids.index(tokenizer.cls_token_id) if tokenizer.cls_token_id in input_ids else 0
        )
        sequence_ids = encoded.sequence_ids(window)
        start, end = cls_index, cls_index
        if example.answers:
            answer = example.answers[0]
            # The first and last token of the context in this window.
            first = sequence_ids.index(context_id)
            last = len(sequence_ids) - 1 - sequence_ids[::-1].index(context_id)
            if offsets[first][0] <= answer.start and offsets[last][1] >= answer.end:
                # Walk in from both ends to the tokens that hold the answer's first and last
                # characters.
                while first < len(offsets) and offsets[first][0] <= answer.start:
                    first += 1
                while offsets[last][1] >= answer.end:
                    last -= 1
                start, end = first - 1, last + 1
        features["start_positions"].append(start)
        features["end_positions"].append(end)
    return features


def tokenize_for_evaluation(
    tokenizer: Any, examples: list[QAExample], max_seq_length: int = 384, doc_stride: int = 128
) -> dict[str, list]:
    """Windows for prediction: offsets of non-context tokens are blanked to None.

    Post-processing then maps a predicted token span back to characters of the context, and
    can only pick context tokens.

    Returns:
        ``input_ids``, ``attention_mask`` (and ``token_type_ids``), ``offset_mapping`` (None
        outside the context) and ``example_index``, one entry per window.
    """
    encoded, context_id = _encode(tokenizer, examples, max_seq_length, doc_stride)
    features: dict[str, list] = {
        key: list(encoded[key])
        for key in encoded
        if key not in ("offset_mapping", "overflow_to_sample_mapping")
    }
    features["example_index"] = list(encoded["overflow_to_sample_mapping"])
    features["offset_mapping"] = [
        [
            tuple(offset) if sequence_id == context_id else None
            for offset, sequence_id in zip(offsets, encoded.sequence_ids(window), strict=True)
        ]
        for window, offsets in enumerate(encoded["offset_mapping"])
    ]
    return features


MODEL_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


class QAFeatureDataset(Dataset):
    """Tokenised windows; evaluation windows also carry their example for post-processing.

    An item holds the model inputs as tensors, and for evaluation ``offsets`` (a ``(L, 2)``
    tensor with -1 outside the context), ``example_id``, ``context``, ``question`` and
    ``answers`` (every gold ``(start, text)`` pair of the file, none dropped: SQuAD v2.0 reads
    "has an answer" from the raw list) and ``window`` (the item's index) so the model can
    score without the files.
    """

    def __init__(self, features: dict[str, list], examples: list[QAExample]) -> None:
        self.features = features
        self.examples = examples

    def __len__(self) -> int:
        return len(self.features["input_ids"])

    def __getitem__(self, index: int) -> dict:
        item: dict[str, Any] = {
            key: torch.tensor(self.features[key][index])
            for key in (*MODEL_INPUTS, "start_positions", "end_positions")
            if key in self.features
        }
        if "offset_mapping" in self.features:
            example = self.examples[self.features["example_index"][index]]
            offsets = self.features["offset_mapping"][index]
            item["offsets"] = torch.tensor([o if o is not None else (-1, -1) for o in offsets])
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
