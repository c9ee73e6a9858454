"""The audit of the sound stage: every planned effect is in the mix at its frame, every ambience
bed is under its scene, and no bed masks a line.

Presence is measured on the episode's own mix: the effect's own audio is looked for near its
planned place, and the mix is projected on it there: the gain of the part of the mix that is
the clip says whether it is heard, whatever else plays (a missing lane, a shifted clip or an
effect mixed far under its level fails). Other sounds add little to the projection, and what they
add by chance is measured: the same projection at places the clip is not (the mix shifted
round) gives the chance level the clip's own must stand clear of. A bed, as long as its scene, is
measured window by window and the projections summed: an edit re-measures only the windows it
reached. Masking is measured on the stems as the mix places them: a line's level against the beds
under it before ducking, the worst case.
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
        *[check_bed(clip, mix, timeline.fps, options, kept) for clip in timeline.ambience],
        *[kept.measure(0, 0, ("masking", clip_identity(line), beds_identity, options),
                       lambda line=line: check_masking(line, timeline, beds, options),
                       lambda done: done.model_dump(mode="json"), Check.model_validate)
          for line in timeline.dialogue],
    ]


def nearby(check: Callable[..., Check], clip: EffectClip, mix: np.ndarray, fps: int,
           options: AuditOptions, search_s: float, kept: KeptSound) -> Check:
    """`check` of one clip on the stretch of the mix it reads (its place, the search and the
    chance shifts either side), whitened by that stretch's own spectrum: the music around the
    clip is what it must be told from, and an edit elsewhere does not change the measurement."""
    planned = frames_to_samples(clip.start_frame, fps)
    low, high = reached(planned, frames_to_samples(clip.duration_frames, fps), len(mix), search_s)

    def measure() -> Check:
        stretch, whiten = whitened(mix[low:high])
        return check(clip, stretch, whiten, fps, options, origin=low)

    return kept.measure(low, high, (check.__name__, clip_identity(clip), options), measure,
                        lambda done: done.model_dump(mode="json"), Check.model_validate)


def reached(start: int, length: int, total: int, search_s: float = 0.0) -> tuple[int, int]:
    """The stretch of the mix that measuring samples [start, start + length) reads: the search
    and the chance shifts either side (and the AAC priming), within the episode."""
    reach = round((search_s + max(map(abs, CHANCE_SHIFTS_S))) * ffmpeg.AUDIO_RATE) + ffmpeg.AAC_PRIMING
    return max(0, start - reach), min(total, start + length + reach)


WHITENED_HZ = (30.0, 12000.0)  # AAC drops the top octave: a band the mix has lost must not count


def whitened(mix: np.ndarray, bands: int = 40) -> tuple[np.ndarray, Callable[[np.ndarray], np.ndarray]]:
    """The mix with its long-term spectrum flattened (in log-spaced bands), and the same filter
    for each clip: where the music is loud the comparison counts less, so a quiet bed in a band
    the music leaves free is still found (a matched filter in coloured noise). The mix's one
    transform gives both its spectrum and its filtering."""
    spectrum, size, weight = whitening(mix, bands)
    return np.fft.irfft(spectrum * weight(size), size)[: len(mix)], lambda samples: filtered(samples, weight)


def whitened_twice(mix: np.ndarray, bands: int = 40) -> Callable[[np.ndarray], np.ndarray]:
    """The filter that whitens the mix, applied twice, for a clip: the whitened mix projected on
    the whitened clip is the mix as it is projected on the clip filtered so (the filter is real
    and zero-phase), which spares filtering the mix where no search needs it whitened."""
    _, _, weight = whitening(mix, bands)
    return lambda samples: filtered(samples, lambda n: weight(n) ** 2)


def whitening(mix: np.ndarray, bands: int) -> tuple[np.ndarray, int, Callable[[int], np.ndarray]]:
    """The mix's transform (of `size` points) and the whitening filter's gain at each frequency
    of an `n`-point transform."""
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

    return spectrum, size, weight


def filtered(samples: np.ndarray, weight: Callable[[int], np.ndarray]) -> np.ndarray:
    n = fast_length(len(samples))
    return np.fft.irfft(np.fft.rfft(samples.astype(np.float64, copy=False), n) * weight(n), n)[: len(samples)]


CHANCE_SHIFTS_S = tuple(0.25 * k for k in range(-16, 17) if k)


@dataclass(frozen=True)
class Found:
    offset_s: float  # where the clip fits the mix best, from its planned start
    gain_db: float  # the clip's gain in the mix there
    z: float  # how far that gain stands above its gains at shifted places (chance)


def found_in_mix(clip: Clip, mix: np.ndarray, whiten: Callable[[np.ndarray], np.ndarray], fps: int,
                 search_s: float, origin: int = 0) -> Found:
    """Where the clip's audio fits the (whitened) mix best near its planned place, its gain
    there, and how that gain compares with the clip's gains at places it is not (the mix
    shifted round). `mix` starts at sample `origin` of the episode."""
    reference, _ = read_wav(clip.path)
    reference = whiten(reference[: frames_to_samples(clip.duration_frames, fps)])
    planned, search = frames_to_samples(clip.start_frame, fps) - origin, round(search_s * ffmpeg.AUDIO_RATE)
    low = max(0, planned - search)
    start = low + best_offset(reference, mix[low: planned + len(reference) + search]) if search else planned
    return found(projections(reference, mix, start), (start - planned) / ffmpeg.AUDIO_RATE)


def projections(reference: np.ndarray, mix: np.ndarray, start: int, own: np.ndarray | None = None) -> np.ndarray:
    """The mix projected on the clip at `start`, over the part of the clip the mix holds, and that
    part's energy; the clip's own energy; and the projection at each chance shift from `start`:
    sums that add up over the parts of a clip. `own`: the clip before `reference` filtered it
    twice (whitened_twice), for its whitened energy; none: `reference` is the whitened clip."""
    own = reference if own is None else own
    placed = mix[start: start + len(reference)]
    n = len(placed)
    energy = np.dot(own, reference)  # the clip's own, once: each chance place holds all of it
    chance = [np.dot(reference, wrapped(mix, start + round(s * ffmpeg.AUDIO_RATE), len(reference)))
              for s in CHANCE_SHIFTS_S]
    return np.array([np.dot(reference[:n], placed), np.dot(own[:n], reference[:n]), energy, *chance])


def found(sums: np.ndarray, offset_s: float) -> Found:
    """The clip's gain in the mix and how far it stands over chance, from its projections."""
    here, chance = sums[0] / (sums[1] + 1e-20), sums[3:] / (sums[2] + 1e-20)
    z = (here - chance.mean()) / (chance.std() + 1e-12)
    return Found(offset_s, 20 * np.log10(max(here, 1e-6)), float(z))


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


