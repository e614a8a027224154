"""What every task's LightningModule shares: optimiser, schedule, layer-wise rates, surgery.

A task's module extends :class:`TaskModule`, takes its own arguments and hands the rest on::

    class MyTaskModel(TaskModule):
        backbone_name = "backbone"  # the pretrained part (surgery.py, finetuning.py)
        head_name = "head"  # the layer making the task's outputs

        def __init__(self, backbone: str = "timm:resnet18", ..., **kwargs: Any) -> None:
            super().__init__(**kwargs)  # first: saves every argument as hparams
            self.backbone = ...
            self.apply_surgery()  # last: once the whole network exists

LightningCLI follows the ``**kwargs`` to :class:`TaskModule`'s signature, so the task's
``--help`` and ``--print_config`` list the arguments below with the task's own, and configs set
them under ``model.init_args`` as before.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import lightning as L
import torch
from lightning.fabric.utilities.data import AttributeDict
from lightning.pytorch.cli import OptimizerCallable
from lightning.pytorch.utilities.types import OptimizerLRScheduler

from ..finetuning import LearningRateGroups, build_optimizer
from ..optim import Schedule, build_scheduler
from ..surgery import SurgeryStep, apply_surgery


class TaskModule(L.LightningModule):
    """The optimiser and its schedule, learning rates per layer group, and surgery.

    Args:
        optimizer: optimiser class and its arguments, e.g. ``torch.optim.SGD`` with ``lr``,
            ``momentum`` and ``nesterov``.
        scheduler: learning-rate decay after warm-up: cosine, step or constant.
        warmup_epochs: epochs of linear learning-rate warm-up.
        step_epochs: epochs between decays (``scheduler: step``).
        step_gamma: decay factor (``scheduler: step``).
        surgery: architecture changes applied in order once the model is built (see
            ``surgery.py``), e.g. ``[{op: swap_activation, old: ReLU, new: GELU}]``.
        lr_groups: learning rates of the backbone and its layers relative to the head (see
            ``finetuning.py``), e.g. ``{backbone_scale: 0.1, layer_decay: 0.8}``.
    """

    # Lightning types ``hparams`` as a plain mapping; it is an AttributeDict of the saved
    # arguments, so ``self.hparams.lr_groups`` type-checks.
    hparams: AttributeDict

    def __init__(
        self,
        optimizer: OptimizerCallable = torch.optim.AdamW,
        scheduler: Schedule = "cosine",
        warmup_epochs: float = 0.0,
        step_epochs: int = 30,
        step_gamma: float = 0.1,
        surgery: list[SurgeryStep] | None = None,
        lr_groups: LearningRateGroups | None = None,
    ) -> None:
        super().__init__()
        # Lightning collects the arguments of every __init__ up the chain (the task's
        # included), so the checkpoint rebuilds the task's module with all of them.
        self.save_hyperparameters()
        self.optimizer_factory = optimizer
        self.surgery_report: list = []

    def apply_surgery(self) -> None:
        """Apply the ``surgery`` steps; call it last in ``__init__``, once the network exists
        (and so before a checkpoint's weights load into the changed network)."""
        self.surgery_report = apply_surgery(self, self.hparams.surgery)

    def configure_optimizers(self) -> OptimizerLRScheduler:
        # Frozen parameters get no gradient, so the optimiser leaves them where they are.
        optimizer = build_optimizer(self, self.optimizer_factory, self.hparams.lr_groups)
        h = self.hparams
        scheduler = build_scheduler(
            optimizer, self.trainer, h.scheduler, h.warmup_epochs, h.step_epochs, h.step_gamma
        )
        return {"optimizer": optimizer, "lr_scheduler": scheduler}


class HuggingFaceModule:
    """Mixed into a task module whose network is one Hugging Face model, ``self.model``
    (``class MyModel(HuggingFaceModule, TaskModule)``): its pretrained part,
    for surgery.py and finetuning.py, is that model's base, whatever the architecture."""

    model: torch.nn.Module

    @property
    def backbone_name(self) -> str:
        """The pretrained model inside the Hugging Face one (``model.bert``, ``model.wav2vec2``,
        ...)."""
        return f"model.{self.model.base_model_prefix}"


class EvaluationPages(ABC):
    """Mixed into a task module that ends each evaluation with a page of examples, written by
    its ``_finish_evaluation(stage, page_name, title)``: one page per validation epoch
    (``val_epoch003.html``) and one for the test. A module without that method cannot be
    built (abstract), rather than failing at the end of its first validation epoch."""

    current_epoch: int  # from the LightningModule this is mixed into

    @abstractmethod
    def _finish_evaluation(self, stage: str, page_name: str, title: str) -> None:
        """Compute the stage's metrics, log them and write ``page_name`` titled ``title``."""

    def on_validation_epoch_end(self) -> None:
        epoch = self.current_epoch
        self._finish_evaluation("val", f"val_epoch{epoch:03d}.html", f"Validation, epoch {epoch}")

    def on_test_epoch_end(self) -> None:
        self._finish_evaluation("test", "test.html", "Test")
