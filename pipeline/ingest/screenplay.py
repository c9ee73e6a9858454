"""Screenplay ingest: Fountain files -> the series bible and the screenplay split into episodes.

Reads and checks the files (size, binary; encoding.py), parses them (fountain.py), splits episodes
at level-1 sections (`# Episode 1`, `# 第一集`) or per file, or cuts a long story into episodes of
about N minutes (episodes.py); text before the first heading is a cold open scene and a forced
heading inside a scene (`.ON THE TV`) a shot of it. It resolves every cue to a bible character
with a stable id, takes each character's visual description from their introduction in the action
lines, and parses scene headings into setting, location and time of day.

A screenplay that crosses a bound of core/limits.py (a speech of 100 KB, an episode of two hours)
is refused here, naming its file and line: each screenplay model is checked as it is built, and
each scene is planned once with the film-grammar rules, as `microdrama plan` will plan it, so that
what the plan models would refuse later (a shot too long, an episode too long) is refused now.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from pydantic import ValidationError

from . import facts
from . import fountain as ft
from .encoding import Decoded, decode
from .episodes import cut_episodes, is_act, scene_ending
from .notices import file_notices, title_minutes
from ..core import ids, limits
from ..core.errors import InputError, Problem
from ..core.models import (
    Beat,
    Character,
    Episode,
    EpisodeOutline,
    Finding,
    Location,
    Screenplay,
    ScriptEpisode,
    ScriptLine,
    ScriptScene,
    Series,
    Setting,
    ShotDraft,
    TimeOfDay,
    is_off_screen,
)
from ..core.store import check_slug, slugify
from ..plan.casting import cast_voices
from ..plan.rules import draft_scene, finalize_scene, scene_context

MAX_BYTES = limits.MAX_SCREENPLAY_BYTES
HOW_TO_SPLIT = ("a micro-drama episode runs minutes: cut the story into episodes of about 3 minutes with "
                "--episode-minutes 3 (or the title page key 'Episode-Minutes: 3'), or split the screenplay with "
                "level-1 sections ('# Episode 2: Title' before its first scene), or one file per episode in "
                "screenplay/")
COLD_OPEN = "COLD OPEN"  # the heading of what comes before a screenplay's first scene heading

_SETTINGS = [
    (r"INT[.。]?/EXT[.。]?|INT/EXT|I/E[.。]?|内外景", Setting.INT_EXT),
    (r"INT[.。]?|内景", Setting.INT),
    (r"EXT[.。]?|外景", Setting.EXT),
    (r"EST[.。]?", Setting.EST),
]
_TIMES = {
    TimeOfDay.DAY: {"DAY", "MORNING", "AFTERNOON", "NOON", "MIDDAY", "日", "白天", "日间", "上午", "下午", "中午", "早上"},
    TimeOfDay.NIGHT: {"NIGHT", "LATE NIGHT", "MIDNIGHT", "夜", "夜晚", "晚上", "深夜", "午夜", "夜间"},
    TimeOfDay.DAWN: {"DAWN", "SUNRISE", "EARLY MORNING", "FIRST LIGHT", "晨", "清晨", "黎明", "凌晨", "早晨"},
    TimeOfDay.DUSK: {"DUSK", "SUNSET", "TWILIGHT", "EVENING", "黄昏", "傍晚", "日落"},
}
_SAME_TIME = {"CONTINUOUS", "LATER", "MOMENTS LATER", "SAME", "SAME TIME", "同时", "稍后", "片刻后", "接上"}
# 'A BIT LATER', 'LATER THAT DAY', 'THE NEXT MORNING': a time relative to the scene before.
_RELATIVE_TIME = re.compile(r"\bLATER\b|\bCONTINUOUS\b|^SAME\b|\bNEXT (?:DAY|MORNING|NIGHT|EVENING)\b")
_OFF_SCREEN = {"画外音": "V.O.", "旁白": "V.O.", "画外": "O.S.", "内心": "V.O."}
_EPISODE_PREFIX = re.compile(
    r"^(?:episode|ep\.?)\s*\d+\s*[:.\-–—]?\s*|^第\s*[一二三四五六七八九十百零〇\d]+\s*[集话回]\s*[:：]?\s*",
    re.IGNORECASE,
)


# --- reading -----------------------------------------------------------------------------------


def read_text(path: Path, what: str = "screenplay") -> str:
    """The file's text, or an InputError that says why it cannot be a screenplay/synopsis."""
    return read_decoded(path, what).text


