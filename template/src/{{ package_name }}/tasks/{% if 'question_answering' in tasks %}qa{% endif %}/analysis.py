"""The data-set analysis of SQuAD files: lengths in tokens of the configured tokenizer, answers
beyond the first window, unanswerable questions (v2.0)."""

from __future__ import annotations

from typing import Any

from ...charts import histogram, progress, spread
from ...task import Analysis
from .squad import SquadDataModule


def analyze(data: SquadDataModule) -> Analysis:
    """Lengths in tokens, answers beyond the first window, unanswerable questions (v2.0).

    The first window holds ``max_seq_length`` tokens minus the question and the special
    tokens; an answer ending after it needs a later window (``doc_stride`` overlap) to be
    found at all.
    """
    tokenizer = data.tokenizer
    max_length = data.hparams.max_seq_length
    special = tokenizer.num_special_tokens_to_add(pair=True)
    lengths: dict[str, dict[str, list[float]]] = {}
    numbers: dict[str, dict[str, Any]] = {}
    for split, squad in data.files.items():
        if split == "predict":
            continue
        encoded_contexts: dict[str, Any] = {}
        # Token counts, as the floats the charts take.
        context_lengths: list[float] = []
        question_lengths: list[float] = []
        answer_lengths: list[float] = []
        outside, answerable, impossible = 0, 0, 0
        for example in progress(squad.examples, f"Tokenising {split}"):
            context = encoded_contexts.get(example.context)
            if context is None:
                context = tokenizer(
                    example.context, add_special_tokens=False, return_offsets_mapping=True
                )
                encoded_contexts[example.context] = context
                context_lengths.append(len(context["input_ids"]))
            question = tokenizer(example.question.lstrip(), add_special_tokens=False)
            question_lengths.append(len(question["input_ids"]))
            if example.is_impossible or not example.answers:
                impossible += 1
                continue
            answerable += 1
            answer = example.answers[0]  # the training label, as in the data pipeline
            tokens = [
                i
                for i, (start, end) in enumerate(context["offset_mapping"])
                if start < answer.end and end > answer.start
            ]
            answer_lengths.append(len(tokens))
            room = max_length - len(question["input_ids"]) - special
            if tokens and tokens[-1] >= room:
                outside += 1
        total = answerable + impossible
        lengths[split] = {
            "context": context_lengths,
            "question": question_lengths,
            "answer": answer_lengths,
        }
        numbers[split] = {
            "questions": total,
            "contexts": len(encoded_contexts),
            "unanswerable": impossible,
            "unanswerable_share": round(impossible / max(total, 1), 4),
            "answers_outside_first_window": outside,
            "outside_first_window_share": round(outside / max(answerable, 1), 4),
            "context_tokens": spread(context_lengths),
            "question_tokens": spread(question_lengths),
            "answer_tokens": spread(answer_lengths),
        }
    tables = [
        (
            f"Questions (windows of {max_length} tokens)",
            ["split", "questions", "contexts", "unanswerable", "answer outside the first window"],
            [
                [
                    split,
                    n["questions"],
                    n["contexts"],
                    f"{n['unanswerable']} ({n['unanswerable_share']:.1%})",
                    f"{n['answers_outside_first_window']} ({n['outside_first_window_share']:.1%})",
                ]
                for split, n in numbers.items()
            ],
        ),
        (
            "Lengths in tokens (median / mean / max)",
            ["split", "context", "question", "answer"],
            [
                [split]
                + [
                    "{median:.0f} / {mean:.1f} / {max:.0f}".format(**n[f"{part}_tokens"])
                    for part in ("context", "question", "answer")
                ]
                for split, n in numbers.items()
            ],
        ),
    ]
    panels = [
        (f"{part} length (tokens)", {split: values[part] for split, values in lengths.items()})
        for part in ("context", "question", "answer")
    ]
    figure = histogram(panels, f"Lengths in tokens (window: {max_length} tokens)")
    figure.axes[0].axvline(max_length, color="black", linestyle="--", lw=2)
    return Analysis(
        f"SQuAD {data.squad_version}: {data.hparams.root}",
        {"max_seq_length": max_length, **numbers},
        tables,
        [("token_lengths", figure)],
    )
