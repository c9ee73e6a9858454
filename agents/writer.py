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
import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from microdrama.pipeline.ingest import fountain
from microdrama.pipeline.core import limits
from microdrama.pipeline.core.errors import MicrodramaError
from microdrama.pipeline.core.ids import episode_id
from microdrama.pipeline.ingest.screenplay import bible_id
from microdrama.pipeline.core.models import Character, EpisodeOutline, Location, Series, VoiceSpec
from microdrama.pipeline.core.store import check_slug

from .llm import LLM
from .prompting import load_prompt

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
MAX_NAME = 40
MAX_TITLE = 120
# A name is written alone on a cue line and inside scene headings: it starts with a letter or digit
# (a leading '.', '!', '@', '>', '~', '=' or '#' would make Fountain read another element) and has
# no parentheses (cue extensions), markup, or path separators.
NAME = re.compile(r"[^\W_][^()（）\[\]^@#*_:/\\<>~=!|]*")


class WriterError(MicrodramaError):
    """The model kept answering with a bible that does not fit the requested format."""


def _one_line(text: str) -> str:
    """Titles and names end up on title-page lines, cue lines and headings, where a line break
    would start a new element; runs of whitespace collapse to one space."""
    text = " ".join(text.split())
    if not text:
        raise ValueError("must not be empty")
    return text


def _title(text: str) -> str:
    text = _one_line(text)
    if len(text) > MAX_TITLE:
        raise ValueError(f"a title must be at most {MAX_TITLE} characters")
    return text


def _name(text: str) -> str:
    text = _one_line(text).upper()
    if len(text) > MAX_NAME:
        raise ValueError(f"a name must be at most {MAX_NAME} characters")
    if not NAME.fullmatch(text):
        raise ValueError(
            "a name starts with a letter or digit and has none of ( ) [ ] ^ @ # * _ : / \\ < > ~ = ! |"
        )
    return text


# Bounded like the plan fields they become (core/limits.py), so an overlong reply is quoted back
# to the model by the client's repair loop instead of failing when the series is built.
OneLine = Annotated[str, Field(max_length=limits.MAX_DESCRIPTION_CHARS), AfterValidator(_one_line)]
Title = Annotated[str, AfterValidator(_title)]
Name = Annotated[str, AfterValidator(_name)]
Prose = Annotated[str, Field(max_length=limits.MAX_DESCRIPTION_CHARS)]


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
    description: OneLine = Field(
        description="Canonical look, used verbatim in every image prompt: apparent age, build, face "
        "and hair, the wardrobe they wear throughout, one distinguishing mark. Visual only.",
    )
    voice: VoiceDraft = Field(description="How the character sounds.")


