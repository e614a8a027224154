"""What the machine can do, applied to the Trainer: the number of training processes,
gradient accumulation for an effective batch size, the precision it supports, and
``torch.compile`` of a model's networks."""

from __future__ import annotations

import math
import platform
from pathlib import Path

import torch
from lightning.pytorch.utilities import rank_zero_info
from torch import nn
from torchmetrics import Metric, MetricCollection

from .errors import UserError


def process_count(
    accelerator: object, devices: list[int] | tuple[int, ...] | str | int, num_nodes: int
) -> int:
    """How many training processes a Trainer with these settings starts (``devices: -1`` or
    ``auto`` on a GPU means every visible GPU)."""
    if isinstance(devices, (list, tuple)):
        per_node = len(devices)
    elif isinstance(devices, str) and "," in devices:
        per_node = len([d for d in devices.split(",") if d.strip()])
    elif str(devices) in ("-1", "auto"):
        gpu = str(accelerator) in ("gpu", "cuda") or (
            str(accelerator) == "auto" and torch.cuda.is_available()
        )
        per_node = max(torch.cuda.device_count(), 1) if gpu else 1
    else:
        per_node = int(devices)
    return per_node * int(num_nodes or 1)


def accumulation_for(effective_batch_size: int, batch_size: int, processes: int) -> int:
    """Gradient-accumulation steps so that ``batch_size x processes x steps`` reaches
    ``effective_batch_size`` (rounded up: never a smaller effective batch than asked)."""
    if effective_batch_size < 1 or batch_size < 1:
        raise ValueError("effective_batch_size and the data's batch_size must be positive")
    return max(1, math.ceil(effective_batch_size / (batch_size * processes)))


def choose_precision(precision: object, accelerator: object) -> object:
    """bf16 on a CUDA GPU without bf16 support (before Ampere) becomes the fp16 equivalent."""
    uses_gpu = str(accelerator) in ("gpu", "cuda", "auto") and torch.cuda.is_available()
    if uses_gpu and str(precision).startswith("bf16") and not torch.cuda.is_bf16_supported():
        fallback = "16-mixed"
        rank_zero_info(f"This GPU has no bf16 support: precision {precision} -> {fallback}.")
        return fallback
    return precision


class PrecisionError(UserError, ValueError):
    """A precision this machine would run far slower than 32-bit."""


def cpu_has_native_bf16() -> bool:
    """True when this CPU computes in bf16 natively: AVX512-BF16 or AMX (x86), BF16 (Arm)."""
    for probe in ("_is_avx512_bf16_supported", "_is_amx_tile_supported"):
        check = getattr(torch.cpu, probe, None)
        if check is not None and check():
            return True
    if platform.machine() in ("aarch64", "arm64"):
        try:
            return " bf16" in Path("/proc/cpuinfo").read_text()
        except OSError:
            return platform.system() == "Darwin"  # Apple M2 and later
    return False


def check_precision(precision: object, accelerator: object) -> None:
    """Refuse bf16 on a CPU that lacks it (Lightning also turns 16-mixed into bf16 on CPU).

    Raises:
        PrecisionError: naming the precision and what to use instead.
    """
    name = str(precision)
    on_cpu = str(accelerator) == "cpu" or (
        str(accelerator) == "auto"
        and not torch.cuda.is_available()
        and not torch.backends.mps.is_available()
    )
    if not on_cpu or not ("bf16" in name or name.startswith("16")) or cpu_has_native_bf16():
        return
    raise PrecisionError(
        f"trainer.precision={name} on this CPU means bf16, which it has no instructions for "
        "(AVX512-BF16 or AMX): it would run several times slower than 32-bit. Use "
        "--trainer.precision=32-true on this machine, or a GPU."
    )


def compile_networks(module: nn.Module, **options: object) -> list[str]:
    """Compile, in place, the children of a LightningModule that hold its networks (those
    with parameters), and return their names.

    Not the LightningModule itself: compiling it traces ``self.log`` and the metric updates
    too, which recompile for every metric name until dynamo's recompile limit (seen on an
    H100 with the classification sample). In place (``nn.Module.compile``), so parameter
    names, state dicts and checkpoints are the same as without compilation. ``options`` go to
    ``torch.compile`` (``mode``, ``backend``, ...), over the module's own ``compile_options``
    (a class attribute: the image classifier asks for static shapes).
    """
    options = {**getattr(module, "compile_options", {}), **options}
    names = []
    for name, child in module.named_children():
        if isinstance(child, (Metric, MetricCollection)) or next(child.parameters(), None) is None:
            continue  # metrics, losses without weights
        child.compile(**options)
        names.append(name)
    if not names:
        raise ValueError(f"{type(module).__name__} has no child module with parameters to compile")
    return names
