"""The `synth` music backend: a procedural composer that needs no weights, only numpy.

A cue is made in two steps. `plan_music` turns the request's mood, tempo, intensity and seed into
a musical plan: key, mode, a chord progression with voicings, and an instrumentation. `render`
then writes each instrument's part as notes and synthesizes them (wavetable, FM and noise voices
with envelopes), adds a tempo-synced echo and a convolution reverb, fades both ends so cues can
butt against each other, rounds off rare transient peaks, and normalises the peak: to the
`peak_dbfs` option at full intensity, a few dB lower for a calm cue.

Every random choice draws from a generator seeded by the request's seed and the part's name, and
each part draws in time order: the same request gives the same samples, a new seed a new tune,
and a longer cue of the same scene opens with the same music as a shorter one.

Synthesis is vectorised per note (never per sample), so a minute of music takes a fraction of a
second (bench/synth_speed.py).
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from ...core.models import Mood
from . import AudioClip, Availability, Capabilities, Kind, MusicRequest

KEY_NAMES = ("C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")

MODES: dict[str, tuple[int, ...]] = {
    "ionian": (0, 2, 4, 5, 7, 9, 11),
    "lydian": (0, 2, 4, 6, 7, 9, 11),
    "mixolydian": (0, 2, 4, 5, 7, 9, 10),
    "dorian": (0, 2, 3, 5, 7, 9, 10),
    "aeolian": (0, 2, 3, 5, 7, 8, 10),
    "phrygian": (0, 1, 3, 5, 7, 8, 10),
    "harmonic minor": (0, 2, 3, 5, 7, 8, 11),
    "whole-tone": (0, 2, 4, 6, 8, 10),
}

BEATS_PER_BAR = 4
BASS_REGISTER = 36  # C2: the bass, drone and ostinato play in the octave above it
FADE_SECONDS = 0.5
CALM_HEADROOM_DB = 6.0
MIN_TEMPO, MAX_TEMPO = 40, 200


@dataclass(frozen=True)
class MoodStyle:
    """How a mood sounds: the harmony it draws from and the band that plays it."""

    modes: tuple[str, ...]
    progressions: tuple[tuple[int, ...], ...]  # scale degrees of chord roots, 0 = tonic
    beats_per_chord: int
    colour: str  # "triad", "sus" (no third), "cluster" (a minor ninth added) or "power"
    seventh_chance: float
    brightness: float  # 0 = dull sine-like timbres, 1 = full sawtooth
    bass: str  # "held", "halves" or "root-fifth"
    instruments: tuple[str, ...]
    # (intensity threshold, instrument): the band grows as the scene heats up
    with_intensity: tuple[tuple[float, str], ...] = ()


STYLES: dict[Mood, MoodStyle] = {
    Mood.NEUTRAL: MoodStyle(
        ("ionian", "mixolydian"), ((0, 5, 3, 4), (0, 3, 5, 4), (0, 4, 5, 3)), 4, "triad", 0.3,
        0.4, "halves", ("pad", "bass"),
        ((0.3, "arpeggio"), (0.55, "melody"), (0.7, "hats")),
    ),
    Mood.TENSE: MoodStyle(
        ("phrygian", "harmonic minor", "aeolian"), ((0, 0, 1, 0), (0, 5, 1, 4), (0, 0, 5, 4)), 4,
        "cluster", 0.0, 0.3, "held", ("drone", "ostinato", "pad"),
        ((0.5, "pulse"), (0.7, "hats"), (0.9, "snare")),
    ),
    Mood.SAD: MoodStyle(
        ("aeolian", "dorian"), ((0, 5, 2, 6), (0, 3, 5, 4), (0, 5, 3, 4), (0, 6, 5, 6)), 8,
        "triad", 0.4, 0.2, "held", ("pad", "bass", "keys"),
        ((0.5, "arpeggio"),),
    ),
    Mood.WARM: MoodStyle(
        ("ionian", "lydian"), ((0, 4, 5, 3), (0, 3, 0, 4), (3, 4, 2, 5)), 4, "triad", 0.5,
        0.4, "halves", ("pad", "bass", "arpeggio"),
        ((0.4, "melody"), (0.6, "hats"), (0.8, "kick")),
    ),
    Mood.ROMANTIC: MoodStyle(
        ("ionian", "lydian"), ((3, 4, 2, 5), (0, 2, 3, 4), (0, 5, 3, 4)), 4, "triad", 0.85,
        0.35, "held", ("pad", "bass", "keys"),
        ((0.35, "arpeggio"), (0.75, "hats")),
    ),
    Mood.MYSTERIOUS: MoodStyle(
        ("whole-tone", "dorian", "lydian"), ((0, 1, 0, 5), (0, 4, 1, 0), (0, 2, 1, 3)), 8, "sus",
        0.3, 0.3, "held", ("drone", "pad", "bells"),
        ((0.45, "arpeggio"), (0.75, "pulse")),
    ),
    Mood.JOYFUL: MoodStyle(
        ("ionian", "mixolydian", "lydian"), ((0, 3, 4, 0), (0, 4, 5, 3), (0, 3, 0, 4)), 4,
        "triad", 0.15, 0.65, "root-fifth", ("pad", "bass", "arpeggio", "melody"),
        ((0.3, "hats"), (0.5, "kick"), (0.6, "snare")),
    ),
    Mood.ANGRY: MoodStyle(
        ("phrygian", "harmonic minor", "aeolian"), ((0, 1, 0, 6), (0, 0, 5, 1), (0, 6, 5, 4)), 4,
        "power", 0.0, 0.6, "held", ("ostinato", "pad", "kick"),
        ((0.4, "snare"), (0.6, "hats")),
    ),
}


# --- the plan ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Chord:
    degree: int  # scale degree of the root, 0 = tonic
    pitches: tuple[int, ...]  # MIDI notes of the voicing, low to high
    bass: int  # MIDI note of the root in the bass register


@dataclass(frozen=True)
class MusicPlan:
    """What `plan_music` chose for a cue; everything `render` needs besides the length."""

    mood: Mood
    key: str
    tonic: int  # pitch class, 0 = C
    mode: str
    tempo_bpm: int
    intensity: float
    beats_per_chord: int
    progression: tuple[Chord, ...]  # one cycle; it repeats for the length of the cue
    instruments: tuple[str, ...]
    brightness: float
    seed: int

    @property
    def minor(self) -> bool:
        return 3 in MODES[self.mode] and 4 not in MODES[self.mode]

    @property
    def scale(self) -> tuple[int, ...]:
        """Pitch classes of the mode on the tonic."""
        return tuple((self.tonic + step) % 12 for step in MODES[self.mode])

    @property
    def beat_seconds(self) -> float:
        return 60.0 / self.tempo_bpm

    @property
    def chord_seconds(self) -> float:
        return self.beats_per_chord * self.beat_seconds

    def chord_at(self, seconds: float) -> Chord:
        # the epsilon keeps a note on a chord change, whose onset was summed in floats, from
        # landing a hair before it and taking the previous chord
        index = math.floor(seconds / self.chord_seconds + 1e-6)
        return self.progression[index % len(self.progression)]

    def rng(self, part: str) -> np.random.Generator:
        """A generator of this cue for one part, so parts never shift each other's draws."""
        return np.random.default_rng([self.seed, zlib.crc32(part.encode())])


