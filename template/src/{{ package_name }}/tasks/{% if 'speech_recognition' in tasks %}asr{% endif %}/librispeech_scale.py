"""Scanning LibriSpeech at full size: this project's reader beside a plain scan.

    python -m <package>.benchmark librispeech-scale [--utterances 28539] [--words 35]

Writes a synthetic ``train-clean-100`` the size of the real one (28,539 utterances of 251
speakers in 585 chapters, about 35 words each) in the official layout: the
``<speaker>/<chapter>/<speaker>-<chapter>.trans.txt`` transcripts, and each FLAC as an empty
stub (the reader lists the FLACs, so they must exist; no audio is written or read). Then it
times, side by side in one process, and measures the peak memory of

- ``read_librispeech(root, [split], check_audio=False)``: what ``LibriSpeechDataModule``
  does with a split up to the point audio would be decoded (list the FLACs and transcripts,
  read and check every line, pair lines with files, name every problem);
- the reference: ``os.walk`` over the split, reading the transcript lines into a list and
  the FLAC paths into another, checking nothing;
- ``read_librispeech(root, [split])`` as on a second run: the audio check answered from the
  media cache (``data/media.py``), here filled with made-up durations for the stubs, so what
  is timed is the whole of the DataModule's reading except decoding audio.

Peak memory: RSS in a forked child and ``tracemalloc`` (``data/scale.py``).
"""

from __future__ import annotations

import argparse
import json
import os
import random
from pathlib import Path
from typing import Any

from rich.progress import track

from ...data.media import check_media
from ...data.scale import compare_readers, print_comparison
from ...errors import UserError
from ...subcommands import add_benchmark, add_defaults
from .corpus import SAMPLE_RATE, read_librispeech

OURS = "read_librispeech, no audio check"
REFERENCE = "os.walk + transcript lines"
SECOND_RUN = "read_librispeech, audio check cached"
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _vocabulary(rng: random.Random, words: int = 5000) -> list[str]:
    """Made-up upper-case words of 2-10 letters, some with an apostrophe (as LibriSpeech's)."""
    made = []
    for _ in range(words):
        word = "".join(rng.choice(_LETTERS) for _ in range(rng.randint(2, 10)))
        made.append(word + "'S" if rng.random() < 0.03 else word)
    return made


