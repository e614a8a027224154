"""What the tasks' file scorers share: each adds one ``score`` sub-command (see the ``score``
entry point) that reads prediction files in a benchmark's official format and returns
``(numbers, table)``."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

Score = Callable[[argparse.Namespace], tuple[dict[str, Any], str]]


def add_scorer(
    commands: Any, name: str, help: str, doc: str, score: Score
) -> argparse.ArgumentParser:
    """Add the sub-command ``name`` to ``commands`` (the ``score`` sub-parsers), described by the
    first paragraph of ``doc`` (the scorer module's docstring) and run by ``score``."""
    parser = commands.add_parser(name, help=help, description=doc.split("\n\n")[0])
    parser.set_defaults(score=score)
    return parser


def add_input(parser: argparse.ArgumentParser, flag: str, help: str, **options: Any) -> None:
    """A required path argument: a file or folder the scorer reads."""
    parser.add_argument(flag, type=Path, required=True, help=help, **options)
