"""The command line of ``python -m <package>.compare``: ``run`` and ``search``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import command
from .training import PACKAGE, RunResult
from .tuning import search
from .variants import compare

DESCRIPTION = "Compare models and search hyper-parameters: one table and a few figures per study."


@command
def main(args: list[str] | None = None) -> list[RunResult]:
    args = list(sys.argv[1:] if args is None else args)
    extra: list[str] = []
    if "--" in args:
        at = args.index("--")
        args, extra = args[:at], args[at + 1 :]
    parser = argparse.ArgumentParser(prog=f"python -m {PACKAGE}.compare", description=DESCRIPTION)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="train variants and tabulate them")
    tune = commands.add_parser("search", help="hyper-parameter search")
    for sub in (run, tune):
        sub.add_argument("--name", required=True, help="study name: comparisons/<name>/")
        sub.add_argument("--base", type=Path, nargs="+", required=True, help="base config(s)")
    run.add_argument(
        "--variants",
        type=Path,
        nargs="+",
        required=True,
        help="config fragments, one per row (the file name names the row)",
    )
    tune.add_argument("--space", type=Path, required=True, help="search-space YAML file")
    tune.add_argument("--sampler", choices=["tpe", "grid", "random"], default="tpe")
    tune.add_argument(
        "--trials", type=int, default=20, help="trials in total (grid: at most the grid's size)"
    )
    tune.add_argument("--no-prune", action="store_true", help="never stop a trial early")
    tune.add_argument("--seed", type=int, default=42, help="the sampler's seed")
    for sub in (run, tune):
        sub.add_argument(
            "--folds",
            type=int,
            default=None,
            help="k-fold cross-validation: train each row k times, one per fold of the "
            "training data, and report the metric's mean ± std",
        )
    options = parser.parse_args(args)
    if options.command == "run":
        return compare(options.name, options.base, options.variants, extra, options.folds)
    return search(
        options.name,
        options.base,
        options.space,
        options.sampler,
        options.trials,
        extra,
        prune=not options.no_prune,
        seed=options.seed,
        folds=options.folds,
    )
