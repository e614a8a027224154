"""The formats benchmark: every way this project runs a model, judged by the task's metric.

Run by ``python -m <package>.benchmark formats CHECKPOINT``: for eager PyTorch,
``torch.compile`` and each export the task offers (ONNX Runtime, the fused fp32 ONNX model,
the AOTInductor ``.pt2`` package, int8 ONNX Runtime), in one process:

- the task's validation metric over the whole validation split, computed through that runtime
  end to end: the runtime is attached in the LightningModule (the task's ``ExportSpec.attach``)
  and the module's own validation loop scores it, as ``export``'s verification does;
- the latency of the model alone at batch 1 and its throughput at batch 8, on the first
  validation sample, and the end-to-end latency at batch 1: the validation loader at batch 1
  (reading, decoding, transforms, collation) and the module's ``predict_step`` (the network
  through that runtime, then the step's post-processing). Work a DataModule does once at
  setup (e.g. tokenising SQuAD) is not per item, so it is not counted.

The runtimes are alternated round by round, warm-up calls excluded (``timing.py``), so each
ratio to eager is measured side by side. A format that fails to load, run or score is kept in
the table as failed with its reason; the others go on. ``formats_report.py`` prints and writes
the result.
"""

from __future__ import annotations

import copy
import json
import shutil
import tempfile
import time
from collections.abc import Callable
from functools import partial
from itertools import islice
from pathlib import Path
from typing import Any

import lightning as L
import torch
from torch import Tensor, nn

from . import tasks
from .export import export, spec_of
from .loading import build_datamodule, load_checkpoint
from .runtimes import FILES, ExportError, as_tuple, load_runtime, repeat_first
from .task import ExportSpec
from .timing import alternate, medians, milliseconds_per_call
from .trainers import bare_trainer
from .verify import compare_outputs, first_samples, max_difference

FORMAT_NAMES = ("eager", "compile", "onnx", "fused", "pt2", "int8")
OK, DROPPED, FAILED = "✅", "❎", "❌"
# A float32 export that matches eager within its tolerance may still flip a borderline
# prediction: by default an fp32 format may lose 1 % of eager's metric, int8 its task's limit.
RELATIVE_TOLERANCE = 0.01
MEASURES = ("model_ms_b1", "e2e_ms_b1", "items_per_s_b8")


class _Outputs(nn.Module):
    """A network (eager or compiled) called like an export: a tuple of tensors out."""

    def __init__(self, network: Callable[..., Any]) -> None:
        super().__init__()
        self.network = network

    def forward(self, *inputs: Tensor) -> tuple[Tensor, ...]:
        return as_tuple(self.network(*inputs))


def choose_device(name: str) -> torch.device:
    """``auto``: the GPU when there is one, else the CPU; ``cpu``; ``cuda`` (refused without
    one)."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ExportError("--device cuda: torch sees no CUDA GPU here; use --device cpu or auto.")
    return torch.device(name)


def offered(spec: ExportSpec, folder: Path) -> list[str]:
    """The formats a task offers, and any further one its export folder holds, in order."""
    wanted = {"eager", "compile", "onnx", "pt2"}
    wanted |= {"fused"} if spec.fused else set()
    wanted |= {"int8"} if spec.int8 else set()
    wanted |= {name for name, file in FILES.items() if (folder / file).is_file()}
    return [name for name in FORMAT_NAMES if name in wanted]


def export_folder(checkpoint: str, folder: Path, data_root: str | None) -> dict[str, str]:
    """An export of ``checkpoint`` in ``folder`` (written with export's defaults when the
    folder holds none); returns why formats are missing, by format, where export said."""
    missing: dict[str, str] = {}
    if not (folder / "export.json").is_file():
        print(f"No export in {folder}: exporting {checkpoint} there first ...")
        try:
            export(checkpoint, folder, data_root=data_root)
        except ExportError as error:  # one format failed: export the plain ONNX model alone
            reason = one_line(error)
            print(f"The full export failed ({reason}); exporting model.onnx alone ...")
            missing = dict.fromkeys(("pt2", "fused", "int8"), f"export failed: {reason}")
            try:
                export(checkpoint, folder, ["onnx"], data_root=data_root)
            except ExportError as onnx_error:  # eager and compile are still measured
                return dict.fromkeys(FILES, f"export failed: {one_line(onnx_error)}")
    results = json.loads((folder / "export.json").read_text())["results"]
    if "fused_skipped" in results:
        missing["fused"] = f"export skipped it: {results['fused_skipped']}"
    return missing


def one_line(error: BaseException) -> str:
    """An error's message on one line (its type where it has none), at most 300 characters."""
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= 300 else text[:297] + "..."


def file_megabytes(folder: Path, name: str) -> float:
    """An export's size on disk: its file and side files (``model.onnx.data``), in MB."""
    files = [p for p in folder.glob(FILES[name] + "*") if p.is_file()]
    return sum(p.stat().st_size for p in files) / 1e6