def read_decoded(path: Path, what: str = "screenplay") -> Decoded:
    """The file's text and the encoding it was decoded from (UTF-8, else a single-byte one)."""
    if not path.is_file():
        raise InputError(path, f"{what} not found")
    data = path.read_bytes()
    if not data.strip():
        raise InputError(path, f"the file is empty: a {what} needs at least one scene")
    if len(data) > MAX_BYTES:
        raise InputError(path, f"the file is {len(data) / 1e6:.1f} MB; a {what} may be at most "
                               f"{MAX_BYTES / 1024 / 1024:g} MB")
    if b"\x00" in data[:8192]:
        raise InputError(path, f"this is a binary file, not a {what} (expected UTF-8 text)")
    return decode(data, path, what)


# --- limits ------------------------------------------------------------------------------------


def _limit_message(error: dict) -> str:
    """A pydantic error about a bound in words, with the size that crossed it."""
    message = str(error["msg"]).removeprefix("Value error, ")
    value = error.get("input")
    if error["type"] == "string_too_long" and isinstance(value, str):
        message += f" (this one has {len(value)})"
    elif error["type"] in ("less_than_equal", "greater_than_equal", "greater_than") and isinstance(value, int):
        message += f" (got {value})"
    return message


def _problems(exc: ValidationError, line: int | None, where: str) -> list[Problem]:
    return [Problem(_limit_message(err), line=line, field=".".join([where, *map(str, err["loc"])]))
            for err in exc.errors()]


@contextmanager
def _at(path: Path, line: int | None, where: str) -> Iterator[None]:
    """A screenplay model refused while it is built (a bound of core/limits.py crossed) becomes an
    InputError naming the screenplay's file and line; `where` names the element (an id)."""
    try:
        yield
    except ValidationError as exc:
        raise InputError(path, _problems(exc, line, where)) from None


def _check_plannable(screenplay: Screenplay, series: Series, origin: dict[str, tuple[Path, int]]) -> None:
    """Plan every scene with the film-grammar rules, as the planning run will, and refuse what the
    plan models refuse (a shot or an episode too long, too many shots or lines), at the screenplay
    line it comes from. Planning is fast and deterministic, so the run plans the same again."""
    context = scene_context(screenplay)
    for episode in screenplay.episodes:
        path, line = origin[episode.id]
        scenes = []
        for script in episode.scenes:
            establishing, introduced = context[script.id]
            drafts = draft_scene(script, establishing, set(introduced))
            try:
                scenes.append(finalize_scene(script, drafts, series))
            except ValidationError as exc:
                raise InputError(path, _unplannable(script, drafts, series, exc)) from None
        try:
            Episode(id=episode.id, title=episode.title, scenes=scenes)
        except ValidationError as exc:
            frames = sum(scene.duration_frames for scene in scenes)
            raise InputError(path, [
                Problem(f"planned, episode {episode.id} would run {frames / series.fps / 60:.1f} minutes at "
                        f"{series.fps} fps ({frames} frames; at most "
                        f"{limits.MAX_EPISODE_FRAMES / series.fps / 60:g} minutes at this fps) in "
                        f"{sum(len(s.shots) for s in scenes)} shots: {problem.message}", line=line, field=problem.field)
                for problem in _problems(exc, line, episode.id)
            ] + [Problem(HOW_TO_SPLIT)]) from None


