"""From CTC scores to text: greedy decoding and prefix beam search over the characters.

Whisper decodes with its own ``generate``; these are for the CTC family (wav2vec2, HuBERT,
WavLM and our :class:`~.logmel_bigru.LogMelBiGRUForCTC`), whose output scores every 20 ms frame.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor

from .vocabulary import SPECIAL_TOKENS, WORD_DELIMITER


def ids_to_text(ids: Sequence[int], vocabulary: Sequence[str]) -> str:
    """Characters of ``ids`` (``|`` as a space, other special tokens dropped), spaces tidied."""
    tokens = [vocabulary[i] for i in ids if 0 <= i < len(vocabulary)]
    text = "".join(" " if t == WORD_DELIMITER else t for t in tokens if t not in SPECIAL_TOKENS[:4])
    return " ".join(text.split())


def ctc_greedy_decode(
    logits: Tensor, vocabulary: Sequence[str], lengths: Tensor | None = None, blank: int = 0
) -> list[str]:
    """Best path decoding: the top token of each frame, repeats merged, blanks dropped.

    Args:
        logits: ``(batch, frames, vocabulary)`` scores (or log-probabilities).
        vocabulary: the tokens by id.
        lengths: valid frames of each row (the rest is padding); None uses all frames.
        blank: id of the CTC blank.
    """
    best = logits.argmax(dim=-1).cpu()
    texts = []
    for row, path in enumerate(best.tolist()):
        if lengths is not None:
            path = path[: int(lengths[row])]
        merged = [token for i, token in enumerate(path) if i == 0 or token != path[i - 1]]
        texts.append(ids_to_text([token for token in merged if token != blank], vocabulary))
    return texts


def _log_add(a: float, b: float) -> float:
    """``log(exp(a) + exp(b))`` without overflow; ``-inf`` is probability 0."""
    if a == -math.inf:
        return b
    if b == -math.inf:
        return a
    high, low = (a, b) if a > b else (b, a)
    return high + math.log1p(math.exp(low - high))


BLANK_END, LAST_END = 0, 1  # the two path probabilities a beam prefix carries


def _add_path(
    beams: dict[tuple[int, ...], list[float]], prefix: tuple[int, ...], end: int, log_p: float
) -> None:
    """Add the probability ``log_p`` of paths spelling ``prefix`` and ending as ``end``."""
    entry = beams.setdefault(prefix, [-math.inf, -math.inf])
    entry[end] = _log_add(entry[end], log_p)


def ctc_prefix_beam_search(
    logits: Tensor,
    vocabulary: Sequence[str],
    lengths: Tensor | None = None,
    blank: int = 0,
    beam_width: int = 8,
) -> list[str]:
    """CTC prefix beam search: the most probable transcript over all paths that spell it.

    Greedy decoding follows one path (the best token of each frame); a transcript's
    probability is the sum over *every* frame path that collapses to it, and the best path
    need not spell the best transcript. The search keeps the ``beam_width`` most probable
    prefixes after each frame, each with two probabilities: of the paths that spell it and end
    in a blank, and of those ending in its last character (a repeat of which merges into it
    unless a blank came between). Each frame extends a prefix only by that frame's
    ``beam_width`` most probable tokens. No language model.

    Args:
        logits: ``(batch, frames, vocabulary)`` scores (log-softmax is applied here).
        vocabulary: the tokens by id.
        lengths: valid frames of each row (the rest is padding); None uses all frames.
        blank: id of the CTC blank.
        beam_width: prefixes kept after each frame.
    """
    log_probs = torch.log_softmax(logits.detach().float(), dim=-1).cpu()
    top = min(beam_width, log_probs.shape[-1])
    texts = []
    for row in range(len(log_probs)):
        frames = log_probs[row] if lengths is None else log_probs[row, : int(lengths[row])]
        # prefix (tuple of ids) -> (log P(paths ending in blank), log P(ending in its last id))
        beams: dict[tuple[int, ...], tuple[float, float]] = {(): (0.0, -math.inf)}
        for frame in frames:
            scores, tokens = frame.topk(top)
            extended: dict[tuple[int, ...], list[float]] = {}
            for prefix, (in_blank, in_last) in beams.items():
                total = _log_add(in_blank, in_last)
                for score, token in zip(scores.tolist(), tokens.tolist(), strict=True):
                    if score == -math.inf:  # a token of probability 0 extends nothing
                        continue
                    if token == blank:
                        _add_path(extended, prefix, BLANK_END, total + score)
                    elif prefix and token == prefix[-1]:
                        # A repeat merges into the prefix, unless a blank came between.
                        _add_path(extended, prefix, LAST_END, in_last + score)
                        _add_path(extended, prefix + (token,), LAST_END, in_blank + score)
                    else:
                        _add_path(extended, prefix + (token,), LAST_END, total + score)
            ranked = sorted(extended.items(), key=lambda item: -_log_add(*item[1]))
            beams = {prefix: (p[0], p[1]) for prefix, p in ranked[:beam_width]}
        best = max(beams.items(), key=lambda item: _log_add(*item[1]))[0]
        texts.append(ids_to_text(list(best), vocabulary))
    return texts
