"""The writer agent: a synopsis -> the series bible (characters, locations, episode outlines) ->
one Fountain screenplay per episode.

The synopsis is untrusted text. It reaches the model only in the user message, inside a fence the
prompt calls story material, while the instructions sit in the system message. Nothing the model
returns becomes a path: the agents never touch the file system, names become ids only through
`bible_id`, and the series folder name only passes `check_slug`. Names are also validated as cue
names (no path separators, no Fountain markup, one line), so a reply cannot smuggle structure into
a title page, a cue or a heading either.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from microdrama.pipeline.ingest import fountain
from microdrama.pipeline.core import limits
from microdrama.pipeline.core.ids import episode_id
from microdrama.pipeline.ingest.screenplay import bible_id
from microdrama.pipeline.core.models import Character, EpisodeOutline, Location, Series
from microdrama.pipeline.plan.casting import cast_voices
from microdrama.pipeline.core.store import check_slug

from .bible_checks import BibleProblem, bible_problems
from .bounds import with_bounds
from .llm import LLM, InvalidReplies
from .prompting import load_prompt

log = logging.getLogger(__name__)

AGENT = "writer"

# The ranges the prompt asks for: wide enough to tell characters apart, narrow enough that the
# voice backends still sound natural. A reply outside them is clamped, not refused.
VOICE_SPEED = (0.8, 1.25)
VOICE_PITCH = (-8.0, 8.0)
RESOLUTION = {"9:16": "720x1280", "16:9": "1280x720"}

# Screen time per line of dialogue once the establishing, action and reaction shots around it are
# counted (the bundled example runs 6-7 s; micro-dramas talk more), and per scene.
SECONDS_PER_LINE = 6
SECONDS_PER_SCENE = 30

# Series.language's rule; it also keeps the language safe in the prompt file names it selects.
LANGUAGE = r"^[a-z]{2,3}(-[A-Za-z0-9]+)*$"
# Shown for a value the user left out: a mark that reads the same in every language.
NONE = "—"

# What the writer's answer may hold. Tighter than the plan's limits (core/limits.py): every bound
# is also part of a constrained decoder's grammar and of the reply's token budget (budget.py),
# and a micro-drama's bible is short.
MAX_NAME = 40
MAX_TITLE = 120
MAX_PROSE = 400  # a role, a logline, a hook, a cliffhanger: a sentence or two
MAX_LOOK = 400  # a visual description: about 60 words, more than a video model's prompt reads
MAX_BEAT = 200
MIN_CAST = 2
MAX_CAST = 12  # a long series' main cast; a short one is allowed fewer (BibleBounds)
MAX_LOCATIONS = 12
MIN_BEATS = 2
MAX_BEATS = 6
# A screenplay page is about a minute on screen and 1500-2000 characters of Fountain.
SCREENPLAY_CHARS_PER_MINUTE = 3000
MIN_SCREENPLAY_CHARS = 20  # a heading and one line of dialogue
# A name is written alone on a cue line and inside scene headings: it starts with a letter or digit
# (a leading '.', '!', '@', '>', '~', '=' or '#' would make Fountain read another element) and has
# no parentheses (cue extensions), markup, or path separators.
NAME = re.compile(r"[^\W_][^()（）\[\]^@#*_:/\\<>~=!|]*")


def _one_line(text: str) -> str:
    """Titles and names end up on title-page lines, cue lines and headings, where a line break
    would start a new element; runs of whitespace collapse to one space."""
    text = " ".join(text.split())
    if not text:
        raise ValueError("must not be empty")
    return text


def _name(text: str) -> str:
    text = _one_line(text).upper()
    if not NAME.fullmatch(text):
        raise ValueError(
            "a name starts with a letter or digit and has none of ( ) [ ] ^ @ # * _ : / \\ < > ~ = ! |"
        )
    return text


# Bounded like the plan fields they become (core/limits.py), so an overlong reply is quoted back
# to the model by the client's repair loop instead of failing when the series is built.
Look = Annotated[str, Field(min_length=1, max_length=MAX_LOOK), AfterValidator(_one_line)]
Title = Annotated[str, Field(min_length=1, max_length=MAX_TITLE), AfterValidator(_one_line)]
Name = Annotated[str, Field(min_length=1, max_length=MAX_NAME), AfterValidator(_name)]
Prose = Annotated[str, Field(min_length=1, max_length=MAX_PROSE)]
BeatText = Annotated[str, Field(min_length=1, max_length=MAX_BEAT)]
Gender = Literal["female", "male", "nonbinary"]
AgeBand = Literal["child", "teen", "young adult", "adult", "middle-aged", "elder"]


class SeriesFormat(BaseModel):
    """What the user asks the writer for; the bible's episode count and the screenplays' length
    follow it, and the series language picks the prompts' language."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    episodes: int = Field(3, ge=1, le=60, description="Number of episodes.")
    minutes_per_episode: float = Field(1.5, ge=0.5, le=10, description="Screen minutes per episode.")
    language: str = Field(
        "en", pattern=LANGUAGE, description="Spoken language of the series (BCP 47), e.g. en, zh."
    )
    aspect: Literal["9:16", "16:9"] = Field("9:16", description="Frame aspect ratio.")
    visual_style: str = Field(
        Series.model_fields["visual_style"].default, description="Look of the whole series."
    )
    title: Title | None = Field(None, description="Series title; None lets the writer choose.")