def _unplannable(script: ScriptScene, drafts: list[ShotDraft], series: Series, exc: ValidationError) -> list[Problem]:
    """What a scene's plan crosses, at the first line of the shot that crosses it (each shot is
    planned alone to find it), else at the scene heading."""
    lines = {line.id: line for beat in script.beats for line in beat.lines}
    for number, draft in enumerate(drafts, start=1):
        heard = [lines[line_id] for line_id in draft.lines]
        alone = script.model_copy(update={"beats": [Beat.model_construct(kind="dialogue", text="", lines=heard,
                                                                         characters=[], source_line=None)]})
        try:
            finalize_scene(alone, [draft], series)
        except ValidationError as inner:
            shot_id = ids.shot_id(script.id, number)
            speeches = f"speech {heard[0].id}" if len(heard) == 1 else (
                f"speeches {heard[0].id}..{heard[-1].id}" if heard else "action")
            problems = []
            for err in inner.errors():
                message = _limit_message(err)
                if err["loc"][-1:] in [("duration_frames",), ("offset_frames",)] and isinstance(err.get("input"), int):
                    # A line's length, or the start of a later line: the shot needs at least that.
                    at_least = "" if err["loc"][-1] == "duration_frames" else "more than "
                    message = (f"planned, the {speeches} would need a shot of {at_least}"
                               f"{err['input'] / series.fps:.0f} s ({err['input']} frames at {series.fps} fps); "
                               f"a shot may last at most {limits.MAX_SHOT_FRAMES} frames "
                               f"({limits.MAX_SHOT_FRAMES / series.fps:.0f} s at {series.fps} fps): split "
                               "it into shorter speeches, with an action line or a parenthetical between them")
                problems.append(Problem(message, line=heard[0].source_line if heard else script.source_line,
                                        field=".".join([shot_id, *map(str, err["loc"])])))
            return problems
    return [replace(problem, message=f"planned, scene {script.id}: {problem.message}")
            for problem in _problems(exc, script.source_line, script.id)]


# --- names and ids -----------------------------------------------------------------------------


def bible_id(name: str) -> str:
    """Stable id of a character or location name: 'MAYA CHEN' -> 'maya-chen', '林雨' -> '林雨'.
    Never the shape of a plan id: a character named E01 is 'e01-name', not episode e01."""
    slug = re.sub(r"[\W_]+", "-", name.lower()).strip("-")[:64] or "unnamed"
    return f"{slug}-name" if ids.is_plan_id(slug) else slug


def detect_language(text: str) -> str:
    """The dominant script decides: Han -> zh, kana -> ja, Hangul -> ko, Cyrillic -> ru, Arabic ->
    ar; Latin text is taken as English unless the title page says `Language:`."""
    counts: Counter[str] = Counter()
    for ch in text:
        if "\u3040" <= ch <= "\u30ff":
            counts["ja"] += 3  # kana marks Japanese even in Han-heavy text
        elif "\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf":
            counts["zh"] += 1
        elif "\uac00" <= ch <= "\ud7af":
            counts["ko"] += 1
        elif "\u0400" <= ch <= "\u04ff":
            counts["ru"] += 1
        elif "\u0600" <= ch <= "\u06ff":
            counts["ar"] += 1
        elif ch.isalpha():
            counts["en"] += 1
    if not counts:
        return "en"
    language, count = counts.most_common(1)[0]
    # Han characters carry a word each, Latin letters a fraction of one.
    if counts["zh"] * 4 >= counts["en"] and counts["zh"] and not counts["ja"]:
        return "zh"
    return language


def parse_heading(heading: str) -> tuple[Setting, str, str | None]:
    """'INT. OLD HOUSE - KITCHEN - NIGHT' -> (INT, 'OLD HOUSE - KITCHEN', 'NIGHT')."""
    text, setting = heading.strip(), Setting.INT
    for pattern, value in _SETTINGS:
        if match := re.match(rf"^(?:{pattern})(?:\s+|$|(?<=。))", text, re.IGNORECASE):
            text, setting = text[match.end():].strip(), value
            break
    parts = [p.strip() for p in re.split(r"\s+[-–—]+\s+|\s*[－—]+\s*", text) if p.strip()]
    if len(parts) > 1 and _time_of(parts[-1]) is not None:
        return setting, " - ".join(parts[:-1]), parts[-1]
    place, comma, after = text.rpartition(",")
    if comma and place.strip() and _time_of(after) is not None:  # "SCOTT'S APARTMENT, A BIT LATER"
        return setting, place.strip(), after.strip()
    words = text.split()
    if len(words) > 1 and _time_of(words[-1]) is not None:
        return setting, " ".join(words[:-1]), words[-1]
    return setting, text or heading.strip(), None


def _time_of(word: str) -> TimeOfDay | None:
    key = word.strip().upper()
    if key in _SAME_TIME or _RELATIVE_TIME.search(key):
        return TimeOfDay.UNSPECIFIED
    return next((time for time, words in _TIMES.items() if key in words), None)


