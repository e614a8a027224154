"""The export formats: a writer for each, and a runtime that calls an export like the network.

- ``model.onnx`` (+ ``model.onnx.data``, its weights): ONNX opset 20 through torch's current
  exporter (``torch.onnx.export(dynamo=True)``), run by ONNX Runtime (:func:`export_onnx`);
- ``model.pt2``: a ``torch.export`` program compiled ahead of time by AOTInductor
  (:func:`export_pt2`), loaded with ``torch._inductor.aoti_load_package``;
- ``model.fused.onnx``: ONNX Runtime's transformer optimiser applied to the TorchScript
  exporter's graph (:func:`export_fused`);
- ``model.int8.onnx``: dynamic int8 quantisation of an fp32 ONNX model (:func:`export_int8`).

Nothing here knows a task: the network, its example inputs and dynamic axes come from the
task's :class:`~.task.ExportSpec`. ``export.py`` verifies every file written here.
"""

from __future__ import annotations

import copy
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
# The opset of the fused export: the newest the TorchScript exporter writes.
FUSED_OPSET = 17


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


def export_fused(
    network: nn.Module, inputs: dict, names: list, path: Path, fusion: dict[str, Any]
) -> dict[str, int]:
    """An fp32 ONNX transformer with ONNX Runtime's fusions; returns the fused operators' counts.

    ONNX Runtime's transformer optimiser fuses attention (Q, K, V projections, scores, mask,
    softmax and context: one ``Attention`` operator), the embeddings with their layer norm,
    each residual with its layer norm and each bias with its GELU, by matching the operators
    the TorchScript exporter (``dynamo=False``) writes for a model with eager attention. The
    dynamo exporter's graph gets only the layer-norm and GELU fusions: its attention (eager or
    SDPA) is spelled with other shape operators that the optimiser's patterns do not match, so
    this export is traced again, by the TorchScript exporter, from a copy of the model switched
    to eager attention (the same arithmetic as SDPA). Raises ``ExportError`` when the export or
    the optimiser fails, or when no attention was fused (a model family it does not know).
    """
    import warnings

    from onnxruntime.transformers.optimizer import optimize_model

    traced = copy.deepcopy(network).eval()
    for part in traced.modules():
        if hasattr(part, "set_attn_implementation"):  # the Hugging Face model
            part.set_attn_implementation("eager")
            break
    unfused = path.with_name(f"{path.stem}.unfused.onnx")
    try:
        with warnings.catch_warnings():  # the TorchScript exporter's deprecation and tracing
            warnings.simplefilter("ignore")
            torch.onnx.export(
                traced,
                tuple(inputs.values()),
                str(unfused),
                dynamo=False,
                opset_version=FUSED_OPSET,
                input_names=list(inputs),
                output_names=names,
                dynamic_axes={name: {0: "batch", 1: "sequence"} for name in [*inputs, *names]},
            )
        optimised = optimize_model(str(unfused), **fusion)
    except Exception as error:
        raise ExportError(f"the fused export failed: {error_summary(error)}") from error
    finally:
        unfused.unlink(missing_ok=True)
    fused = {op: count for op, count in optimised.get_fused_operator_statistics().items() if count}
    if not fused.get("Attention"):
        raise ExportError(
            f"ONNX Runtime's transformer optimiser fused no attention in this model (fused: "
            f"{fused or 'nothing'}), so model.fused.onnx would be no faster than model.onnx"
        )
    optimised.save_model_to_file(str(path))
    return fused


def export_int8(onnx_path: Path, path: Path, fused: bool = False) -> None:
    """Dynamic int8 quantisation of the fp32 ONNX model's linear layers.

    ``MatMul`` nodes with a weight are quantised (int8 weights, activations quantised on the
    fly per call): they are nearly all of a transformer's compute; in a fused model
    (``fused``: from :func:`export_fused`) the ``Attention`` operators too (``QAttention``:
    their Q, K, V projection in int8). The activation-by-activation products of attention,
    softmax and layer norms stay fp32. Weights use 7 of the 8 bits (``reduce_range``): CPUs
    without VNNI (AVX2, AVX-512 before Cascade Lake) add uint8 x int8 pairs in 16-bit
    registers that can saturate with full-range weights, which costs accuracy and not time.
    """
    from onnx import TensorProto
    from onnxruntime.quantization import QuantType, quantize_dynamic

    try:
        quantize_dynamic(
            str(onnx_path),
            str(path),
            weight_type=QuantType.QInt8,
            op_types_to_quantize=["MatMul", "Attention"] if fused else ["MatMul"],
            per_channel=False,
            reduce_range=True,
            # The fused operators are ONNX Runtime's own: shape inference leaves their
            # outputs untyped, and they are fp32.
            extra_options={"DefaultTensorType": TensorProto.FLOAT} if fused else {},
        )
    except (ValueError, RuntimeError) as error:  # e.g. a weight computed in the graph
        raise ExportError(
            f"ONNX Runtime's int8 quantisation failed: {error}. The node named is one whose "
            "weights the quantiser cannot read as constants. Keep the fp32 exports "
            "(--formats onnx pt2)."
        ) from error


def export_int8_from_best(folder: Path, path: Path) -> str:
    """Quantise the fastest fp32 model in ``folder`` (``model.fused.onnx`` where it was
    written, else ``model.onnx``) to ``path``; return the format quantised."""
    source = "fused" if (folder / FILES["fused"]).is_file() else "onnx"
    export_int8(folder / FILES[source], path, fused=source == "fused")
    return source