def plan_music(request: MusicRequest) -> MusicPlan:
    """Choose key, mode, progression, voicings and instruments for a request; pure and cheap."""
    style = STYLES[request.mood]
    rng = np.random.default_rng([request.seed, zlib.crc32(b"plan")])
    tonic = int(rng.integers(12))
    mode = str(rng.choice(style.modes))
    degrees = style.progressions[int(rng.integers(len(style.progressions)))]
    centre = int(rng.integers(57, 65))
    intensity = min(1.0, max(0.0, request.intensity))
    progression = tuple(
        _chord(degree, tonic, MODES[mode], style, centre, rng) for degree in degrees
    )
    instruments = style.instruments + tuple(
        name for threshold, name in style.with_intensity if intensity >= threshold
    )
    return MusicPlan(
        mood=request.mood,
        key=KEY_NAMES[tonic],
        tonic=tonic,
        mode=mode,
        tempo_bpm=min(MAX_TEMPO, max(MIN_TEMPO, request.tempo_bpm)),
        intensity=intensity,
        beats_per_chord=style.beats_per_chord,
        progression=progression,
        instruments=instruments,
        brightness=min(1.0, max(0.0, style.brightness + 0.4 * (intensity - 0.5))),
        seed=request.seed,
    )


def _chord(
    degree: int, tonic: int, steps: tuple[int, ...], style: MoodStyle, centre: int,
    rng: np.random.Generator,
) -> Chord:
    intervals = _chord_intervals(degree, steps, style, rng)
    root = tonic + steps[degree % len(steps)]
    return Chord(degree, _voice(root, intervals, centre, rng), _in_octave(root, BASS_REGISTER))