def _prepare(
    name: str,
    module: L.LightningModule,
    spec: ExportSpec,
    folder: Path,
    threads: int,
    device: torch.device,
    missing: dict[str, str],
) -> tuple[L.LightningModule, nn.Module, torch.device]:
    """The module with runtime ``name`` in place, the runtime alone, and where it runs.

    Exports run on the CPU (ONNX Runtime's CPU provider; a .pt2 is compiled for the CPU it was
    exported on); eager and compiled PyTorch on ``device``."""
    row = copy.deepcopy(module)
    if name in ("eager", "compile"):
        row.to(device)
        network = spec.network(row).eval()
        compiled = _Outputs(network if name == "eager" else torch.compile(network))
        if name == "compile":
            spec.attach(row, compiled)
        return row.eval(), compiled, device
    path = folder / FILES[name]
    if not path.is_file():
        raise ExportError(missing.get(name) or f"no {FILES[name]} in {folder}")
    runner = load_runtime(path, threads)
    spec.attach(row, runner)
    return row.eval(), runner, torch.device("cpu")


def _synchronised(function: Callable[[], Any], device: torch.device) -> Callable[[], None]:
    """``function`` that returns once a GPU has finished its work (CUDA calls are queued)."""

    def call() -> None:
        function()
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    return call


def _end_to_end(module: L.LightningModule, loader: Any, items: int, device: torch.device) -> None:
    """``items`` validation items through the loader at batch 1 and ``predict_step``."""
    for index, batch in enumerate(islice(loader, items)):
        module.predict_step(module.transfer_batch_to_device(batch, device, 0), index)


def _validate(
    module: L.LightningModule, datamodule: Any, metric: str, workdir: Path, device: torch.device
) -> float:
    """The module's validation ``metric`` over the whole validation split (as ``export``)."""
    trainer = bare_trainer(
        default_root_dir=workdir, accelerator="gpu" if device.type == "cuda" else "cpu"
    )
    return float(trainer.validate(module, datamodule=datamodule, verbose=False)[0][metric])


class _Context:
    """What every format's measurement shares: the checkpoint's module, its task's spec, the
    export folder, the data and the inputs timed."""

    def __init__(
        self,
        module: L.LightningModule,
        folder: Path,
        datamodule: Any,
        loader: Any,
        cases: dict[int, tuple[Tensor, ...]],
        threads: int,
        device: torch.device,
        missing: dict[str, str],
        workdir: Path,
    ) -> None:
        self.module, self.spec, self.folder = module, spec_of(module), folder
        self.datamodule, self.loader, self.cases = datamodule, loader, cases
        self.threads, self.device, self.missing, self.workdir = threads, device, missing, workdir
        self.metric = self.spec.metric(module)
        self.reference: dict[str, dict[int, tuple[Tensor, ...]]] = {}  # eager's, per device

    def eager_outputs(self, where: torch.device, inputs: dict) -> dict[int, tuple[Tensor, ...]]:
        """Eager PyTorch's outputs on ``where``: what a runtime there is checked against."""
        if str(where) not in self.reference:
            eager = self.spec.network(copy.deepcopy(self.module).to(where)).eval()
            self.reference[str(where)] = {n: as_tuple(eager(*x)) for n, x in inputs.items()}
        return self.reference[str(where)]


def _measure(name: str, context: _Context, items: int) -> tuple[dict, dict[str, Callable]]:
    """Format ``name``'s row (status, device, size, metric) and its timed calls by measure;
    raises when the format fails to load, match eager's outputs or score."""
    spec, module = context.spec, context.module
    row: dict[str, Any] = {"format": name, "status": OK, "reason": None}
    started = time.perf_counter()
    attached, runner, where = _prepare(
        name, module, spec, context.folder, context.threads, context.device, context.missing
    )
    row["device"] = str(where)
    if name in ("eager", "compile"):  # no file: the weights in memory
        weights = spec.network(module).state_dict().values()
        row["size_mb"] = sum(t.numel() * t.element_size() for t in weights) / 1e6
    else:
        row["size_mb"] = file_megabytes(context.folder, name)
    # First the metric, from a fresh module (steps keep state until their epoch's end).
    print(f"Validation {context.metric} through {name} ...")
    row["metric"] = _validate(
        attached, context.datamodule, context.metric, context.workdir / name, where
    )
    attached.to(where)  # the trainer hands the module back on the CPU
    inputs = {n: tuple(t.to(where) for t in case) for n, case in context.cases.items()}
    with torch.inference_mode():  # warm-up (compiles, allocates), checked against eager
        outputs = {n: runner(*case) for n, case in inputs.items()}
        for n, expected in context.eager_outputs(where, inputs).items():
            if name == "int8":  # judged by its metric; shapes must still agree
                max_difference(spec.output_names(module), expected, outputs[n])
            else:
                compare_outputs(spec, spec.output_names(module), expected, outputs[n])
        _end_to_end(attached, context.loader, 1, where)
    row["setup_seconds"] = round(time.perf_counter() - started, 2)
    timed: dict[str, Callable[[], Any]] = {
        "model_ms_b1": _synchronised(partial(runner, *inputs[1]), where),
        "items_per_s_b8": _synchronised(partial(runner, *inputs[8]), where),
        "e2e_ms_b1": partial(_end_to_end, attached, context.loader, items, where),
    }
    return row, timed


