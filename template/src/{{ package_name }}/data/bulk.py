"""Building millions of small objects at once (a data set's index) without paying the
garbage collector for each.

Parsing a large annotation file creates tens of millions of lists, dicts and tuples. Each
allocation counts towards the cyclic collector's next pass, and its passes walk every object
still alive, so a reader that builds an index over the parsed document pays for the whole
document many times over (a third of the reading time, measured by the tasks' ``*-scale``
benchmarks). Nothing in such a document is a reference cycle, so nothing is lost by
collecting once, after.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector inside the block (reference counting still frees
    what is dropped); it runs again after, as it was."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