def _chord_intervals(
    degree: int, steps: tuple[int, ...], style: MoodStyle, rng: np.random.Generator
) -> tuple[int, ...]:
    """Semitones above the chord root: stacked thirds of the mode, coloured by the mood."""
    if style.colour == "power":
        return (0, 7)

    def step(k: int) -> int:
        index = degree + k
        return steps[index % len(steps)] + 12 * (index // len(steps)) - steps[degree % len(steps)]

    thirds = [step(0), step(2), step(4)]
    if style.colour == "sus":
        thirds[1] = step(int(rng.choice((1, 3))))
    if style.colour == "cluster":
        thirds.append(13)
    if rng.random() < style.seventh_chance:
        thirds.append(step(6))
    return tuple(thirds)


def _voice(
    root: int, intervals: tuple[int, ...], centre: int, rng: np.random.Generator
) -> tuple[int, ...]:
    """A close voicing around `centre`; sometimes opened by lifting its lowest note an octave."""
    pitches = sorted({_in_octave(root + interval, centre - 6) for interval in intervals})
    if len(pitches) > 2 and rng.random() < 0.4:
        pitches = sorted(pitches[1:] + [pitches[0] + 12])
    return tuple(pitches)


def _in_octave(pitch: int, low: int) -> int:
    return low + (pitch - low) % 12


# --- the score: each instrument's notes ---------------------------------------------------------


@dataclass(frozen=True)
class Note:
    start: float  # seconds
    length: float  # seconds the key is held; voices add their own release
    pitch: float  # MIDI
    velocity: float  # 0..1


def _chord_slots(plan: MusicPlan, seconds: float) -> list[tuple[float, Chord]]:
    starts = np.arange(math.ceil(seconds / plan.chord_seconds)) * plan.chord_seconds
    return [(float(start), plan.chord_at(start)) for start in starts]


def _grid(plan: MusicPlan, seconds: float, per_beat: int) -> np.ndarray:
    """Onsets in seconds on a grid of `per_beat` steps per beat."""
    step = plan.beat_seconds / per_beat
    return np.arange(math.ceil(seconds / step)) * step


def _pad_notes(plan: MusicPlan, seconds: float) -> list[Note]:
    return [
        Note(start, plan.chord_seconds, pitch, 0.8)
        for start, chord in _chord_slots(plan, seconds)
        for pitch in chord.pitches
    ]


def _drone_notes(plan: MusicPlan, seconds: float) -> list[Note]:
    tonic = _in_octave(plan.tonic, BASS_REGISTER)
    return [Note(0.0, seconds, tonic, 1.0), Note(0.0, seconds, tonic + 7, 0.6)]


def _bass_notes(plan: MusicPlan, seconds: float) -> list[Note]:
    """The chord roots, held, on beats 1 and 3, or walking root-fifth in quarters."""
    pattern = STYLES[plan.mood].bass
    if pattern == "held":
        slots = _chord_slots(plan, seconds)
        return [Note(start, plan.chord_seconds, chord.bass, 0.9) for start, chord in slots]
    beats_per_note = 2 if pattern == "halves" else 1
    length = 0.9 * beats_per_note * plan.beat_seconds
    notes = []
    for i, start in enumerate(_grid(plan, seconds, 1)[::beats_per_note]):
        fifth = 7 if pattern == "root-fifth" and i % 2 else 0
        velocity = 0.9 if i % 2 == 0 else 0.75
        notes.append(Note(start, length, plan.chord_at(start).bass + fifth, velocity))
    return notes


OSTINATO_FIGURES = {
    Mood.TENSE: ((0, 0, 0, 0, 0, 0, 1, 0), (0, 0, 12, 0, 0, 0, 12, 0), (0, 0, 0, 1, 0, 0, 0, -1)),
    Mood.ANGRY: ((0, 0, 12, 0, 0, 10, 0, 7), (0, 0, 0, 1, 0, 0, 12, 0), (0, 12, 0, 0, 10, 0, 7, 0)),
}


def _ostinato_notes(plan: MusicPlan, seconds: float) -> list[Note]:
    """A low repeated figure on the chord root, in eighths (sixteenths when intense)."""
    rng = plan.rng("ostinato")
    figures = OSTINATO_FIGURES.get(plan.mood, OSTINATO_FIGURES[Mood.TENSE])
    figure = figures[int(rng.integers(len(figures)))]
    per_beat = 4 if plan.intensity >= 0.8 else 2
    step = plan.beat_seconds / per_beat
    return [
        Note(start, 0.8 * step, plan.chord_at(start).bass + figure[i % len(figure)],
             1.0 if i % per_beat == 0 else 0.7)
        for i, start in enumerate(_grid(plan, seconds, per_beat))
    ]


ARPEGGIO_PATTERNS = ((0, 1, 2, 3), (0, 1, 2, 3, 2, 1), (0, 2, 1, 2), (0, 2, 1, 3), (2, 1, 0, 1))


def _arpeggio_notes(plan: MusicPlan, seconds: float) -> list[Note]:
    """The chord broken into eighths (sixteenths when intense) an octave above the pad."""
    rng = plan.rng("arpeggio")
    pattern = ARPEGGIO_PATTERNS[int(rng.integers(len(ARPEGGIO_PATTERNS)))]
    per_beat = 4 if plan.intensity >= 0.75 else 2
    notes = []
    for i, start in enumerate(_grid(plan, seconds, per_beat)):
        pitches = plan.chord_at(start).pitches
        pitch = pitches[pattern[i % len(pattern)] % len(pitches)] + 12
        velocity = (1.0 if i % per_beat == 0 else 0.75) * rng.uniform(0.8, 1.0)
        notes.append(Note(start, plan.beat_seconds / per_beat, pitch, velocity))
    return notes


def _melody(
    plan: MusicPlan, seconds: float, part: str, centre: int, notes_per_bar: float
) -> list[Note]:
    """A two-bar motif repeated over the changes: its rhythm kept, its contour starting each time
    on a chord tone, every fourth phrase answered with a new ending. Notes that fall on a chord
    change land on a chord tone; the others walk the scale."""
    rng = plan.rng(part)
    bar = BEATS_PER_BAR * plan.beat_seconds
    rhythm = _motif_rhythm(rng, notes_per_bar)
    motif = rng.choice((-2, -1, -1, 0, 1, 1, 2, 3, -3), size=len(rhythm))
    ladder = [p for p in range(centre - 8, centre + 10) if p % 12 in plan.scale]
    notes = []
    for phrase, phrase_start in enumerate(np.arange(0.0, seconds, 2 * bar)):
        steps = _answer(motif, rng) if phrase % 4 == 3 else motif
        pitch = _chord_tone_on(ladder, plan.chord_at(phrase_start), centre)
        for (onset, length), step in zip(rhythm, steps):
            start = phrase_start + onset * plan.beat_seconds
            pitch = ladder[min(len(ladder) - 1, max(0, ladder.index(pitch) + int(step)))]
            if onset % plan.beats_per_chord == 0:
                pitch = _chord_tone_on(ladder, plan.chord_at(start), pitch)
            notes.append(Note(start, length * plan.beat_seconds, pitch, rng.uniform(0.75, 1.0)))
    return notes


def _answer(motif: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    half = len(motif) // 2
    return np.concatenate([motif[:half], rng.choice((-2, -1, 1, 2), size=len(motif) - half)])


def _motif_rhythm(rng: np.random.Generator, notes_per_bar: float) -> list[tuple[float, float]]:
    """(onset, length) in beats of a two-bar motif on an eighth-note grid; always starts on 1."""
    slots = 4 * BEATS_PER_BAR
    count = int(np.clip(round(2 * notes_per_bar + rng.integers(-1, 2)), 2, slots))
    later = rng.choice(np.arange(1, slots), size=count - 1, replace=False)
    chosen = np.sort(np.concatenate([[0], later]))
    ends = np.append(chosen[1:], slots)
    return [(start / 2, min(ends[i] - start, 4) / 2) for i, start in enumerate(chosen)]


def _chord_tone_on(ladder: list[int], chord: Chord, pitch: int) -> int:
    """The chord tone nearest `pitch`, kept on the melody's ladder."""
    classes = {p % 12 for p in chord.pitches}
    tones = [p for p in range(pitch - 6, pitch + 7) if p % 12 in classes]
    tone = min(tones, key=lambda p: abs(p - pitch))
    return min(ladder, key=lambda p: abs(p - tone))


def _melody_notes(plan: MusicPlan, seconds: float) -> list[Note]:
    return _melody(plan, seconds, "melody", 74, 2.0 + 4.0 * plan.intensity)


def _keys_notes(plan: MusicPlan, seconds: float) -> list[Note]:
    return _melody(plan, seconds, "keys", 69, 1.0 + 3.0 * plan.intensity)


def _bells_notes(plan: MusicPlan, seconds: float) -> list[Note]:
    return _melody(plan, seconds, "bells", 79, 0.75 + 1.5 * plan.intensity)


def _kick_onsets(plan: MusicPlan, seconds: float) -> np.ndarray:
    if plan.mood == Mood.ANGRY:
        return _bar_pattern(plan, seconds, (0, 1, 2, 3))
    return _bar_pattern(plan, seconds, (0, 2) if plan.intensity < 0.8 else (0, 2, 2.5))


def _snare_onsets(plan: MusicPlan, seconds: float) -> np.ndarray:
    return _bar_pattern(plan, seconds, (1, 3))


def _hats_onsets(plan: MusicPlan, seconds: float) -> np.ndarray:
    return _grid(plan, seconds, 4 if plan.intensity >= 0.85 else 2)


def _pulse_onsets(plan: MusicPlan, seconds: float) -> np.ndarray:
    """A heartbeat: a thump on every beat and a softer one a sixteenth after it."""
    beats = _grid(plan, seconds, 1)
    return np.sort(np.concatenate([beats, beats + 0.25 * plan.beat_seconds]))


def _bar_pattern(plan: MusicPlan, seconds: float, beats: tuple[float, ...]) -> np.ndarray:
    bar_starts = np.arange(math.ceil(seconds / (BEATS_PER_BAR * plan.beat_seconds))) * BEATS_PER_BAR
    onsets = (bar_starts[:, None] + np.asarray(beats)[None, :]).ravel() * plan.beat_seconds
    return onsets[onsets < seconds]


# --- voices: one note (or one hit) to samples ---------------------------------------------------

TABLE_BITS = 12
DETUNE = 2 ** (7 / 1200)  # 7 cents: two slightly detuned oscillators make a pad breathe


def _hz(pitch: float) -> float:
    return 440.0 * 2 ** ((pitch - 69) / 12)


@cache
def _table(brightness: float, harmonics: int) -> np.ndarray:
    """One band-limited cycle: a sawtooth whose upper harmonics fade as brightness drops."""
    n = np.arange(1, harmonics + 1)
    amplitudes = np.exp(-(n - 1) * (1.2 - brightness)) / n
    phase = np.arange(2**TABLE_BITS) / 2**TABLE_BITS
    cycle = (amplitudes[:, None] * np.sin(2 * np.pi * n[:, None] * phase[None, :])).sum(axis=0)
    return _frozen((cycle / np.abs(cycle).max()).astype(np.float32))


def _wavetable(brightness: float, freq: float, sr: int) -> np.ndarray:
    """The table for a note: no harmonic above the Nyquist frequency, few tables in all."""
    harmonics = max(1, min(16, int(0.45 * sr / freq)))
    return _table(round(brightness * 20) / 20, harmonics)


def _table_index(freq: float, count: int, sr: int, phase: float = 0.0) -> np.ndarray:
    """Table positions from a 32-bit phase accumulator: exact pitch, and no sin per sample."""
    increment = np.uint32(round(freq / sr * 2**32) % 2**32)
    start = np.uint32(int(phase * 2**32) % 2**32)
    accumulator = np.arange(count, dtype=np.uint32) * increment + start
    return accumulator >> np.uint32(32 - TABLE_BITS)


def _oscillator(
    brightness: float, freq: float, count: int, sr: int, phase: float = 0.0
) -> np.ndarray:
    return _wavetable(brightness, freq, sr)[_table_index(freq, count, sr, phase)]


def _times(count: int, sr: int) -> np.ndarray:
    return np.arange(count, dtype=np.float32) / np.float32(sr)


def _envelope(t: np.ndarray, attack: float, hold: float, release: float) -> np.ndarray:
    """Linear rise over `attack`, flat until `hold`, linear fall over `release` (both > 0)."""
    rise = t * np.float32(1.0 / min(attack, hold))
    fall = (np.float32(hold + release) - t) * np.float32(1.0 / release)
    return np.clip(np.minimum(rise, fall), 0.0, 1.0)


def _pad_voice(note: Note, sr: int, brightness: float) -> np.ndarray:
    release = 1.2
    t = _times(int((note.length + release) * sr), sr)
    freq = _hz(note.pitch)
    sharp = _oscillator(brightness, freq * DETUNE, len(t), sr)
    flat = _oscillator(brightness, freq / DETUNE, len(t), sr, phase=0.37)
    return 0.5 * (sharp + flat) * _envelope(t, min(0.9, 0.4 * note.length), note.length, release)


def _drone_voice(note: Note, sr: int, brightness: float) -> np.ndarray:
    t = _times(int(note.length * sr), sr)
    swell = 0.75 + 0.25 * np.sin(2 * np.pi * 0.09 * t + note.pitch)
    tone = _oscillator(0.15 * brightness, _hz(note.pitch), len(t), sr)
    return tone * swell * _envelope(t, 2.0, note.length, 0.01)


def _bass_voice(note: Note, sr: int, brightness: float) -> np.ndarray:
    release = 0.15
    t = _times(int((note.length + release) * sr), sr)
    decay = 0.65 + 0.35 * np.exp(-t / 0.25)
    tone = _oscillator(0.3 + 0.4 * brightness, _hz(note.pitch), len(t), sr)
    return tone * decay * _envelope(t, 0.008, note.length, release)


def _ostinato_voice(note: Note, sr: int, brightness: float) -> np.ndarray:
    """A plucked low synth; driven into soft clipping as the brightness rises."""
    t = _times(int((note.length + 0.1) * sr), sr)
    tone = _oscillator(0.3 + 0.5 * brightness, _hz(note.pitch), len(t), sr)
    drive = 1.0 + 4.0 * brightness
    tone = np.tanh(drive * tone) / np.tanh(drive)
    return tone * np.exp(-t / 0.18) * _envelope(t, 0.004, note.length, 0.1)


def _pluck_voice(note: Note, sr: int, brightness: float) -> np.ndarray:
    """A bright attack fading into a dull body, like a filter closing on a plucked string."""
    attack, body = _pluck_envelopes(sr)
    freq = _hz(note.pitch)
    index = _table_index(freq, len(body), sr)
    tone = _wavetable(0.1, freq, sr)[index] * body
    bright = _wavetable(min(1.0, brightness + 0.4), freq, sr)
    tone[: len(attack)] += bright[index[: len(attack)]] * attack
    return tone


@cache
def _pluck_envelopes(sr: int) -> tuple[np.ndarray, np.ndarray]:
    """The bright attack's envelope (it is gone in 0.3 s) and the body's; the same for every
    pluck, so computed once."""
    t = _times(int(1.0 * sr), sr)
    body = np.exp(-t / 0.35) * _envelope(t, 0.003, 0.9, 0.1)
    attack = np.exp(-t[: int(0.3 * sr)] / 0.06) * _envelope(t[: int(0.3 * sr)], 0.003, 0.25, 0.05)
    return _frozen(attack), _frozen(body)


def _frozen(array: np.ndarray) -> np.ndarray:
    """Cached arrays are shared by every note: make an accidental in-place edit fail loudly."""
    array.setflags(write=False)
    return array


def _lead_voice(note: Note, sr: int, brightness: float) -> np.ndarray:
    """A soft flute-like lead whose vibrato grows in after the attack."""
    release = 0.15
    t = _times(int((note.length + release) * sr), sr)
    freq = _hz(note.pitch)
    rate, depth = 5.0, 0.008  # Hz, and the swing in frequency as a fraction of it (about 14 cents)
    fade_in = np.clip(t / 0.4 - 0.5, 0.0, 1.0)
    vibrato = depth * freq / (2 * np.pi * rate) * np.sin(2 * np.pi * rate * t) * fade_in
    theta = 2 * np.pi * (freq * t + vibrato)
    tone = np.sin(theta) + 0.25 * brightness * np.sin(2 * theta) + 0.1 * np.sin(3 * theta)
    return tone * _envelope(t, 0.04, note.length, release)


def _fm_voice(t: np.ndarray, freq: float, ratio: float, index: np.ndarray) -> np.ndarray:
    return np.sin(2 * np.pi * freq * t + index * np.sin(2 * np.pi * ratio * freq * t))


def _keys_voice(note: Note, sr: int, brightness: float) -> np.ndarray:
    """An electric piano: FM at ratio 1 whose index falls after the strike."""
    release = 0.3
    t = _times(int((note.length + release + 0.5) * sr), sr)
    index = (0.4 + 1.6 * brightness) * np.exp(-t / 0.25) + 0.2
    tone = _fm_voice(t, _hz(note.pitch), 1.0, index) * np.exp(-t / 1.5)
    return tone * _envelope(t, 0.005, note.length + 0.5, release)


def _bell_voice(note: Note, sr: int, brightness: float) -> np.ndarray:
    """A glassy bell: FM at an inharmonic ratio, ringing for seconds."""
    t = _times(int(3.0 * sr), sr)
    index = 2.5 * np.exp(-t / 0.6)
    tone = _fm_voice(t, _hz(note.pitch), 3.5, index) * np.exp(-t / 1.0)
    return tone * _envelope(t, 0.002, 2.9, 0.1)


def _kick_hit(sr: int, rng: np.random.Generator) -> np.ndarray:
    t = _times(int(0.35 * sr), sr)
    freq = 45.0 + 110.0 * np.exp(-t / 0.03)
    body = np.sin(2 * np.pi * np.cumsum(freq) / sr) * np.exp(-t / 0.16)
    click = rng.uniform(-1.0, 1.0, len(t)).astype(np.float32) * np.exp(-t / 0.002)
    return (body + 0.3 * click) * _envelope(t, 0.0005, 0.3, 0.05)


def _snare_hit(sr: int, rng: np.random.Generator) -> np.ndarray:
    t = _times(int(0.25 * sr), sr)
    rattle = 0.5 * np.diff(rng.uniform(-1.0, 1.0, len(t) + 1)).astype(np.float32)
    return rattle * np.exp(-t / 0.06) + 0.6 * np.sin(2 * np.pi * 190.0 * t) * np.exp(-t / 0.05)


def _hat_hit(sr: int, rng: np.random.Generator) -> np.ndarray:
    """High-passed noise (a second difference of white noise), closed and short."""
    t = _times(int(0.08 * sr), sr)
    hiss = np.diff(rng.uniform(-1.0, 1.0, len(t) + 2), n=2).astype(np.float32) * 0.4
    return hiss * np.exp(-t / 0.018)


def _pulse_hit(sr: int, rng: np.random.Generator) -> np.ndarray:
    t = _times(int(0.3 * sr), sr)
    freq = 50.0 + 25.0 * np.exp(-t / 0.04)
    thump = np.sin(2 * np.pi * np.cumsum(freq) / sr) * np.exp(-t / 0.1)
    return thump * _envelope(t, 0.006, 0.25, 0.05)


# --- parts, mix and master ----------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Channel:
    """Where an instrument sits in the mix."""

    gain: float
    reverb: float  # share of the channel sent to the reverb
    echo: bool = False  # a dotted-eighth echo, for melodic parts


@dataclass(frozen=True, kw_only=True)
class Tonal(Channel):
    """An instrument that plays notes."""

    notes: Callable[[MusicPlan, float], list[Note]]
    voice: Callable[[Note, int, float], np.ndarray]


@dataclass(frozen=True, kw_only=True)
class Drum(Channel):
    """An instrument that repeats one hit."""

    onsets: Callable[[MusicPlan, float], np.ndarray]
    hit: Callable[[int, np.random.Generator], np.ndarray]
    accent_every: int = 1  # every n-th hit is louder; the others are played softer


INSTRUMENTS: dict[str, Tonal | Drum] = {
    "pad": Tonal(notes=_pad_notes, voice=_pad_voice, gain=0.16, reverb=0.7),
    "drone": Tonal(notes=_drone_notes, voice=_drone_voice, gain=0.3, reverb=0.5),
    "bass": Tonal(notes=_bass_notes, voice=_bass_voice, gain=0.45, reverb=0.1),
    "ostinato": Tonal(notes=_ostinato_notes, voice=_ostinato_voice, gain=0.3, reverb=0.2),
    "arpeggio": Tonal(notes=_arpeggio_notes, voice=_pluck_voice, gain=0.22, reverb=0.5, echo=True),
    "melody": Tonal(notes=_melody_notes, voice=_lead_voice, gain=0.22, reverb=0.6, echo=True),
    "keys": Tonal(notes=_keys_notes, voice=_keys_voice, gain=0.3, reverb=0.6, echo=True),
    "bells": Tonal(notes=_bells_notes, voice=_bell_voice, gain=0.25, reverb=0.8, echo=True),
    "kick": Drum(onsets=_kick_onsets, hit=_kick_hit, gain=0.7, reverb=0.05),
    "snare": Drum(onsets=_snare_onsets, hit=_snare_hit, gain=0.5, reverb=0.3),
    "hats": Drum(onsets=_hats_onsets, hit=_hat_hit, gain=0.25, reverb=0.2, accent_every=2),
    "pulse": Drum(onsets=_pulse_onsets, hit=_pulse_hit, gain=0.45, reverb=0.2, accent_every=2),
}


def synthesize(plan: MusicPlan, count: int, sr: int, peak: float) -> np.ndarray:
    """Render every instrument of the plan into exactly `count` samples.

    The cue peaks at `peak` at full intensity and up to CALM_HEADROOM_DB lower for a calm one: a
    sparse pad has a far lower crest factor than a drum kit, so at the same peak it would sound
    louder than the fight scene's score.
    """
    dry = np.zeros(count, np.float32)
    send = np.zeros(count, np.float32)
    for name in plan.instruments:
        instrument = INSTRUMENTS[name]
        if isinstance(instrument, Tonal):
            track = _play_notes(instrument, plan, count, sr)
        else:
            track = _play_hits(instrument, plan, count, sr, plan.rng(name))
        if instrument.echo:
            track = _echo(track, round(0.75 * plan.beat_seconds * sr), 0.3)
        dry += instrument.gain * track
        send += instrument.gain * instrument.reverb * track
    mix = dry + 0.5 * _reverb(send, sr, plan.rng("reverb"))
    headroom_db = CALM_HEADROOM_DB * (1.0 - plan.intensity)
    return _normalise(_limit(_fade(mix, sr)), peak * 10 ** (-headroom_db / 20))


def _play_notes(instrument: Tonal, plan: MusicPlan, count: int, sr: int) -> np.ndarray:
    track = np.zeros(count, np.float32)
    for note in instrument.notes(plan, count / sr):
        _add(track, instrument.voice(note, sr, plan.brightness) * note.velocity, note.start, sr)
    return track


def _play_hits(
    instrument: Drum, plan: MusicPlan, count: int, sr: int, rng: np.random.Generator
) -> np.ndarray:
    track = np.zeros(count, np.float32)
    hit = instrument.hit(sr, rng).astype(np.float32)
    for i, onset in enumerate(instrument.onsets(plan, count / sr)):
        accent = 1.0 if i % instrument.accent_every == 0 else 0.55
        _add(track, hit * (accent * rng.uniform(0.85, 1.0)), onset, sr)
    return track


def _add(track: np.ndarray, sound: np.ndarray, start: float, sr: int) -> None:
    first = round(start * sr)
    last = min(len(track), first + len(sound))
    if last > first:
        track[first:last] += sound[: last - first]


def _echo(track: np.ndarray, delay: int, feedback: float) -> np.ndarray:
    """A feedback delay, y[n] = x[n] + g*y[n - d], computed a whole delay-length block at a time."""
    out = track.copy()
    for start in range(delay, len(out), delay):
        span = min(delay, len(out) - start)
        out[start : start + span] += feedback * out[start - delay : start - delay + span]
    return out


REVERB_SECONDS = 2.2
REVERB_BLOCK = 2**17


def _reverb(signal: np.ndarray, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Convolution with a synthetic hall (decaying noise, darker than dry), by FFT overlap-add."""
    response = _room_response(sr, rng)
    size = 1 << (REVERB_BLOCK + len(response) - 1).bit_length()
    spectrum = np.fft.rfft(response, size) * _darken(size, sr)
    out = np.zeros(len(signal) + size, np.float32)
    for start in range(0, len(signal), REVERB_BLOCK):
        block = np.fft.rfft(signal[start : start + REVERB_BLOCK], size)
        out[start : start + size] += np.fft.irfft(block * spectrum, size).astype(np.float32)
    return out[: len(signal)]


def _room_response(sr: int, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(int(REVERB_SECONDS * sr)) / sr
    predelay = int(0.02 * sr)
    response = rng.standard_normal(len(t)) * np.exp(-6.9 * t / REVERB_SECONDS)
    response[:predelay] = 0.0
    return response / np.sqrt(np.sum(response**2))


def _darken(size: int, sr: int, corner_hz: float = 3500.0) -> np.ndarray:
    freqs = np.fft.rfftfreq(size, 1.0 / sr)
    return 1.0 / (1.0 + (freqs / corner_hz) ** 2)


def _fade(mix: np.ndarray, sr: int) -> np.ndarray:
    """Raised-cosine fades at both ends, so one cue can start where the last one stops."""
    length = min(int(FADE_SECONDS * sr), len(mix) // 4)
    if length:
        ramp = (0.5 - 0.5 * np.cos(np.linspace(0.0, np.pi, length))).astype(np.float32)
        mix[:length] *= ramp
        mix[-length:] *= ramp[::-1]
    return mix


def _limit(mix: np.ndarray, knee_quantile: float = 0.999) -> np.ndarray:
    """Round off the rare peaks above the loudest 0.1% of samples (drum hits that land on other
    notes), ceiling them at 1.5 times that level, so the peak normalisation sets the level by the
    body of the music rather than by one coincidence of transients."""
    knee = float(np.quantile(np.abs(mix), knee_quantile))
    if knee == 0.0:
        return mix
    over = np.abs(mix) > knee
    excess = np.abs(mix[over]) / knee - 1.0
    mix[over] = np.sign(mix[over]) * knee * (1.0 + 0.5 * np.tanh(2.0 * excess))
    return mix


def _normalise(mix: np.ndarray, peak: float) -> np.ndarray:
    loudest = float(np.abs(mix).max())
    return (mix * (peak / loudest) if loudest > 0 else mix).astype(np.float32)


# --- the backend --------------------------------------------------------------------------------


def cue_samples(num_frames: int, fps: int, sample_rate: int) -> int:
    """Samples in a cue of `num_frames` frames: sample-exact, so cues butt without gaps."""
    return round(num_frames * sample_rate / fps)


class SynthOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sample_rate: int = Field(48000, ge=8000, le=192000, description="Output sample rate in Hz.")
    peak_dbfs: float = Field(
        -6.0, ge=-40.0, le=0.0,
        description="Peak level of a cue at full intensity; a calm cue peaks up to 6 dB lower. "
        "The assembly ducks the score under dialogue and normalises loudness later.",
    )


class SynthMusic:
    """Procedural score from mood, tempo, intensity and seed; no weights, no GPU."""

    name: ClassVar[str] = "synth"
    version: ClassVar[str] = "1"
    kind: ClassVar[Kind] = "music"
    capabilities: ClassVar[Capabilities] = Capabilities(seed=True)
    Options: ClassVar[type[BaseModel]] = SynthOptions
    extra: ClassVar[str | None] = None

    def __init__(self, options: SynthOptions) -> None:
        self.options = options

    @classmethod
    def availability(cls) -> Availability:
        return Availability(available=True)

    def render(self, request: MusicRequest) -> AudioClip:
        plan = plan_music(request)
        sr = self.options.sample_rate
        count = cue_samples(request.num_frames, request.fps, sr)
        peak = 10 ** (self.options.peak_dbfs / 20)
        return AudioClip(synthesize(plan, count, sr, peak), sr)
