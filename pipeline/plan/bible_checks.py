"""Review findings about the bible itself: the facts a generator needs and does not have.

A place with no description renders as a generic room; a character in frame with no look is drawn
from the name alone; a speaker whose gender and age are unknown gets a neutral voice. Each is a
warning that names the entry and the field to fill in series.yaml.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..core.models import Episode, Finding, Series, Severity


def bible_findings(series: Series, episodes: list[Episode]) -> list[Finding]:
    return [*_places_undescribed(series, episodes), *_characters_unseen(series, episodes),
            *_voices_uncast(series, episodes)]


def _places_undescribed(series: Series, episodes: list[Episode]) -> Iterator[Finding]:
    used = dict.fromkeys(scene.location for e in episodes for scene in e.scenes)
    for location in (series.location(i) for i in used):
        if location is not None and not location.description.strip():
            yield Finding(
                severity=Severity.WARNING, code="place-undescribed", where=location.id,
                message=f"location {location.name!r} has no description, so generators draw a generic "
                f"place: write one in series.yaml (locations, id {location.id}, description), or open "
                "its first scene with an action line about the place (not about a character)")


def _characters_unseen(series: Series, episodes: list[Episode]) -> Iterator[Finding]:
    framed = dict.fromkeys(f.character for e in episodes for shot in e.shots for f in shot.characters)
    for character in (series.character(i) for i in framed):
        if character is not None and not character.appearance:
            yield Finding(
                severity=Severity.WARNING, code="character-undescribed", where=character.id,
                message=f"{character.name} is in frame but has no look: fill gender, age, hair and "
                f"wardrobe in series.yaml (characters, id {character.id}), or introduce them in the "
                f"screenplay as '{character.name} (30s, short black hair, red coat)'")


def _voices_uncast(series: Series, episodes: list[Episode]) -> Iterator[Finding]:
    speakers = dict.fromkeys(line.speaker for e in episodes for shot in e.shots for line in shot.dialogue)
    for character in (series.character(i) for i in speakers):
        if character is not None and character.gender is None and character.band is None \
                and character.voice.pitch_hz is not None:
            yield Finding(
                severity=Severity.INFO, code="voice-neutral", where=character.id,
                message=f"{character.name}'s gender and age are unknown, so the cast voice is neutral "
                f"({character.voice.pitch_hz:g} Hz): set gender and age in series.yaml (characters, id "
                f"{character.id}) and delete its voice entry; the next `microdrama plan` casts it again")
