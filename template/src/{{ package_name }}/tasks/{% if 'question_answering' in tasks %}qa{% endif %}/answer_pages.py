"""Answers shown in their context: an HTML page per validation epoch, and a wandb table.

Gold answers are highlighted in green, the prediction in orange, and their overlap in blue,
so a wrong span (too long, too short, the wrong sentence) is visible at a glance.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

from ...pages import ExamplePages

STYLE = """
body { font-family: sans-serif; max-width: 60em; margin: 2em auto; line-height: 1.5; }
.example { border-top: 1px solid #ccc; padding: 0.5em 0; }
.gold { background: #b7e4b0; } .pred { background: #ffcf99; } .both { background: #9cc9ff; }
.score { color: #555; font-size: 0.9em; }
"""
LEGEND = (
    '<p><span class="gold">gold answer</span> <span class="pred">prediction</span> '
    '<span class="both">both</span></p>'
)


@dataclass(frozen=True)
class AnsweredQuestion:
    """One question, its gold answers and the model's answer, with character spans.

    ``gold`` holds ``(start, text)`` pairs (empty when unanswerable); ``predicted_start`` is
    -1 when the model answered "no answer".
    """

    id: str
    question: str
    context: str
    gold: list[tuple[int, str]]
    predicted: str
    predicted_start: int
    exact: float
    f1: float


def highlight(context: str, gold: list[tuple[int, str]], predicted: tuple[int, int] | None) -> str:
    """The context as HTML, with gold characters, predicted characters and both marked."""
    marks = [0] * len(context)  # bit 1: inside a gold answer, bit 2: inside the prediction
    for start, text in gold:
        for i in range(start, min(start + len(text), len(context))):
            marks[i] |= 1
    if predicted is not None:
        for i in range(max(predicted[0], 0), min(predicted[1], len(context))):
            marks[i] |= 2
    classes = {1: "gold", 2: "pred", 3: "both"}
    parts: list[str] = []
    run_start = 0
    for i in range(1, len(context) + 1):
        if i == len(context) or marks[i] != marks[run_start]:
            text = html.escape(context[run_start:i])
            mark = marks[run_start] if context else 0
            parts.append(f'<span class="{classes[mark]}">{text}</span>' if mark else text)
            run_start = i
    return "".join(parts)


class AnswerPages(ExamplePages):
    """Each question with its highlighted context on the page; in the wandb table the
    question, context, gold, prediction, EM and F1."""

    style = STYLE
    legend = LEGEND
    columns = ("question", "context", "gold", "prediction", "EM", "F1")

    def row(self, q: AnsweredQuestion) -> list[Any]:
        return [q.question, q.context, " | ".join(t for _, t in q.gold), q.predicted, q.exact, q.f1]

    def block(self, q: AnsweredQuestion) -> str:
        gold = " | ".join(html.escape(text) for _, text in q.gold) or "<i>no answer</i>"
        predicted = html.escape(q.predicted) if q.predicted else "<i>no answer</i>"
        span = (q.predicted_start, q.predicted_start + len(q.predicted)) if q.predicted else None
        return (
            f'<div class="example"><b>{html.escape(q.question)}</b> '
            f'<span class="score">({html.escape(q.id)}: EM {q.exact:.0f}, F1 {q.f1:.1f})</span>'
            f"<br>gold: {gold}<br>predicted: {predicted}"
            f"<p>{highlight(q.context, q.gold, span)}</p></div>"
        )


ANSWER_PAGES = AnswerPages()
