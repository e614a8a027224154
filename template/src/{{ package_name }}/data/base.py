"""What every task's DataModule shares: folds, loaders, the built-in sample, the split record.

A task's DataModule extends :class:`TaskDataModule`, reads and checks its files in
``__init__`` (so a bad data set fails before the model is built, and what the model needs can
be linked to it), and fills ``self.datasets`` in ``setup``::

    class MyTaskData(TaskDataModule):
        def __init__(self, root: str = "data/mine", batch_size: int = 64, ..., **kwargs):
            super().__init__(batch_size, **kwargs)  # first: saves every argument as hparams
            ...

        def setup(self, stage: str) -> None:
            self.datasets["train"] = ...  # "train", "val", "test", "predict"

The loaders come from here; a task overrides one when it needs more (several validation
loaders, one per LibriSpeech split). LightningCLI follows the ``**kwargs`` to this signature,
so ``--help`` and ``--print_config`` list ``num_workers``, ``folds``, ``fold`` and ``seed``
with the task's own arguments.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import lightning as L
from lightning.fabric.utilities.data import AttributeDict
from torch.utils.data import DataLoader, Dataset

from .errors import DataValidationError
from .folds import check_fold, save_fold_split
from .sampling import BatchOrder, seeded_loader


class TaskDataModule(L.LightningDataModule):
    """Seeded loaders over ``self.datasets``, k-fold settings and the record of a fold's split.

    Args:
        batch_size: samples per batch (each task sets its own default).
        num_workers: DataLoader worker processes (0 loads in the main process); None
            chooses them from this machine's CPUs (``data.sampling.default_workers``).
        folds: k-fold cross-validation: cut the training pool into this many seeded folds,
            one of which validates (None: the task's usual split). What stays together in one
            fold (an image, an article, a speaker) is the task's choice: see its DataModule.
        fold: the fold that validates (0 to folds-1); the others train.
        seed: seed of the folds (and of a seeded hold-out split) and of the shuffling order.
    """

    # Lightning types ``hparams`` as a plain mapping; it is an AttributeDict of the saved
    # arguments, so ``self.hparams.lr_groups`` type-checks.
    hparams: AttributeDict

    def __init__(
        self,
        batch_size: int,
        num_workers: int | None = None,
        folds: int | None = None,
        fold: int = 0,
        seed: int = 42,
    ) -> None:
        super().__init__()
        # Lightning collects the arguments of every __init__ up the chain (the task's
        # included): they travel in the checkpoint and ``export``/``demo`` rebuild the data
        # settings from them.
        self.save_hyperparameters()
        check_fold(folds, fold)
        self.datasets: dict[str, Dataset] = {}
        # How a list of samples becomes a batch (None: torch's default collate).
        self.collate_fn: Callable | None = None

    @staticmethod
    def write_sample_if_absent(
        root: str, write: Callable[..., object], name: str, **options: object
    ) -> None:
        """``write(root, **options)`` (a sample writer of ``data.samples``) when ``root`` does
        not exist; ``name`` says what was written."""
        if not Path(root).exists():
            write(root, **options)
            print(f"Wrote the built-in {name} to {root}")

    @staticmethod
    def existing_folder(path: str | Path) -> Path:
        """``path`` as a folder that exists (a ``predict_dir``), or a one-line data error."""
        folder = Path(path)
        if not folder.is_dir():
            raise DataValidationError(str(folder), [f"{folder}: folder does not exist"])
        return folder

    def save_split(
        self, train_ids: Sequence[str], val_ids: Sequence[str], **details: object
    ) -> None:
        """Under k-fold, write the ids this fold trains and validates on to
        ``<run folder>/split/`` (with ``fold.json``: folds, fold, seed and ``details``, e.g.
        ``grouped_by``); call it in ``setup("fit")``. Without folds nothing is written."""
        h = self.hparams
        if h.folds is None:
            return
        save_fold_split(
            self.trainer, train_ids, val_ids, folds=h.folds, fold=h.fold, seed=h.seed, **details
        )

    def loader(
        self, dataset: Dataset, shuffle: bool = False, batches: BatchOrder | None = None
    ) -> DataLoader:
        """A DataLoader over ``dataset`` with this module's batch size, workers, seed and
        collate (``batches``: a sampler that forms the batches itself, see ``data.sampling``)."""
        h = self.hparams
        return seeded_loader(
            dataset,
            h.batch_size,
            h.num_workers,
            h.seed,
            shuffle,
            collate_fn=self.collate_fn,
            batches=batches,
        )

    def train_dataloader(self) -> DataLoader:
        return self.loader(self.datasets["train"], shuffle=True)

    # A task may evaluate with one loader per split (speech: one per LibriSpeech folder).
    def val_dataloader(self) -> DataLoader | list[DataLoader]:
        return self.loader(self.datasets["val"])

    def test_dataloader(self) -> DataLoader | list[DataLoader]:
        return self.loader(self.datasets["test"])

    def predict_dataloader(self) -> DataLoader | list[DataLoader]:
        return self.loader(self.datasets["predict"])