def _judge(row: dict, eager: float, spec: ExportSpec, metric: str, tolerance: float | None) -> None:
    """Mark a row dropped when its metric is worse than eager's by more than allowed."""
    value = row["metric"]
    drop = eager - value if spec.higher_is_better else value - eager
    allowed = tolerance
    if allowed is None:
        allowed = spec.int8_max_drop if row["format"] == "int8" else RELATIVE_TOLERANCE * abs(eager)
    row["metric_drop"], row["allowed_drop"] = drop, allowed
    if drop > allowed:
        row["status"] = DROPPED
        row["reason"] = f"{metric} {drop:.4g} worse than eager (tolerance {allowed:.4g})"


def formats(
    checkpoint: str,
    export_dir: str | None = None,
    names: list[str] | None = None,
    rounds: int = 5,
    calls: int = 5,
    items: int = 8,
    threads: int | None = None,
    data_root: str | None = None,
    device: str = "auto",
    tolerance: float | None = None,
) -> dict:
    """Status, size, metric, latencies and throughput of each format, as ratios to eager.

    ``export_dir`` defaults to ``<run>/export`` beside the checkpoint's folder; it is exported
    there first when it holds no export. ``names``: the formats (default: those the task offers
    and the folder holds). ``tolerance``: the most of the metric a format may lose to eager
    before it is marked dropped (default: 1 % of eager's; int8 its task's limit). ``items``:
    validation items per end-to-end round.
    """
    if threads:
        torch.set_num_threads(threads)
    threads = torch.get_num_threads()
    chosen = choose_device(device)
    module, settings = load_checkpoint(checkpoint)
    spec = spec_of(module)
    folder = Path(export_dir) if export_dir else Path(checkpoint).resolve().parents[1] / "export"
    missing = export_folder(checkpoint, folder, data_root)
    names = [name for name in FORMAT_NAMES if name in (names or offered(spec, folder))]
    datamodule = build_datamodule(settings, root=data_root)
    samples = first_samples(spec, module, datamodule)
    per_item = build_datamodule(settings, root=data_root, batch_size=1, num_workers=0)
    per_item.setup("validate")
    loaders = per_item.val_dataloader()
    loader = loaders[0] if isinstance(loaders, list | tuple) else loaders
    cases = {1: repeat_first(samples[1], 1), 8: repeat_first(samples[1], 8)}
    rows: dict[str, dict[str, Any]] = {}
    timed: dict[str, dict[str, Callable]] = {measure: {} for measure in MEASURES}
    work = Path(tempfile.mkdtemp(prefix="formats-"))
    try:
        context = _Context(
            module, folder, datamodule, loader, cases, threads, chosen, missing, work
        )
        for name in names:
            try:
                rows[name], calls_of = _measure(name, context, items)
            except Exception as error:  # noqa: BLE001 (a failed format is a row, not the end)
                rows[name] = {"format": name, "status": FAILED, "reason": one_line(error)}
                print(f"{FAILED} {name}: {rows[name]['reason']}")
                continue
            for measure, function in calls_of.items():
                timed[measure][name] = function
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if "eager" not in timed["model_ms_b1"]:
        raise ExportError(f"eager PyTorch failed ({rows['eager']['reason']}): no reference.")
    count = min(items, len(loader))
    print(f"Timing {len(timed['model_ms_b1'])} formats side by side: {rounds} rounds ...")
    with torch.inference_mode():
        latencies = {
            measure: alternate(
                {
                    name: partial(
                        milliseconds_per_call, function, calls if "model" in measure else 1
                    )
                    for name, function in functions.items()
                },
                rounds,
            )
            for measure, functions in timed.items()
        }
    for name, row in rows.items():
        if row["status"] == FAILED:
            continue
        median = {measure: medians(latencies[measure])[name] for measure in MEASURES}
        row["model_ms_b1"] = median["model_ms_b1"]
        row["e2e_ms_b1"] = median["e2e_ms_b1"] / count
        row["items_per_s_b8"] = 8 * 1000 / median["items_per_s_b8"]
        row["latency_ms"] = {measure: latencies[measure][name] for measure in MEASURES}
        if name != "eager":  # the reference
            _judge(row, rows["eager"]["metric"], spec, context.metric, tolerance)
        row["ratio_to_eager"] = {m: row[m] / rows["eager"][m] for m in MEASURES}
    return {
        "benchmark": "formats",
        "task": tasks.for_module(module).name,
        "checkpoint": str(checkpoint),
        "export_dir": str(folder),
        "device": str(chosen),
        "threads": threads,
        "metric": context.metric,
        "higher_is_better": spec.higher_is_better,
        "rounds": rounds,
        "calls_per_round": calls,
        "end_to_end_items": count,
        "input_shapes": {str(n): [list(t.shape) for t in case] for n, case in cases.items()},
        "rows": list(rows.values()),
    }
