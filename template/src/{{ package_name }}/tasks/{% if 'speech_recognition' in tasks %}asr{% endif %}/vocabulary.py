"""Transcripts as characters: the vocabulary, its special tokens, and the model families.

The data (which encodes the targets) and the model (which decodes its output) share these, so
neither imports the other.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

# Special tokens of the character vocabulary. [PAD] (id 0) is also the CTC blank; <s> and </s>
# start and end a sequence-to-sequence target; "|" stands for the space between words.
PAD, UNK, BOS, EOS, WORD_DELIMITER = "[PAD]", "[UNK]", "<s>", "</s>", "|"
SPECIAL_TOKENS = [PAD, UNK, BOS, EOS, WORD_DELIMITER]
# The name of our small from-scratch CTC model (logmel_bigru.py): it reads raw waveforms, like
# wav2vec2, so it shares the CTC family's feature extractor and collate.
LOG_MEL_BIGRU = "logmel_bigru"


def build_vocabulary(transcripts: Sequence[str]) -> list[str]:
    """The character vocabulary: the special tokens, then every character of ``transcripts``.

    Spaces become the word delimiter ``|``; ``[PAD]`` is id 0, the CTC blank.
    """
    characters = sorted({c for text in transcripts for c in text if c != " "})
    return SPECIAL_TOKENS + [c for c in characters if c not in SPECIAL_TOKENS]


def encode_characters(text: str, vocabulary: Sequence[str]) -> list[int]:
    """Character ids of ``text``: spaces as ``|``, characters not in the vocabulary as ``[UNK]``."""
    index = {token: i for i, token in enumerate(vocabulary)}
    unknown = index[UNK]
    return [index.get(WORD_DELIMITER if c == " " else c, unknown) for c in " ".join(text.split())]


def model_family(model_name: str) -> Literal["ctc", "seq2seq"]:
    """``seq2seq`` for Whisper (by id, folder or model type), ``ctc`` for everything else."""
    return "seq2seq" if "whisper" in model_name.lower() else "ctc"


def is_model_type(model_name: str) -> bool:
    """True for a model built from scratch: a bare transformers model type (``wav2vec2``,
    ``whisper``) or our own small CTC model (:data:`LOG_MEL_BIGRU`)."""
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING

    return model_name == LOG_MEL_BIGRU or model_name in CONFIG_MAPPING
