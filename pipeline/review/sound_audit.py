"""The audit of the sound stage: every planned effect is in the mix at its frame, every ambience
bed is under its scene, and no bed masks a line.

Presence is measured on the episode's own mix: the effect's own audio is looked for near its
planned place, and the mix is projected on it there: the gain of the part of the mix that is
the clip says whether it is heard, whatever else plays (a missing lane, a shifted clip or an
effect mixed far under its level fails). Uncorrelated sounds add nothing to the projection, so
dialogue over a knock does not hide the knock from the check. Masking is measured on the stems as the
mix places them: a line's level against the beds under it before ducking, the worst case.
"""

from __future__ import annotations

import numpy as np

from ..core.config import AuditOptions
from ..edit import ffmpeg
from ..edit.audio import frames_to_samples, read_wav
from ..edit.timeline import AmbienceClip, Clip, EffectClip, LineClip, Timeline
from .audit import Check, Verdict, _check, best_offset, rms_db


def check_sound(timeline: Timeline, mix: np.ndarray, options: AuditOptions) -> list[Check]:
    """All the sound stage's checks of one episode, in timeline order per kind."""
    return [
        *[check_effect(clip, mix, timeline.fps, options) for clip in timeline.effects],
        *[check_bed(clip, mix, timeline.fps, options) for clip in timeline.ambience],
        *[check_masking(line, timeline, options) for line in timeline.dialogue],
    ]


def gain_db(reference: np.ndarray, placed: np.ndarray) -> float:
    """The gain, in dB, of the clip's own audio in the mix where it was found: the mix projected
    on the clip (-120 when nothing of it is there, or less than nothing)."""
    n = min(len(reference), len(placed))
    a, b = reference[:n].astype(np.float64), placed[:n].astype(np.float64)
    gain = np.dot(a, b) / (np.dot(a, a) + 1e-20)
    return 20 * np.log10(max(float(gain), 1e-6))


def found_in_mix(clip: Clip, mix: np.ndarray, fps: int, search_s: float) -> tuple[float, float]:
    """Where the clip's audio fits the mix best near its planned place (seconds from the
    planned start) and its gain in the mix there (dB)."""
    reference, _ = read_wav(clip.path)
    reference = reference[: frames_to_samples(clip.duration_frames, fps)]
    planned, search = frames_to_samples(clip.start_frame, fps), round(search_s * ffmpeg.AUDIO_RATE)
    low = max(0, planned - search)
    start = low + best_offset(reference, mix[low: planned + len(reference) + search])
    return (start - planned) / ffmpeg.AUDIO_RATE, gain_db(reference, mix[start: start + len(reference)])


def check_effect(clip: EffectClip, mix: np.ndarray, fps: int, options: AuditOptions) -> Check:
    offset, heard = found_in_mix(clip, mix, fps, options.effect_search_s)
    window = f"{clip.start_frame / fps:.2f}-{(clip.start_frame + clip.duration_frames) / fps:.2f} s"
    present = heard >= options.effect_min_gain_db and abs(offset) <= 1 / fps + 1e-9
    return _check("sfx-present", clip.shot_id, options.effect_min_gain_db, heard,
                  Verdict.PASS if present else Verdict.ERROR,
                  f"'{clip.sound}' in {window}: in the mix at {heard:+.1f} dB of its own level, {offset * 1000:+.0f} "
                  f"ms from its frame" + ("" if present else " (not heard where planned)"))


def check_bed(clip: AmbienceClip, mix: np.ndarray, fps: int, options: AuditOptions) -> Check:
    _, heard = found_in_mix(clip, mix, fps, 1 / fps)
    present = heard >= options.effect_min_gain_db
    return _check("ambience-present", clip.scene_id, options.effect_min_gain_db, heard,
                  Verdict.PASS if present else Verdict.ERROR,
                  f"'{clip.sound}' under the scene, in the mix at {heard:+.1f} dB of its own level"
                  + ("" if present else " (not heard)"))


def check_masking(line: LineClip, timeline: Timeline, options: AuditOptions) -> Check:
    """The line's level against the sum of the beds under it, over the line's own samples."""
    voice, _ = read_wav(line.path)
    start = frames_to_samples(line.start_frame, timeline.fps)
    bed = np.zeros(len(voice), dtype=np.float32)
    for clip in timeline.ambience:
        audio, _ = read_wav(clip.path)
        offset = start - frames_to_samples(clip.start_frame, timeline.fps)
        lo, hi = max(0, offset), max(0, min(len(audio), offset + len(voice)))
        bed[lo - offset: hi - offset] += audio[lo:hi]
    margin = rms_db(voice) - rms_db(bed)
    enough = margin >= options.dialogue_over_ambience_min_db
    return _check("ambience-margin", line.line_id, options.dialogue_over_ambience_min_db, margin,
                  Verdict.PASS if enough else Verdict.ERROR,
                  f"the line is {margin:.1f} dB over the ambience under it"
                  + ("" if enough else ": the ambience masks it; lower the bed or remove it from the scene"))
