"""A SQuAD-sized training file of synthetic text, and an offline tokenizer for it, for
``benchmark squad-scale``.

The shape follows SQuAD v1.1's training set: 87,599 questions on 18,896 paragraphs (4.6 a
paragraph) in 442 articles, contexts of about 120 words (a long tail: a few percent need a
second 384-token window), questions of about 10 words, answers of 1-4 words. Words are made
of syllables; the tokenizer knows the 6000 most frequent whole, so rarer words split into
``##`` pieces as real WordPiece does. v2.0 turns every third question unanswerable
(``is_impossible``, ``plausible_answers``), as in SQuAD 2.0's training set.
"""

from __future__ import annotations

import json
import string
from pathlib import Path
from typing import Any

import numpy as np

from .sample import _SPECIAL_TOKENS, save_vocabulary_tokenizer

_SYLLABLES = [c + v for c in "bcdfghklmnprstvz" for v in "aeiou"] + ["th", "st", "ng", "er"]
WORDS = 20_000  # distinct words in the text (Zipf-distributed)
KNOWN_WORDS = 6_000  # of which the tokenizer holds whole words
QUESTIONS_PER_PARAGRAPH = 4.6
PARAGRAPHS_PER_ARTICLE = 43


def _words(rng: np.random.Generator) -> list[str]:
    words: dict[str, None] = {}
    while len(words) < WORDS:
        count = int(rng.integers(1, 5))
        words["".join(rng.choice(_SYLLABLES, count))] = None
    return list(words)


def _text(rng: np.random.Generator, vocabulary: list[str], cumulative: np.ndarray, n: int) -> str:
    """``n`` words in sentences of about 15: capitalised, commas, full stops."""
    chosen = np.searchsorted(cumulative, rng.random(n))  # rng.choice(p=) re-sums p every call
    pieces: list[str] = []
    for index, word in enumerate(vocabulary[i] for i in chosen):
        sentence_start = index == 0 or pieces[-1].endswith(".")
        word = word.capitalize() if sentence_start else word
        ending = rng.random()
        pieces.append(word + ("." if ending < 1 / 15 else "," if ending < 0.1 else ""))
    return " ".join(pieces).rstrip(",.") + "."


def write_scale_squad(path: Path, questions: int = 88_000, version: str = "v1", seed: int = 0):
    """Write ``questions`` synthetic questions in the official SQuAD JSON layout.

    Returns:
        The words of the text, most frequent first (for :func:`write_scale_tokenizer`).
    """
    rng = np.random.default_rng(seed)
    vocabulary = _words(rng)
    weights = 1.0 / np.arange(1, WORDS + 1)  # Zipf: the article words dominate
    cumulative = np.cumsum(weights / weights.sum())
    cumulative[-1] = 1.0
    articles: list[dict] = []
    written = 0
    while written < questions:
        if not articles or len(articles[-1]["paragraphs"]) == PARAGRAPHS_PER_ARTICLE:
            articles.append({"title": f"Article_{len(articles)}", "paragraphs": []})
        length = max(20, int(rng.lognormal(np.log(110), 0.45)))  # words; mean about 120
        context = _text(rng, vocabulary, cumulative, length)
        spaces = [0] + [i + 1 for i, c in enumerate(context) if c == " "]  # word starts
        qas = []
        for _ in range(min(int(rng.poisson(QUESTIONS_PER_PARAGRAPH - 1)) + 1, questions - written)):
            first = int(rng.integers(0, len(spaces) - 4))
            end = spaces[first + int(rng.integers(1, 5))] - 1  # 1-4 words, up to the space
            answer = {
                "text": context[spaces[first] : end].rstrip(",."),
                "answer_start": spaces[first],
            }
            question = _text(rng, vocabulary, cumulative, int(rng.integers(6, 14)))[:-1] + "?"
            qa: dict[str, Any] = {"id": f"q{written:07d}", "question": question}
            qa["answers"] = [answer]
            if version == "v2":
                impossible = written % 3 == 2
                qa["is_impossible"] = impossible
                if impossible:
                    qa["answers"], qa["plausible_answers"] = [], [answer]
            qas.append(qa)
            written += 1
        articles[-1]["paragraphs"].append({"context": context, "qas": qas})
    document = {"version": "v2.0" if version == "v2" else "1.1", "data": articles}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document), encoding="utf-8")
    return vocabulary


def write_scale_tokenizer(folder: Path, words: list[str]) -> Path:
    """A lower-casing BERT WordPiece tokenizer (offline) holding the most frequent words
    whole, syllables and letters as pieces (see :func:`.sample.save_vocabulary_tokenizer`)."""
    pieces = sorted(set(_SYLLABLES) | set(string.ascii_lowercase + string.digits))
    tokens = _SPECIAL_TOKENS + list(string.punctuation) + pieces
    return save_vocabulary_tokenizer(
        folder, tokens + [f"##{piece}" for piece in pieces] + words[:KNOWN_WORDS]
    )
