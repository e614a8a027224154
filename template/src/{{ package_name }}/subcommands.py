"""The argparse plumbing of the sub-commands the tasks add to ``score`` and ``benchmark``.

A file scorer (:class:`FileScorer`) adds one ``score`` sub-command that reads prediction files
in a benchmark's official format and returns ``(numbers, table)``; a benchmark adds one
``benchmark`` sub-command whose flags are parameters of its measuring function, with their
defaults.
"""

from __future__ import annotations

import argparse
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def path_input(help: str, **options: Any) -> dict[str, Any]:
    """The ``add_argument`` options of a required path: a file or folder the scorer reads."""
    return {"type": Path, "required": True, "help": help, **options}


@dataclass(frozen=True)
class FileScorer:
    """A ``score`` sub-command, described: :meth:`add_to` adds it to the ``score`` sub-parsers.

    Attributes:
        name: the sub-command (``score <name>``).
        flags: its arguments, flag -> ``add_argument`` options (:func:`path_input` for the
            files it reads), in the order ``--help`` lists them.
        score: the parsed arguments -> ``(numbers, title)``: the JSON-ready numbers (what
            ``--json`` writes) and the title of their table.
        table: ``(numbers, title)`` -> the text printed on the terminal.
        help: its line in ``score --help``.
        description: its ``--help`` text; its first paragraph (the scorer module's docstring).
    """

    name: str
    flags: dict[str, dict[str, Any]]
    score: Callable[[argparse.Namespace], tuple[dict[str, Any], str]]
    table: Callable[[dict[str, Any], str], str]
    help: str
    description: str

    def add_to(self, commands: Any) -> argparse.ArgumentParser:
        """Add the sub-command to ``commands``; it sets ``score`` (:meth:`run`)."""
        description = self.description.split("\n\n")[0]
        parser = commands.add_parser(self.name, help=self.help, description=description)
        for flag, options in self.flags.items():
            parser.add_argument(flag, **options)
        parser.set_defaults(score=self.run)
        return parser

    def run(self, args: argparse.Namespace) -> tuple[dict[str, Any], str]:
        """Score the files ``args`` names: ``(numbers, table)``."""
        numbers, title = self.score(args)
        return numbers, self.table(numbers, title)


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
