"""The sample data sets of question answering: SQuAD v1.1 or v2.0 files about made-up towns,
and a WordPiece tokenizer for their words; write them with
``python -m <package>.data.samples squad_v2 <folder>`` (or ``squad_v1``)."""

from __future__ import annotations

import functools
import json
import re
import string
from pathlib import Path

import numpy as np

from ...task import SampleSpec, new_sample_folder

# Made-up towns, each described by one paragraph built from these parts. A paragraph names
# the town's river, founder, founding year, trade and mayor; some leave out the founding
# sentence (so "Who founded ...?" has no answer in v2.0), and some add a long history that
# needs several tokenizer windows.
_SYLLABLES = ["bar", "cel", "dor", "fen", "gal", "hol", "ka", "lin", "mor", "nes", "pol", "ras"]
_FIRST_NAMES = ["Anna", "Boris", "Clara", "David", "Elsa", "Felix", "Greta", "Hugo", "Ida"]
_LAST_NAMES = ["Berg", "Castell", "Dahl", "Engel", "Falk", "Grimm", "Holm", "Iversen", "Jung"]
_PRODUCTS = ["cheese", "glass", "wool", "salt", "timber", "pottery", "wine", "silver", "paper"]
_BUILDINGS = ["bridge", "church", "mill", "market hall", "school", "library", "harbour"]
_SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def _town_paragraph(rng: np.random.Generator, town: str, long: bool, founded: bool) -> dict:
    """One SQuAD paragraph about ``town``, its questions and their character offsets."""
    river = rng.choice(_SYLLABLES).capitalize() + rng.choice(_SYLLABLES)
    founder = f"{rng.choice(_FIRST_NAMES)} {rng.choice(_LAST_NAMES)}"
    mayor = f"{rng.choice(_FIRST_NAMES)} {rng.choice(_LAST_NAMES)}"
    year = int(rng.integers(1200, 1900))
    product = str(rng.choice(_PRODUCTS))
    sentences = [f"{town} is a town on the {river} River."]
    if founded:
        sentences.append(f"It was founded in {year} by the merchant {founder}.")
    sentences.append(f"The town is known for its {product}.")
    if long:  # a history long enough to push the last sentence into a later window
        for _ in range(8):
            built = int(rng.integers(1200, 1900))
            sentences.append(f"In {built} a {rng.choice(_BUILDINGS)} was built near the river.")
    sentences.append(f"The mayor is {mayor}.")
    context = " ".join(sentences)

    def span(text: str, within: str = "") -> dict:
        # The answer's first occurrence after ``within`` (which locates the right sentence).
        offset = context.index(within) if within else 0
        return {"text": text, "answer_start": context.index(text, offset)}

    qas: list[dict] = [  # SQuAD's questions, some with keys the others lack
        {  # three gold answers that differ by an article and by punctuation
            "question": f"On which river is {town}?",
            "answers": [
                span(f"the {river} River"),
                span(f"{river} River"),
                span(f"{river} River."),
            ],
        },
        {
            "question": f"What is {town} known for?",
            "answers": [span(product, "known for"), span(f"{product}.", "known for")],
        },
        {
            "question": f"Who is the mayor of {town}?",
            "answers": [span(mayor, "mayor is"), span(f"{mayor}.", "mayor is")],
        },
    ]
    if founded:
        qas += [
            {
                "question": f"Who founded {town}?",
                "answers": [
                    span(f"the merchant {founder}", "founded in"),
                    span(f"merchant {founder}", "founded in"),
                    span(founder, "by the merchant"),
                ],
            },
            {"question": f"When was {town} founded?", "answers": [span(str(year), "founded")]},
        ]
    else:  # v2.0: no answer in the text; the mayor's name is the plausible wrong answer
        qas.append(
            {
                "question": f"Who founded {town}?",
                "answers": [],
                "is_impossible": True,
                "plausible_answers": [span(mayor, "mayor is")],
            }
        )
    return {"context": context, "qas": qas}


def _town_names(count: int, rng: np.random.Generator) -> list[str]:
    names: set[str] = set()
    while len(names) < count:
        parts = rng.choice(_SYLLABLES, size=int(rng.integers(2, 4)))
        names.add("".join(parts).capitalize())
    return sorted(names, key=lambda _: rng.random())


