"""Data set statistics and figures, read through the same DataModule that training uses.

    python -m <package>.analyze --config configs/<task>/sample.yaml
    python -m <package>.analyze --config configs/<task>/<yours>.yaml --out reports/data

The config is parsed exactly as ``train.py`` parses it (any ``--data.init_args.*`` override
works), but only the DataModule is built: no model, no weights, no download. Written to
``--out`` (default ``reports/analysis/<run name>/``):

- ``summary.md``: the tables, and the figures embedded, ready to paste into the report;
- ``summary.json``: the same numbers, for scripts and tests;
- one PNG per figure at slide resolution (1920 x 1080).

What is counted is up to the DataModule's task: its ``tasks/<task>/analysis.py`` returns an
:class:`~.task.Analysis` (e.g. objects per image and box sizes for detection, lengths in
tokens for question answering). A new task adds its own ``analyze`` there; this module
names no task.
"""

from __future__ import annotations

import argparse
import json
import warnings
from pathlib import Path

import lightning as L
import matplotlib

matplotlib.use("Agg")  # figures go to files

import matplotlib.pyplot as plt  # noqa: E402
from lightning.pytorch.cli import instantiate_class  # noqa: E402

from . import tasks  # noqa: E402
from .charts import SLIDE_DPI, SLIDE_STYLE, markdown_table  # noqa: E402
from .cli import ProjectCLI, main, run_name_from_configs  # noqa: E402
from .errors import UserError, command, run_command  # noqa: E402
from .task import Analysis  # noqa: E402


class NoAnalysisError(UserError):
    """The DataModule's task offers no data-set analysis."""


def analyze(data: L.LightningDataModule) -> Analysis:
    """The analysis of ``data`` by its task (found by ``isinstance``: subclasses count).

    Raises:
        tasks.UnknownTaskError: naming the class, when it belongs to no installed task.
        NoAnalysisError: when its task offers no analysis.
    """
    task = tasks.for_datamodule(data)
    if task.analyze is None:
        raise NoAnalysisError(
            f"The {task.name} task offers no data-set analysis for {type(data).__name__}: "
            f"add an analyze() to tasks/{task.name}/analysis.py."
        )
    return task.analyze(data)


def write_analysis(analysis: Analysis, out: str | Path) -> Path:
    """Write ``summary.md``, ``summary.json`` and the figures into ``out``; returns summary.md."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    parts = [f"# {analysis.title}"]
    for heading, columns, rows in analysis.tables:
        parts += [f"## {heading}", markdown_table(columns, rows)]
    for stem, figure in analysis.figures:
        figure.savefig(out / f"{stem}.png", dpi=SLIDE_DPI)
        plt.close(figure)
        parts.append(f"![{stem.replace('_', ' ')}]({stem}.png)")
    (out / "summary.json").write_text(json.dumps(analysis.numbers, indent=2) + "\n")
    summary = out / "summary.md"
    summary.write_text("\n\n".join(parts) + "\n")
    return summary


class DataOnlyCLI(ProjectCLI):
    """Parses a config exactly as ``train.py`` does, then builds only its DataModule."""

    def instantiate_classes(self) -> None:
        self.datamodule = instantiate_class((), self.config["data"].as_dict())


def load_datamodule(config_args: list[str]) -> L.LightningDataModule:
    """The DataModule of ``-c <config> [--data.init_args.x=...]``; no model is built."""
    with warnings.catch_warnings():
        # The arguments come from this module's own command line, on purpose.
        warnings.filterwarnings("ignore", message="LightningCLI's args parameter")
        return main(config_args, cli_class=DataOnlyCLI, run=False).datamodule


@command
def run(argv: list[str] | None = None) -> Path:
    """The command line; returns the written ``summary.md``."""
    parser = argparse.ArgumentParser(
        description="Data set statistics and figures, through the config's DataModule.",
        epilog="Other arguments go to the config parser, e.g. --data.init_args.root=data/x.",
    )
    parser.add_argument("--config", "-c", required=True, action="append", help="config YAML")
    parser.add_argument("--out", help="output folder (default: reports/analysis/<run name>)")
    args, overrides = parser.parse_known_args(argv)
    data = load_datamodule([f"--config={path}" for path in args.config] + overrides)
    out = Path(args.out or Path("reports", "analysis", run_name_from_configs(args.config)))
    with plt.style.context(SLIDE_STYLE):
        summary = write_analysis(analyze(data), out)
    print(f"Wrote {summary} and its figures")
    return summary


if __name__ == "__main__":
    run_command(run)