def _sentence_around(text: str, start: int, end: int) -> str:
    left = max((text.rfind(p, 0, start) for p in ".!?。！？\n"), default=-1)
    rights = [i for i in (text.find(p, end) for p in ".!?。！？\n") if i != -1]
    return text[left + 1: (min(rights) + 1) if rights else len(text)].strip()


def _description_after(text: str, start: int, end: int, is_name: Callable[[str], bool]) -> str:
    """The visual description that follows a character's introduction in an action line."""
    rest = text[end:]
    stripped = rest.lstrip()
    if stripped[:1] in "(（":
        close = re.search(r"[)）]", stripped)
        if close:
            after, _ = facts.trailing_look(stripped, close.end(), is_name)
            return ", ".join([stripped[1: close.start()].strip(), *after])
    if stripped[:1] in ",，":
        sentence = re.split(r"(?<=[.!?。！？])\s|\n", stripped[1:], maxsplit=1)[0]
        segments = [s.strip() for s in re.split(r"[,，]", sentence)]
        kept = segments[:-1] if len(segments) > 1 else segments
        return ", ".join(s for s in kept if s).rstrip(".。")
    return _sentence_around(text, start, end)


# --- the ingest --------------------------------------------------------------------------------


class _Cast:
    """Resolves cue spellings to characters, creating bible entries as new names appear."""

    def __init__(self, existing: list[Character]):
        self.characters = {c.id: c for c in existing}
        self.by_name = {n.upper(): c.id for c in existing for n in [c.name, *c.aliases]}
        self.first_seen: list[str] = []

    def resolve(self, cue: str) -> str:
        key = cue.strip().upper()
        if key not in self.by_name:
            char_id = bible_id(cue)
            if char_id not in self.characters:
                self.characters[char_id] = Character(id=char_id, name=cue.strip())
            self.by_name[key] = char_id
        char_id = self.by_name[key]
        if char_id not in self.first_seen:
            self.first_seen.append(char_id)
        return char_id

    def add_alias(self, char_id: str, alias: str) -> None:
        character = self.characters[char_id]
        if alias.upper() not in self.by_name and len(character.aliases) < limits.MAX_ALIASES:
            character.aliases.append(alias)
            self.by_name[alias.upper()] = char_id

    def named_in(self, text: str) -> list[str]:
        """Ids of the known characters that an action text mentions by name or alias."""
        found = []
        for name, char_id in self.by_name.items():
            if char_id in found:
                continue
            if re.search(rf"(?<![\w]){re.escape(name)}(?![\w])", text, re.IGNORECASE):
                found.append(char_id)
        return found


_ARTICLE = re.compile(r"^(?:A|AN|THE)\s+")
_CAPS_INTRO = re.compile(r"(?<![\w(])((?:[^\W\d_][\w'.-]*\s+){0,3}[^\W\d_][\w'.-]*)\s*[(（]([^()（）]{3,})[)）]")


def _introduce_silent(cast: _Cast, actions: list[ft.Action]) -> None:
    """Characters who never speak still enter the bible when the action introduces them the
    screenplay way: a name in capitals followed by a description in parentheses, e.g.
    'A GUARD (50s, bald, green uniform) dozes.' (capitals are what tell a name from prose)."""
    for action in actions:
        for match in _CAPS_INTRO.finditer(action.text):
            words = match.group(1).split()
            while words and not ft.is_upper(" ".join(words)):
                words = words[1:]  # 'then MAYA (30s)': keep the capitalised tail
            name = _ARTICLE.sub("", " ".join(words)).strip()
            # A run of capitals longer than a name may be is shouting, not a name.
            if 1 < len(name) <= limits.MAX_NAME_CHARS and ft.is_upper(name) and not _names_known(name, cast):
                cast.resolve(name)


def _names_known(name: str, cast: _Cast) -> bool:
    """'NORA VANCE' is speaker NORA's introduction, not a new character."""
    padded = f" {name.upper()} "
    return any(f" {known} " in padded for known in cast.by_name)


