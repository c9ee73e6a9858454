"""The audit of the sound stage: every planned effect is in the mix at its frame, every ambience
bed is under its scene, and no bed masks a line.

Presence is measured on the episode's own mix: the effect's own audio is looked for near its
planned place, and the mix is projected on it there: the gain of the part of the mix that is
the clip says whether it is heard, whatever else plays (a missing lane, a shifted clip or an
effect mixed far under its level fails). Other sounds add little to the projection, and what they
add by chance is measured: the same projection at places the clip is not (the mix shifted
round) gives the chance level the clip's own must stand clear of. Masking is measured on the stems as the
mix places them: a line's level against the beds under it before ducking, the worst case.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..core.config import AuditOptions
from ..edit import ffmpeg
from ..edit.audio import fast_length, frames_to_samples, read_wav
from ..edit.timeline import AmbienceClip, Clip, EffectClip, LineClip, Timeline
from .audit import Check, Verdict, _check, best_offset, rms_db
from .kept_sound import KeptSound, clip_identity


def check_sound(timeline: Timeline, mix: np.ndarray, options: AuditOptions, kept: KeptSound | None = None) -> list[Check]:
    """All the sound stage's checks of one episode, in timeline order per kind. Each effect and
    bed is measured on its own stretch of the mix (`kept`: measurements kept by what they read)."""
    kept = kept or KeptSound(None, None)
    beds = functools.cache(lambda path: read_wav(path)[0])  # each read once, not once a line, if at all
    beds_identity = tuple(clip_identity(clip) for clip in timeline.ambience)
    return [
        *[nearby(check_effect, clip, mix, timeline.fps, options, options.effect_search_s, kept) for clip in timeline.effects],
        *[nearby(check_bed, clip, mix, timeline.fps, options, 0.0, kept) for clip in timeline.ambience],
        *[kept.measure(0, 0, ("masking", clip_identity(line), beds_identity, options),
                       lambda line=line: check_masking(line, timeline, beds, options),
                       lambda done: done.model_dump(mode="json"), Check.model_validate)
          for line in timeline.dialogue],
    ]


def nearby(check: Callable[..., Check], clip: EffectClip | AmbienceClip, mix: np.ndarray, fps: int,
           options: AuditOptions, search_s: float, kept: KeptSound) -> Check:
    """`check` of one clip on the stretch of the mix it reads (its place, the search and the
    chance shifts either side), whitened by that stretch's own spectrum: the music around the
    clip is what it must be told from, and an edit elsewhere does not change the measurement."""
    reach = round((search_s + max(map(abs, CHANCE_SHIFTS_S))) * ffmpeg.AUDIO_RATE) + ffmpeg.AAC_PRIMING
    planned = frames_to_samples(clip.start_frame, fps)
    low = max(0, planned - reach)
    high = min(len(mix), planned + frames_to_samples(clip.duration_frames, fps) + reach)

    def measure() -> Check:
        stretch, whiten = whitened(mix[low:high])
        return check(clip, stretch, whiten, fps, options, origin=low)

    return kept.measure(low, high, (check.__name__, clip_identity(clip), options), measure,
                        lambda done: done.model_dump(mode="json"), Check.model_validate)


WHITENED_HZ = (30.0, 12000.0)  # AAC drops the top octave: a band the mix has lost must not count


def whitened(mix: np.ndarray, bands: int = 40) -> tuple[np.ndarray, Callable[[np.ndarray], np.ndarray]]:
    """The mix with its long-term spectrum flattened (in log-spaced bands), and the same filter
    for each clip: where the music is loud the comparison counts less, so a quiet bed in a band
    the music leaves free is still found (a matched filter in coloured noise). The mix's one
    transform gives both its spectrum and its filtering."""
    size = fast_length(len(mix))
    spectrum = np.fft.rfft(mix.astype(np.float64, copy=False), size)
    freqs = np.fft.rfftfreq(size, 1 / ffmpeg.AUDIO_RATE)
    edges = np.geomspace(*WHITENED_HZ, bands + 1)
    centres = np.sqrt(edges[:-1] * edges[1:])
    band = np.searchsorted(edges, freqs, side="right") - 1  # -1 and `bands`: outside every band
    inside = (band >= 0) & (band < bands)
    total = np.bincount(band[inside], weights=np.abs(spectrum[inside]) ** 2, minlength=bands)
    count = np.bincount(band[inside], minlength=bands)
    level = np.where(count > 0, total / np.maximum(count, 1), 0.0)
    level = np.maximum(level, level.max() * 1e-6 + 1e-30)  # at most 60 dB of boost

    def weight(n: int) -> np.ndarray:
        f = np.fft.rfftfreq(n, 1 / ffmpeg.AUDIO_RATE)
        weight = 1 / np.sqrt(np.interp(np.clip(f, centres[0], centres[-1]), centres, level))
        weight[(f < WHITENED_HZ[0]) | (f > WHITENED_HZ[1])] = 0.0
        return weight

    def whiten(samples: np.ndarray) -> np.ndarray:
        n = fast_length(len(samples))
        return np.fft.irfft(np.fft.rfft(samples.astype(np.float64, copy=False), n) * weight(n), n)[: len(samples)]

    return np.fft.irfft(spectrum * weight(size), size)[: len(mix)], whiten


CHANCE_SHIFTS_S = tuple(0.25 * k for k in range(-16, 17) if k)


@dataclass(frozen=True)
class Found:
    offset_s: float  # where the clip fits the mix best, from its planned start
    gain_db: float  # the clip's gain in the mix there
    z: float  # how far that gain stands above its gains at shifted places (chance)


def gain(reference: np.ndarray, placed: np.ndarray) -> float:
    """The gain of the clip's own audio in the mix: the mix projected on the clip."""
    n = min(len(reference), len(placed))
    a, b = reference[:n].astype(np.float64, copy=False), placed[:n].astype(np.float64, copy=False)
    return float(np.dot(a, b) / (np.dot(a, a) + 1e-20))


