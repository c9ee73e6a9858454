"""Who the action names must be in frame: a shot whose action says 'Nora reaches him' while
Nora is not framed shows something else than the screenplay says."""

from __future__ import annotations

import re
from collections.abc import Iterator

from ..core.models import Episode, Finding, Series, Severity


def named_in_action(series: Series, action: str) -> list[str]:
    """Ids of the characters an action names by name or alias (whole words, any case)."""
    return [c.id for c in series.characters
            if any(re.search(rf"(?<![\w]){re.escape(name)}(?![\w])", action, re.IGNORECASE)
                   for name in (c.name, *c.aliases))]


def named_but_unframed(series: Series, episodes: list[Episode]) -> Iterator[Finding]:
    for scene in (s for e in episodes for s in e.scenes):
        for shot in scene.shots:
            if shot.type.value == "INSERT" or not shot.action:
                continue  # an insert shows a detail: a hand, an object, never the whole person
            framed = {f.character for f in shot.characters}
            for character_id in named_in_action(series, shot.action):
                if character_id not in framed:
                    name = series.character(character_id).name
                    yield Finding(
                        severity=Severity.WARNING, code="named-not-framed", where=shot.id,
                        message=f"the action names {name} but {name} is not in frame: add "
                        f"{{character: {character_id}, position: ...}} to the shot's characters, or "
                        "rewrite the action")
