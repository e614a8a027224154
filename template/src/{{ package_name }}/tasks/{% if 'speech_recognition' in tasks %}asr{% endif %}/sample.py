"""The sample data set of speech recognition: LibriSpeech-format FLAC files of sentences in a
tone alphabet (``python -m <package>.data.samples librispeech-tones <folder>``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

from ...task import SampleSpec, new_sample_folder

# A "tone alphabet": every letter is a chord of one low and one high tone (as telephone keys
# are), letters are separated by short pauses and words by longer ones, so that letters are
# easy to tell apart in a spectrogram. Each speaker shifts every pitch a little and speaks at
# a different loudness, each utterance jitters the pitch, and dev-other adds more noise.
_TONE_LETTERS = "AEHINORST'"
_LOW_HZ = (300.0, 420.0, 590.0, 830.0)
_HIGH_HZ = (1250.0, 1750.0, 2450.0)
_TONE_WORDS = (
    "A AN AT EAST HE HER HERO IN IS IT IT'S NO NOT ON ONE RAIN REST SEA SHE SHORE SO SON STONE "
    "TEN THE THERE THIS TO TREE HORSE SISTER TRAIN NORTH ASH OAR"
)
# split: (speakers, chapters per speaker, noise level)
_SPEECH_SPLITS = {
    "train-clean-100": ([19, 26, 103], 2, 0.004),
    "dev-clean": ([84, 174], 1, 0.004),
    "dev-other": ([116, 251], 1, 0.03),
}


def _tone_utterance(
    words: list[str], pitch: float, loudness: float, noise: float, rng: np.random.Generator
) -> np.ndarray:
    """The samples (16 kHz, float32) of ``words`` spoken in the tone alphabet."""
    rate, letter_s, gap_s, space_s = 16_000, 0.07, 0.02, 0.12
    t = np.arange(int(letter_s * rate)) / rate
    ramp = np.minimum(1.0, np.minimum(t, letter_s - t) / 0.01)  # 10 ms fades: no clicks
    parts = [np.zeros(int(0.1 * rate))]
    for w, word in enumerate(words):
        if w:
            parts.append(np.zeros(int(space_s * rate)))
        for c, letter in enumerate(word):
            if c:
                parts.append(np.zeros(int(gap_s * rate)))
            index = _TONE_LETTERS.index(letter)
            low, high = _LOW_HZ[index % 4] * pitch, _HIGH_HZ[index // 4] * pitch
            chord = np.sin(2 * np.pi * low * t) + np.sin(2 * np.pi * high * t)
            parts.append(0.5 * loudness * ramp * chord)
    parts.append(np.zeros(int(0.1 * rate)))
    audio = np.concatenate(parts)
    audio += rng.normal(0.0, noise, audio.shape)
    return np.clip(audio, -1.0, 1.0).astype(np.float32)


def write_librispeech_sample(
    root: str | Path,
    *,
    per_class: int | None = None,
    utterances_per_chapter: int = 40,
    seed: int = 0,
) -> Path:
    """Write a LibriSpeech-format data set of sentences in a tone alphabet, as real FLAC files.

    Layout: ``root/<split>/<speaker>/<chapter>/<speaker>-<chapter>-<utterance>.flac`` (16 kHz
    mono) and ``<speaker>-<chapter>.trans.txt`` beside them, for the splits
    ``train-clean-100`` (3 speakers, 2 chapters each), ``dev-clean`` and ``dev-other`` (2
    speakers each, 1 chapter, other speakers than training; dev-other is noisier). A
    transcript is 2 to 4 upper-case words over the letters ``AEHINORST'``; each letter
    sounds as a chord of two tones (1 to 2.5 seconds an utterance).

    Args:
        root: folder to create (must not hold a data set already).
        per_class: keep at most this many utterances per chapter (tiny sets for tests).
        utterances_per_chapter: utterances in each chapter.
        seed: seed of the sentences, pitches and noise.
    Returns:
        ``root`` as a Path.
    """
    root = new_sample_folder(root)
    rng = np.random.default_rng(seed)
    count = min(utterances_per_chapter, per_class or utterances_per_chapter)
    for split, (speakers, chapters, noise) in _SPEECH_SPLITS.items():
        for speaker in speakers:
            pitch, loudness = rng.uniform(0.97, 1.03), rng.uniform(0.5, 0.9)
            for chapter in range(chapters):
                chapter_id = speaker * 10 + chapter
                folder = root / split / str(speaker) / str(chapter_id)
                folder.mkdir(parents=True)
                lines = []
                for number in range(count):
                    words = list(rng.choice(_TONE_WORDS.split(), size=int(rng.integers(2, 5))))
                    utterance_id = f"{speaker}-{chapter_id}-{number:04d}"
                    jitter = rng.uniform(0.99, 1.01)  # no one says a word the same way twice
                    audio = _tone_utterance(words, pitch * jitter, loudness, noise, rng)
                    sf.write(folder / f"{utterance_id}.flac", audio, 16_000, format="FLAC")
                    lines.append(f"{utterance_id} {' '.join(words)}")
                (folder / f"{speaker}-{chapter_id}.trans.txt").write_text("\n".join(lines) + "\n")
    return root


SAMPLES = SampleSpec(
    {"librispeech-tones": write_librispeech_sample}, per_class="utterances per chapter"
)
