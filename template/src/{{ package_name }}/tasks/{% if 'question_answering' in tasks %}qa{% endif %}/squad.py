"""SQuAD v1.1 / v2.0 question answering data: the official JSON files, read and tokenised.

The files are checked once, up front (``squad_json.py``): every problem (a missing key, an
``answer_start`` that does not point at its answer, a duplicate id) is reported with the file,
the JSON path and the question id. Tokenisation (``features.py``) follows the Hugging Face
reference recipe for extractive QA, step by step (see :func:`tokenize_for_training` and
:func:`tokenize_for_evaluation`): a context longer than one window is cut into overlapping
windows, and every window remembers its question.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from ...data.base import TaskDataModule
from ...data.folds import split_fold
from .features import (
    QAFeatureDataset,
    collate,
    load_tokenizer,
    tokenize_for_evaluation,
    tokenize_for_training,
)
from .sample import write_squad_sample
from .squad_json import SquadFile, read_squad


class SquadDataModule(TaskDataModule):
    """SQuAD v1.1 / v2.0 files in the official JSON format, tokenised into windows.

    Args:
        root: folder holding the files below (relative file names are read from here).
        train_file: training file, e.g. ``train-v2.0.json``.
        val_file: validation file, e.g. ``dev-v2.0.json`` (the official dev set).
        test_file: optional held-out file for ``test``; None reuses ``val_file``.
        predict_file: file to answer with ``predict``; None uses ``test_file`` or ``val_file``.
        tokenizer: Hugging Face id or local folder of the model's (fast) tokenizer.
        max_seq_length: tokens per window, question included.
        doc_stride: tokens shared by consecutive windows of a long context.
        batch_size: windows per batch.
        write_sample_if_missing: write the built-in sample (``squad_v1`` or ``squad_v2``) to
            ``root`` if it is absent; None writes nothing.
        **kwargs: ``num_workers``, ``folds`` (k-fold cross-validation: the training file cut
            into seeded folds of whole articles, ``title``, one of which validates;
            ``val_file`` is then left to ``test``), ``fold`` and ``seed``: see
            ``data/base.py``.
    """

    def __init__(
        self,
        root: str = "data/squad",
        train_file: str = "train-v2.0.json",
        val_file: str = "dev-v2.0.json",
        test_file: str | None = None,
        predict_file: str | None = None,
        tokenizer: str = "distilbert-base-uncased",
        max_seq_length: int = 384,
        doc_stride: int = 128,
        batch_size: int = 16,
        write_sample_if_missing: Literal["squad_v1", "squad_v2"] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(batch_size, **kwargs)
        if doc_stride >= max_seq_length:
            raise ValueError(
                f"doc_stride ({doc_stride}) must be smaller than max_seq_length "
                f"({max_seq_length}): windows overlap by doc_stride tokens"
            )
        if write_sample_if_missing:
            version = write_sample_if_missing.removeprefix("squad_")
            name = f"{write_sample_if_missing} sample data set"
            self.write_sample_if_absent(root, write_squad_sample, name, version=version)
        # Read and checked here, not in setup(), so bad files fail before the model is built.
        self.files = {"train": self._read(train_file), "val": self._read(val_file)}
        for split, file in (("test", test_file), ("predict", predict_file)):
            if file:
                self.files[split] = self._read(file)
        h = self.hparams
        if h.folds is not None:
            # Questions about one article stay in one fold: its answers would leak otherwise.
            pool = self.files["train"]
            self.files.setdefault("test", self.files["val"])
            titles = [e.title for e in pool.examples]
            train, val = split_fold(pool.examples, h.folds, h.fold, h.seed, groups=titles)
            self.files["train"] = SquadFile(train, pool.version)
            self.files["val"] = SquadFile(val, pool.version)
        self.tokenizer = load_tokenizer(self._resolve(tokenizer))
        self.collate_fn = collate

    def _resolve(self, name: str) -> str:
        """A name relative to ``root`` when that exists there (files, tokenizer folders)."""
        local = Path(self.hparams.root) / name
        return str(local) if local.exists() else name

    def _read(self, name: str) -> SquadFile:
        return read_squad(self._resolve(name))

    @property
    def squad_version(self) -> str:
        """``"v2"`` when the validation file is SQuAD v2.0 (its version or ``is_impossible``)."""
        return self.files["val"].version

    @property
    def vocab_size(self) -> int:
        """Tokens in the tokenizer (sizes a model trained from scratch)."""
        return len(self.tokenizer)

    def _features(self, split: str, train: bool) -> QAFeatureDataset:
        h, examples = self.hparams, self.files[split].examples
        tokenize = tokenize_for_training if train else tokenize_for_evaluation
        features = tokenize(self.tokenizer, examples, h.max_seq_length, h.doc_stride)
        return QAFeatureDataset(features, examples)

    def setup(self, stage: str) -> None:
        if stage == "fit":
            self.datasets["train"] = self._features("train", train=True)
            ids = {s: [e.id for e in self.files[s].examples] for s in ("train", "val")}
            pool = self.hparams.train_file
            self.save_split(ids["train"], ids["val"], grouped_by="title", pool=pool)
        if stage in ("fit", "validate"):
            self.datasets["val"] = self._features("val", train=False)
        if stage == "test":
            self.datasets["test"] = self._features("test" if "test" in self.files else "val", False)
        if stage == "predict":
            split = next(s for s in ("predict", "test", "val") if s in self.files)
            self.datasets["predict"] = self._features(split, train=False)
