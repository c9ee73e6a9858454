"""Casting: each character gets a voice that fits their gender and age, once, at planning.

A cast voice is a median pitch, a vocal tract scale (formant shift) and a speaking rate; the voice
backends reach them from their own base voice (render/backends/voice_transform.py), so the same
table serves Piper in English and espeak-ng in Mandarin. Characters of the same gender and age
band, or of neighbouring ones, are moved apart in tract and pitch (cast_voices), so two men
never sound the same; adding a character later recasts nobody. A voice set in series.yaml (anything but the default) is
the user's and is kept.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

from ..core.models import AgeBand, Character, Gender, VoiceSpec


@dataclass(frozen=True)
class Casting:
    pitch_hz: float
    formant_shift: float
    speed: float = 1.0


# Typical speaking medians: men about 100-130 Hz, women about 180-220 Hz, children higher; the
# voice deepens a little with age. The tract scale follows (about 1.17 between men and women).
ADULT: dict[Gender | None, dict[AgeBand | None, Casting]] = {
    Gender.MALE: {
        AgeBand.CHILD: Casting(265, 1.24), AgeBand.TEEN: Casting(138, 1.07),
        AgeBand.YOUNG_ADULT: Casting(120, 1.03), AgeBand.ADULT: Casting(110, 1.0),
        AgeBand.MIDDLE_AGED: Casting(104, 0.98), AgeBand.ELDER: Casting(100, 0.96, 0.93),
        None: Casting(112, 1.0),
    },
    Gender.FEMALE: {
        AgeBand.CHILD: Casting(280, 1.26), AgeBand.TEEN: Casting(228, 1.2),
        AgeBand.YOUNG_ADULT: Casting(212, 1.18), AgeBand.ADULT: Casting(202, 1.16),
        AgeBand.MIDDLE_AGED: Casting(192, 1.14), AgeBand.ELDER: Casting(182, 1.12, 0.93),
        None: Casting(205, 1.16),
    },
}  # fmt: skip
# Unknown or nonbinary: between the two, where neither reading is forced.
NEUTRAL = {AgeBand.CHILD: Casting(270, 1.25), None: Casting(155, 1.08)}

# Two voices are heard as one speaker unless they are apart in vocal tract or in pitch. Measured
# with a trained speaker encoder on the bundled Piper voice (bench/voice_casting.py --encoder):
# formants 8% apart at one pitch lower the similarity of two voices below that of one voice's own
# lines, and so do 6-8 semitones at one tract; the encoder hears pitch less than a listener does,
# so 6 semitones count as much as 8% of tract.
FORMANT_APART = math.log(1.08)
SEMITONES_APART = 6.0
# A listener hears pitch first: two voices less than 2 semitones apart are never apart enough.
MIN_SEMITONES = 2.0
# Where a voice may move to be apart: steps of a semitone and 2% of tract, six either way; a voice
# moved up in pitch speaks a little faster, so neighbours differ in rate too.
STEP_SEMITONES = 1.0
STEP_FORMANT = 0.02
STEP_SPEED = 0.015
STEPS = 6
# Adults keep their gender's register, pitch (Hz) and tract alike: a woman is never cast below a
# man, nor with a man's tract (pitch alone makes a man speaking high).
REGISTER = {Gender.MALE: ((80.0, 150.0), (0.86, 1.06)), Gender.FEMALE: ((160.0, 300.0), (1.08, 1.3))}
ANY = ((0.0, math.inf), (0.0, math.inf))
# (pitch steps, tract steps) from a voice, nearest first.
NEAREST_FIRST = sorted(itertools.product(range(-STEPS, STEPS + 1), repeat=2),
                       key=lambda s: (math.hypot(s[0] * STEP_SEMITONES / SEMITONES_APART,
                                                 s[1] * STEP_FORMANT / FORMANT_APART), s))


def base_casting(character: Character) -> Casting:
    band = character.band
    if character.gender in (Gender.MALE, Gender.FEMALE):
        table = ADULT[character.gender]
        return table.get(band, table[None])
    return NEUTRAL.get(band, NEUTRAL[None])


def apart(a: Casting, b: Casting) -> float:
    """How far two voices are, in units of 'just told apart' (1 is enough)."""
    tract = math.log(a.formant_shift / b.formant_shift) / FORMANT_APART
    semitones = abs(12 * math.log2(a.pitch_hz / b.pitch_hz))
    return min(math.hypot(tract, semitones / SEMITONES_APART), semitones / MIN_SEMITONES)


def nearby(casting: Casting, character: Character) -> list[Casting]:
    """The voices a character may take within their register, nearest to the table's first."""
    young = character.band in (AgeBand.CHILD, AgeBand.TEEN)
    (low, high), (narrow, wide) = ANY if young else REGISTER.get(character.gender, ANY)
    voices = []
    for pitch_step, tract_step in NEAREST_FIRST:
        pitch = round(casting.pitch_hz * 2 ** (pitch_step * STEP_SEMITONES / 12), 1)
        tract = round(casting.formant_shift + tract_step * STEP_FORMANT, 3)
        if low <= pitch <= high and narrow <= tract <= wide:
            voices.append(Casting(pitch_hz=pitch, formant_shift=tract, speed=round(casting.speed + pitch_step * STEP_SPEED, 3)))
    return voices


def cast_voices(characters: list[Character]) -> list[Character]:
    """The characters with a voice cast for each one that has none yet; cast voices are kept.

    Each new voice is the one nearest its gender and age's that is apart from every voice already
    cast (hand-set ones included); where none is, the one farthest from its nearest. Characters of
    known gender are cast first, so a voice of unknown gender takes the room left between them."""
    taken = [Casting(c.voice.pitch_hz, c.voice.formant_shift, c.voice.speed)
             for c in characters if c.voice.cast and c.voice.pitch_hz]

    def nearest(voice: Casting) -> float:
        return min((apart(voice, other) for other in taken), default=math.inf)

    chosen: dict[str, Casting] = {}
    for character in sorted((c for c in characters if not c.voice.cast), key=lambda c: c.gender is None):
        options = nearby(base_casting(character), character)
        voice = next((v for v in options if nearest(v) >= 1.0), None) or max(options, key=nearest)
        taken.append(voice)
        chosen[character.id] = voice
    return [c.model_copy(update={"voice": VoiceSpec(pitch_hz=v.pitch_hz, formant_shift=v.formant_shift, speed=v.speed)})
            if (v := chosen.get(c.id)) else c for c in characters]