def _introduce(cast: _Cast, actions: list[ft.Action]) -> None:
    """Fill empty descriptions from each character's introduction, and record the full capitalised
    name of the introduction ('MAYA CHEN' for cue 'MAYA') as an alias."""
    for char_id, character in cast.characters.items():
        if character.description or character.appearance:  # a person's words, or facts already known
            continue
        names = [character.name, *character.aliases]
        found = _find_mention(actions, names, re.NOFLAG) or _find_mention(actions, names, re.IGNORECASE)
        if not found:
            continue
        text, start, end = found
        full = text[start:end]
        # A run of capitals longer than a name may be (a shouted action line) is no cue spelling.
        if ft.is_upper(full) and full.upper() != character.name.upper() and len(full) <= limits.MAX_NAME_CHARS \
                and len(character.aliases) < limits.MAX_ALIASES:
            character.aliases.append(full)
            cast.by_name[full.upper()] = char_id
        facts.fill_from_introduction(character, _description_after(
            text, start, end, lambda item: _names_known(item.strip(), cast)))


def _find_mention(actions: list[ft.Action], names: list[str], flags: int) -> tuple[str, int, int] | None:
    """First mention of any of `names`; a capitalised mention grows over the neighbouring
    capitalised words, since screenplays introduce a character in capitals."""
    for action in actions:
        text = action.text
        for name in names:
            match = re.search(rf"(?<![\w]){re.escape(name)}(?![\w])", text, flags)
            if not match:
                continue
            start, end = match.span()
            if ft.is_upper(match.group(0)):
                while (m := re.search(r"([^\W\d_][\w'.-]+)[ ]+$", text[:start])) and ft.is_upper(m.group(1)):
                    start = m.start(1)
                while (m := re.match(r"[ ]+([^\W\d_][\w'-]+)", text[end:])) and ft.is_upper(m.group(1)):
                    end += m.end(1)
            return text, start, end
    return None


def _episode_title(section: str) -> str:
    return _EPISODE_PREFIX.sub("", section).strip() or section.strip()


def _has_story(elements: list[ft.Element]) -> bool:
    """A heading, or text a viewer would see or hear (a cold open before the first heading);
    `FADE IN:` alone is no story."""
    return any(isinstance(e, (ft.SceneHeading, ft.Dialogue, ft.Centered, ft.Lyrics))
               or (isinstance(e, ft.Action) and not (ft.is_upper(e.text) and e.text.endswith(":")))
               for e in elements)


def _split_episodes(doc: ft.Document, per_file: bool, acts_split: bool = True) -> list[tuple[str, list[ft.Element], int]]:
    """(title, elements, line) per episode: at level-1 sections, or the whole file as one.
    Without `acts_split`, act sections (`# ACT I`) divide nothing: the story is cut by length."""
    episodes: list[tuple[str, list[ft.Element], int]] = []
    if not any(isinstance(e, ft.SceneHeading) for e in doc.elements):
        return episodes  # prose, not a screenplay
    title, current, line = doc.title_page.get("title", ""), [], 1

    def splits(e: ft.Element) -> bool:
        return isinstance(e, ft.Section) and e.level == 1 and (acts_split or not is_act(e.text))

    has_sections = any(splits(e) for e in doc.elements)
    for element in doc.elements:
        if splits(element):
            if _has_story(current):
                episodes.append((title, current, line))
            title, current, line = _episode_title(element.text), [], element.line
        else:
            current.append(element)
    if _has_story(current):
        episodes.append((title if (has_sections or per_file) else "", current, line))
    return episodes


def _heading_hints(doc: ft.Document) -> list[Problem]:
    """Lines of a script without headings that look like one ('老屋 客厅 - 夜': a place, a dash, a
    time of day): each named, with its forced spelling."""
    hints = []
    for action in (e for e in doc.elements if isinstance(e, ft.Action)):
        for offset, text in enumerate(action.text.split("\n")):
            if parse_heading(text)[2] is not None and len(text) <= limits.MAX_NAME_CHARS:
                hints.append(Problem(f"{text!r} looks like a scene heading; write '.{text}'", line=action.line + offset))
    return hints[:20]


def _is_shot_heading(heading: ft.SceneHeading) -> bool:
    """`.INSIDE`, `.ON THE TV`, `.SCOTT` inside a scene: a forced heading with no INT/EXT and no
    time of day is a new angle on the same place, not a new location. (Scripts without letter
    case force every heading, `.茶馆`, so only cased ones are read this way.)"""
    return heading.forced and ft.is_upper(heading.text) and parse_heading(heading.text)[2] is None


