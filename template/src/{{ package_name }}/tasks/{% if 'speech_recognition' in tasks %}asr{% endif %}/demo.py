"""The speech demo: speech from the microphone or a WAV / FLAC file in, its transcript out;
``--realtime`` reads the FLAC / WAV files below a folder (e.g. a LibriSpeech split)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ...task import DemoSpec, TimedPredictor
from .corpus import SAMPLE_RATE
from .features import SpeechCollator, load_feature_extractor
from .metric import normalize_transcript

AUDIO_SUFFIXES = {".flac", ".wav"}


def read_audio(path: str | Path) -> tuple[int, np.ndarray]:
    """A sound file's sample rate and samples (float32, channels last), by soundfile."""
    import soundfile as sf

    try:
        samples, rate = sf.read(str(path), dtype="float32")
    except (RuntimeError, sf.LibsndfileError) as error:
        raise ValueError(f"{path}: not a readable sound file (WAV, FLAC, OGG): {error}") from error
    return rate, samples


def resample(samples: np.ndarray, rate: int, target: int) -> np.ndarray:
    """Band-limited resampling of a whole utterance through its spectrum (e.g. a 48 kHz
    microphone to the model's 16 kHz): frequencies above the new Nyquist are dropped."""
    if rate == target or len(samples) == 0:
        return samples
    length = max(round(len(samples) * target / rate), 1)
    spectrum = np.fft.rfft(samples)
    kept = np.zeros(length // 2 + 1, dtype=spectrum.dtype)
    shared = min(len(kept), len(spectrum))
    kept[:shared] = spectrum[:shared]
    return (np.fft.irfft(kept, n=length) * (length / len(samples))).astype(np.float32)


def as_model_audio(rate: int, samples: np.ndarray, target: int) -> np.ndarray:
    """Any recording as the model hears it: mono float32 in [-1, 1] at ``target`` Hz."""
    samples = np.asarray(samples)
    if np.issubdtype(samples.dtype, np.integer):  # e.g. 16-bit PCM from a microphone
        samples = samples / float(np.iinfo(samples.dtype).max)
    if samples.ndim == 2:
        samples = samples.mean(axis=1)
    return resample(samples.astype(np.float32), rate, target)


def transcribe_speech(module: Any, data_settings: dict) -> Callable[[Any], str]:
    """A sound file's path, or ``(sample rate, samples)``, -> its transcript.

    The audio goes through the data's own collate (the model's feature extractor) as a batch of
    one, and the module's own decoding (``transcribe``), as in validation and ``predict``.
    """
    extractor = load_feature_extractor(
        data_settings["model_name"], data_settings.get("config_overrides")
    )
    collate = SpeechCollator(extractor, module.family, module.hparams.vocabulary)

    def predict(audio: str | Path | tuple[int, np.ndarray]) -> str:
        rate, samples = read_audio(audio) if isinstance(audio, str | Path) else audio
        item = {"audio": as_model_audio(rate, samples, SAMPLE_RATE), "transcript": ""}
        batch = collate([item | {"id": "request", "path": "", "split": "demo"}])
        return normalize_transcript(module.transcribe(batch)[0])

    return predict


def page(predictor: TimedPredictor, latency: Any) -> None:
    """Speech recorded or uploaded, and its transcript."""
    import gradio as gr

    speech = gr.Audio(
        sources=["microphone", "upload"],
        type="filepath",  # read by soundfile: no ffmpeg needed for WAV and FLAC
        label="Speech (recorded, or a WAV / FLAC file)",
    )
    transcript = gr.Textbox(label="Transcript", lines=3)

    def respond(path: str | None) -> tuple:
        if not path:  # cleared
            return "", ""
        try:
            return predictor(path), predictor.last
        except ValueError as error:
            raise gr.Error(str(error)) from error

    speech.change(respond, speech, [transcript, latency], api_name="transcribe")


def utterances(folder: Path) -> list[tuple[tuple[int, np.ndarray]]]:
    """Every sound file below ``folder``, decoded up front as images are (the latency measured
    is the model's), one request each."""
    paths = sorted(p for p in folder.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES)
    return [(read_audio(path),) for path in paths]


def speech_per_second(requests: list[tuple], seconds: float) -> dict[str, float]:
    """Seconds of speech transcribed per second: above 1 keeps up with live speech."""
    heard = sum(len(samples) / rate for ((rate, samples),) in requests)
    return {"audio_seconds_per_second": heard / seconds}


DEMO = DemoSpec(
    predictor=transcribe_speech,
    page=page,
    requests=utterances,
    inputs="FLAC / WAV files, searched recursively",
    measures=speech_per_second,
)
