"""From utterances to model inputs: the feature extractor, the dataset, length bucketing and
the collate (CTC waveforms or Whisper log-mel features, with their character or token targets).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import torch
from torch.utils.data import Dataset

from ...data.errors import DataValidationError
from ...data.sampling import BatchOrder
from .corpus import SAMPLE_RATE, Utterance, load_audio
from .vocabulary import EOS, encode_characters, is_model_type, model_family


def load_feature_extractor(model_name: str, config_overrides: dict[str, Any] | None = None) -> Any:
    """The model's own feature extractor (and, for a pretrained Whisper, its tokenizer).

    A hub id or local folder loads its saved processor. A bare model type builds the default
    one: raw normalised waveforms for the CTC family; for Whisper, log-mel features with as
    many mel bins and as long a window as ``config_overrides`` give the model
    (``num_mel_bins``, ``max_source_positions``: two feature frames per position).
    """
    from transformers import AutoFeatureExtractor, WhisperFeatureExtractor, WhisperProcessor

    overrides = dict(config_overrides or {})
    if is_model_type(model_name):
        if model_family(model_name) == "seq2seq":
            positions = overrides.get("max_source_positions", 1500)
            return WhisperFeatureExtractor(
                feature_size=overrides.get("num_mel_bins", 80),
                chunk_length=positions * 2 * 160 // SAMPLE_RATE,  # hop length 160 samples
            )
        from transformers import Wav2Vec2FeatureExtractor

        return Wav2Vec2FeatureExtractor(do_normalize=True, return_attention_mask=True)
    from ...models.backbones import loading_weights

    try:
        with loading_weights(model_name, pretrained=True):
            if model_family(model_name) == "seq2seq":
                return WhisperProcessor.from_pretrained(model_name)
            return AutoFeatureExtractor.from_pretrained(model_name)
    except OSError as error:
        raise DataValidationError(
            model_name,
            [f"cannot load the feature extractor of {model_name!r}: {error}"],
            hint="Give a Hugging Face id (online, or cached), a local folder holding "
            "preprocessor_config.json, or a model type such as 'wav2vec2' or 'whisper'.",
        ) from error


class UtteranceDataset(Dataset):
    """Utterances as ``{"audio", "id", "transcript", "path", "split"}`` items."""

    def __init__(self, utterances: list[Utterance]) -> None:
        self.utterances = utterances

    def __len__(self) -> int:
        return len(self.utterances)

    def __getitem__(self, index: int) -> dict:
        utterance = self.utterances[index]
        return {
            "audio": load_audio(utterance.path),
            "id": utterance.id,
            "transcript": utterance.transcript,
            "path": str(utterance.path),
            "split": utterance.split,
        }


class LengthBucketSampler(BatchOrder):
    """Batches of utterances of similar length, in an order that depends on seed and epoch.

    The shuffled utterances are cut into pools of ``pool_batches`` batches; each pool is
    sorted by length and cut into batches, and the batches are shuffled. Short utterances are
    then padded to other short ones, not to the longest of a random batch. Under DDP each
    process takes its share of these batches (``data.sampling.BatchOrder``), so bucketing
    stays on.
    """

    def __init__(
        self,
        lengths: Sequence[float],
        batch_size: int,
        pool_batches: int = 50,
        shuffle: bool = True,
        seed: int = 0,
    ) -> None:
        super().__init__(len(lengths), even=shuffle, seed=seed)
        self.lengths = list(lengths)
        self.batch_size = batch_size
        self.pool_batches = pool_batches

    def all_batches(self) -> list[list[int]]:
        generator = torch.Generator().manual_seed(self.seed + self.epoch)
        order = (
            torch.randperm(len(self.lengths), generator=generator).tolist()
            if self.shuffle
            else list(range(len(self.lengths)))
        )
        pool_size = self.batch_size * self.pool_batches
        batches = []
        for start in range(0, len(order), pool_size):
            pool = sorted(order[start : start + pool_size], key=lambda i: self.lengths[i])
            batches += [pool[i : i + self.batch_size] for i in range(0, len(pool), self.batch_size)]
        if self.shuffle:
            permutation = torch.randperm(len(batches), generator=generator).tolist()
            batches = [batches[i] for i in permutation]
        return batches

    def batch_count(self) -> int:
        return -(-len(self.lengths) // self.batch_size)


def padding_fraction(batches: Sequence[Sequence[int]], lengths: Sequence[float]) -> float:
    """The share of a padded batch that is padding, over all ``batches`` (0: none)."""
    padded = sum(max(lengths[i] for i in batch) * len(batch) for batch in batches)
    real = sum(lengths[i] for batch in batches for i in batch)
    return 1.0 - real / padded if padded else 0.0


class SpeechCollator:
    """Pads a list of items into a batch for one model family.

    CTC: ``input_values`` and ``attention_mask`` from the feature extractor, ``labels`` as
    character ids padded with -100 (ignored by the loss). Whisper: ``input_features`` (log-mel,
    padded to the model's fixed window) and ``labels``: the target token ids ending in the end
    token, padded with -100; the start token is left out (the model prepends it). Every batch
    also carries ``id``, ``transcript``, ``path`` and ``split`` lists for scoring and display.
    """

    def __init__(
        self,
        feature_extractor: Any,
        family: Literal["ctc", "seq2seq"],
        vocabulary: Sequence[str] | None = None,
    ) -> None:
        self.feature_extractor = feature_extractor
        self.family = family
        self.vocabulary = list(vocabulary) if vocabulary is not None else None

    def label_ids(self, transcript: str) -> list[int]:
        """The target ids of one transcript, as the model is trained on them."""
        if self.vocabulary is not None:
            ids = encode_characters(transcript, self.vocabulary)
            return ids + [self.vocabulary.index(EOS)] if self.family == "seq2seq" else ids
        tokenizer = self.feature_extractor.tokenizer  # a pretrained Whisper's processor
        ids = tokenizer(transcript.lower()).input_ids  # Whisper was trained on cased text
        start = tokenizer.convert_tokens_to_ids("<|startoftranscript|>")
        return ids[1:] if ids and ids[0] == start else ids

    def __call__(self, items: list[dict]) -> dict:
        audio = [item["audio"] for item in items]
        extractor = getattr(self.feature_extractor, "feature_extractor", self.feature_extractor)
        if self.family == "ctc":
            batch = extractor(
                audio,
                sampling_rate=SAMPLE_RATE,
                padding="longest",
                return_attention_mask=True,
                return_tensors="pt",
            )
            inputs = {
                "input_values": batch["input_values"],
                "attention_mask": batch["attention_mask"],
            }
        else:
            batch = extractor(audio, sampling_rate=SAMPLE_RATE, return_tensors="pt")
            inputs = {"input_features": batch["input_features"]}
        labels = [self.label_ids(item["transcript"]) for item in items]
        width = max(len(ids) for ids in labels)
        padded = torch.full((len(labels), width), -100, dtype=torch.long)
        for row, ids in enumerate(labels):
            padded[row, : len(ids)] = torch.tensor(ids, dtype=torch.long)
        inputs["labels"] = padded
        for key in ("id", "transcript", "path", "split"):
            inputs[key] = [item[key] for item in items]
        return inputs