def write_squad_sample(
    root: str | Path,
    *,
    version: str = "v2",
    per_class: int | None = None,
    train_paragraphs: int = 240,
    dev_paragraphs: int = 40,
    seed: int = 0,
) -> Path:
    """Write a small SQuAD data set of made-up towns, and a tokenizer for its words.

    Layout: ``root/train-v2.0.json`` and ``root/dev-v2.0.json`` (``-v1.1`` for
    ``version="v1"``) in the official nested format (``data`` -> ``paragraphs`` -> ``qas``
    -> ``answers``), and ``root/tokenizer/`` (a BERT WordPiece ``vocab.txt`` of every word
    in the data plus single characters, saved as a fast tokenizer). Every paragraph asks for
    the town's river (three gold answers that differ by "the" and a full stop), its trade,
    mayor and founder; one in five has no founding sentence: in v2.0 its "Who founded"
    question is unanswerable (in v1.1 it is left out). One in four is long enough to need
    several tokenizer windows.

    Args:
        root: folder to create (must not hold a data set already).
        version: ``"v1"`` (SQuAD v1.1) or ``"v2"`` (SQuAD v2.0, with unanswerable questions).
        per_class: keep at most this many paragraphs per split (tiny sets for tests; named
            like the other writers' size limit).
        train_paragraphs: paragraphs in the training file.
        dev_paragraphs: paragraphs in the development (validation) file.
        seed: seed of the names, years and which paragraphs are long or lack an answer.
    Returns:
        ``root`` as a Path.
    """
    if version not in ("v1", "v2"):
        raise ValueError(f"version must be 'v1' or 'v2', got {version!r}")
    root = new_sample_folder(root)
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    sizes = {"train": train_paragraphs, "dev": dev_paragraphs}
    if per_class is not None:
        sizes = {split: min(size, per_class) for split, size in sizes.items()}
    towns = _town_names(sum(sizes.values()), rng)
    suffix, label = ("v2.0", "v2.0") if version == "v2" else ("v1.1", "1.1")
    texts: list[str] = []
    for split, size in sizes.items():
        split_towns, towns = towns[:size], towns[size:]
        articles = []
        for index, town in enumerate(split_towns):
            # The first paragraphs of every split cover each kind: long, and unanswerable.
            long = index % 4 == 1
            founded = index % 5 != 2
            paragraph = _town_paragraph(rng, town, long, founded)
            qas = []
            for number, qa in enumerate(paragraph["qas"]):
                if version == "v1" and qa.get("is_impossible"):
                    continue
                qa = {**qa, "id": f"{split}-{index:04d}-{number}"}
                if version == "v2":
                    qa.setdefault("is_impossible", False)
                else:
                    qa.pop("is_impossible", None)
                qas.append(qa)
                texts.append(qa["question"])
            texts.append(paragraph["context"])
            paragraphs = [{"context": paragraph["context"], "qas": qas}]
            articles.append({"title": town, "paragraphs": paragraphs})
        path = root / f"{split}-{suffix}.json"
        path.write_text(json.dumps({"version": label, "data": articles}, indent=1) + "\n")
    write_wordpiece_tokenizer(root / "tokenizer", texts)
    return root


def write_wordpiece_tokenizer(folder: str | Path, texts: list[str]) -> Path:
    """Save a lower-casing BERT WordPiece tokenizer whose vocabulary is every word of ``texts``.

    Single letters and digits (also as ``##`` continuations) are added, so any new word still
    splits into known pieces instead of ``[UNK]``.

    Returns:
        ``folder``, holding ``vocab.txt``, ``tokenizer.json`` and ``tokenizer_config.json``.
    Raises:
        RuntimeError: if the saved tokenizer's vocabulary is not the one written (transformers
            has silently built empty tokenizers from vocabulary files before).
    """
    folder = Path(folder)
    words = sorted({w for text in texts for w in re.findall(r"\w+|[^\w\s]", text.lower())})
    characters = sorted(set(string.ascii_lowercase + string.digits + string.punctuation))
    pieces = characters + [f"##{c}" for c in string.ascii_lowercase + string.digits]
    return save_vocabulary_tokenizer(folder, _SPECIAL_TOKENS + pieces + words)


def save_vocabulary_tokenizer(folder: Path, tokens: list[str]) -> Path:
    """Write ``tokens`` (duplicates dropped, order kept) as ``folder/vocab.txt`` and save the
    lower-casing BERT WordPiece tokenizer built from it beside it.

    Raises:
        RuntimeError: if the saved tokenizer's vocabulary is not the one written (transformers
            has silently built empty tokenizers from vocabulary files before).
    """
    from transformers import AutoTokenizer

    vocabulary = list(dict.fromkeys(tokens))
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.txt").write_text("\n".join(vocabulary) + "\n")
    # BERT's fast tokenizer (BertTokenizerFast before transformers 5, BertTokenizer since);
    # from_pretrained on the folder: transformers 5 ignores BertTokenizerFast(vocab_file=...).
    tokenizer = AutoTokenizer.from_pretrained(str(folder), tokenizer_type="bert")
    tokenizer.save_pretrained(str(folder))
    if len(tokenizer) != len(vocabulary):
        raise RuntimeError(
            f"The tokenizer saved in {folder} has {len(tokenizer)} tokens, not the "
            f"{len(vocabulary)} of its vocab.txt; check the installed transformers version."
        )
    return folder


SAMPLES = SampleSpec(
    {
        "squad_v1": functools.partial(write_squad_sample, version="v1"),
        "squad_v2": functools.partial(write_squad_sample, version="v2"),
    },
    per_class="paragraphs per split",
)
