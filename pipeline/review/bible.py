"""The bible as review shows it, before the shots: the cast (facts and cast voice) and the places
(description and where it came from), so a wrong fact is caught before anything renders."""

from __future__ import annotations

from pathlib import Path

from rich.markup import escape
from rich.table import Table

from ..core.models import Character, Episode, Location, Series
from ..core.store import Place


def _voice(character: Character) -> str:
    voice = character.voice
    parts = [voice.backend or "auto", *([voice.voice] if voice.voice else [])]
    if voice.pitch_hz is not None:
        parts.append(f"{voice.pitch_hz:g} Hz")
    if voice.pitch:
        parts.append(f"{voice.pitch:+g} st")
    if voice.formant_shift != 1.0:
        parts.append(f"formant x{voice.formant_shift:g}")
    if voice.speed != 1.0:
        parts.append(f"speed x{voice.speed:g}")
    return " ".join(parts)


def _age(character: Character) -> str:
    if character.age is not None:
        return f"{character.age} ({character.band})"
    return str(character.age_band or "")


def cast_table(series: Series, places: dict[str, list[Place]]) -> Table:
    table = Table(title="cast (series.yaml characters)", title_justify="left")
    for column in ("id", "gender", "age", "look", "voice", "at"):
        table.add_column(column, ratio=3 if column == "look" else None, no_wrap=column in ("id", "at"))
    for character in series.characters:
        look = character.appearance if not character.description else f"{character.appearance} [dim](description)[/]"
        table.add_row(escape(character.id), str(character.gender or "[yellow]?[/]"), _age(character) or "[yellow]?[/]",
                      escape(look) if look else "[yellow]no look[/]", escape(_voice(character)),
                      _at(places, character.id))
    return table


def places_table(series: Series, episodes: list[Episode], places: dict[str, list[Place]],
                 screenplays: list[Path]) -> Table:
    table = Table(title="places (series.yaml locations)", title_justify="left")
    for column in ("id", "description", "from"):
        table.add_column(column, ratio=3 if column == "description" else None, no_wrap=column != "description")
    for location in series.locations:
        table.add_row(escape(location.id), escape(location.description) or "[yellow]none[/]",
                      _origin(location, episodes, places, screenplays))
    return table


def _at(places: dict[str, list[Place]], bible_id: str) -> str:
    found = places.get(bible_id)
    return f"{found[0].file}:{found[0].line}" if found and found[0].line else ""


def _origin(location: Location, episodes: list[Episode], places: dict[str, list[Place]],
            screenplays: list[Path]) -> str:
    """The screenplay line the description was taken from, else its line in series.yaml."""
    if location.described_at is None or not location.description:
        return _at(places, location.id)
    if len(screenplays) == 1:
        return f"{screenplays[0].name}:{location.described_at}"
    first = next((e.id for e in episodes for s in e.scenes if s.location == location.id), None)
    return f"screenplay line {location.described_at}" + (f" ({first})" if first else "")
