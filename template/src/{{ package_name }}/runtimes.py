"""The export formats: a writer for each, and a runtime that calls an export like the network.

- ``model.onnx`` (+ ``model.onnx.data``, its weights): ONNX opset 20 through torch's current
  exporter (``torch.onnx.export(dynamo=True)``), run by ONNX Runtime (:func:`export_onnx`);
- ``model.pt2``: a ``torch.export`` program compiled ahead of time by AOTInductor
  (:func:`export_pt2`), loaded with ``torch._inductor.aoti_load_package``;
The fused fp32 and int8 ONNX models of transformers are written by ``transformer_onnx.py``,
a module that only projects with a task that offers them hold (its ``ExportSpec.fused`` and
``int8`` call it).

Nothing here knows a task: the network, its example inputs and dynamic axes come from the
task's :class:`~.task.ExportSpec`. ``export.py`` verifies every file written here.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn
from torch.export import Dim

from .errors import UserError

FORMATS = ("onnx", "fused", "pt2", "int8")
FILES = {
    "onnx": "model.onnx",
    "fused": "model.fused.onnx",
    "pt2": "model.pt2",
    "int8": "model.int8.onnx",
}
MAX_BATCH = 1024


class ExportError(UserError, RuntimeError):
    """An export failed, or does not match eager PyTorch; the message says what to try."""


def batch_dim() -> Dim:
    """The dynamic batch axis every export has."""
    return Dim("batch", min=1, max=MAX_BATCH)


# --- runtimes: an export called like the network it replaces -----------------------------------


class OnnxRuntimeNetwork(nn.Module):
    """An ONNX file run by ONNX Runtime on the CPU: tensors in, a tuple of tensors out."""

    def __init__(self, path: str | Path, threads: int | None = None) -> None:
        super().__init__()
        import onnxruntime as ort

        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.input_names = [node.name for node in self.session.get_inputs()]

    def forward(self, *inputs: Tensor) -> tuple[Tensor, ...]:
        feed = {
            name: tensor.detach().cpu().numpy()
            for name, tensor in zip(self.input_names, inputs, strict=True)
        }
        return tuple(torch.from_numpy(output) for output in self.session.run(None, feed))


class AotPackageNetwork(nn.Module):
    """An AOTInductor package (``.pt2``): tensors in, a tuple of tensors out."""

    def __init__(self, path: str | Path) -> None:
        super().__init__()
        import torch._inductor

        self.runner = torch._inductor.aoti_load_package(str(path))

    def forward(self, *inputs: Tensor) -> tuple[Tensor, ...]:
        return as_tuple(self.runner(*inputs))  # one output comes back as a bare tensor


def load_runtime(path: str | Path, threads: int | None = None) -> nn.Module:
    """The runtime for an exported file, chosen by its suffix (``.onnx`` or ``.pt2``)."""
    path = Path(path)
    if path.suffix == ".onnx":
        return OnnxRuntimeNetwork(path, threads)
    if path.suffix == ".pt2":
        return AotPackageNetwork(path)
    raise ExportError(f"{path}: not an export (expected a .onnx or .pt2 file written by export)")


def as_tuple(outputs: Any) -> tuple[Tensor, ...]:
    """A network's outputs as a flat tuple, the way the exporters flatten them."""
    if isinstance(outputs, Tensor):
        return (outputs,)
    if isinstance(outputs, dict):
        return tuple(outputs.values())
    return tuple(outputs)


def repeat_first(inputs: dict[str, Tensor], batch_size: int) -> tuple[Tensor, ...]:
    """The first sample repeated ``batch_size`` times: a batch at the data's real shape, for
    timing a runtime."""
    return tuple(
        tensor[:1].repeat(batch_size, *([1] * (tensor.dim() - 1))) for tensor in inputs.values()
    )


# --- writers --------------------------------------------------------------------------------------


def find_cxx_compiler() -> str:
    """The C++ compiler AOTInductor will use; a clear error when there is none."""
    for name in (os.environ.get("CXX"), "c++", "g++", "clang++"):
        found = name and shutil.which(name)
        if found:
            return found
    raise ExportError(
        "AOTInductor compiles the model to C++ and found no compiler ($CXX, c++, g++, "
        "clang++). Install one (Debian/Ubuntu: sudo apt install g++; conda: conda install -c "
        "conda-forge cxx-compiler), or leave the .pt2 out: --formats onnx."
    )


def error_summary(error: Exception) -> str:
    """The informative lines of an exporter's error (its summary, when it has one)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    if "## Exception summary" in lines:
        lines = lines[lines.index("## Exception summary") + 1 :]
    return " ".join(lines[:4])


def export_onnx(
    network: nn.Module,
    inputs: dict,
    dynamic: dict,
    names: list,
    path: Path,
    translations: dict | None = None,
) -> None:
    """``model.onnx`` through the dynamo exporter; ``translations``: the ONNX translations of
    the task's own operators (its ``ExportSpec.onnx_translations``)."""
    try:
        torch.onnx.export(
            network,
            tuple(inputs.values()),
            str(path),
            dynamo=True,
            dynamic_shapes=tuple(dynamic[name] for name in inputs),
            input_names=list(inputs),
            output_names=names,
            verbose=False,
            custom_translation_table=translations or {},
        )
    except Exception as error:
        raise ExportError(
            f"ONNX export failed: {error_summary(error)}\nThe operator or shape named above has "
            "no ONNX translation here, or a dynamic dimension was specialised by the code. "
            "Fallbacks: --formats pt2 (torch.export + AOTInductor has no ONNX operator gap); "
            "or rewrite the operator; or fixed shapes (edit the task's dynamic_axes)."
        ) from error


def export_pt2(network: nn.Module, inputs: dict, dynamic: dict, path: Path) -> None:
    """``model.pt2``: ``torch.export`` with the dynamic axes, compiled by AOTInductor."""
    import torch._inductor

    find_cxx_compiler()
    try:
        program = torch.export.export(
            network, tuple(inputs.values()), dynamic_shapes=tuple(dynamic[n] for n in inputs)
        )
        torch._inductor.aoti_compile_and_package(program, package_path=str(path))
    except Exception as error:
        raise ExportError(
            f"torch.export / AOTInductor failed: {error_summary(error)}\nThe operator or shape "
            "named above could not be traced or compiled. Fallbacks: --formats onnx; or fix "
            "the data-dependent control flow that torch.export names."
        ) from error
