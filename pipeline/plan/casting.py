"""Casting: each character gets a voice that fits their gender and age, once, at planning.

A cast voice is a median pitch, a vocal tract scale (formant shift) and a speaking rate; the voice
backends reach them from their own base voice (render/backends/voice_transform.py), so the same
table serves Piper in English and espeak-ng in Mandarin. Characters of the same gender and age
band are spread apart in pitch, tract and rate in bible order, so two men never sound the same and
adding a character later recasts nobody. A voice set in series.yaml (anything but the default) is
the user's and is kept.
"""

from __future__ import annotations

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

# The k-th character of a group: pitch steps of 1.5 semitones, alternately up and down, with the
# tract and rate nudged the other way so neighbours differ in timbre too, not only in pitch.
SPREAD_SEMITONES = 1.5
SPREAD_FORMANT = 0.025
SPREAD_SPEED = 0.04


def base_casting(character: Character) -> Casting:
    band = character.band
    if character.gender in (Gender.MALE, Gender.FEMALE):
        table = ADULT[character.gender]
        return table.get(band, table[None])
    return NEUTRAL.get(band, NEUTRAL[None])


def group(character: Character) -> tuple[str, str]:
    return (str(character.gender or ""), str(character.band or ""))


def spread(casting: Casting, rank: int) -> Casting:
    """The rank-th voice of a group: 0, +1, -1, +2, -2 ... steps away from the group's voice."""
    step = (rank + 1) // 2 * (1 if rank % 2 else -1)
    return Casting(
        pitch_hz=round(casting.pitch_hz * 2 ** (step * SPREAD_SEMITONES / 12), 1),
        formant_shift=round(casting.formant_shift - step * SPREAD_FORMANT, 3),
        speed=round(casting.speed - step * SPREAD_SPEED, 3),
    )


def cast_voices(characters: list[Character]) -> list[Character]:
    """The characters with a voice cast for each one that has none yet; cast voices are kept."""
    ranks: dict[tuple[str, str], int] = {}
    cast = []
    for character in characters:
        rank = ranks.get(group(character), 0)
        ranks[group(character)] = rank + 1
        if not character.voice.cast:
            chosen = spread(base_casting(character), rank)
            voice = VoiceSpec(pitch_hz=chosen.pitch_hz, formant_shift=chosen.formant_shift, speed=chosen.speed)
            character = character.model_copy(update={"voice": voice})
        cast.append(character)
    return cast