class VoiceDraft(BaseModel):
    model_config = ConfigDict(extra="forbid")

    speed: float = Field(
        allow_inf_nan=False,
        description="Speaking rate from 0.8 (slow, weighty) to 1.25 (quick); 1.0 is neutral.",
    )
    pitch: float = Field(
        allow_inf_nan=False,
        description="Pitch shift in semitones from -8 (deep) to 8 (high); 0 is the voice's own. "
        "Give every character a speed and pitch pair clearly different from the others'.",
    )


class CharacterDraft(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name = Field(
        description="Name exactly as it will appear in dialogue cues: CAPITALS for Latin scripts "
        "(usually the first name, e.g. MAYA), as written for other scripts (e.g. 林雨). Unique.",
    )
    role: Prose = Field(
        description="Who they are in the story: relationships, what they want, what they hide."
    )
    description: Look = Field(
        description="Canonical look, used verbatim in every image prompt: apparent age, build, face "
        "and hair, the wardrobe they wear throughout, one distinguishing mark. Visual only.",
    )
    gender: Gender = Field(description="Gender as the audience reads it, for casting a voice.")
    age_band: AgeBand = Field(description="Apparent age band, for casting a voice.")
    voice: VoiceDraft = Field(description="How the character sounds.")


class LocationDraft(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name = Field(
        description="Place name exactly as in scene headings, without INT./EXT. or time of day: "
        "CAPITALS for Latin scripts (e.g. HOSPITAL ROOFTOP), as written for other scripts. Unique.",
    )
    description: Look = Field(
        description="Canonical look of the place: light, materials, colours, key props."
    )


class OutlineDraft(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Title = Field(description="Episode title.")
    logline: Prose = Field(description="The episode in one sentence.")
    hook: Prose = Field(
        description="What grabs the viewer in the first seconds (from episode 2 on: the payoff of "
        "the previous cliffhanger)."
    )
    beats: list[BeatText] = Field(min_length=MIN_BEATS, max_length=MAX_BEATS, description="The story beats, in order.")
    cliffhanger: Prose = Field(
        description="The last moment: a question the viewer must see answered (the last episode: "
        "the resolution and a final sting)."
    )


class BibleDraft(BaseModel):
    """The writer's series bible, as the model answers it."""

    model_config = ConfigDict(extra="forbid")

    title: Title = Field(description="Series title: short and striking.")
    logline: Prose = Field(description="The series in one or two sentences: who wants what, against whom.")
    characters: list[CharacterDraft] = Field(min_length=MIN_CAST, max_length=MAX_CAST,
                                             description="The main cast.")
    locations: list[LocationDraft] = Field(min_length=1, max_length=MAX_LOCATIONS,
                                           description="The places scenes happen in.")
    episodes: list[OutlineDraft] = Field(
        min_length=1, max_length=limits.MAX_EPISODES, description="One outline per episode, in order, exactly as many as requested."
    )

    @model_validator(mode="after")
    def _distinct_ids(self) -> BibleDraft:
        """Two names with one id would merge two characters (or a character and a place)."""
        ids = [bible_id(c.name) for c in self.characters] + [bible_id(loc.name) for loc in self.locations]
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            raise ValueError(f"character and location names must be distinct; these collide: {repeated}")
        return self


class ScreenplayDraft(BaseModel):
    """One episode's screenplay, as the model answers it. The validator parses the Fountain, so
    the client's repair loop quotes syntax errors back to the model with their line numbers."""

    model_config = ConfigDict(extra="forbid")

    fountain: str = Field(
        max_length=10 * SCREENPLAY_CHARS_PER_MINUTE,
        description="The whole episode in Fountain syntax: scene headings, action, character cues "
        "with dialogue, ending on a centered card. No title page and no # sections.",
    )

    @field_validator("fountain")
    @classmethod
    def _is_an_episode(cls, text: str) -> str:
        text = re.sub(r"^```[\w-]*\n|\n?```$", "", text.strip()).strip()
        doc = fountain.parse(text)
        problems = [f"screenplay:{cue.line}: character cue {cue.text!r} has no dialogue under it (put the line on "
                    "the next line, with no blank line between)" for cue in fountain.cues_without_dialogue(doc.elements)]
        if doc.title_page:
            problems.append("the text starts with 'Key: value' lines, which Fountain reads as a title "
                            "page; start with a scene heading instead")
        if any(isinstance(e, fountain.Section) for e in doc.elements):
            problems.append("remove the '#' section lines: the episode is placed into its own section")
        if not any(isinstance(e, fountain.SceneHeading) for e in doc.elements):
            problems.append("there is no scene heading such as 'INT. KITCHEN - NIGHT'")
        if not any(isinstance(e, fountain.Dialogue) for e in doc.elements):
            problems.append("there is no dialogue: a character cue line followed by the speech")
        if problems:
            raise ValueError("; ".join(problems))
        return text


@dataclass(frozen=True)
class BibleBounds:
    """How many of each the bible for one request may hold: the schema the model answers in and
    the prompt state the same numbers."""

    max_cast: int
    max_locations: int
    episodes: int

    @classmethod
    def of(cls, fmt: SeriesFormat) -> BibleBounds:
        scenes = fmt.episodes * scenes_per_episode(fmt)
        return cls(max_cast=min(MAX_CAST, 4 + fmt.episodes // 2),
                   max_locations=min(MAX_LOCATIONS, scenes + 1), episodes=fmt.episodes)

    def model(self) -> type[BibleDraft]:
        """BibleDraft bounded for this request: exactly `episodes` outlines."""
        return with_bounds(
            BibleDraft,
            characters={"min_length": MIN_CAST, "max_length": self.max_cast},
            locations={"min_length": 1, "max_length": self.max_locations},
            episodes={"min_length": self.episodes, "max_length": self.episodes},
        )


def scenes_per_episode(fmt: SeriesFormat) -> int:
    return max(1, round(fmt.minutes_per_episode * 60 / SECONDS_PER_SCENE))


@dataclass(frozen=True)
class WrittenBible:
    """The writer's bible, and what is still wrong with it after the one repair turn (for review)."""

    draft: BibleDraft
    problems: list[BibleProblem]


def write_bible(synopsis: str, fmt: SeriesFormat, llm: LLM) -> WrittenBible:
    """The series bible for `synopsis` in `fmt`. One call; when the bible fails the content checks
    (bible_checks.py) the problems are quoted back once, and what remains goes to review: a
    repaired bible that comes back invalid leaves the first one standing. Raises LLMError from the
    client."""
    model = BibleBounds.of(fmt).model()
    messages = _bible_messages(synopsis, fmt)
    draft = llm.complete(AGENT, messages, model)
    problems = bible_problems(draft)
    if problems:
        repair = load_prompt("writer.bible.repair", fmt.language).render(
            problems="\n".join(f"- {p}" for p in problems)
        )
        messages += [{"role": "assistant", "content": draft.model_dump_json()}, {"role": "user", "content": repair}]
        try:
            draft = llm.complete(AGENT, messages, model)
        except InvalidReplies as exc:  # seen with a 270M model: a valid bible, then only invalid repairs
            log.warning("the writer's repaired bible was not valid; keeping the first, with its problems: %s", exc)
        problems = bible_problems(draft)
    return WrittenBible(BibleDraft.model_validate(draft.model_dump()), problems)


def _bible_messages(synopsis: str, fmt: SeriesFormat) -> list[dict[str, str]]:
    bounds = BibleBounds.of(fmt)
    system = load_prompt("writer.bible", fmt.language).render(
        episodes=fmt.episodes, minutes=f"{fmt.minutes_per_episode:g}", language=fmt.language,
        aspect=fmt.aspect, visual_style=fmt.visual_style, title=fmt.title or NONE,
        min_cast=MIN_CAST, max_cast=bounds.max_cast, max_locations=bounds.max_locations,
        min_beats=MIN_BEATS, max_beats=MAX_BEATS, max_look=MAX_LOOK,
    )
    user = load_prompt("writer.bible.synopsis", fmt.language).render(
        synopsis=synopsis.strip(), fence=_fence(synopsis), episodes=fmt.episodes
    )
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def _fence(synopsis: str) -> str:
    """A fence tag derived from the synopsis itself: the text cannot contain its own closing tag,
    so it cannot end the story block early and talk to the model as the user."""
    return "STORY-" + hashlib.sha256(synopsis.encode("utf-8")).hexdigest()[:12]


def series_from_bible(draft: BibleDraft, fmt: SeriesFormat, slug: str) -> Series:
    """The bible as plan models: ids from names through `bible_id`, voices cast by gender and age
    at the writer's speed (clamped to the range the prompt asks for), outlines numbered e01, e02, ... Raises InputError for an unsafe slug."""
    check_slug(slug)
    return Series(
        slug=slug,
        title=fmt.title or draft.title,
        language=fmt.language,
        aspect=fmt.aspect,
        resolution=RESOLUTION[fmt.aspect],
        visual_style=fmt.visual_style,
        characters=[_voiced(c, draft_c) for c, draft_c in
                    zip(cast_voices([_character(c) for c in draft.characters]), draft.characters, strict=True)],
        locations=[Location(id=bible_id(loc.name), name=loc.name, description=loc.description)
                   for loc in draft.locations],
        episodes=[EpisodeOutline(id=episode_id(number), title=outline.title, logline=outline.logline)
                  for number, outline in enumerate(draft.episodes, start=1)],
    )


def _character(draft: CharacterDraft) -> Character:
    """The character with no voice yet: casting (plan/casting.py) chooses one from gender and age."""
    return Character(id=bible_id(draft.name), name=draft.name, description=draft.description,
                     gender=draft.gender, age_band=draft.age_band)


def _voiced(character: Character, draft: CharacterDraft) -> Character:
    """The cast voice at the writer's speed (clamped to the prompt's range). Gender and age set
    pitch and formants; the writer's semitone offset is not applied, since it could take a
    woman's voice below a man's (the writer only knows offsets, not the cast pitches)."""
    speed, _ = clamped_voice(draft.voice)
    return character.model_copy(update={"voice": character.voice.model_copy(update={"speed": speed})})


def clamped_voice(voice: VoiceDraft) -> tuple[float, float]:
    """(speed, pitch) inside the ranges the prompt asks for: what the character will sound like."""
    return _clamp(voice.speed, VOICE_SPEED), _clamp(voice.pitch, VOICE_PITCH)


def _clamp(value: float, bounds: tuple[float, float]) -> float:
    return min(max(value, bounds[0]), bounds[1])


def write_episode(bible: BibleDraft, number: int, fmt: SeriesFormat, llm: LLM) -> str:
    """Episode `number`'s Fountain screenplay (1-based; no title page or sections: the caller
    places it in the series). One call; the client re-asks with the Fountain errors when the
    screenplay does not parse. Raises LLMError from the client."""
    if not 1 <= number <= len(bible.episodes):
        raise ValueError(f"episode {number} is not in the bible, which has {len(bible.episodes)}")
    seconds = fmt.minutes_per_episode * 60
    max_chars = screenplay_chars(fmt)
    system = load_prompt("writer.screenplay", fmt.language).render(
        number=number, episodes=len(bible.episodes), minutes=f"{fmt.minutes_per_episode:g}",
        lines=max(4, round(seconds / SECONDS_PER_LINE)), scenes=scenes_per_episode(fmt), max_chars=max_chars,
    )
    user = load_prompt("writer.screenplay.episode", fmt.language).render(
        number=number, bible=_json(_bible_for_screenwriter(bible)),
        previous=_json([_previous(n, o) for n, o in enumerate(bible.episodes[: number - 1], start=1)]),
        outline=_json(bible.episodes[number - 1].model_dump()),
    )
    messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
    model = with_bounds(ScreenplayDraft, fountain={"min_length": MIN_SCREENPLAY_CHARS, "max_length": max_chars})
    return llm.complete(AGENT, messages, model).fountain.strip() + "\n"


def screenplay_chars(fmt: SeriesFormat) -> int:
    """The longest screenplay the writer may answer for one episode of `fmt`."""
    return min(limits.MAX_SCREENPLAY_BYTES // 4, round(fmt.minutes_per_episode * SCREENPLAY_CHARS_PER_MINUTE))


def _bible_for_screenwriter(bible: BibleDraft) -> dict:
    """The bible without the voices, which are no business of the screenplay."""
    return bible.model_dump(include={
        "title": True, "logline": True, "locations": True,
        "characters": {"__all__": {"name", "role", "description"}},
    })


def _previous(number: int, outline: OutlineDraft) -> dict:
    return {"episode": number, "title": outline.title, "logline": outline.logline, "cliffhanger": outline.cliffhanger}


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, indent=1)
