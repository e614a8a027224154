"""Reading a data set at its real size: seconds and peak memory, ours beside a reference.

The task benchmarks that write a full-size synthetic data set (each task's ``*-scale``
sub-command of ``benchmark``) time this project's reader and the usual reference reader of
the same files side by side (:func:`alternate`: round by round, each round in another
order, medians compared), then measure each one's memory in separate calls, since tracing
every allocation slows pure-Python readers by 2-3x, and unequally:

- ``tracemalloc``: the Python heap the call allocated at its peak, and what it still holds
  with the result kept (what a training run keeps for the whole fit). The ratios and the
  MB per 10 k items use this peak: it counts every object the reader builds, whatever the
  process did before;
- the growth of the resident memory (Linux): the call runs in a forked child whose
  high-water mark is reset first (``/proc/self/clear_refs``). It sees memory outside
  Python's allocator too, but not memory the process had already freed and now reuses, so
  it reads low for small readers; it is printed beside the traced peak.
"""

from __future__ import annotations

import gc
import json
import os
import re
import statistics
import time
import tracemalloc
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ..timing import alternate

MB = 1e6


def traced_memory(read: Callable[[], Any]) -> dict[str, float]:
    """Peak and retained Python heap of one call of ``read``, in MB (``tracemalloc``).

    ``peak_mb``: the most memory allocated at once during the call (a parsed document and
    the index built from it, say); ``kept_mb``: what is still allocated with the result held,
    the memory a training run keeps for the whole fit. Allocations outside Python's allocator
    (a C library's own ``malloc``) are not seen; the readers measured here build Python
    objects, through Python's allocator.
    """
    gc.collect()
    tracemalloc.start()
    try:
        result = read()
        kept, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    del result
    return {"peak_mb": peak / MB, "kept_mb": kept / MB}


def _status_kb(field: str) -> int:
    match = re.search(rf"^{field}:\s+(\d+) kB", Path("/proc/self/status").read_text(), re.M)
    if match is None:
        raise OSError(f"no {field} in /proc/self/status")
    return int(match[1])


def rss_peak_mb(read: Callable[[], Any]) -> float | None:
    """How far one call of ``read`` raised the resident memory above where it started, in MB,
    measured in a forked child (Linux); None where that cannot be measured."""
    if not hasattr(os, "fork") or not Path("/proc/self/clear_refs").exists():
        return None
    gc.collect()
    receive, send = os.pipe()
    child = os.fork()
    if child == 0:  # the child: measure, report, leave without running the parent's cleanup
        peak = None
        try:
            Path("/proc/self/clear_refs").write_text("5")  # resets the high-water mark
            start = _status_kb("VmRSS")
            read()
            peak = (_status_kb("VmHWM") - start) * 1024 / MB
        finally:
            os.write(send, json.dumps(peak).encode())
            os._exit(0)
    os.close(send)
    with os.fdopen(receive) as pipe:
        reported = pipe.read()
    os.waitpid(child, 0)
    return json.loads(reported) if reported else None


def timed_seconds(read: Callable[[], Any]) -> Callable[[], float]:
    """``read`` as a run of :func:`alternate` that returns its wall time in seconds; the
    result is dropped (and collected) before the next run, as a fresh process would."""

    def run() -> float:
        gc.collect()
        start = time.perf_counter()
        read()
        return time.perf_counter() - start

    return run


def compare_readers(
    readers: Mapping[str, Callable[[], Any]],
    reference: str,
    items: int,
    rounds: int,
    warmup: int = 0,
) -> dict[str, Any]:
    """Time ``readers`` side by side and trace each one's memory once.

    ``reference`` names the reader the others are compared with; ``items`` (images,
    utterances) gives the memory per 10 k items. Returns ``{"rows": {name: {"seconds": [...],
    "median_seconds", "rss_peak_mb", "peak_mb", "kept_mb" and each per 10 k items,
    "time_ratio", "peak_ratio"}}, "reference": reference, "items": items}``, the ratios being
    the row's median seconds and traced peak MB over the reference's.
    """
    if reference not in readers:
        raise ValueError(f"the reference {reference!r} is not one of {list(readers)}")
    times = alternate({name: timed_seconds(read) for name, read in readers.items()}, rounds, warmup)
    per_10k = 10_000 / max(items, 1)
    rows: dict[str, dict[str, Any]] = {}
    for name, read in readers.items():
        memory: dict[str, float | None] = {"rss_peak_mb": rss_peak_mb(read), **traced_memory(read)}
        rows[name] = {"seconds": times[name], "median_seconds": statistics.median(times[name])}
        rows[name] |= memory
        rows[name] |= {
            f"{key}_per_10k": None if value is None else value * per_10k
            for key, value in memory.items()
        }
    base = rows[reference]
    for row in rows.values():
        row["time_ratio"] = row["median_seconds"] / max(base["median_seconds"], 1e-9)
        row["peak_ratio"] = row["peak_mb"] / max(base["peak_mb"], 1e-9)
    return {"rows": rows, "reference": reference, "items": items}


def print_comparison(result: dict[str, Any], unit: str) -> None:
    """A row per reader: seconds, traced peak and kept MB, RSS growth, peak MB per 10 k
    ``unit``, and its time and peak-memory ratios to the reference."""
    header = (
        "median [s]",
        "peak [MB]",
        "kept [MB]",
        "RSS growth [MB]",
        f"peak MB/10k {unit}",
        "time x",
        "peak x",
    )
    width = max(len(name) for name in result["rows"]) + 2
    print(f"{'reader':<{width}}" + "  ".join(header))
    for name, row in result["rows"].items():
        cells = (
            f"{row['median_seconds']:.3f}",
            f"{row['peak_mb']:.1f}",
            f"{row['kept_mb']:.1f}",
            "n/a" if row["rss_peak_mb"] is None else f"{row['rss_peak_mb']:.1f}",
            f"{row['peak_mb_per_10k']:.1f}",
            f"{row['time_ratio']:.2f}",
            f"{row['peak_ratio']:.2f}",
        )
        shown = (f"{cell:>{len(title)}}" for cell, title in zip(cells, header, strict=True))
        print(f"{name:<{width}}" + "  ".join(shown))
    print(
        f"ratios are to {result['reference']} (time: target <= 1); peak and kept: Python heap "
        f"(tracemalloc); peak MB/10k {unit}: per 10,000 {unit} ({result['items']:,} here)"
    )
