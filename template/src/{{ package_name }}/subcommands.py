"""The argparse plumbing of the sub-commands the tasks add to ``score`` and ``benchmark``.

A file scorer adds one ``score`` sub-command that reads prediction files in a benchmark's
official format and returns ``(numbers, table)``; a benchmark adds one ``benchmark``
sub-command whose flags are parameters of its measuring function, with their defaults.
"""

from __future__ import annotations

import argparse
import inspect
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


def add_defaults(parser: argparse.ArgumentParser, measure: Callable, *names: str) -> None:
    """A flag per parameter ``names`` of ``measure``, with that parameter's default and its
    type: ``batch_size: int = 64`` -> ``--batch-size`` (an int, 64 when not given)."""
    parameters = inspect.signature(measure).parameters
    for name in names:
        default = parameters[name].default
        parser.add_argument("--" + name.replace("_", "-"), type=type(default), default=default)


def add_benchmark(
    commands: Any, name: str, help: str, measure: Callable[..., dict], show: Callable[[dict], None]
) -> argparse.ArgumentParser:
    """Add the sub-command ``name`` to ``commands`` (the ``benchmark`` sub-parsers): it calls
    ``measure`` with the flags named as its parameters (``--batch-size`` -> ``batch_size``; a
    list of values as a tuple), prints the result with ``show`` and returns it (``benchmark``
    writes it to ``--output``). The caller adds the flags."""
    parameters = inspect.signature(measure).parameters

    def run(args: argparse.Namespace) -> dict:
        given = {key: value for key, value in vars(args).items() if key in parameters}
        result = measure(**{k: tuple(v) if isinstance(v, list) else v for k, v in given.items()})
        show(result)
        return result

    parser = commands.add_parser(name, help=help)
    parser.set_defaults(run=run)
    return parser