def _build_scene(
    path: Path, scene_id: str, heading: ft.SceneHeading, elements: list[ft.Element], cast: _Cast,
    locations: dict[str, Location], previous_time: TimeOfDay,
) -> ScriptScene:
    setting, place, time_text = parse_heading(heading.text)
    time = _time_of(time_text) if time_text else TimeOfDay.UNSPECIFIED
    if time in (None, TimeOfDay.UNSPECIFIED) and time_text:
        time = previous_time  # CONTINUOUS, LATER ...
    location_id = bible_id(place)
    if location_id not in locations:
        with _at(path, heading.line, f"{scene_id}.location"):
            locations[location_id] = Location(id=location_id, name=place)

    beats: list[Beat] = []
    summary = ""
    for element in elements:
        if isinstance(element, ft.Synopsis) and not beats:
            summary = element.text
        elif isinstance(element, (ft.Action, ft.Lyrics)):
            text = element.text if isinstance(element, ft.Action) else f"♪ {element.text} ♪"
            with _at(path, element.line, f"{scene_id}.action"):
                if beats and beats[-1].kind == "action" and isinstance(element, ft.Lyrics):
                    beats[-1].text += "\n" + text
                    continue
                beats.append(Beat(kind="action", text=text, source_line=element.line))
        elif isinstance(element, ft.Centered):
            with _at(path, element.line, f"{scene_id}.card"):
                beats.append(Beat(kind="card", text=element.text, source_line=element.line))
        elif isinstance(element, ft.Dialogue):
            with _at(path, element.line, f"{scene_id}.cue"):
                speaker = cast.resolve(element.cue)
            extension = " ".join(_OFF_SCREEN.get(x, x) for x in element.extensions) or None
            first = sum(len(b.lines) for b in beats) + 1
            lines = []
            for i, speech in enumerate(element.speeches):
                line_id = ids.line_id(scene_id, first + i)
                with _at(path, speech.line, line_id):
                    lines.append(ScriptLine(
                        id=line_id, speaker=speaker, text=speech.text, parenthetical=speech.parenthetical,
                        extension=extension, dual=element.dual and i == 0, source_line=speech.line,
                    ))
            if beats and beats[-1].kind == "dialogue":
                beats[-1].lines.extend(lines)
                if speaker not in beats[-1].characters:
                    beats[-1].characters.append(speaker)
            else:
                beats.append(Beat(kind="dialogue", lines=lines, characters=[speaker], source_line=element.line))
            if element.after:  # '(kissing him)' after the last speech: what the speaker does
                with _at(path, element.line, f"{scene_id}.action"):
                    beats.append(Beat(kind="action", text=f"({element.after})", source_line=element.line))

    with _at(path, heading.line, scene_id):
        return ScriptScene(
            id=scene_id, heading=heading.text, setting=setting, location=location_id,
            time_of_day=time, summary=summary, beats=beats, source_line=heading.line,
        )


def _describe_locations(episodes: list[ScriptEpisode], locations: dict[str, Location], named_in) -> None:
    """A new location is described by its first scene (facts.place_description), never by a
    later one, with the screenplay line it came from."""
    for scene in (s for e in episodes for s in e.scenes):
        location = locations.get(scene.location)
        if location is None or location.description:
            continue
        actions = [b for b in scene.beats if b.kind == "action"]
        description, index = facts.place_description([b.text for b in actions], named_in)
        if index is not None:
            location.description, location.described_at = description, actions[index].source_line


def _cast_scenes(episodes: list[ScriptEpisode], cast: _Cast, origin: dict[str, tuple[Path, int]]) -> None:
    """Who each action beat names and who is present in each scene; run once the whole cast and
    their introduction aliases are known, so a character introduced before their first cue counts."""
    for episode in episodes:
        path = origin[episode.id][0]
        for scene in episode.scenes:
            present: list[str] = []
            for beat in scene.beats:
                if beat.kind == "action":
                    with _at(path, beat.source_line, f"{scene.id}.action"):
                        beat.characters = cast.named_in(beat.text)
                    arriving = beat.characters
                else:
                    arriving = [l.speaker for l in beat.lines if not is_off_screen(l.extension)]
                for char_id in arriving:
                    if char_id not in present:
                        present.append(char_id)
            with _at(path, scene.source_line, scene.id):
                scene.characters = present


