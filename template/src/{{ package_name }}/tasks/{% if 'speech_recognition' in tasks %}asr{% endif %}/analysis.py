"""The data-set analysis of LibriSpeech folders: durations, characters per second, the
character vocabulary, speakers."""

from __future__ import annotations

import statistics
from collections import Counter

from ...charts import bar_chart, histogram, spread
from ...task import Analysis
from .librispeech import LibriSpeechDataModule


def analyze(data: LibriSpeechDataModule) -> Analysis:
    """Durations, characters per second, the character vocabulary and speakers per split.

    Counted over the utterances the DataModule keeps (``data.utterances``: training ones
    outside ``min_seconds``..``max_seconds`` are already left out); durations come from the
    FLAC headers read when the data was checked.
    """
    splits = {stage: utterances for stage, utterances in data.utterances.items() if utterances}
    seconds = {stage: [u.seconds for u in utterances] for stage, utterances in splits.items()}
    rates = {
        stage: [len(u.transcript) / u.seconds for u in utterances if u.seconds > 0]
        for stage, utterances in splits.items()
    }
    characters = Counter(c for u in splits.get("train", []) for c in u.transcript)
    words = {
        stage: {w for u in utterances for w in u.transcript.split()}
        for stage, utterances in splits.items()
    }
    unseen = {
        stage: len(words[stage] - words.get("train", set())) for stage in splits if stage != "train"
    }
    hours = {stage: round(sum(values) / 3600, 4) for stage, values in seconds.items()}
    speakers = {stage: len({u.speaker for u in utterances}) for stage, utterances in splits.items()}
    numbers = {
        "utterances": {stage: len(utterances) for stage, utterances in splits.items()},
        "hours": hours,
        "seconds": {stage: spread(values) for stage, values in seconds.items()},
        "characters_per_second": {stage: spread(values) for stage, values in rates.items()},
        "speakers": speakers,
        "characters": dict(sorted(characters.items())),
        "words": {stage: len(vocabulary) for stage, vocabulary in words.items()},
        "words_not_in_train": unseen,
    }
    table = (
        "Utterances",
        ["split", "utterances", "hours", "speakers", "median seconds", "median chars / s"],
        [
            [
                stage,
                len(splits[stage]),
                f"{hours[stage]:.2f}",
                speakers[stage],
                f"{statistics.median(seconds[stage]):.1f}",
                f"{statistics.median(rates[stage]):.1f}" if rates[stage] else "-",
            ]
            for stage in splits
        ],
    )
    panels = [("duration (seconds)", seconds), ("characters per second", rates)]
    figures = [
        ("durations", histogram(panels, "Utterance length and speaking rate")),
        (
            "characters",
            bar_chart(
                {"train": dict(characters.most_common())},
                "Characters in the training transcripts",
                "count",
            ),
        ),
    ]
    return Analysis(f"LibriSpeech: {data.hparams.root}", numbers, [table], figures)
