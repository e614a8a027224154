"""Examples that the tasks show beside a run (answers in their context, transcripts beside
their references): a standalone HTML page and, when wandb logs, a wandb table. One page layout
and one table logger; each task gives its blocks and rows (:class:`ExamplePages`)."""

from __future__ import annotations

import html
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lightning.pytorch import Trainer
from lightning.pytorch.loggers import WandbLogger


def write_html_page(path: Path, title: str, style: str, legend: str, blocks: list[str]) -> Path:
    """Write ``blocks`` (HTML fragments, one per example) as a page titled ``title``, styled
    by the CSS ``style``, with ``legend`` (HTML) under the heading; returns ``path``."""
    escaped = html.escape(title)
    page = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{escaped}</title>"
        f"<style>{style}</style></head><body><h1>{escaped}</h1>{legend}"
        + "\n".join(blocks)
        + "</body></html>\n"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path


def wandb_loggers(trainer: Trainer) -> list[WandbLogger]:
    """The trainer's wandb loggers (none unless the project logs to wandb)."""
    return [logger for logger in trainer.loggers if isinstance(logger, WandbLogger)]


def log_wandb_table(
    trainer: Trainer, key: str, columns: Sequence[str], rows: list[list[Any]]
) -> None:
    """Send ``rows`` (one list of cells a row, under ``columns``) as the wandb table ``key`` at
    the trainer's step, to each wandb logger."""
    for logger in wandb_loggers(trainer):
        logger.log_table(key=key, columns=list(columns), data=rows, step=trainer.global_step)


class ExamplePages(ABC):
    """How a task shows its examples: :meth:`write` puts each example's :meth:`block` on one
    HTML page (styled by ``style``, ``legend`` under the heading), :meth:`log_table` sends
    each example's :meth:`row` (cells under ``columns``) to wandb."""

    style: str
    legend: str
    columns: tuple[str, ...]

    @abstractmethod
    def row(self, example: Any) -> list[Any]:
        """The example's cells of the wandb table (may hold wandb media: called only when
        wandb logs, so ``import wandb`` inside it is safe)."""

    @abstractmethod
    def block(self, example: Any) -> str:
        """The example as an HTML fragment of the page."""

    def write(self, examples: Sequence[Any], path: Path, title: str) -> Path:
        """Write the page of ``examples`` titled ``title`` to ``path``; returns ``path``."""
        blocks = [self.block(example) for example in examples]
        return write_html_page(path, title, self.style, self.legend, blocks)

    def log_table(self, trainer: Trainer, examples: Sequence[Any], key: str) -> None:
        """Send ``examples`` to wandb as the table ``key``, when wandb logs."""
        if wandb_loggers(trainer):
            log_wandb_table(trainer, key, self.columns, [self.row(e) for e in examples])