def _bible_facts(episodes: list[ScriptEpisode], cast: _Cast, actions: list[str]) -> None:
    """Genders from titles and pronouns, voices cast from gender and age, the characters an action
    means by pronoun, and each introduction's look taken out of the action (it lives in the
    bible now; facts.py)."""
    # Every character's pass reads the same sentences, and the names do not change meanwhile:
    # who each sentence names is worked out once (a feature: 112,000 calls -> one per sentence).
    named_in = functools.cache(cast.named_in)
    for character in cast.characters.values():
        facts.fill_gender(character, actions, named_in)
    cast.characters = {c.id: c for c in cast_voices(list(cast.characters.values()))}
    genders = {c.id: c.gender for c in cast.characters.values()}
    for scene in (s for e in episodes for s in e.scenes):
        for beat in (b for b in scene.beats if b.kind == "action"):
            beat.characters += facts.pronoun_referents(beat.text, beat.characters, scene.characters, genders)
    def known(name: str) -> bool:  # an introduction: a known name, in capitals, before the '('
        return ft.is_upper(name.split()[-1]) and _names_known(name.strip(), cast)

    for beat in (b for e in episodes for s in e.scenes for b in s.beats if b.kind == "action"):
        beat.text = facts.without_introductions(beat.text, known, lambda item: _names_known(item.strip(), cast))


def ingest(paths: list[Path], existing: Series | None = None, slug: str | None = None,
           episode_minutes: float | None = None) -> tuple[Series, Screenplay]:
    """Parse screenplay files into (bible, screenplay). An existing bible's hand edits win:
    known characters and locations keep their descriptions and voices; new ones are added.
    `episode_minutes` (else the title page's `Episode-Minutes:`) cuts each file's story at scene
    boundaries into episodes of about that many planned minutes."""
    cast = _Cast(existing.characters if existing else [])
    locations = {loc.id: loc for loc in (existing.locations if existing else [])}
    episodes: list[ScriptEpisode] = []
    title_page: dict[str, str] = {}
    all_actions: list[ft.Action] = []
    text_sample: list[str] = []
    origin: dict[str, tuple[Path, int]] = {}  # episode id -> its screenplay file and first line
    endings: dict[str, str | None] = {}  # scene id -> the hook it ends on
    cut_at: dict[str, float] = {}  # episode id -> the minutes to cut it into
    notices: list[Finding] = []

    for path in paths:
        decoded = read_decoded(path)
        doc = ft.parse(decoded.text)
        title_page = title_page or doc.title_page
        minutes = episode_minutes or title_minutes(path, doc.title_page)
        split = _split_episodes(doc, per_file=len(paths) > 1, acts_split=minutes is None)
        if not split:
            raise InputError(path, [Problem(
                "no scene found: a screenplay needs at least one scene heading such as 'INT. KITCHEN - NIGHT' "
                "(or a forced heading starting with '.')")] + _heading_hints(doc))
        notices += file_notices(path, doc, decoded.encoding, minutes)
        first = len(episodes)
        for title, elements, line in split:
            episode_id = ids.episode_id(len(episodes) + 1)
            origin[episode_id] = (path, line)
            scenes: list[ScriptScene] = []
            logline, heading, body = "", None, []
            previous_time = TimeOfDay.UNSPECIFIED

            def close() -> None:
                nonlocal previous_time
                if heading is not None:
                    scene = _build_scene(
                        path, ids.scene_id(episode_id, len(scenes) + 1), heading, body, cast, locations, previous_time
                    )
                    previous_time = scene.time_of_day
                    endings[scene.id] = scene_ending(body)
                    scenes.append(scene)

            for element in elements:
                if isinstance(element, ft.SceneHeading) and heading is not None and _is_shot_heading(element):
                    element = ft.Action(element.text, element.line, forced=True)
                if isinstance(element, ft.SceneHeading):
                    close()
                    heading, body = element, []
                elif heading is None and isinstance(element, ft.Synopsis):
                    logline = logline or element.text
                elif heading is None and _has_story([element]):
                    # Before the first heading: a cold open, a scene of its own.
                    heading, body = ft.SceneHeading(COLD_OPEN, element.line, forced=True), [element]
                elif heading is not None:
                    body.append(element)
                if isinstance(element, ft.Action):
                    all_actions.append(element)
                    text_sample.append(element.text)
                elif isinstance(element, ft.Dialogue):
                    text_sample.extend(s.text for s in element.speeches)
            close()
            if not minutes and len(scenes) > limits.MAX_SCENES_PER_EPISODE:
                raise InputError(path, [Problem(f"{len(scenes)} scenes; an episode may have at most "
                                                f"{limits.MAX_SCENES_PER_EPISODE}", line=line, field=f"{episode_id}.scenes"),
                                        Problem(HOW_TO_SPLIT)])
            with _at(path, line, episode_id):
                # A story still to be cut may hold more scenes than one episode may.
                build = ScriptEpisode.model_construct if minutes else ScriptEpisode
                episodes.append(build(id=episode_id, title=title, logline=logline, scenes=scenes))
        if minutes:
            cut_at.update({e.id: minutes for e in episodes[first:]})

    _introduce_silent(cast, all_actions)
    _introduce(cast, all_actions)
    for char_id, given in facts.given_names(list(cast.characters.values()), [a.text for a in all_actions]).items():
        cast.add_alias(char_id, given)
    _cast_scenes(episodes, cast, origin)
    _describe_locations(episodes, locations, cast.named_in)
    _bible_facts(episodes, cast, [a.text for a in all_actions])
    language = title_page.get("language") or detect_language("\n".join(text_sample))
    series = _series(paths[0], title_page, existing, slug, language, cast, locations, episodes)
    if cut_at:
        episodes, origin, summary = cut_episodes(episodes, origin, endings, series, cut_at)
        notices.append(summary)
        series = series.model_copy(update={"episodes": [
            EpisodeOutline(id=e.id, title=e.title, logline=e.logline) for e in episodes]})
        with _at(paths[0], 1, "series"):
            Series.model_validate(series.model_dump())
    with _at(paths[0], 1, "screenplay"):
        screenplay = Screenplay(title=series.title, language=series.language, episodes=episodes, notices=notices)
    _check_plannable(screenplay, series, origin)
    return series, screenplay


