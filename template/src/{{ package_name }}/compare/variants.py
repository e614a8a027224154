"""``compare run``: train variants of one base config and tabulate them."""

from __future__ import annotations

from pathlib import Path

from .table import report, write_table
from .training import OUTPUT_DIR, RunResult, combine_folds, format_value, train, train_folds


def compare(
    name: str,
    base: list[Path],
    variants: list[Path],
    arguments: list[str],
    folds: int | None = None,
) -> list[RunResult]:
    """Train each variant (base configs + its fragment) and write the table and figures;
    with ``folds``, each variant once per fold, tabulated as mean ± std."""
    missing = [str(p) for p in [*base, *variants] if not p.is_file()]
    if missing:
        raise SystemExit(f"error: config file(s) not found: {', '.join(missing)}")
    names = [v.stem for v in variants]
    if len(set(names)) != len(names):
        raise SystemExit(f"error: variant file names must differ (they name the rows): {names}")
    check_folds(folds)
    results, fold_runs = [], []
    logs = OUTPUT_DIR / name / "logs"
    for index, variant in enumerate(variants, start=1):
        run_name = f"compare-{name}/{variant.stem}"
        configs = [*base, variant]
        if folds:
            print(f"[{index}/{len(variants)}] {variant.stem}: {folds} folds (logs: {logs})")
            runs = train_folds(variant.stem, configs, arguments, run_name, logs, folds)
            fold_runs += runs
            write_table(fold_runs, OUTPUT_DIR / name / "folds")
            result = combine_folds(variant.stem, runs)
        else:
            log = logs / f"{variant.stem}.log"
            print(f"[{index}/{len(variants)}] {variant.stem}: training (log: {log})", flush=True)
            result = train(variant.stem, configs, arguments, run_name, log)
        shown = format_value(result.metric) + (
            f" ± {format_value(result.metric_std)}" if folds else ""
        )
        print(f"  {variant.stem}: {result.status} {result.monitor} {shown}")
        results.append(result)
        if index < len(variants):
            report(name, results, final=False)  # after each variant: a crash loses nothing
    report(name, results)
    return results


def check_folds(folds: int | None) -> None:
    if folds is not None and folds < 2:
        raise SystemExit(f"error: --folds needs at least 2 folds, got {folds}")
