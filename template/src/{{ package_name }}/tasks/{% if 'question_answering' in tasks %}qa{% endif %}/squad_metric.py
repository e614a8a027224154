"""The official SQuAD evaluation: v1.1 (every question has an answer) and v2.0 (some have none).

Every number equals what the official scripts (``evaluate-v1.1.py``, ``evaluate-v2.0.py``)
print for the same data, predictions and no-answer scores, to the last bit: the sums run in
the same order. Both versions normalise an answer the same way (lower case, no punctuation,
no "a" / "an" / "the", single spaces) and score a prediction by its best match over the gold
answers: exact match (EM, 0 or 1) and the F1 of the bag of normalised tokens, in percent.

Where they differ:

* an empty normalised answer: v1.1 gives it F1 0 (no shared token; its EM against another
  empty answer is still 1); v2.0 gives F1 1 when both sides are empty and 0 otherwise, and
  drops gold answers that normalise to nothing (``[""]`` when none is left);
* "has an answer" (v2.0) means the question's raw ``answers`` list is not empty: a question
  whose only gold is "the" has an answer, which the empty prediction does not match once the
  no-answer threshold says "no answer";
* a question without a prediction: v1.1 scores it 0 and keeps it in the total; v2.0 cannot
  score the data set at all (its HasAns / NoAns sums fail), so :func:`evaluate_v2` refuses;
* v2.0 adds the HasAns / NoAns breakdown and, given no-answer scores, the best threshold.

torchmetrics' SQuAD follows neither rule for empty answers, hence this module.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Literal

SquadVersion = Literal["v1", "v2"]

_PUNCTUATION = set(string.punctuation)
_ARTICLES = re.compile(r"\b(a|an|the)\b")


def normalize_answer(text: str) -> str:
    """Lower case, drop punctuation, drop the articles a / an / the, collapse white space.

    The order matters: punctuation goes before the articles, so "the-end" -> "theend" keeps
    its "the", and "(a)" loses its article.
    """
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def exact_match(prediction: str, gold: str) -> float:
    """1.0 when both normalise to the same string (two empty strings included), else 0.0."""
    return float(normalize_answer(prediction) == normalize_answer(gold))


def token_f1(prediction: str, gold: str, version: SquadVersion = "v2") -> float:
    """F1 of the normalised tokens shared by ``prediction`` and ``gold`` (counted with repeats).

    When either side normalises to nothing, v2.0 scores 1.0 if both do and 0.0 otherwise;
    v1.1 scores 0.0 (no shared token), even for two empty answers.
    """
    predicted = normalize_answer(prediction).split()
    expected = normalize_answer(gold).split()
    if version == "v2" and (not predicted or not expected):
        return float(predicted == expected)
    shared = sum((Counter(predicted) & Counter(expected)).values())
    if shared == 0:
        return 0.0
    precision = shared / len(predicted)
    recall = shared / len(expected)
    return 2 * precision * recall / (precision + recall)


def score_question(
    prediction: str, golds: Sequence[str], version: SquadVersion = "v2"
) -> tuple[float, float]:
    """(EM, F1) of one prediction: the best over the gold answers, each 0..1.

    v2.0 ignores gold answers that normalise to nothing; with none left the only right
    prediction is one that normalises to nothing. v1.1 keeps every gold answer.
    """
    if version == "v2":
        golds = [gold for gold in golds if normalize_answer(gold)] or [""]
    if not golds:  # v1.1 has no unanswerable questions; the reader refuses them
        return 0.0, 0.0
    em = max(exact_match(prediction, gold) for gold in golds)
    f1 = max(token_f1(prediction, gold, version) for gold in golds)
    return em, f1


def missing_predictions(
    gold_answers: Mapping[str, Sequence[str]], predictions: Mapping[str, str]
) -> list[str]:
    """The question ids of ``gold_answers`` that ``predictions`` does not answer, in order."""
    return [qid for qid in gold_answers if qid not in predictions]


def evaluate_v1(
    gold_answers: Mapping[str, Sequence[str]], predictions: Mapping[str, str]
) -> dict[str, float]:
    """SQuAD v1.1: ``exact_match`` and ``f1`` in percent over every question of the gold set.

    Args:
        gold_answers: question id -> the texts of its gold answers, in the data set's order.
        predictions: question id -> predicted answer text; a missing id scores 0 and still
            counts in the total (the official script only warns).
    """
    em_total = f1_total = 0.0
    for qid, golds in gold_answers.items():
        if qid in predictions:
            em, f1 = score_question(predictions[qid], golds, "v1")
            em_total += em
            f1_total += f1
    total = max(len(gold_answers), 1)
    return {"exact_match": 100.0 * em_total / total, "f1": 100.0 * f1_total / total}


def evaluate_v2(
    gold_answers: Mapping[str, Sequence[str]],
    predictions: Mapping[str, str],
    no_answer_probs: Mapping[str, float] | None = None,
    no_answer_threshold: float = 1.0,
) -> dict[str, float]:
    """SQuAD v2.0: ``exact`` and ``f1`` (percent), their HasAns / NoAns parts, best thresholds.

    Args:
        gold_answers: question id -> its raw gold answer texts, in the data set's order,
            none left out (also those that normalise to nothing); an empty list marks an
            unanswerable question.
        predictions: question id -> predicted text ("" predicts "no answer"); every question
            of ``gold_answers`` needs one.
        no_answer_probs: question id -> how strongly the model believes there is no answer
            (any monotone score works: a probability or a logit difference), in the order of
            the file it came from: ties in the threshold search are broken by that order.
            None: 0 for every prediction, and no best-threshold search (as without the
            official ``--na-prob-file``).
        no_answer_threshold: a question whose ``no_answer_probs`` exceeds this (``>``) counts
            as answered "no answer": right exactly when its ``answers`` list is empty.
    Returns:
        ``exact``, ``f1``, ``total``; ``HasAns_exact/f1/total`` and ``NoAns_exact/f1/total``
        when the data set has such questions; with ``no_answer_probs``, ``best_exact``,
        ``best_exact_thresh``, ``best_f1``, ``best_f1_thresh``: the best scores over
        thresholds and where they were reached. Totals are integers, as in the official JSON.
    Raises:
        KeyError: naming the first question id that has no prediction, or no no-answer
            score (the official script stops there too).
    """
    missing = missing_predictions(gold_answers, predictions)
    if missing:
        raise KeyError(f"{len(missing)} question(s) have no prediction, e.g. {missing[0]!r}")
    # Without scores every *prediction* gets 0 (the official default), so a threshold below 0
    # turns every question into "no answer".
    probs = (
        dict(no_answer_probs) if no_answer_probs is not None else dict.fromkeys(predictions, 0.0)
    )
    unscored = [qid for qid in gold_answers if qid not in probs]
    if unscored:
        raise KeyError(f"{len(unscored)} question(s) have no no-answer score, e.g. {unscored[0]!r}")
    # The raw list decides, not its normalised texts: a gold "the" still means "has an answer".
    has_answer = {qid: bool(golds) for qid, golds in gold_answers.items()}
    raw_exact: dict[str, float] = {}
    raw_f1: dict[str, float] = {}
    for qid, golds in gold_answers.items():
        raw_exact[qid], raw_f1[qid] = score_question(predictions[qid], golds, "v2")

    def thresholded(raw: dict[str, float]) -> dict[str, float]:
        # Above the threshold the model says "no answer": right exactly when there is none.
        return {
            qid: float(not has_answer[qid]) if probs[qid] > no_answer_threshold else score
            for qid, score in raw.items()
        }

    exact, f1 = thresholded(raw_exact), thresholded(raw_f1)
    result = _percentages("", exact, f1, list(gold_answers))
    for prefix, wanted in (("HasAns_", True), ("NoAns_", False)):
        qids = [qid for qid in gold_answers if has_answer[qid] == wanted]
        if qids:
            result.update(_percentages(prefix, exact, f1, qids))
    if no_answer_probs is not None:
        for name, raw in (("exact", raw_exact), ("f1", raw_f1)):
            best, threshold = best_no_answer_threshold(raw, predictions, probs, has_answer)
            result[f"best_{name}"] = best
            result[f"best_{name}_thresh"] = threshold
    return result


def _percentages(
    prefix: str, exact: dict[str, float], f1: dict[str, float], qids: list[str]
) -> dict[str, float]:
    # Summed in the data set's order, like the official script: float sums depend on order.
    total = max(len(qids), 1)
    return {
        f"{prefix}exact": 100.0 * sum(exact[q] for q in qids) / total,
        f"{prefix}f1": 100.0 * sum(f1[q] for q in qids) / total,
        f"{prefix}total": len(qids),
    }


def best_no_answer_threshold(
    raw_scores: Mapping[str, float],
    predictions: Mapping[str, str],
    no_answer_probs: Mapping[str, float],
    has_answer: Mapping[str, bool],
) -> tuple[float, float]:
    """The best total score (percent) over no-answer thresholds, and that threshold.

    Start from "answer nothing": every question of the data set without an answer is right
    (``has_answer`` covers the whole data set). Then walk the questions of
    ``no_answer_probs`` from the least to the most likely unanswerable, letting each answer in
    turn: an answerable question gains its raw score, an unanswerable one loses 1 if its raw
    prediction is a non-empty string (even one that normalises to nothing). Questions without
    a raw score are skipped. The running total is compared after every question, not only
    where the probability changes, and only a strictly better total moves the threshold (0.0
    until then), so among tied probabilities the order of ``no_answer_probs``' keys (the
    sort is stable) decides: pass them in the order of the file.
    """
    score = best = float(sum(not answerable for answerable in has_answer.values()))
    threshold = 0.0
    for qid in sorted(no_answer_probs, key=lambda q: no_answer_probs[q]):
        if qid not in raw_scores:
            continue
        if has_answer[qid]:
            score += raw_scores[qid]
        elif predictions[qid]:
            score -= 1.0
        if score > best:
            best, threshold = score, no_answer_probs[qid]
    return 100.0 * best / max(len(raw_scores), 1), threshold
