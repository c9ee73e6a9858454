"""What the writer's bible must be beyond its schema, checked in code: every later step draws a
character from its description and casts its voice, so a bible can be valid JSON and still
unusable (an empty logline, two characters with one voice, a description that is not a look, a
character named like a place). The writer quotes these problems back to the model once; what is
left goes to review as warnings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import combinations
from typing import TYPE_CHECKING

from microdrama.pipeline.ingest.screenplay import bible_id

if TYPE_CHECKING:
    from .writer import BibleDraft

# A look a generator can draw names at least an age, a build or face, hair and clothes.
MIN_LOOK_WORDS = 6
MIN_LOGLINE_WORDS = 4
# Two voices closer than this in both speed and pitch sound alike to a listener.
SAME_VOICE_SPEED = 0.08
SAME_VOICE_PITCH = 2.0
# Words of a scene heading: a character named with one is a place or a time, not a person.
HEADING_WORDS = frozenset({"INT", "EXT", "EST", "DAY", "NIGHT", "DAWN", "DUSK", "MORNING", "EVENING",
                           "CONTINUOUS", "LATER"})
CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")
# "NORA'S APARTMENT" names a place after a person, and that is fine: possessives do not count.
POSSESSIVE = re.compile(r"\b\w+['’]S\b", re.IGNORECASE)


@dataclass(frozen=True)
class BibleProblem:
    """One thing wrong with the bible: `where` is the id it is about (a character or location id,
    an episode id, or "series"), `code` names the check."""

    where: str
    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


def bible_problems(draft: BibleDraft) -> list[BibleProblem]:
    return [*_loglines(draft), *_looks(draft), *_voices(draft), *_names(draft)]


def words(text: str) -> int:
    """Words in `text`; in scripts written without spaces, two characters count as a word."""
    cjk = len(CJK.findall(text))
    return len(re.findall(r"[^\W\d_]+", CJK.sub(" ", text))) + cjk // 2


def _loglines(draft: BibleDraft) -> list[BibleProblem]:
    problems = []
    if words(draft.logline) < MIN_LOGLINE_WORDS:
        problems.append(BibleProblem("series", "bible-logline",
                                     f"the series logline {draft.logline.strip()!r} says nothing: write who "
                                     "wants what, against whom"))
    for number, outline in enumerate(draft.episodes, start=1):
        if words(outline.logline) < MIN_LOGLINE_WORDS:
            problems.append(BibleProblem(f"e{number:02d}", "bible-logline",
                                         f"episode {number}'s logline {outline.logline.strip()!r} says "
                                         "nothing: write the episode in one sentence"))
    return problems


def _looks(draft: BibleDraft) -> list[BibleProblem]:
    problems = []
    names = {c.name for c in draft.characters}
    for character in draft.characters:
        where = bible_id(character.name)
        if words(character.description) < MIN_LOOK_WORDS:
            problems.append(BibleProblem(where, "bible-look",
                                         f"{character.name}'s description {character.description!r} is not "
                                         f"a look: give at least {MIN_LOOK_WORDS} words of apparent age, "
                                         "build, face, hair and clothes"))
        others = sorted(n for n in names - {character.name} if _mentions(character.description, n))
        if others:
            problems.append(BibleProblem(where, "bible-look",
                                         f"{character.name}'s description names {', '.join(others)}: a "
                                         "description is what the camera sees of this character only"))
    for location in draft.locations:
        if words(location.description) < MIN_LOOK_WORDS // 2:
            problems.append(BibleProblem(bible_id(location.name), "bible-look",
                                         f"{location.name}'s description {location.description!r} is not a "
                                         "look: give its light, materials, colours and key props"))
    return problems


def _voices(draft: BibleDraft) -> list[BibleProblem]:
    from .writer import clamped_voice  # the writer imports this module

    problems = []
    voices = [(c.name, *clamped_voice(c.voice)) for c in draft.characters]
    for (one, speed1, pitch1), (two, speed2, pitch2) in combinations(voices, 2):
        if abs(speed1 - speed2) < SAME_VOICE_SPEED and abs(pitch1 - pitch2) < SAME_VOICE_PITCH:
            problems.append(BibleProblem(bible_id(two), "bible-voice",
                                         f"{one} and {two} sound alike (speed {speed1:g}/{speed2:g}, pitch "
                                         f"{pitch1:g}/{pitch2:g}): make their speed differ by at least "
                                         f"{SAME_VOICE_SPEED:g} or their pitch by at least {SAME_VOICE_PITCH:g}"))
    return problems


def _names(draft: BibleDraft) -> list[BibleProblem]:
    problems = []
    places = {loc.name: _tokens(POSSESSIVE.sub(" ", loc.name)) for loc in draft.locations}
    for character in draft.characters:
        tokens = _tokens(character.name)
        heading = sorted(tokens & HEADING_WORDS)
        alike = sorted(name for name, place in places.items() if place and tokens and
                       (tokens <= place or place <= tokens))
        if heading or alike:
            what = f"scene-heading words {heading}" if heading else f"the place {alike[0]}"
            problems.append(BibleProblem(bible_id(character.name), "bible-name",
                                         f"the character {character.name} is named like {what}: give "
                                         "people names and places place names"))
    return problems


def _tokens(name: str) -> set[str]:
    return set(re.findall(r"[^\W_]+", name.upper()))


def _mentions(text: str, name: str) -> bool:
    """Whether `text` names `name` as a whole word (any case)."""
    if CJK.search(name):
        return name in text
    return re.search(rf"\b{re.escape(name)}\b", text, re.IGNORECASE) is not None
