"""What every voice backend does to a synthesized line: trim it to the speech and set its level
from the delivery (a whispered line quieter, a shouted one louder)."""

from __future__ import annotations

import re

import numpy as np

from ...core.errors import RenderError
from . import AudioClip, VoiceRequest

PAD_S = 0.03
FRAME_S = 0.01
SILENCE_DB = -40.0  # relative to the loudest 10 ms of the line

NORMAL_PEAK = 0.8
QUIET_PEAK = 0.5
LOUD_PEAK = 0.95
_QUIET = re.compile(
    r"whisper|soft|quiet|murmur|mutter|hush|under (?:his|her|their|my) breath|低声|小声|轻声|耳语|悄悄",
    re.IGNORECASE,
)
_LOUD = re.compile(r"shout|yell|scream|\bloud|roar|bellow|cries out|大喊|大叫|喊|吼|尖叫", re.IGNORECASE)


def delivery_peak(parenthetical: str | None) -> float:
    """Peak level of a line: a whispered line a little quieter, a shouted one a little louder."""
    if parenthetical and _QUIET.search(parenthetical):
        return QUIET_PEAK
    if parenthetical and _LOUD.search(parenthetical):
        return LOUD_PEAK
    return NORMAL_PEAK


def trim_silence(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """Cut leading and trailing silence down to PAD_S, so a clip's length is its speech.

    Loudness is measured in 10 ms frames against the loudest frame; an all-silent clip comes back
    empty."""
    frame = max(1, round(sample_rate * FRAME_S))
    count = len(samples) // frame
    if count == 0:
        return samples[:0]
    rms = np.sqrt(np.mean(np.square(samples[: count * frame].reshape(count, frame)), axis=1))
    loud = np.flatnonzero(rms > rms.max() * 10 ** (SILENCE_DB / 20))
    if loud.size == 0:
        return samples[:0]
    pad = round(sample_rate * PAD_S)
    start = max(0, loud[0] * frame - pad)
    end = min(len(samples), (loud[-1] + 1) * frame + pad)
    return samples[start:end]


def finish(samples: np.ndarray, sample_rate: int, request: VoiceRequest, backend: str) -> AudioClip:
    """Trim to the speech and set the delivery level; a line with no audible speech is an error."""
    speech = trim_silence(samples, sample_rate)
    if speech.size == 0:
        raise RenderError(request.line_id, backend, f"no audible speech for {request.text!r}")
    level = delivery_peak(request.parenthetical) / np.max(np.abs(speech))
    return AudioClip((speech * level).astype(np.float32), sample_rate)
