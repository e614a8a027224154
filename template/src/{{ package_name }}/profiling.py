"""Training speed of an experiment by precision, memory layout and compilation.

``python -m {{ package_name }}.benchmark training -c configs/<task>/<experiment>.yaml`` builds the
experiment's model and data exactly as ``train.py`` does, preloads a few training batches, and
times Lightning training steps for each variant that applies on this machine:

- ``fp32``, ``bf16-mixed`` (GPUs with bf16, and CPUs with AVX-512 BF16 / AMX), ``16-mixed``
  (GPUs only);
- ``channels_last`` for models with convolutions;
- ``torch.compile`` (its compile time is reported apart: the first steps are excluded).

Variants are alternated round by round so that machine noise hits all of them; each reports
the median step time, samples per second and its ratio to ``fp32``.
"""

from __future__ import annotations

import copy
import logging
import statistics
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import lightning as L
import torch
from lightning.pytorch import Callback
from torch import nn


@dataclass(frozen=True)
class Variant:
    """One way of running the same training step."""

    name: str
    precision: str = "32-true"
    channels_last: bool = False
    compile: bool = False


def cpu_has_bf16() -> bool:
    """True when this CPU computes bf16 natively (AVX-512 BF16 or AMX); elsewhere bf16 is
    emulated and slower than fp32."""
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(getattr(torch.cpu, name, lambda: False)() for name in checks)


def variants_for(accelerator: str, has_convolutions: bool, compile: bool) -> list[Variant]:
    """The variants worth timing on ``accelerator`` (``cpu`` or ``cuda``)."""
    gpu = accelerator == "cuda"
    mixed = []
    if (gpu and torch.cuda.is_bf16_supported()) or (not gpu and cpu_has_bf16()):
        mixed.append("bf16-mixed")
    if gpu:
        mixed.append("16-mixed")
    best = mixed[0] if mixed else "32-true"
    variants = [Variant("fp32")] + [Variant(p, p) for p in mixed]
    if has_convolutions:
        variants.append(Variant("fp32 + channels_last", channels_last=True))
        if best != "32-true":
            variants.append(Variant(f"{best} + channels_last", best, channels_last=True))
    if compile:
        variants.append(Variant("fp32 + compile", compile=True))
        if best != "32-true":
            variants.append(
                Variant(f"{best} + compile", best, channels_last=has_convolutions, compile=True)
            )
    return variants


class _StepTimer(Callback):
    """Wall time of each training step (forward, backward, optimizer) after ``skip`` steps."""

    def __init__(self, skip: int) -> None:
        self.skip = skip
        self.times: list[float] = []
        self.first = 0.0

    @staticmethod
    def _sync() -> None:
        if torch.cuda.is_available():
            torch.cuda.synchronize()

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx: int) -> None:
        self._sync()
        self._start = time.perf_counter()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx: int) -> None:
        self._sync()
        seconds = time.perf_counter() - self._start
        if batch_idx == 0:
            self.first = seconds
        if batch_idx >= self.skip:
            self.times.append(seconds)


class _Preloaded:
    """Batches held in memory, given to Lightning as one iterable (a plain list would be
    read as several data loaders)."""

    def __init__(self, batches: Sequence) -> None:
        self.batches = list(batches)

    def __iter__(self):
        return iter(self.batches)

    def __len__(self) -> int:
        return len(self.batches)


def _time_steps(
    template: L.LightningModule,
    batches: Sequence,
    variant: Variant,
    accelerator: str,
    warmup: int,
) -> tuple[list[float], float]:
    model = copy.deepcopy(template)
    if variant.channels_last:
        model = model.to(memory_format=torch.channels_last)
    timer = _StepTimer(skip=warmup)
    trainer = L.Trainer(
        accelerator="gpu" if accelerator == "cuda" else "cpu",
        devices=1,
        precision=variant.precision,
        max_epochs=1,
        limit_val_batches=0,
        num_sanity_val_steps=0,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[timer],
    )
    module = torch.compile(model) if variant.compile else model
    trainer.fit(module, train_dataloaders=_Preloaded(batches))
    return timer.times, timer.first


def training_profile(
    model: L.LightningModule,
    batches: Sequence,
    batch_size: int,
    steps: int = 20,
    warmup: int = 3,
    rounds: int = 3,
    compile: bool = True,
    accelerator: str | None = None,
) -> dict:
    """Time ``steps`` training steps per variant and round on the first batches given.

    ``batches`` must hold at least ``warmup + steps`` batches (they are reused as they are,
    so data loading is not measured).
    """
    accelerator = accelerator or ("cuda" if torch.cuda.is_available() else "cpu")
    needed = warmup + steps
    if len(batches) < needed:
        raise ValueError(f"{needed} batches needed (warmup + steps), got {len(batches)}")
    batches = list(batches[:needed])
    has_convolutions = any(isinstance(m, nn.Conv2d) for m in model.modules())
    variants = variants_for(accelerator, has_convolutions, compile)
    times: dict[str, list[float]] = {v.name: [] for v in variants}
    first_step: dict[str, float] = {}
    lightning_log = logging.getLogger("lightning.pytorch")
    level = lightning_log.level
    lightning_log.setLevel(logging.WARNING)  # not one banner per variant and round
    try:
        for round_index in range(rounds):
            order = variants if round_index % 2 == 0 else variants[::-1]
            for variant in order:
                step_times, first = _time_steps(model, batches, variant, accelerator, warmup)
                times[variant.name] += step_times
                first_step.setdefault(variant.name, first)  # includes compilation on round 0
    finally:
        lightning_log.setLevel(level)
    medians = {name: statistics.median(values) for name, values in times.items()}
    base = medians["fp32"]
    rows = [
        {
            **asdict(variant),
            "median_step_seconds": medians[variant.name],
            "samples_per_second": batch_size / medians[variant.name],
            "ratio_to_fp32": medians[variant.name] / base,
            "first_step_seconds": first_step[variant.name],
        }
        for variant in variants
    ]
    return {
        "benchmark": "training",
        "accelerator": accelerator,
        "device": torch.cuda.get_device_name() if accelerator == "cuda" else "cpu",
        "threads": torch.get_num_threads(),
        "batch_size": batch_size,
        "steps": steps,
        "warmup": warmup,
        "rounds": rounds,
        "variants": rows,
    }


def format_profile(result: dict) -> str:
    """The profile as a table: one variant a row."""
    lines = [
        f"Training steps on {result['device']} ({result['threads']} threads), batch "
        f"{result['batch_size']}, median of {result['steps']} steps x {result['rounds']} rounds",
        f"{'variant':<28}{'step (ms)':>11}{'samples/s':>11}{'vs fp32':>9}{'first step (s)':>16}",
    ]
    for row in result["variants"]:
        lines.append(
            f"{row['name']:<28}{1000 * row['median_step_seconds']:>11.1f}"
            f"{row['samples_per_second']:>11.1f}{row['ratio_to_fp32']:>9.2f}"
            f"{row['first_step_seconds']:>16.2f}"
        )
    return "\n".join(lines)
