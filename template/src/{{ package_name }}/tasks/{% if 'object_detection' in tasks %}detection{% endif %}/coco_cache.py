"""The checked annotations of a COCO file, kept beside it so the next run skips the JSON.

Parsing and checking COCO's training annotations (448 MB of JSON, 860 k boxes) takes tens of
seconds; reading back the checked result takes a few (``benchmark coco-scale`` measures
both). The result is stored as ``.<file name>.checked.pickle`` next to the annotation file,
under a key of the file's size, modification time and BLAKE2 hash: an edited file (even one
of the same size and time) is checked again. Only a file without problems is stored. A cache
that cannot be read (cut short, another version) is rebuilt with a warning; a read-only
folder is checked each time instead. The cache is unpickled with an allow-list of the few
classes it holds, so a planted file cannot run code.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

# The classes an image path may be, besides the split's own classes the caller names.
_PATH_CLASSES = ("Path", "PosixPath", "WindowsPath", "PurePosixPath", "PureWindowsPath")
# Bumped when what the checked split holds changes, so older caches are rebuilt.
CACHE_VERSION = 1

# The checked split (coco.py's type; this module only stores and returns it).
Split = Any
Check = Callable[[Path], tuple[Split, list[str]]]


def cache_path(annotation_file: Path) -> Path:
    """Where the checked annotations of ``annotation_file`` are kept."""
    return annotation_file.with_name(f".{annotation_file.name}.checked.pickle")


def file_key(path: Path) -> dict[str, Any]:
    """Size (bytes), modification time (ns) and BLAKE2b hash of the content of ``path``."""
    stat = path.stat()
    with path.open("rb") as file:
        digest = hashlib.file_digest(file, "blake2b").hexdigest()
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "blake2b": digest}


class _SplitUnpickler(pickle.Unpickler):
    """Unpickles the classes a checked split is made of, and nothing else."""

    def __init__(self, file: BinaryIO, classes: tuple[type, ...]) -> None:
        super().__init__(file)
        self.allowed = {(c.__module__, c.__qualname__) for c in classes}
        self.allowed |= {("pathlib", name) for name in _PATH_CLASSES}

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in self.allowed:
            raise pickle.UnpicklingError(f"{module}.{name} is not part of a checked split")
        return super().find_class(module, name)


def _load(cache: Path, classes: tuple[type, ...]) -> dict[str, Any]:
    with cache.open("rb") as file:
        stored = _SplitUnpickler(file, classes).load()
    if not isinstance(stored, dict) or not isinstance(stored.get("split"), classes[0]):
        raise pickle.UnpicklingError("not a checked split")
    return stored


def _save(cache: Path, key: dict[str, Any], split: Split) -> None:
    temporary = cache.with_name(f"{cache.name}.{os.getpid()}.tmp")
    stored = {"version": CACHE_VERSION, "key": key, "split": split}
    try:
        with temporary.open("wb") as file:
            pickle.dump(stored, file, protocol=pickle.HIGHEST_PROTOCOL)
        temporary.replace(cache)  # atomic: a parallel process never reads half a file
    except OSError:
        temporary.unlink(missing_ok=True)  # read-only data: check again next time


def cached_annotations(
    path: Path, check: Check, classes: tuple[type, ...]
) -> tuple[Split, list[str]]:
    """``check(path)`` (the split and its problems), or the split stored for this very file
    content; a clean result is stored for the next run.

    ``classes``: the split's class first, then every class its objects are made of (the
    only classes the cache may hold).
    """
    cache = cache_path(path)
    key = file_key(path)
    if cache.is_file():
        try:
            stored = _load(cache, classes)
        except Exception as error:  # noqa: BLE001 - a broken cache of any kind is rebuilt
            warnings.warn(
                f"{cache}: unreadable cache of {path.name} ({error}); checking the file again "
                "and rewriting the cache",
                stacklevel=3,
            )
        else:
            if stored.get("version") == CACHE_VERSION and stored.get("key") == key:
                return stored["split"], []
    split, problems = check(path)
    if not problems:
        _save(cache, key, split)
    return split, problems
