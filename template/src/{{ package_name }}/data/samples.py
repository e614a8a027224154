"""Write small data sets in the official on-disk formats, for the sample run and the tests.

    python -m <package>.data.samples <dataset> <folder> [--per-class N]

The same loaders that read a team's real data read these files, so the sample run exercises
the real code path. Each task offers its data sets in ``tasks/<task>/sample.py`` (its
:class:`~..task.SampleSpec`); ``--help`` lists those of the installed tasks.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from .. import tasks


def writers() -> dict[str, Callable[..., Path]]:
    """Data-set name -> writer(root, per_class=None), over every installed task."""
    found: dict[str, Callable[..., Path]] = {}
    for task in tasks.INSTALLED:
        if task.samples is not None:
            found.update(task.samples.writers)
    return found


def per_class_help() -> str:
    """What ``--per-class`` limits, for each installed task's data sets."""
    limits = [
        f"{task.samples.per_class} ({', '.join(task.samples.writers)})"
        for task in tasks.INSTALLED
        if task.samples is not None
    ]
    return "limit the size: " + "; ".join(limits)


def main(argv: list[str] | None = None) -> None:
    available = writers()
    parser = argparse.ArgumentParser(description="Write a sample data set in its official format.")
    parser.add_argument("dataset", choices=sorted(available), help="which sample data set")
    parser.add_argument("root", help="folder to write it to")
    parser.add_argument("--per-class", type=int, default=None, help=per_class_help())
    args = parser.parse_args(argv)
    root = available[args.dataset](args.root, per_class=args.per_class)
    print(f"Wrote the {args.dataset} sample data set to {root}")


if __name__ == "__main__":
    main()
