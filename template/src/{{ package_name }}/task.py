"""The task protocol: everything the task-agnostic core asks of a task, in one place.

The core (``cli``, ``export``, ``benchmark``, ``demo``, ``analyze``, ``score``, the sample
writer, ...) never names a task. Each task package under ``tasks/`` builds one :class:`Task`
and the generated ``tasks/__init__.py`` lists the tasks this project was made with. The core
finds the task of a LightningModule or a DataModule by ``isinstance``
(:func:`~tasks.for_module`, :func:`~tasks.for_datamodule`), so a student's subclass of a
task's LightningModule is exported, demoed and analysed like its parent.

How to add a task: make ``tasks/<name>/`` with its DataModule, LightningModule and sample
writer; fill the fields of :class:`Task` it supports (a field left at its default means "not
offered", and the command that needs it says so); add ``configs/<name>/sample.yaml``; list the
package in ``tasks/__init__.py``.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import lightning as L

if TYPE_CHECKING:  # matplotlib loads slowly; only the analysis draws
    from matplotlib.figure import Figure
    from torch import Tensor, nn

    from .subcommands import FileScorer


@dataclass(frozen=True)
class Link:
    """A value LightningCLI copies between the DataModule's and the model's arguments.

    ``source`` and ``target`` are config keys (``data.vocab_size``, ``model.init_args.x``);
    ``apply_on`` is ``"parse"`` (copied from the config) or ``"instantiate"`` (read from the
    built source object, e.g. a vocabulary found by scanning the data).
    """

    source: str
    target: str
    apply_on: str = "parse"


# --- export (export.py, benchmark.py) ----------------------------------------------------------


@dataclass(frozen=True)
class ExportSpec:
    """How a task's model is exported, fed, checked, scored and benchmarked.

    The export writes only the part of the LightningModule that is one forward pass of
    tensors (``network``); the rest (pre- and post-processing, metric, prediction files) stays
    in Python and runs around the export's runtime once ``attach`` has put it in place. Each
    callable takes the LightningModule, so a subclass with other sizes exports too.

    Attributes:
        network: the part of the module that is exported (tensors in, tensors out).
        inputs: the network's inputs for the first ``count`` samples of a validation batch
            (``(module, batch, count)``), by name.
        dynamic_axes: for each input, its dynamic axes (axis index -> ``torch.export.Dim``).
        output_names: the names of the network's outputs, in order.
        attach: puts an export's runtime (tensors in, a tuple of tensors out) in the place of
            ``network`` inside the module.
        metric: the validation metric (as logged by the module) reported per export.
        higher_is_better: the metric's direction (False for an error rate such as WER).
        atol, rtol: the tolerance of an fp32 export: ``|export - eager| <= atol + rtol *
            max|eager|`` for every output, at batch 1 and batch 3.
        fused: writes the fused fp32 ONNX model (``model.fused.onnx``) of a transformer that
            ONNX Runtime's optimiser knows: ``(module, network, example inputs, output names,
            path)`` -> the fused operators' counts (None: not offered). Raises ``ExportError``
            when nothing was fused; the export then goes on without it.
        int8: quantises the best fp32 ONNX model in a folder to int8: ``(folder, path)`` ->
            the format quantised (``"fused"`` or ``"onnx"``) (None: not offered).
        int8_max_drop: the most the metric may drop with int8 (in the metric's units).
        refuse: why a module of this task cannot be exported (None: it can), e.g. a model
            family whose inference is not one forward pass.
        onnx_translations: the ONNX translations of the task's own operators
            (``torch.library`` custom ops -> onnxscript functions), built when exporting.
        steps_per_second: for inputs along time (audio), their steps per second on axis 1:
            the inference benchmark then measures given lengths in seconds.
        also_report: further validation metrics reported per export (not judged).
        latency_targets: the inference benchmark's targets, ``{runtime: (reference, ratio)}``:
            the runtime's median latency should be at most ``ratio`` x the reference's.
        benchmark_notes: a line the inference benchmark prints when it measured a runtime.
        benchmarks: the task's own ``benchmark`` sub-commands: functions
            ``add_benchmark_command(commands)`` that add one and set ``run``, a function of
            the parsed arguments that prints and returns the JSON-ready result.
        whole: writes (and verifies) the task's whole-model export beside the formats when
            ``network`` is only part of the inference (detection: decoding and NMS in the
            graph): ``(module, datamodule, folder)`` -> its report entry (None: not offered).
    """

    network: Callable[[Any], nn.Module]
    inputs: Callable[[Any, dict, int], dict[str, Tensor]]
    dynamic_axes: Callable[[Any], dict[str, dict[int, Any]]]
    output_names: Callable[[Any], list[str]]
    attach: Callable[[Any, nn.Module], None]
    metric: Callable[[Any], str]
    higher_is_better: bool = True
    atol: float = 1e-4
    rtol: float = 1e-3
    fused: Callable[[Any, nn.Module, dict, list[str], Path], dict[str, int]] | None = None
    int8: Callable[[Path, Path], str] | None = None
    int8_max_drop: float = 1.0
    refuse: Callable[[Any], str | None] | None = None
    onnx_translations: Callable[[], dict] | None = None
    steps_per_second: int | None = None
    also_report: tuple[str, ...] = ()
    latency_targets: Mapping[str, tuple[str, float]] = field(default_factory=dict)
    benchmark_notes: Mapping[str, str] = field(default_factory=dict)
    benchmarks: tuple[Callable[[Any], argparse.ArgumentParser], ...] = ()
    whole: Callable[[Any, Any, Path], dict[str, Any]] | None = None


# --- demo (demo.py) ----------------------------------------------------------------------------


class TimedPredictor(Protocol):
    """The predictor a demo page calls: ``predictor(*request)`` answers one request, and
    ``predictor.last`` is that request's latency as text (``"12.3 ms"``)."""

    @property
    def last(self) -> str: ...

    def __call__(self, *request: Any) -> Any: ...


@dataclass(frozen=True)
class DemoSpec:
    """How a task's model answers demo requests, and the task's page of the Gradio app.

    A request is a tuple of the predictor's arguments: ``(image,)``, ``(context, question)``,
    ``(audio,)``. ``demo.py`` wraps the predictor in a timer and builds the app around the page.

    Attributes:
        predictor: ``(module, data settings) -> predict``; ``predict(*request)`` is the answer.
            The data settings are the DataModule's arguments (``export.json``'s ``data``, e.g.
            the tokenizer, or ``root`` from ``--data-root``).
        page: ``(predictor, latency box) -> None``: adds the task's inputs and outputs to the
            open ``gradio.Blocks`` and wires them to the predictor; each answer also puts
            ``predictor.last`` in the latency box. Imports gradio inside (an optional extra).
        requests: a folder (or file) of inputs -> its requests for ``--realtime``, decoded up
            front so that the latency measured is the model's.
        inputs: what ``requests`` reads, in words, for the message when it finds too few.
        measures: ``(requests, seconds) -> {name: value}``: numbers of the task's own that the
            real-time report adds (e.g. seconds of speech heard per second); None: none.
    """

    predictor: Callable[[Any, dict], Callable[..., Any]]
    page: Callable[[TimedPredictor, Any], None]
    requests: Callable[[Path], list[tuple]]
    inputs: str
    measures: Callable[[list[tuple], float], dict[str, float]] | None = None


# --- analysis (analyze.py) ---------------------------------------------------------------------


# (heading, column names, rows): one Markdown table of a summary.
Table = tuple[str, list[str], list[list[Any]]]


@dataclass
class Analysis:
    """What a task's data-set analysis found: a title, tables, figures and the numbers behind.

    A task's ``analyze(datamodule) -> Analysis`` counts over the splits its DataModule uses
    (with the slide charts and statistics of ``charts.py``); ``analyze.py`` writes the result.

    Attributes:
        title: heading of ``summary.md``.
        numbers: JSON-serialisable counts and statistics (``summary.json``; tests read them).
        tables: (heading, column names, rows) for ``summary.md``, in order.
        figures: (file stem, matplotlib figure) pairs, saved as ``<stem>.png`` and embedded.
    """

    title: str
    numbers: dict[str, Any]
    tables: list[Table]
    figures: list[tuple[str, Figure]]


# --- sample data (data/samples.py) -------------------------------------------------------------


@dataclass(frozen=True)
class SampleSpec:
    """The small data sets a task writes in their official on-disk format (``data/samples.py``).

    The task's DataModules read them through the same code as a team's real data; the sample
    configs and the tests run on them.

    Attributes:
        writers: data-set name (the argument of ``python -m <package>.data.samples``, e.g.
            ``"kitti-shapes"``) -> its writer, called as ``writer(root, per_class=None)``;
            it refuses a non-empty ``root`` (:func:`new_sample_folder`) and returns the folder.
        per_class: what ``--per-class`` limits for these writers, for ``--help`` (e.g.
            ``"images per class"``).
    """

    writers: dict[str, Callable[..., Path]]
    per_class: str = "items per class"


def new_sample_folder(root: str | Path) -> Path:
    """``root`` as a Path, for a sample writer to fill: one that holds files already is refused,
    so that a writer never mixes its files into a team's data.

    Raises:
        FileExistsError: when ``root`` exists and is not empty.
    """
    root = Path(root)
    if root.exists() and any(root.iterdir()):
        raise FileExistsError(f"{root} is not empty; remove it or choose another folder.")
    return root


# --- the task ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Task:
    """One task of the project, as the core sees it.

    Attributes:
        name: the task's folder under ``configs/`` and ``tasks/`` (e.g. ``"detection"``).
        module_class: its LightningModule; subclasses belong to the task too.
        datamodule_classes: its DataModules (one per data-set format).
        links: the arguments LightningCLI copies between its DataModule and model.
        export: how its model is exported (None: export is not offered).
        demo: how its model is demoed (None: no demo).
        analyze: the data-set analysis of one of its DataModules (None: none).
        samples: its sample data sets (None: none).
        score_commands: its ``score`` sub-commands (official file formats), described.
    """

    name: str
    module_class: type[L.LightningModule]
    datamodule_classes: tuple[type[L.LightningDataModule], ...]
    links: tuple[Link, ...] = ()
    export: ExportSpec | None = None
    demo: DemoSpec | None = None
    analyze: Callable[[Any], Analysis] | None = None
    samples: SampleSpec | None = None
    score_commands: tuple[FileScorer, ...] = ()

    def owns_module(self, module: object) -> bool:
        return isinstance(module, self.module_class)

    def owns_datamodule(self, datamodule: object) -> bool:
        return isinstance(datamodule, self.datamodule_classes)