def write_librispeech_tree(
    root: str | Path,
    split: str = "train-clean-100",
    utterances: int = 28_539,
    speakers: int = 251,
    chapters: int = 585,
    words: int = 35,
    seed: int = 0,
) -> list[Path]:
    """Write the transcripts of ``utterances`` utterances in the official layout, and an
    empty file for each FLAC; return the FLAC stubs' paths.

    Speakers get distinct made-up ids and at least one chapter each; utterances are dealt
    to the chapters in turn; a transcript has ``words`` words on average.
    """
    if not speakers <= chapters <= utterances:
        raise ValueError(
            f"need speakers ({speakers}) <= chapters ({chapters}) <= utterances ({utterances})"
        )
    rng = random.Random(seed)
    vocabulary = _vocabulary(rng)
    speaker_ids = rng.sample(range(10, 10 * speakers + 10), speakers)
    owners = speaker_ids + [rng.choice(speaker_ids) for _ in range(chapters - speakers)]
    chapter_ids = rng.sample(range(100, 1000 * chapters), chapters)
    per_chapter = [utterances // chapters + (c < utterances % chapters) for c in range(chapters)]
    stubs = []
    folder = Path(root) / split
    rows = list(zip(owners, chapter_ids, per_chapter, strict=True))
    for speaker, chapter, count in track(rows, description=f"Writing {split}", transient=True):
        where = folder / str(speaker) / str(chapter)
        where.mkdir(parents=True, exist_ok=True)
        lines = []
        for number in range(count):
            utterance_id = f"{speaker}-{chapter}-{number:04d}"
            length = max(1, round(rng.gauss(words, words / 3)))
            lines.append(f"{utterance_id} {' '.join(rng.choices(vocabulary, k=length))}")
            stub = where / f"{utterance_id}.flac"
            stub.touch()
            stubs.append(stub)
        (where / f"{speaker}-{chapter}.trans.txt").write_text("\n".join(lines) + "\n")
    return stubs


def plain_scan(folder: str | Path) -> tuple[list[str], list[str]]:
    """The reference: every transcript line and every FLAC path under ``folder``."""
    lines: list[str] = []
    flacs: list[str] = []
    for directory, _, files in os.walk(folder):
        for name in files:
            if name.endswith(".trans.txt"):
                with open(os.path.join(directory, name), encoding="utf-8") as file:
                    lines.extend(file.read().splitlines())
            elif name.endswith(".flac"):
                flacs.append(os.path.join(directory, name))
    return lines, flacs


def _cache_made_up_durations(root: Path, stubs: list[Path], seed: int) -> None:
    """Fill the media cache as a first run that decoded the stubs would have: 16 kHz mono,
    2-25 s each (``check_media`` keys the entries by each file's size and time)."""
    rng = random.Random(seed)
    frames = {stub: rng.randint(2 * SAMPLE_RATE, 25 * SAMPLE_RATE) for stub in stubs}
    check_media(
        stubs, lambda path: {"samplerate": SAMPLE_RATE, "channels": 1, "frames": frames[path]}, root
    )


_FOLDER = "data/librispeech_scale"


def librispeech_scale(
    utterances: int = 28_539, words: int = 35, rounds: int = 3, folder: str = _FOLDER, seed: int = 0
) -> dict[str, Any]:
    """Write the synthetic split under ``folder`` (again only when its settings change) and
    compare ``read_librispeech`` with the plain scan on it, ``rounds`` each. Speakers and
    chapters keep train-clean-100's proportions to ``utterances`` (251 and 585 at full size)."""
    root = Path(folder)
    split = "train-clean-100"
    speakers = max(1, round(utterances * 251 / 28_539))
    chapters = min(utterances, max(speakers, round(utterances * 585 / 28_539)))
    settings = {
        "utterances": utterances,
        "speakers": speakers,
        "chapters": chapters,
        "words": words,
        "seed": seed,
    }
    recorded = root / "settings.json"
    # Written by this benchmark with these settings: reuse it (28 k files take a while).
    if not (recorded.is_file() and json.loads(recorded.read_text()) == settings):
        if (root / split).exists():
            raise UserError(
                f"{root / split} exists but was not written by this benchmark with these "
                "settings: give another --folder (it writes a synthetic data set there), or "
                "delete that folder"
            )
        stubs = write_librispeech_tree(root, split, utterances, speakers, chapters, words, seed)
        _cache_made_up_durations(root, stubs, seed)
        recorded.write_text(json.dumps(settings))
    result = compare_readers(
        {
            OURS: lambda: read_librispeech(root, [split], check_audio=False),
            REFERENCE: lambda: plain_scan(root / split),
            SECOND_RUN: lambda: read_librispeech(root, [split]),
        },
        reference=REFERENCE,
        items=utterances,
        rounds=rounds,
    )
    found = read_librispeech(root, [split])
    lines, _ = plain_scan(root / split)
    if len(found) != len(lines):
        raise AssertionError(f"read {len(found)} utterances, the files hold {len(lines)} lines")
    return {
        "benchmark": "librispeech-scale",
        "folder": str(root / split),
        "rounds": rounds,
        "hours": sum(u.seconds for u in found) / 3600,
        **settings,
        **result,
    }


def _print_librispeech_scale(result: dict[str, Any]) -> None:
    print(
        f"librispeech-scale: {result['utterances']:,} utterances of {result['speakers']} "
        f"speakers in {result['chapters']} chapters ({result['folder']}, empty FLAC stubs); "
        f"median of {result['rounds']} rounds"
    )
    print_comparison(result, "utterances")


def add_benchmark_command(commands: Any) -> argparse.ArgumentParser:
    """Add ``librispeech-scale`` to the ``benchmark`` sub-commands."""
    summary = "LibriSpeech-sized transcripts: read_librispeech vs os.walk (seconds, peak MB)"
    parser = add_benchmark(
        commands, "librispeech-scale", summary, librispeech_scale, _print_librispeech_scale
    )
    add_defaults(parser, librispeech_scale, "utterances", "words")
    add_defaults(parser, librispeech_scale, "rounds", "folder", "seed")
    parser.add_argument("--output", default="logs/benchmarks/librispeech_scale.json")
    return parser
