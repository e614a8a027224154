"""The checks of an export: its outputs against eager PyTorch, and the task's metric.

An export is compared with eager PyTorch on real validation samples at batch 1 and batch 3
(a shape frozen at export time fails here) within the task's tolerance, and the task's
validation metric is computed by eager PyTorch and by the export placed in the module.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import lightning as L
import torch
from torch import Tensor, nn

from .runtimes import FORMATS, ExportError
from .task import ExportSpec
from .trainers import bare_trainer


def _padded(tensors: list[Tensor], value: float) -> list[Tensor]:
    """Tensors right-padded with ``value`` to the largest size of each axis after the first."""
    sizes = [max(sizes) for sizes in zip(*(t.shape[1:] for t in tensors), strict=True)]
    padded = []
    for tensor in tensors:
        widths: list[int] = []
        for axis in reversed(range(1, tensor.dim())):
            widths += [0, sizes[axis - 1] - tensor.shape[axis]]
        padded.append(nn.functional.pad(tensor, widths, value=value) if any(widths) else tensor)
    return padded


def merge(batches: list[dict]) -> dict:
    """Batches of one loader as one: tensors concatenated (padded batches padded to the longest:
    zeros, so masks mark the padding, and -100, the ignored id, for labels), lists joined."""
    merged: dict[str, Tensor | list] = {}
    for key, first in batches[0].items():
        values = [batch[key] for batch in batches]
        if isinstance(first, Tensor):
            merged[key] = torch.cat(_padded(values, -100 if key == "labels" else 0))
        elif isinstance(first, list):
            merged[key] = [item for value in values for item in value]
    return merged


def first_samples(spec: ExportSpec, module: L.LightningModule, datamodule) -> dict[int, dict]:
    """The network's inputs for the first 1 and 3 validation samples (from the first split's
    loader on, where there is one per split).

    A validation set of fewer than 3 samples is repeated: batch 3 still checks the shapes.
    """
    datamodule.setup("validate")
    loaders = datamodule.val_dataloader()
    if not isinstance(loaders, list | tuple):  # one loader per split, or one for all
        loaders = [loaders]
    batches, found = [], 0
    for batch in (batch for loader in loaders for batch in loader):
        batches.append(batch)
        found += len(next(iter(batch.values())))
        if found >= 3:
            break
    if not batches:
        raise ExportError("The validation set is empty: the export cannot be checked.")
    batch = merge(batches * (3 // found + 1) if found < 3 else batches)
    with torch.no_grad():
        return {count: spec.inputs(module, batch, count) for count in (1, 3)}


def compare_outputs(
    spec: ExportSpec, names: list[str], expected: Sequence[Tensor], actual: Sequence[Tensor]
) -> float:
    """The largest ``|export - eager|`` over the outputs; raises when beyond the tolerance."""
    if len(actual) != len(expected):
        raise ExportError(f"The export returns {len(actual)} outputs, eager {len(expected)}.")
    worst = 0.0
    for name, want, got in zip(names, expected, actual, strict=True):
        if tuple(got.shape) != tuple(want.shape):
            raise ExportError(
                f"Output {name!r} has shape {tuple(got.shape)}, eager {tuple(want.shape)}: a "
                "dimension was fixed at export time. Mark it dynamic in the task's "
                "dynamic_axes (tasks/<task>/export.py), or export with the shape you will run."
            )
        difference = float((got.float() - want.float()).abs().max()) if want.numel() else 0.0
        limit = spec.atol + spec.rtol * float(want.abs().max()) if want.numel() else 0.0
        if difference > limit:
            raise ExportError(
                f"Output {name!r} differs from eager by up to {difference:.3g} (tolerance "
                f"{limit:.3g} = {spec.atol:g} + {spec.rtol:g} x max|eager|). An operator is "
                "translated differently; try the other format (--formats pt2 or onnx)."
            )
        worst = max(worst, difference)
    return worst


def max_difference(names: list[str], expected: Sequence[Tensor], actual: Sequence[Tensor]) -> float:
    """The largest ``|export - eager|`` (int8: reported, not bounded); shapes must agree."""
    for name, want, got in zip(names, expected, actual, strict=True):
        if tuple(got.shape) != tuple(want.shape):
            raise ExportError(
                f"Output {name!r} has shape {tuple(got.shape)}, eager {tuple(want.shape)}."
            )
    return max(float((got - want).abs().max()) for want, got in zip(expected, actual, strict=True))


def validation_metrics(
    module: L.LightningModule, datamodule: L.LightningDataModule, keys: list[str], workdir: Path
) -> dict[str, float]:
    """The module's validation metrics ``keys`` over the whole validation set."""
    trainer = bare_trainer(default_root_dir=workdir)
    results = trainer.validate(module, datamodule=datamodule, verbose=False)
    return {key: float(results[0][key]) for key in keys}


def print_report(report: dict, metric: str) -> None:
    """The export's table: per format its export time, differences to eager and metrics."""
    keys = list(report["eager"].get("metrics", {metric: None}))
    print(
        f"{'format':<18} {'export [s]':>10} {'max|diff| b1':>13} {'max|diff| b3':>13}"
        + "".join(f" {key:>16}" for key in keys)
    )
    for name in ("eager", *FORMATS):
        if name not in report:
            continue
        entry = report[name]
        values = entry.get("metrics", {metric: entry["metric"]})
        scores = "".join(f" {values[key]:>16.4f}" for key in keys)
        if name == "eager":
            print(f"{'eager PyTorch':<18} {'':>10} {'':>13} {'':>13}{scores}")
            continue
        print(
            f"{entry['file']:<18} {entry['export_seconds']:>10.1f} "
            f"{entry['max_abs_diff_batch1']:>13.2e} {entry['max_abs_diff_batch3']:>13.2e}{scores}"
        )
