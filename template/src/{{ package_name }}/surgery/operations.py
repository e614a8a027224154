"""The surgery operations: each takes the model and a step's arguments, changes the model
in place, and returns what it did and the names of the modules it changed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, cast

import torch
from torch import Tensor, nn
from torch.nn.modules.batchnorm import _BatchNorm

from .selection import (
    SurgeryError,
    _matches,
    _nearest,
    _outermost,
    _protocol_name,
    get_submodule,
    select_modules,
    set_submodule,
)


def _activation(name: str, kwargs: dict[str, Any]) -> nn.Module:
    cls = getattr(nn, name, None)
    if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
        options = [
            n
            for n, c in vars(nn).items()
            if isinstance(c, type) and "activation" in (c.__module__ or "")
        ]
        raise SurgeryError(
            f"surgery: {name!r} is not an activation in torch.nn. "
            f"Nearest: {_nearest(name, options)}."
        )
    return cls(**kwargs)


def replace_head(
    root: nn.Module,
    target: str | None = None,
    out_features: int | None = None,
    hidden: list[int] | None = None,
    dropout: float = 0.0,
    activation: str = "GELU",
) -> tuple[str, list[str]]:
    """Replace the final linear layer by a new one, or by a small MLP.

    A convolutional head (a one-stage detector's class logits) is replaced by convolutions:
    the first keeps the old kernel, stride and padding, the later ones are 1 x 1, so the
    output keeps its spatial size.

    Args:
        target: a ``Linear`` or ``Conv2d`` module, or a module whose last ``Linear`` is
            replaced; default the model's ``head_name``.
        out_features: outputs of the new head; default those of the old one.
        hidden: widths of hidden layers (``[256]``: Linear, activation, dropout, Linear).
        dropout: dropout before every linear layer of the new head.
        activation: activation between hidden layers (a ``torch.nn`` class name).
    """
    target = target or _protocol_name(root, "head_name", "replace_head")
    module = get_submodule(root, target, "replace_head")
    if not isinstance(module, (nn.Linear, nn.Conv2d)):
        linears = [(n, m) for n, m in module.named_modules() if isinstance(m, nn.Linear)]
        if not linears:
            raise SurgeryError(
                f"surgery step 'replace_head': {target!r} ({type(module).__name__}) holds no "
                "Linear layer; give 'target' the name of a Linear or Conv2d module."
            )
        name, module = linears[-1]
        target = f"{target}.{name}"
    if isinstance(module, nn.Conv2d):
        width, out = module.in_channels, out_features or module.out_channels
    else:
        width, out = module.in_features, out_features or module.out_features
    first = width

    def layer(width: int, size: int, is_first: bool) -> nn.Module:
        if not isinstance(module, nn.Conv2d):
            return nn.Linear(width, size)
        if is_first:  # the window of the replaced convolution
            pair = tuple[int, int]  # a Conv2d's sizes, which torch types as tuple[int, ...]
            kernel, stride = cast(pair, module.kernel_size), cast(pair, module.stride)
            padding = cast("str | tuple[int, int]", module.padding)
            return nn.Conv2d(width, size, kernel, stride, padding)
        return nn.Conv2d(width, size, 1)

    layers: list[nn.Module] = []
    for size in hidden or []:
        layers += [nn.Dropout(dropout), layer(width, size, not layers), _activation(activation, {})]
        width = size
    layers += [nn.Dropout(dropout), layer(width, out, not layers)]
    head = layers[-1] if len(layers) == 2 and dropout == 0 else nn.Sequential(*layers)
    device = module.weight.device
    set_submodule(root, target, head.to(device))
    shape = " -> ".join(str(w) for w in [first, *(hidden or []), out])
    return f"new head {shape} (dropout {dropout})", [target]


def swap_activation(
    root: nn.Module, old: str, new: str, pattern: str = "*", **kwargs: Any
) -> tuple[str, list[str]]:
    """Replace every activation module of class ``old`` (e.g. ``ReLU``, ``GELUActivation``)
    under ``pattern`` by ``torch.nn.<new>(**kwargs)`` (e.g. ``GELU``, ``SiLU``, ``Mish``,
    ``LeakyReLU`` with ``negative_slope``)."""
    found = select_modules(root, "swap_activation", pattern, class_name=old)
    _activation(new, kwargs)  # fail before changing anything
    for name, _ in found:
        set_submodule(root, name, _activation(new, kwargs))
    return f"{old} -> {new}", [name for name, _ in found]


def dropout(root: nn.Module, p: float, pattern: str = "*") -> tuple[str, list[str]]:
    """Set the probability of every existing ``Dropout`` module under ``pattern`` to ``p``."""
    found = [
        (n, m)
        for n, m in root.named_modules()
        if n and isinstance(m, nn.modules.dropout._DropoutNd) and _matches(n, pattern)
    ]
    if not found:
        raise SurgeryError(
            f"surgery step 'dropout': no Dropout module matches {pattern!r}; insert one with "
            "{op: add_dropout, target: <module>, p: ...}. Nearest names: "
            f"{_nearest(pattern, (n for n, _ in root.named_modules() if n))}."
        )
    for _, module in found:
        module.p = p
    return f"dropout p = {p}", [name for name, _ in found]


def add_dropout(root: nn.Module, target: str, p: float) -> tuple[str, list[str]]:
    """Insert ``Dropout(p)`` before the module ``target`` (it becomes ``target.1``)."""
    module = get_submodule(root, target, "add_dropout")
    set_submodule(root, target, nn.Sequential(nn.Dropout(p), module))
    return f"Dropout({p}) inserted before {target}", [target]


def drop_path(root: nn.Module, rate: float, pattern: str = "*") -> tuple[str, list[str]]:
    """Stochastic depth: set timm's ``DropPath`` modules to rates rising linearly from 0 at
    the first block to ``rate`` at the last (timm's own schedule)."""
    from timm.layers import DropPath

    found = [
        (n, m) for n, m in root.named_modules() if isinstance(m, DropPath) and _matches(n, pattern)
    ]
    if not found:
        raise SurgeryError(
            "surgery step 'drop_path': the backbone has no DropPath modules under "
            f"{pattern!r}. timm creates them only when asked: add "
            "backbone_kwargs: {drop_path_rate: 0.1} to the model (any value > 0), then set the "
            "rate here if you want another."
        )
    for index, (_, module) in enumerate(found):
        module.drop_prob = rate * index / max(1, len(found) - 1)
    return f"drop-path up to {rate} over {len(found)} blocks", [name for name, _ in found]


class GlobalPool(nn.Module):
    """Global pooling of feature maps ``(B, C, H, W)``: average, max or generalised mean.

    GeM (Radenović et al., 2018) is ``mean(x^p)^(1/p)`` with a learnt ``p``: 1 is the average,
    large ``p`` approaches the max.
    """

    def __init__(self, kind: Literal["avg", "max", "gem"], p: float = 3.0, flatten: bool = True):
        super().__init__()
        self.kind = kind
        self.flatten = flatten
        self.p = nn.Parameter(torch.tensor(float(p))) if kind == "gem" else None
        self.eps = 1e-6

    def forward(self, x: Tensor) -> Tensor:
        if self.kind == "avg":
            pooled = x.mean(dim=(2, 3), keepdim=True)
        elif self.kind == "max":
            pooled = x.amax(dim=(2, 3), keepdim=True)
        else:
            assert self.p is not None  # built for "gem"
            pooled = x.clamp(min=self.eps).pow(self.p).mean(dim=(2, 3), keepdim=True)
            pooled = pooled.pow(1.0 / self.p)
        return pooled.flatten(1) if self.flatten else pooled

    def extra_repr(self) -> str:
        return f"kind={self.kind}, flatten={self.flatten}"


POOLS = ("SelectAdaptivePool2d", "AdaptiveAvgPool2d", "AdaptiveMaxPool2d", "GlobalPool")


def global_pool(
    root: nn.Module, kind: Literal["avg", "max", "gem"], p: float = 3.0, pattern: str = "*"
) -> tuple[str, list[str]]:
    """Replace global pooling (timm's ``SelectAdaptivePool2d``, torch's adaptive pools with
    output size 1) by average, max or GeM pooling with initial exponent ``p``."""
    if kind not in ("avg", "max", "gem"):
        raise SurgeryError(
            f"surgery step 'global_pool': kind must be avg, max or gem, not {kind!r}"
        )
    found = _outermost(
        [
            (n, m)
            for n, m in root.named_modules()
            if type(m).__name__ in POOLS
            and _matches(n, pattern)
            and getattr(m, "output_size", 1) in (1, (1, 1))
        ]
    )
    if not found:
        classes = {type(m).__name__ for _, m in root.named_modules()}
        raise SurgeryError(
            f"surgery step 'global_pool': no global pooling module ({', '.join(POOLS)}) "
            f"matches {pattern!r}; this model pools elsewhere (e.g. a transformer's CLS token). "
            f"Nearest classes: {_nearest('Pool', classes)}."
        )
    for name, module in found:
        flatten = not isinstance(getattr(module, "flatten", None), nn.Identity) and (
            type(module).__name__ in ("SelectAdaptivePool2d", "GlobalPool")
        )
        if isinstance(module, GlobalPool):
            flatten = module.flatten
        set_submodule(root, name, GlobalPool(kind, p, flatten))
    return f"global pooling -> {kind}", [name for name, _ in found]


def _keep_in_eval(module: nn.Module, _inputs: Any) -> None:
    # Runs before every forward: frozen BatchNorm keeps its running statistics.
    if module.training and not any(p.requires_grad for p in module.parameters()):
        module.eval()


def keep_frozen_batchnorm_in_eval(root: nn.Module) -> list[str]:
    """BatchNorm layers whose parameters are all frozen run in eval mode (running statistics
    used and not updated), even inside ``model.train()``. Idempotent; returns their names."""
    names = []
    for name, module in root.named_modules():
        if isinstance(module, _BatchNorm):
            if _keep_in_eval not in module._forward_pre_hooks.values():  # once per module
                module.register_forward_pre_hook(_keep_in_eval)
            if not any(p.requires_grad for p in module.parameters()):
                names.append(name)
    return names


def _set_trainable(
    root: nn.Module, op: str, pattern: str | list[str], trainable: bool
) -> list[str]:
    names = [n for n, _ in root.named_parameters() if _matches(n, pattern)]
    if not names:
        raise SurgeryError(
            f"surgery step {op!r}: no parameter matches {pattern!r}. Nearest names: "
            f"{_nearest(str(pattern), (n for n, _ in root.named_modules() if n))}."
        )
    for name, param in root.named_parameters():
        if _matches(name, pattern):
            param.requires_grad_(trainable)
    return names


def freeze(
    root: nn.Module, pattern: str | list[str], bn_eval: bool = False
) -> tuple[str, list[str]]:
    """Stop training the parameters under ``pattern`` (a module or parameter name pattern).

    With ``bn_eval``, BatchNorm layers left with no trainable parameter also keep their
    running statistics fixed (eval mode), as when fine-tuning with small batches.
    """
    names = _set_trainable(root, "freeze", pattern, False)
    detail = f"froze {pattern}"
    if bn_eval:
        detail += f"; {len(keep_frozen_batchnorm_in_eval(root))} BatchNorm layer(s) kept in eval"
    return detail, sorted({n.rsplit(".", 1)[0] for n in names})


def unfreeze(root: nn.Module, pattern: str | list[str]) -> tuple[str, list[str]]:
    """Train the parameters under ``pattern`` again."""
    names = _set_trainable(root, "unfreeze", pattern, True)
    return f"unfroze {pattern}", sorted({n.rsplit(".", 1)[0] for n in names})


def lora(
    root: nn.Module,
    target_modules: list[str],
    r: int = 8,
    alpha: int = 16,
    dropout: float = 0.0,
    target: str | None = None,
    freeze_base: bool = True,
) -> tuple[str, list[str]]:
    """Low-rank adapters (LoRA, via ``peft``) on the linear layers named ``target_modules``
    (name endings, e.g. ``[query, value]`` for BERT, ``[qkv]`` for a timm ViT).

    A ``Linear(in, out)`` gains ``r * (in + out)`` trainable parameters. With ``freeze_base``,
    every other parameter inside ``target`` (default: the model's ``backbone_name``) is
    frozen, so only the adapters and what lies outside the backbone (the head) train.
    """
    try:
        from peft import LoraConfig, inject_adapter_in_model
    except ImportError as error:
        raise SurgeryError("surgery step 'lora' needs peft: pip install -e '.[tune]'") from error
    target = target or _protocol_name(root, "backbone_name", "lora")
    module = get_submodule(root, target, "lora")
    leaves = {n.rsplit(".", 1)[-1] for n, m in module.named_modules() if isinstance(m, nn.Linear)}
    missing = [t for t in target_modules if t not in leaves]
    if missing:
        raise SurgeryError(
            f"surgery step 'lora': no Linear layer named {missing} inside {target!r}. "
            f"Nearest names: {_nearest(missing[0], leaves)}."
        )
    config = LoraConfig(r=r, lora_alpha=alpha, lora_dropout=dropout, target_modules=target_modules)
    inject_adapter_in_model(config, module)
    if freeze_base:
        for name, param in module.named_parameters():
            param.requires_grad_("lora_" in name)
    wrapped = sorted(
        f"{target}.{n}" for n, m in module.named_modules() if n and hasattr(m, "lora_A")
    )
    return f"LoRA r={r} alpha={alpha} on {target_modules}", wrapped


OPERATIONS: dict[str, Callable[..., tuple[str, list[str]]]] = {
    "replace_head": replace_head,
    "swap_activation": swap_activation,
    "dropout": dropout,
    "add_dropout": add_dropout,
    "drop_path": drop_path,
    "global_pool": global_pool,
    "freeze": freeze,
    "unfreeze": unfreeze,
    "lora": lora,
}
