"""Pieces for running on several processes (DDP / FSDP): gathering evaluation outputs exactly
once, and the layers FSDP wraps.

Lightning starts the processes (``configs/trainer/ddp*.yaml``, torchrun or SLURM); nothing
here launches anything.
"""

from __future__ import annotations

from typing import Any

import torch.distributed as dist
from torch import nn


def world_size() -> int:
    """Number of processes in the default group (1 when not distributed)."""
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def gather_objects(items: list[Any]) -> list[Any]:
    """Every process's ``items`` concatenated, in rank order, on every process.

    Evaluation outputs that are not tensors (predicted boxes per image, answer strings) are
    collected per process and joined here once per epoch. The validation and test loaders
    give each sample to exactly one process (``data.sampling.evaluation_sampler``), so the
    joined list holds each sample once.
    """
    size = world_size()
    if size == 1:
        return list(items)
    gathered: list[list[Any] | None] = [None] * size
    dist.all_gather_object(gathered, list(items))
    return [item for part in gathered for item in part or []]


def is_transformer_layer(module: nn.Module) -> bool:
    """A repeated attention block: ``BertLayer``, ``Wav2Vec2EncoderLayer``, timm's ``Block`` …

    Recognised by name (``…Layer`` / ``…Block``) and by holding an attention module.
    """
    if not type(module).__name__.endswith(("Layer", "Block")):
        return False
    return any("attn" in name or "attention" in name for name, _ in module.named_children())


def transformer_layer_policy(module: nn.Module, recurse: bool, nonwrapped_numel: int = 0) -> bool:
    """FSDP wrap / activation-checkpointing policy: one unit per transformer layer.

    FSDP calls it with ``recurse=True`` to ask whether to look inside ``module`` (always),
    and with ``recurse=False`` to ask whether to wrap ``module`` itself.
    """
    if recurse:
        return True
    return is_transformer_layer(module)
