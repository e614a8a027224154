"""Tokenised windows cached on disk, so a second run over the same data starts in seconds.

A cache file is reused only when everything that decides its content is unchanged: the data
file's bytes (a BLAKE2 hash; a copied or touched file still hits, an edited one misses), the
questions taken from it (their ids, in order: a k-fold split takes a subset), the tokenizer
(its class, padding side and full serialised vocabulary and rules), ``max_seq_length``,
``doc_stride``, the kind of windows (training or evaluation) and the versions of this format
and of the ``tokenizers`` library. The key is stored inside the file and checked on load.

Files are ``<cache_dir>/<data file stem>.<kind>.<key hash>.npz`` (uncompressed numpy arrays:
loading one is a disk read); writing one removes the older ones of the same file and kind.
A file that cannot be read is rebuilt with a warning; a folder that cannot be written only
costs the cache, with a warning.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

# Bump when tokenize_for_training / tokenize_for_evaluation change what they return.
CACHE_FORMAT = 1
_KEY = "__key__"  # the array that stores the key inside a cache file
_READ_ERRORS = (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, json.JSONDecodeError)


def _digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def file_digest(path: Path) -> str:
    """BLAKE2 hash of a file's bytes, read in 1 MiB blocks (about 0.1 s for SQuAD's 40 MB)."""
    hasher = hashlib.blake2b(digest_size=16)
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            hasher.update(block)
    return hasher.hexdigest()


def tokenizer_digest(tokenizer: Any) -> str:
    """What the tokenizer does, hashed: its class, padding side and full serialised state."""
    import tokenizers

    state = json.loads(tokenizer.backend_tokenizer.to_str())  # vocabulary, normaliser, ...
    # Every call of the tokenizer sets these two to its own arguments: not what it does.
    state.pop("truncation", None)
    state.pop("padding", None)
    parts = [type(tokenizer).__name__, tokenizer.padding_side, tokenizers.__version__]
    parts.append(json.dumps(state, sort_keys=True))
    return _digest("\n".join(parts).encode())


def cache_key(
    path: Path, question_ids: list[str], tokenizer: Any, settings: dict[str, Any]
) -> dict[str, Any]:
    """Everything the windows depend on (see the module's docstring)."""
    return {
        "format": CACHE_FORMAT,
        "file": path.name,
        "file_size": path.stat().st_size,
        "file_blake2b": file_digest(path),
        "questions_blake2b": _digest("\n".join(question_ids).encode()),
        "tokenizer_blake2b": tokenizer_digest(tokenizer),
        **settings,
    }


def _read(file: Path, key: dict[str, Any]) -> dict[str, np.ndarray] | None:
    """The arrays of ``file`` if it holds windows for ``key``; None if it is absent.

    Raises:
        ValueError (or another of ``_READ_ERRORS``): the file is damaged or not ours.
    """
    if not file.is_file():
        return None
    with np.load(file, allow_pickle=False) as stored:
        if json.loads(str(stored[_KEY])) != key:
            raise ValueError("its key differs from the file name's (a hash collision?)")
        arrays = {name: stored[name] for name in stored.files if name != _KEY}
    lengths = {len(array) for array in arrays.values()}
    if "input_ids" not in arrays or len(lengths) != 1:
        raise ValueError("it lacks input_ids or its arrays differ in length (a partial write?)")
    return arrays


def _write(file: Path, arrays: dict[str, np.ndarray], key: dict[str, Any]) -> None:
    """Write atomically (a unique temporary name, then a rename), so a crash or a second
    process (DDP) never leaves half a file under the final name; drop older versions."""
    file.parent.mkdir(parents=True, exist_ok=True)
    temporary = file.with_name(f"{file.name}.{os.getpid()}.tmp")
    with temporary.open("wb") as handle:
        stored: dict[str, Any] = {**arrays, _KEY: np.array(json.dumps(key))}
        np.savez(handle, **stored)
    os.replace(temporary, file)
    prefix = file.name.rsplit(".", 2)[0]  # <stem>.<kind>
    for old in file.parent.glob(f"{prefix}.*.npz"):
        if old != file:
            old.unlink(missing_ok=True)


def cached_windows(
    cache_dir: Path | None,
    path: Path,
    question_ids: list[str],
    tokenizer: Any,
    settings: dict[str, Any],
    build: Callable[[], dict[str, np.ndarray]],
) -> tuple[dict[str, np.ndarray], str]:
    """The windows of ``path`` from the cache, or from ``build()`` (then cached).

    Args:
        cache_dir: folder of cache files; None builds every time and caches nothing.
        path: the data file the windows come from.
        question_ids: ids of the questions tokenised, in order.
        tokenizer: the fast tokenizer that ``build`` uses.
        settings: the tokenisation settings, e.g. ``{"kind": "train", "max_seq_length":
            384, "doc_stride": 128}``.
        build: computes the windows.

    Returns:
        The windows and what happened: ``"hit"``, ``"built"`` (and cached), ``"rebuilt"`` (a
        damaged file replaced) or ``"uncached"``.
    """
    if cache_dir is None:
        return build(), "uncached"
    key = cache_key(path, question_ids, tokenizer, settings)
    kind = settings.get("kind", "windows")
    file = cache_dir / f"{path.stem}.{kind}.{_digest(json.dumps(key, sort_keys=True).encode())}.npz"
    status = "built"
    try:
        arrays = _read(file, key)
        if arrays is not None:
            return arrays, "hit"
    except _READ_ERRORS as error:
        warnings.warn(
            f"Tokenised-window cache {file} is unreadable ({error}); rebuilding it.",
            stacklevel=2,
        )
        status = "rebuilt"
    arrays = build()
    try:
        _write(file, arrays, key)
    except OSError as error:
        warnings.warn(
            f"Cannot write the tokenised-window cache {file} ({error}); the windows will be "
            "tokenised again next run. Set data.init_args.cache_dir to a writable folder, or "
            "to null to turn the cache off.",
            stacklevel=2,
        )
        return arrays, "uncached"
    return arrays, status