# Series fields that come from the screenplay's body rather than its title page.
_BODY_FIELDS = {"characters": "too many characters for one series:", "locations": "too many locations for one series:",
                "episodes": "too many episodes for one series:"}


def _untitled_name(path: Path) -> str:
    """What a screenplay without a title page is called: its file's name, or its series folder's
    for the folder's own screenplay.fountain or screenplay/*.fountain (the copy `plan FILE` makes
    is named screenplay.fountain: the series must not be called 'screenplay')."""
    if path.stem == "screenplay":
        return path.parent.name
    if path.parent.name == "screenplay":
        return path.parent.parent.name
    return path.stem


def _series(
    path: Path, title_page: dict[str, str], existing: Series | None, slug: str | None,
    language: str, cast: _Cast, locations: dict[str, Location], episodes: list[ScriptEpisode],
) -> Series:
    outlines = [EpisodeOutline(id=e.id, title=e.title, logline=e.logline) for e in episodes]
    characters = list(cast.characters.values())
    if existing:
        series = existing.model_copy(update={
            "characters": characters, "locations": list(locations.values()), "episodes": outlines,
        })
        with _at(path, 1, "series"):  # the counts of core/limits.py: model_copy checks nothing
            Series.model_validate(series.model_dump())
        return series
    title = title_page.get("title", "").split("\n")[0].strip() or _untitled_name(path)
    if slug is not None:
        check_slug(slug)
    slug = slug or title_page.get("slug") or slugify(title) or slugify(_untitled_name(path))  # a title in Chinese
    if not slug:
        raise InputError(path, Problem("cannot derive a folder name from the title; pass --slug", field="slug"))
    check_slug(slug)
    fields = {
        "slug": slug, "title": title, "language": language, "characters": characters,
        "locations": list(locations.values()), "episodes": outlines,
    }
    for key, field in [("aspect", "aspect"), ("resolution", "resolution"), ("fps", "fps"),
                       ("style", "visual_style"), ("visual style", "visual_style")]:
        if title_page.get(key):
            fields[field] = title_page[key]
    try:
        return Series(**fields)
    except ValidationError as exc:
        # The title page sets the format; the cast, the places and the episodes come from the body.
        raise InputError(path, [
            Problem(f"{_BODY_FIELDS.get(str(err['loc'][0]) if err['loc'] else '', 'title page:')} "
                    f"{_limit_message(err)}", line=1, field=".".join(map(str, err["loc"]))) for err in exc.errors()
        ]) from None