BED_WINDOW_S = 10.0  # an edit measures again the windows whose stretch it reached
BED_MARGIN_S = 0.5  # the twice-whitened window rings past its ends: this much of it either side is kept


def check_bed(clip: AmbienceClip, mix: np.ndarray, fps: int, options: AuditOptions, kept: KeptSound) -> Check:
    """The bed under its scene: its projections summed over windows of BED_WINDOW_S, each
    measured on its own stretch of the mix, whitened by that stretch (see `nearby`), and kept by
    what it read. A bed lies where the scene starts: nothing to search, so the mix is left as it
    is and the window of the bed filtered for both (whitened_twice)."""
    reference, _ = read_wav(clip.path)
    reference = reference[: frames_to_samples(clip.duration_frames, fps)]
    planned, window = frames_to_samples(clip.start_frame, fps), round(BED_WINDOW_S * ffmpeg.AUDIO_RATE)
    sums = np.zeros(3 + len(CHANCE_SHIFTS_S))
    margin, identity = round(BED_MARGIN_S * ffmpeg.AUDIO_RATE), clip_identity(clip)
    for first in range(0, len(reference), window):
        before = min(margin, planned + first)  # the filter's ringing either side is kept (in the episode)
        part = np.pad(reference[first: first + window], (before, margin))
        low, high = reached(planned + first - before, len(part), len(mix))

        def measure(part=part, low=low, high=high, start=planned + first - before) -> list[float]:
            stretch = mix[low:high].astype(np.float64)
            return projections(whitened_twice(stretch)(part), stretch, start - low, own=part).tolist()

        sums += kept.measure(low, high, ("bed", identity, first, options), measure, list, np.asarray)
    bed = found(sums, 0.0)
    present = heard(bed, options)
    return _check("ambience-present", clip.scene_id, options.effect_min_gain_db, bed.gain_db,
                  Verdict.PASS if present else Verdict.ERROR,
                  f"'{clip.sound}' under the scene, in the mix at {bed.gain_db:+.1f} dB of its own level "
                  f"({bed.z:.0f} sd over chance)" + ("" if present else " (not heard)"))


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
        lo, hi = max(0, offset), min(len(audio), offset + len(voice))  # the bed's samples under the line
        if lo < hi:
            bed[lo - offset: hi - offset] += audio[lo:hi]
    if rms_db(voice) < options.silence_dbfs:
        return _check("ambience-margin", line.line_id, options.dialogue_over_ambience_min_db, None,
                      Verdict.SKIPPED, "the line's own audio is silent (line-audible reports it)")
    margin = rms_db(voice) - rms_db(bed)
    enough = margin >= options.dialogue_over_ambience_min_db
    return _check("ambience-margin", line.line_id, options.dialogue_over_ambience_min_db, margin,
                  Verdict.PASS if enough else Verdict.ERROR,
                  f"the line is {margin:.1f} dB over the ambience under it, before ducking"
                  + ("" if enough else ": the ambience masks it; lower the bed or remove it from the scene"))