class LocationDraft(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name = Field(
        description="Place name exactly as in scene headings, without INT./EXT. or time of day: "
        "CAPITALS for Latin scripts (e.g. HOSPITAL ROOFTOP), as written for other scripts. Unique.",
    )
    description: OneLine = Field(
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
    beats: list[Prose] = Field(min_length=1, max_length=20, description="3 to 6 story beats, in order.")
    cliffhanger: Prose = Field(
        description="The last moment: a question the viewer must see answered (the last episode: "
        "the resolution and a final sting)."
    )


class BibleDraft(BaseModel):
    """The writer's series bible, as the model answers it."""

    model_config = ConfigDict(extra="forbid")

    title: Title = Field(description="Series title: short and striking.")
    logline: Prose = Field(description="The series in one or two sentences: who wants what, against whom.")
    characters: list[CharacterDraft] = Field(min_length=1, max_length=limits.MAX_BIBLE_ENTRIES,
                                             description="The main cast.")
    locations: list[LocationDraft] = Field(min_length=1, max_length=limits.MAX_BIBLE_ENTRIES,
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


def write_bible(synopsis: str, fmt: SeriesFormat, llm: LLM) -> BibleDraft:
    """The series bible for `synopsis` in `fmt`. One call; a second one when the model wrote fewer
    episode outlines than asked (extra ones are dropped). Raises WriterError, or LLMError from
    the client."""
    messages = _bible_messages(synopsis, fmt)
    draft = llm.complete(AGENT, messages, BibleDraft)
    if len(draft.episodes) < fmt.episodes:
        retry = load_prompt("writer.bible.retry", fmt.language).render(
            written=len(draft.episodes), episodes=fmt.episodes
        )
        messages += [{"role": "assistant", "content": draft.model_dump_json()}, {"role": "user", "content": retry}]
        draft = llm.complete(AGENT, messages, BibleDraft)
    if len(draft.episodes) < fmt.episodes:
        raise WriterError(
            f"the LLM wrote {len(draft.episodes)} episode outline(s) for a series of {fmt.episodes}, "
            "twice; ask for fewer episodes or use a more capable model"
        )
    return draft.model_copy(update={"episodes": draft.episodes[: fmt.episodes]})


def _bible_messages(synopsis: str, fmt: SeriesFormat) -> list[dict[str, str]]:
    system = load_prompt("writer.bible", fmt.language).render(
        episodes=fmt.episodes, minutes=f"{fmt.minutes_per_episode:g}", language=fmt.language,
        aspect=fmt.aspect, visual_style=fmt.visual_style, title=fmt.title or NONE,
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
    """The bible as plan models: ids from names through `bible_id`, voices clamped to the ranges
    the prompt asks for, outlines numbered e01, e02, ... Raises InputError for an unsafe slug."""
    check_slug(slug)
    return Series(
        slug=slug,
        title=fmt.title or draft.title,
        language=fmt.language,
        aspect=fmt.aspect,
        resolution=RESOLUTION[fmt.aspect],
        visual_style=fmt.visual_style,
        characters=[_character(c) for c in draft.characters],
        locations=[Location(id=bible_id(loc.name), name=loc.name, description=loc.description)
                   for loc in draft.locations],
        episodes=[EpisodeOutline(id=episode_id(number), title=outline.title, logline=outline.logline)
                  for number, outline in enumerate(draft.episodes, start=1)],
    )


def _character(draft: CharacterDraft) -> Character:
    voice = VoiceSpec(speed=_clamp(draft.voice.speed, VOICE_SPEED), pitch=_clamp(draft.voice.pitch, VOICE_PITCH))
    return Character(id=bible_id(draft.name), name=draft.name, description=draft.description, voice=voice)


def _clamp(value: float, bounds: tuple[float, float]) -> float:
    return min(max(value, bounds[0]), bounds[1])


def write_episode(bible: BibleDraft, number: int, fmt: SeriesFormat, llm: LLM) -> str:
    """Episode `number`'s Fountain screenplay (1-based; no title page or sections: the caller
    places it in the series). One call; the client re-asks with the Fountain errors when the
    screenplay does not parse. Raises LLMError from the client."""
    if not 1 <= number <= len(bible.episodes):
        raise ValueError(f"episode {number} is not in the bible, which has {len(bible.episodes)}")
    seconds = fmt.minutes_per_episode * 60
    system = load_prompt("writer.screenplay", fmt.language).render(
        number=number, episodes=len(bible.episodes), minutes=f"{fmt.minutes_per_episode:g}",
        lines=max(4, round(seconds / SECONDS_PER_LINE)), scenes=max(1, round(seconds / SECONDS_PER_SCENE)),
    )
    user = load_prompt("writer.screenplay.episode", fmt.language).render(
        number=number, bible=_json(_bible_for_screenwriter(bible)),
        previous=_json([_previous(n, o) for n, o in enumerate(bible.episodes[: number - 1], start=1)]),
        outline=_json(bible.episodes[number - 1].model_dump()),
    )
    messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
    return llm.complete(AGENT, messages, ScreenplayDraft).fountain.strip() + "\n"


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
