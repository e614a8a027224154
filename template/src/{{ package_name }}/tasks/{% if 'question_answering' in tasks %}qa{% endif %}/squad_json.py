"""SQuAD v1.1 / v2.0 files in the official JSON format, read and checked into examples.

Every problem (a missing key, an ``answer_start`` that does not point at its answer, a
duplicate id) is reported with the file, the JSON path and the question id, all at once.
"""

from __future__ import annotations

import gc
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ...data.errors import DataValidationError


@dataclass(frozen=True)
class Answer:
    """A gold answer: its text and the character where it starts in the context."""

    text: str
    start: int

    @property
    def end(self) -> int:
        """One past the answer's last character."""
        return self.start + len(self.text)


@dataclass(frozen=True)
class QAExample:
    """One question about one context; ``answers`` is empty for an unanswerable question."""

    id: str
    title: str
    question: str
    context: str
    answers: tuple[Answer, ...]
    is_impossible: bool = False
    plausible_answers: tuple[Answer, ...] = field(default_factory=tuple)


@dataclass
class SquadFile:
    """What :func:`read_squad` found: the examples and the file's SQuAD version."""

    examples: list[QAExample]
    version: Literal["v1", "v2"]


def _answers(raw: Any, where: str, context: str, qid: str, problems: list[str]) -> list[Answer]:
    """Parse a list of ``{"text", "answer_start"}``, checking each start against the context."""
    if not isinstance(raw, list):
        problems.append(f"{where}: question {qid!r}: expected a list of answers")
        return []
    answers = []
    for index, item in enumerate(raw):
        at = f"{where}[{index}]"
        if not isinstance(item, dict) or not isinstance(item.get("text"), str):
            problems.append(f"{at}: question {qid!r}: an answer needs a string 'text'")
            continue
        start = item.get("answer_start")
        if not isinstance(start, int) or isinstance(start, bool):
            problems.append(f"{at}: question {qid!r}: 'answer_start' must be an integer")
            continue
        text = item["text"]
        found = context[start : start + len(text)]
        if found != text:
            hint = context.find(text)
            fix = (
                f"set answer_start to {hint}"
                if hint >= 0
                else "the text does not occur in the context; fix the text"
            )
            problems.append(
                f"{at}: question {qid!r}: answer_start {start} points at {found!r}, "
                f"not at the answer {text!r}; {fix}"
            )
            continue
        answers.append(Answer(text, start))
    return answers


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector: reading builds millions of objects and no
    cycles, and each collection would walk all of them again (5x slower at SQuAD's size)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def read_squad(path: str | Path) -> SquadFile:
    """Read a SQuAD JSON file (``data`` -> ``paragraphs`` -> ``qas`` -> ``answers``).

    v2.0 is recognised by its ``"version"`` field or by any ``is_impossible`` key; an
    unanswerable question then has ``is_impossible: true``, empty ``answers`` and, usually,
    ``plausible_answers``.

    Raises:
        DataValidationError: listing every problem in the file, each with its JSON path
            (``data[3].paragraphs[0].qas[2]``) and question id.
    """
    with _collector_paused():
        return _read_squad(Path(path))


def _read_squad(path: Path) -> SquadFile:
    if not path.is_file():
        raise DataValidationError(
            str(path),
            [f"{path}: file does not exist"],
            hint="Point data.init_args.train_file / val_file at SQuAD JSON files.",
        )
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise DataValidationError(
            str(path), [f"{path}:{error.lineno}:{error.colno}: not valid JSON ({error.msg})"]
        ) from error
    if not isinstance(raw, dict) or not isinstance(raw.get("data"), list):
        raise DataValidationError(
            str(path), [f"{path}: expected an object with a 'data' list (the SQuAD layout)"]
        )
    stated = str(raw.get("version", ""))
    is_v2 = stated.lstrip("v").startswith("2")  # "v2.0" in the official files
    problems: list[str] = []
    examples: list[QAExample] = []
    seen: set[str] = set()
    for a, article in enumerate(raw["data"]):
        title = article.get("title", "") if isinstance(article, dict) else ""
        paragraphs = article.get("paragraphs") if isinstance(article, dict) else None
        if not isinstance(paragraphs, list):
            problems.append(f"{path}: data[{a}]: expected a 'paragraphs' list")
            continue
        for p, paragraph in enumerate(paragraphs):
            where = f"{path}: data[{a}].paragraphs[{p}]"
            context = paragraph.get("context") if isinstance(paragraph, dict) else None
            qas = paragraph.get("qas") if isinstance(paragraph, dict) else None
            if not isinstance(context, str) or not isinstance(qas, list):
                problems.append(f"{where}: expected a string 'context' and a 'qas' list")
                continue
            for q, qa in enumerate(qas):
                at = f"{where}.qas[{q}]"
                if not isinstance(qa, dict):
                    problems.append(f"{at}: expected an object with 'id', 'question', 'answers'")
                    continue
                qid, question = qa.get("id"), qa.get("question")
                if not isinstance(qid, str) or not isinstance(question, str):
                    problems.append(f"{at}: needs a string 'id' and a string 'question'")
                    continue
                if qid in seen:
                    problems.append(f"{at}: question id {qid!r} is used twice; ids must be unique")
                seen.add(qid)
                answers = _answers(qa.get("answers"), f"{at}.answers", context, qid, problems)
                impossible = bool(qa.get("is_impossible", False))
                is_v2 = is_v2 or "is_impossible" in qa
                if impossible and qa.get("answers"):
                    problems.append(
                        f"{at}: question {qid!r} is_impossible but has answers; "
                        "move them to 'plausible_answers'"
                    )
                if not impossible and not qa.get("answers"):
                    problems.append(
                        f"{at}: question {qid!r} has no answers; add one, or (SQuAD v2.0) "
                        "mark it 'is_impossible': true"
                    )
                plausible = _answers(
                    qa.get("plausible_answers", []),
                    f"{at}.plausible_answers",
                    context,
                    qid,
                    problems,
                )
                examples.append(
                    QAExample(
                        qid,
                        str(title),
                        question,
                        context,
                        tuple(answers),
                        impossible,
                        tuple(plausible),
                    )
                )
    if problems:
        raise DataValidationError(
            str(path), problems, hint="Fix these entries; nothing was loaded."
        )
    return SquadFile(examples, "v2" if is_v2 else "v1")
