"""Side-by-side timing: the one loop behind every benchmark that compares ways of doing the
same work (``benchmark.py``, ``profiling.py``).

Two timings taken one after the other on a shared machine differ by more than the effect
measured: a neighbour starts a job, the CPU clocks down, the page cache fills. So the ways
being compared are alternated round by round, each round in another order, after warm-up
rounds that are not kept (first calls compile, allocate and fill caches); the benchmarks then
compare the medians, which one disturbed round does not move. Their printers share the
heading's timing note, the table of the rounds and the verdict on the ratio of medians.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Mapping
from typing import Any


def alternate(
    runs: Mapping[str, Callable[[], Any]], rounds: int, warmup: int = 1
) -> dict[str, list[Any]]:
    """Call every run once per round for ``warmup + rounds`` rounds; keep the last ``rounds``.

    Round ``i`` starts at the ``i``-th run (modulo their number) and goes on in the given
    order, so each run goes first equally often. Returns what each run returned in the kept
    rounds, by name, in round order.
    """
    if rounds < 1:
        raise ValueError(f"rounds must be at least 1, got {rounds}")
    names = list(runs)
    results: dict[str, list[Any]] = {name: [] for name in names}
    for index in range(warmup + rounds):
        shift = index % len(names)
        for name in names[shift:] + names[:shift]:
            result = runs[name]()
            if index >= warmup:
                results[name].append(result)
    return results


def milliseconds_per_call(function: Callable[[], object], calls: int) -> float:
    """The mean wall time of ``calls`` calls of ``function``, in milliseconds."""
    start = time.perf_counter()
    for _ in range(calls):
        function()
    return 1000 * (time.perf_counter() - start) / calls


def medians(results: Mapping[Any, list[float]]) -> dict[Any, float]:
    """The median of each run's times, under the same keys (run names, batch sizes ...)."""
    return {name: statistics.median(values) for name, values in results.items()}


def timing_note(result: Mapping[str, Any]) -> str:
    """How a latency benchmark's ``result`` was timed, for its printed heading:
    ``"4 threads, median of 5 rounds x 5 calls"`` (its ``threads``, ``rounds`` and
    ``calls_per_round``)."""
    return (
        f"{result['threads']} threads, median of {result['rounds']} rounds x "
        f"{result['calls_per_round']} calls"
    )


def print_rounds(
    seconds: Mapping[str, list[float]], ratio: tuple[str, str], first: str = "round"
) -> None:
    """Print the seconds of each round (``first``: what a row is), a column per way of running
    (``seconds``: name -> its times, in round order; headed ``<name> [s]``), and each row's
    ratio ``ratio[0] / ratio[1]`` (two of the names)."""
    header = [first, *(f"{name} [s]" for name in seconds), "ratio"]
    print("  ".join(header))
    numerators, denominators = seconds[ratio[0]], seconds[ratio[1]]
    for index, times in enumerate(zip(*seconds.values(), strict=True)):
        cells = [f"{index:>{len(first)}}"]
        for value, title in zip(times, header[1:-1], strict=True):
            cells.append(f"{value:>{len(title)}.3f}")
        cells.append(f"{numerators[index] / denominators[index]:>5.3f}")
        print("  ".join(cells))


def ratio_verdict(ratio: tuple[str, str], value: float, target: float) -> str:
    """``"median ratio a / b: 1.020 (within the target <= 1.03)"``: a benchmark's ratio of
    medians ``value`` against its ``target`` (at most), ABOVE when it misses it."""
    verdict = "within" if value <= target else "ABOVE"
    return f"median ratio {ratio[0]} / {ratio[1]}: {value:.3f} ({verdict} the target <= {target})"
