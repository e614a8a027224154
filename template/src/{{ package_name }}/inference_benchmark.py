"""The inference benchmark: one forward pass of the exported part, per runtime, side by side.

Run by ``python -m <package>.benchmark inference``: eager PyTorch, ``torch.compile`` and each
export found in ``--export-dir`` (``runtimes.py``), alternated round by round in one process
at one thread count on a real validation sample, warm-up calls excluded. The task's
``ExportSpec`` says what the model's inputs are (``steps_per_second``: inputs along time,
measured at given lengths in seconds) and its latency targets.
"""

from __future__ import annotations

import json
import time
from functools import partial
from pathlib import Path

import torch

from . import tasks
from .export import spec_of
from .loading import build_datamodule, load_checkpoint
from .runtimes import FILES, AotPackageNetwork, OnnxRuntimeNetwork, as_tuple, repeat_first
from .timing import alternate, medians, milliseconds_per_call, timing_note
from .verify import first_samples

RUNTIMES = ("eager", "compile", "onnx", "fused", "pt2", "int8")


def _stretch(inputs: dict[str, torch.Tensor], length: int) -> dict[str, torch.Tensor]:
    """One unpadded sample repeated along its time axis (axis 1) to ``length`` steps: audio
    (and its mask of ones) as long as a benchmark asks."""
    return {
        name: tensor.repeat(1, -(-length // tensor.shape[1]), *([1] * (tensor.dim() - 2)))[
            :, :length
        ]
        for name, tensor in inputs.items()
    }


def _cases(
    samples: dict[int, dict],
    batch_sizes: tuple[int, ...],
    seconds: tuple[float, ...] = (),
    steps_per_second: int | None = None,
) -> dict[str, tuple[torch.Tensor, ...]]:
    """The inputs of each measured case, by its name: the batch size (``"8"``), or for inputs
    along time (audio: ``steps_per_second``) the length too (``"8x15s"``: 8 clips of 15 s)."""
    if not seconds or not steps_per_second:
        return {str(size): repeat_first(samples[3], size) for size in batch_sizes}
    return {
        f"{size}x{length:g}s": repeat_first(
            _stretch(samples[1], round(length * steps_per_second)), size
        )
        for length in seconds
        for size in batch_sizes
    }


def _runners(
    network: torch.nn.Module, export_dir: Path | None, runtimes: list[str], threads: int
) -> tuple[dict, dict]:
    """Each runtime as a callable, and the seconds its export or compilation took."""
    runners: dict = {}
    setup_seconds: dict = {}
    manifest = {}
    if export_dir is not None and (export_dir / "export.json").is_file():
        manifest = json.loads((export_dir / "export.json").read_text())["results"]
    for name in runtimes:
        if name == "eager":
            runners[name] = network
        elif name == "compile":
            runners[name] = torch.compile(network)
        else:
            path = export_dir / FILES[name] if export_dir is not None else None
            if path is None or not path.is_file():
                print(f"skipped {name}: no {FILES[name]} in {export_dir} (run export.py first)")
                continue
            runners[name] = (
                AotPackageNetwork(path) if name == "pt2" else OnnxRuntimeNetwork(path, threads)
            )
            setup_seconds[name] = manifest.get(name, {}).get("export_seconds")
    return runners, setup_seconds


def inference(
    checkpoint: str,
    export_dir: str | None = None,
    runtimes: list[str] | None = None,
    batch_sizes: tuple[int, ...] = (1, 8),
    rounds: int = 5,
    calls: int = 5,
    threads: int | None = None,
    data_root: str | None = None,
    seconds: tuple[float, ...] = (5.0, 15.0),
) -> dict:
    """Median latency of each runtime per batch size, alternated round by round.

    ``seconds``: for a model of inputs along time (audio), the lengths measured at each batch
    size; other models run at their validation sample's own shape.
    """
    if threads:
        torch.set_num_threads(threads)
    threads = torch.get_num_threads()
    module, data_settings = load_checkpoint(checkpoint)
    spec = spec_of(module)
    datamodule = build_datamodule(data_settings, root=data_root)
    samples = first_samples(spec, module, datamodule)
    cases = _cases(samples, batch_sizes, seconds, spec.steps_per_second)
    network = spec.network(module).eval()
    folder = Path(export_dir) if export_dir else None
    runners, setup_seconds = _runners(network, folder, list(runtimes or RUNTIMES), threads)
    latencies: dict[str, dict[str, list[float]]] = {name: {} for name in runners}
    with torch.inference_mode():
        for case, inputs in cases.items():
            expected = as_tuple(network(*inputs))
            for name, runner in runners.items():  # warm-up, excluded: compiles, allocates
                start = time.perf_counter()
                outputs = as_tuple(runner(*inputs))
                if name == "compile" and case == next(iter(cases)):
                    setup_seconds[name] = round(time.perf_counter() - start, 2)
                if [tuple(o.shape) for o in outputs] != [tuple(o.shape) for o in expected]:
                    raise RuntimeError(f"{name} gives other output shapes than eager")
                runner(*inputs)
            timed = alternate(
                {
                    name: partial(milliseconds_per_call, partial(runner, *inputs), calls)
                    for name, runner in runners.items()
                },
                rounds,
                warmup=0,  # done above, with the shape check
            )
            for name, values in timed.items():
                latencies[name][case] = values
    median_ms = {name: medians(by_case) for name, by_case in latencies.items()}
    ratios = {
        name: {case: median_ms[name][case] / median_ms["eager"][case] for case in cases}
        for name in median_ms
    }
    return {
        "benchmark": "inference",
        "task": tasks.for_module(module).name,
        "checkpoint": str(checkpoint),
        "threads": threads,
        "batch_sizes": list(batch_sizes),
        "cases": list(cases),
        "input_shapes": {
            case: [list(tensor.shape) for tensor in inputs] for case, inputs in cases.items()
        },
        "rounds": rounds,
        "calls_per_round": calls,
        "latency_ms": latencies,
        "median_ms": median_ms,
        "ratio_to_eager": ratios,
        "setup_seconds": setup_seconds,
        "metric": _export_metrics(folder),
    }


def _export_metrics(folder: Path | None) -> dict:
    """The validation metric of eager and of each export, as ``export.py`` measured it."""
    if folder is None or not (folder / "export.json").is_file():
        return {}
    manifest = json.loads((folder / "export.json").read_text())
    results = manifest["results"]
    scored = [
        name for name, entry in results.items() if isinstance(entry, dict) and "metric" in entry
    ]
    metrics = {name: results[name]["metric"] for name in scored}
    return {"name": manifest["metric"], **metrics}


def case_label(case: str) -> str:
    """A measured case for people: ``"8"`` -> ``batch 8``, ``"8x15s"`` -> ``batch 8, 15s``."""
    return "batch " + case.replace("x", ", ")


def print_inference(result: dict) -> None:
    """The latency table, the task's targets as measured, and the exports' metrics."""
    cases = result["cases"]
    inputs = result["input_shapes"]
    print(f"inference: {result['task']} model, inputs {inputs}, {timing_note(result)}")
    width = max(15, *(len(case_label(c)) + 6 for c in cases))
    header = "".join(f"{case_label(c) + ' [ms]':>{width}}{'x eager':>9}" for c in cases)
    print(f"{'runtime':<9}{header}{'setup [s]':>11}")
    for name, by_case in result["median_ms"].items():
        cells = "".join(
            f"{by_case[c]:>{width}.2f}{result['ratio_to_eager'][name][c]:>9.2f}" for c in cases
        )
        setup = result["setup_seconds"].get(name)
        print(f"{name:<9}{cells}{'' if setup is None else f'{setup:>11.1f}'}")
    spec = tasks.named(result["task"]).export
    for name, (reference, target) in (spec.latency_targets if spec else {}).items():
        if reference == "fused" and "fused" not in result["median_ms"]:
            reference = "onnx"  # fusion was skipped: int8 was quantised from model.onnx
        if name in result["median_ms"] and reference in result["median_ms"]:
            ratios = [
                result["median_ms"][name][c] / result["median_ms"][reference][c] for c in cases
            ]
            shown = ", ".join(
                f"{case_label(c)}: {r:.2f}" for c, r in zip(cases, ratios, strict=True)
            )
            print(f"{name} / {reference}: {shown} (target <= {target})")
    metric = result["metric"]
    if metric:
        scores = ", ".join(f"{k} {v:.4f}" for k, v in metric.items() if k != "name")
        print(f"validation {metric['name']}: {scores}")
    for name, note in (spec.benchmark_notes if spec else {}).items():
        if name in result["median_ms"]:
            print(note)
