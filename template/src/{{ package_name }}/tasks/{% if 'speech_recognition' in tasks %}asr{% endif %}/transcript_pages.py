"""Transcripts beside their references, errors marked: an HTML page and a wandb table.

Each word of the alignment is shown once: correct words plain, substitutions as the reference
word struck through followed by the hypothesis word (orange), deletions struck through (red),
insertions underlined (blue). The wandb table adds the audio, playable in the browser.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

from ...pages import ExamplePages
from .metric import AlignedWord, align_words, edit_counts

STYLE = """
body { font-family: sans-serif; max-width: 60em; margin: 2em auto; line-height: 1.6; }
.utt { border-top: 1px solid #ccc; padding: 0.5em 0; }
.id { color: #555; font-size: 0.9em; }
.S { background: #ffcf99; } .D { background: #ffb3b3; text-decoration: line-through; }
.I { background: #a8d1ff; text-decoration: underline; } del { color: #777; }
"""
LEGEND = (
    '<p><span class="S"><del>reference</del> substituted</span> '
    '<span class="D">deleted</span> <span class="I">inserted</span></p>'
)


@dataclass(frozen=True)
class Transcript:
    """One utterance: its id, split, audio file, reference and the model's hypothesis
    (both already normalised)."""

    id: str
    split: str
    path: str
    reference: str
    hypothesis: str


def marked_words(alignment: list[AlignedWord]) -> str:
    """The alignment as one HTML line: errors in ``<span class="S|I|D">``."""
    parts = []
    for step in alignment:
        ref, hyp = html.escape(step.reference), html.escape(step.hypothesis)
        if step.kind == "=":
            parts.append(hyp)
        elif step.kind == "S":
            parts.append(f'<span class="S"><del>{ref}</del> {hyp}</span>')
        elif step.kind == "D":
            parts.append(f'<span class="D">{ref}</span>')
        else:
            parts.append(f'<span class="I">{hyp}</span>')
    return " ".join(parts)


def marked_text(alignment: list[AlignedWord]) -> str:
    """The alignment as plain text: ``[ref->hyp]`` substitutions, ``[-ref]``, ``[+hyp]``."""
    marks = {"=": "{1}", "S": "[{0}->{1}]", "D": "[-{0}]", "I": "[+{1}]"}
    return " ".join(marks[s.kind].format(s.reference, s.hypothesis) for s in alignment)


def word_error_rate(counts: dict[str, int]) -> float:
    """(S + I + D) / N of one utterance's edit counts; an empty reference counts as 1 word."""
    return (counts["S"] + counts["I"] + counts["D"]) / max(counts["N"], 1)


class TranscriptPages(ExamplePages):
    """Each transcript aligned with its reference, errors marked, on the page; the wandb table
    adds the audio, playable in the browser."""

    style = STYLE
    legend = LEGEND
    columns = ("id", "split", "audio", "reference", "hypothesis", "errors", "WER")

    def row(self, t: Transcript) -> list[Any]:
        import wandb  # only projects that log to wandb need it installed

        alignment = align_words(t.reference, t.hypothesis)
        wer = word_error_rate(edit_counts(alignment))
        audio = wandb.Audio(t.path, caption=t.id)
        return [t.id, t.split, audio, t.reference, t.hypothesis, marked_text(alignment), wer]

    def block(self, t: Transcript) -> str:
        alignment = align_words(t.reference, t.hypothesis)
        counts = edit_counts(alignment)
        return (
            f'<div class="utt"><span class="id">{html.escape(t.split)} / {html.escape(t.id)}: '
            f"WER {100 * word_error_rate(counts):.0f}% (S {counts['S']}, I {counts['I']}, "
            f"D {counts['D']} of {counts['N']} words)</span><br>ref: {html.escape(t.reference)}"
            f"<br>hyp: {marked_words(alignment)}</div>"
        )


TRANSCRIPT_PAGES = TranscriptPages()
