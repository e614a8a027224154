"""Applying a surgery list step by step, and reporting what each step changed (in the log,
in the model's ``surgery_report``, and in ``surgery.md`` through :class:`SurgeryReport`)."""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any

import lightning as L
from lightning.pytorch import Callback, Trainer
from lightning.pytorch.utilities import rank_zero_info, rank_zero_only
from torch import nn

from ..runs import run_dir
from .operations import OPERATIONS
from .selection import SurgeryError, _nearest, count_parameters

SurgeryStep = dict[str, Any]


@dataclass
class Change:
    """What one surgery step did."""

    op: str
    detail: str
    modules: list[str] = field(default_factory=list)
    params_before: int = 0
    params_after: int = 0
    trainable_before: int = 0
    trainable_after: int = 0

    def summary(self) -> str:
        shown = ", ".join(self.modules[:6]) + (" ..." if len(self.modules) > 6 else "")
        return (
            f"{self.op}: {self.detail} | {len(self.modules)} module(s): {shown} | "
            f"params {self.params_before:,} -> {self.params_after:,}, "
            f"trainable {self.trainable_before:,} -> {self.trainable_after:,}"
        )


def apply_step(root: nn.Module, step: SurgeryStep) -> Change:
    """Apply one step ``{op: <name>, <argument>: <value>, ...}`` and report what it changed."""
    step = dict(step)
    op = step.pop("op", None)
    if op not in OPERATIONS:
        raise SurgeryError(
            f"surgery step {step}: 'op' must be one of {', '.join(OPERATIONS)}; got {op!r}"
            + (f" (did you mean {_nearest(op, OPERATIONS)}?)" if op else "")
        )
    function = OPERATIONS[op]
    parameters = list(inspect.signature(function).parameters.values())[1:]
    takes_any = any(p.kind is p.VAR_KEYWORD for p in parameters)
    accepted = {p.name for p in parameters if p.kind is not p.VAR_KEYWORD}
    unknown = set(step) - accepted
    required = {p.name for p in parameters if p.default is p.empty and p.kind is not p.VAR_KEYWORD}
    if (unknown and not takes_any) or required - set(step):
        usage = ", ".join(
            p.name if p.default is p.empty else f"{p.name}={p.default!r}"
            for p in parameters
            if p.kind is not p.VAR_KEYWORD
        )
        problems = [f"unknown {sorted(unknown)}"] if unknown and not takes_any else []
        if required - set(step):
            problems.append(f"missing {sorted(required - set(step))}")
        raise SurgeryError(f"surgery step {op!r}: {'; '.join(problems)}. Its arguments: {usage}.")
    before = count_parameters(root)
    detail, modules = function(root, **step)
    after = count_parameters(root)
    return Change(op, detail, modules, before[0], after[0], before[1], after[1])


def apply_surgery(root: nn.Module, steps: list[SurgeryStep] | None) -> list[Change]:
    """Apply ``steps`` in order; log and return what each changed."""
    changes = []
    for index, step in enumerate(steps or []):
        try:
            change = apply_step(root, step)
        except SurgeryError as error:
            raise SurgeryError(f"model.surgery[{index}]: {error}") from None
        rank_zero_info(f"surgery [{index}] {change.summary()}")
        changes.append(change)
    return changes


def report_markdown(changes: list[Change]) -> str:
    """A Markdown table of the changes (empty string for none)."""
    if not changes:
        return ""
    lines = [
        "| # | operation | change | modules | params before | after | trainable before | after |",
        "|---|---|---|---|---:|---:|---:|---:|",
    ]
    for i, c in enumerate(changes):
        shown = "<br>".join(c.modules[:8]) + (
            f"<br>... {len(c.modules) - 8} more" if len(c.modules) > 8 else ""
        )
        lines.append(
            f"| {i} | {c.op} | {c.detail} | {shown} | {c.params_before:,} | {c.params_after:,} "
            f"| {c.trainable_before:,} | {c.trainable_after:,} |"
        )
    return "\n".join(lines) + "\n"


class SurgeryReport(Callback):
    """Writes the model's ``surgery_report`` to ``surgery.md`` in the run folder."""

    @rank_zero_only
    def setup(self, trainer: Trainer, pl_module: L.LightningModule, stage: str) -> None:
        changes = getattr(pl_module, "surgery_report", None)
        # fast_dev_run: set on the Trainer by Lightning, not declared in its class
        if not changes or trainer.fast_dev_run:  # type: ignore[attr-defined]
            return
        path = run_dir(trainer) / "surgery.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("# Model surgery\n\n" + report_markdown(changes))