def found_in_mix(clip: Clip, mix: np.ndarray, whiten: Callable[[np.ndarray], np.ndarray], fps: int,
                 search_s: float, origin: int = 0) -> Found:
    """Where the clip's audio fits the (whitened) mix best near its planned place, its gain
    there, and how that gain compares with the clip's gains at places it is not (the mix
    shifted round). `mix` starts at sample `origin` of the episode."""
    reference, _ = read_wav(clip.path)
    reference = reference[: frames_to_samples(clip.duration_frames, fps)]
    reference = whiten(reference)
    planned, search = frames_to_samples(clip.start_frame, fps) - origin, round(search_s * ffmpeg.AUDIO_RATE)
    low = max(0, planned - search)
    start = low + best_offset(reference, mix[low: planned + len(reference) + search]) if search else planned
    here = gain(reference, mix[start: start + len(reference)])
    energy = np.dot(reference, reference) + 1e-20  # the clip's own, once: each chance place holds all of it
    chance = np.array([np.dot(reference, wrapped(mix, start + round(s * ffmpeg.AUDIO_RATE), len(reference)))
                       for s in CHANCE_SHIFTS_S]) / energy
    z = (here - chance.mean()) / (chance.std() + 1e-12)
    return Found((start - planned) / ffmpeg.AUDIO_RATE, 20 * np.log10(max(here, 1e-6)), float(z))


def wrapped(samples: np.ndarray, start: int, length: int) -> np.ndarray:
    """`length` samples from `start`, going round past either end (a view where one turn will do:
    indexing a scene-long bed sample by sample, 32 times, was most of the sound checks)."""
    if not len(samples):  # an episode file with no sound left in it (cut short): nothing is heard
        return np.zeros(length, samples.dtype)
    start %= len(samples)
    if start + length <= len(samples):
        return samples[start: start + length]
    return np.take(samples, np.arange(length) + start, mode="wrap")


def heard(found: Found, options: AuditOptions) -> bool:
    return found.gain_db >= options.effect_min_gain_db and found.z >= options.effect_min_z


def check_effect(clip: EffectClip, mix: np.ndarray, whiten, fps: int, options: AuditOptions, origin: int = 0) -> Check:
    found = found_in_mix(clip, mix, whiten, fps, options.effect_search_s, origin)
    window = f"{clip.start_frame / fps:.2f}-{(clip.start_frame + clip.duration_frames) / fps:.2f} s"
    present = heard(found, options) and abs(found.offset_s) <= 1 / fps + 1e-9
    return _check("sfx-present", clip.shot_id, options.effect_min_gain_db, found.gain_db,
                  Verdict.PASS if present else Verdict.ERROR,
                  f"'{clip.sound}' in {window}: in the mix at {found.gain_db:+.1f} dB of its own level "
                  f"({found.z:.0f} sd over chance), {found.offset_s * 1000:+.0f} ms from its frame"
                  + ("" if present else " (not heard where planned)"))


def check_bed(clip: AmbienceClip, mix: np.ndarray, whiten, fps: int, options: AuditOptions, origin: int = 0) -> Check:
    found = found_in_mix(clip, mix, whiten, fps, 0, origin)  # a bed lies where the scene starts: nothing to search
    present = heard(found, options)
    return _check("ambience-present", clip.scene_id, options.effect_min_gain_db, found.gain_db,
                  Verdict.PASS if present else Verdict.ERROR,
                  f"'{clip.sound}' under the scene, in the mix at {found.gain_db:+.1f} dB of its own level "
                  f"({found.z:.0f} sd over chance)" + ("" if present else " (not heard)"))


def check_masking(line: LineClip, timeline: Timeline, beds: Callable[[Path], np.ndarray],
                  options: AuditOptions) -> Check:
    """The line's level against the sum of the beds under it (`beds`: a bed clip's samples by its
    path), over the line's own samples. It reads the stems, not the mix: kept by its clips."""
    voice, _ = read_wav(line.path)
    start = frames_to_samples(line.start_frame, timeline.fps)
    bed = np.zeros(len(voice), dtype=np.float32)
    for clip in timeline.ambience:
        audio = beds(clip.path)
        offset = start - frames_to_samples(clip.start_frame, timeline.fps)
        lo, hi = max(0, offset), max(0, min(len(audio), offset + len(voice)))
        bed[lo - offset: hi - offset] += audio[lo:hi]
    if rms_db(voice) < options.silence_dbfs:
        return _check("ambience-margin", line.line_id, options.dialogue_over_ambience_min_db, None,
                      Verdict.SKIPPED, "the line's own audio is silent (line-audible reports it)")
    margin = rms_db(voice) - rms_db(bed)
    enough = margin >= options.dialogue_over_ambience_min_db
    return _check("ambience-margin", line.line_id, options.dialogue_over_ambience_min_db, margin,
                  Verdict.PASS if enough else Verdict.ERROR,
                  f"the line is {margin:.1f} dB over the ambience under it"
                  + ("" if enough else ": the ambience masks it; lower the bed or remove it from the scene"))
