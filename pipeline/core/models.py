"""The production plan: the contract between every stage of microdrama.

Two kinds of file hold it: `series.yaml` (the bible: format, characters, locations) and one
`plan/eNN.yaml` per episode (scenes, shots, dialogue). Both are these models dumped as YAML, and a
hand-edited file is validated against them before anything trusts it.

Time is integer frames at the series' fps everywhere in the plan (`*_frames` fields); seconds
appear only at the edges (subtitles, display, FFmpeg arguments). Fields are lists of objects, never
free-form dicts, because the same models are the JSON schemas an LLM answers in.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from . import ids, limits
from .ids import EPISODE_ID, LINE_ID, SCENE_ID, SHOT_ID
from .vocabulary import (
    AgeBand, CameraMove, Facing, FindingOrigin, Gender, Mood, ScreenPosition, Setting, Severity, ShotType, TimeOfDay,
)

# Bible ids keep the name's own script (a Chinese name stays Chinese) but no spaces or slashes,
# so they are safe in paths, YAML keys and prompts alike.
BIBLE_ID = r"^[^\W_][\w-]*$"

BibleId = Annotated[str, Field(pattern=BIBLE_ID, max_length=limits.MAX_BIBLE_ID_CHARS)]
Seed = Annotated[int, Field(ge=0, le=limits.MAX_SEED)]
# Every bound below comes from core/limits.py, where each one's reason is written down.
Name = Annotated[str, Field(min_length=1, max_length=limits.MAX_NAME_CHARS)]
Label = Annotated[str, Field(max_length=limits.MAX_LABEL_CHARS)]
LineId = Annotated[str, Field(pattern=LINE_ID, max_length=limits.MAX_ID_CHARS)]
# Frames within a shot: a line's offset and length.
ShotFrames = Annotated[int, Field(le=limits.MAX_SHOT_FRAMES)]
# A line of the screenplay: at most a line per byte of the largest screenplay read.
SourceLine = Annotated[int, Field(ge=1, le=limits.MAX_SCREENPLAY_BYTES)]


def is_off_screen(extension: str | None) -> bool:
    """A voice-over or off-screen cue extension: the speaker need not be in the scene."""
    return bool(extension and re.search(r"V\.?O|O\.?S|O\.?C", extension.upper()))


class PlanModel(BaseModel):
    """Base of every plan model: unknown keys are an error, so a typo in a hand edit is caught."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


# --- the bible (series.yaml) -------------------------------------------------------------------


class VoiceSpec(PlanModel):
    """How a character sounds. Assigned once in the bible and kept, so a voice never drifts."""

    backend: Label | None = Field(
        None, description="Voice backend for this character; null uses the series default."
    )
    voice: Label | None = Field(
        None, description="Backend-specific voice id (a Piper model, an espeak-ng voice, ...)."
    )
    speed: float = Field(1.0, ge=limits.MIN_VOICE_SPEED, le=limits.MAX_VOICE_SPEED,
                         description="Speaking rate; 1.0 is the voice's own.")
    pitch: float = Field(0.0, ge=-limits.MAX_VOICE_PITCH, le=limits.MAX_VOICE_PITCH,
                         description="Pitch shift in semitones.")
    reference_clip: str | None = Field(
        None,
        max_length=limits.MAX_PATH_CHARS,
        description="Path (relative to the series folder) of a reference recording for voice "
        "cloning backends.",
    )
    pitch_hz: float | None = Field(
        None, ge=limits.MIN_VOICE_PITCH_HZ, le=limits.MAX_VOICE_PITCH_HZ,
        description="Median pitch to speak at, in Hz (casting sets it from gender and age); null "
        "keeps the voice's own. `pitch` shifts it further.",
    )
    formant_shift: float = Field(
        1.0, ge=limits.MIN_FORMANT_SHIFT, le=limits.MAX_FORMANT_SHIFT,
        description="Vocal tract scale: above 1 a shorter tract (a woman's or child's voice), below "
        "1 a longer one; 1.0 is the voice's own.",
    )

    @property
    def cast(self) -> bool:
        """Whether anything chose this voice yet (casting, or a hand edit naming one)."""
        return self != VoiceSpec()


class Garment(PlanModel):
    item: Label = Field(min_length=1, description="The garment, e.g. 'work jacket', 'headscarf'.")
    colour: Label | None = Field(None, description="Its colour, e.g. 'orange'; null when unsaid.")
    details: Label = Field("", description="Pattern, fit or wear: 'oversized', 'floral', 'paint-stained'.")

    def text(self) -> str:
        colour = "" if not self.colour or self.colour in self.item else self.colour
        return " ".join(part for part in (self.details, colour, self.item) if part)


Fact = Annotated[str, Field(max_length=limits.MAX_LABEL_CHARS)]


class Character(PlanModel):
    id: BibleId = Field(description="Stable id derived from the name, e.g. 'maya' or '林雨'.")
    name: Name = Field(description="Name as the screenplay writes it in cues.")
    aliases: list[Name] = Field(
        default_factory=list,
        max_length=limits.MAX_ALIASES,
        description="Other cue spellings that mean this character (e.g. 'MAYA CHEN' for 'MAYA').",
    )
    description: str = Field(
        "",
        max_length=limits.MAX_DESCRIPTION_CHARS,
        description="Canonical visual description: every shot prompt uses this text verbatim.",
    )
    voice: VoiceSpec = Field(default_factory=VoiceSpec, description="The character's voice.")
    keyframe: str | None = Field(
        None, max_length=limits.MAX_PATH_CHARS,
        description="Reference image (relative path) for identity-preserving backends.",
    )
    # The facts of the look and the voice, one per field: a generator or the animatic takes each
    # trait from its own field, so an edit to one changes that trait only.
    gender: Gender | None = Field(None, description="Gender as presented on screen; null when unknown.")
    age: int | None = Field(None, ge=0, le=120, description="Apparent age in years, e.g. 28 for 'late 20s'.")
    age_band: AgeBand | None = Field(
        None, description="Age band (child, teen, young adult, adult, middle-aged, elder) when no "
        "exact age is given; derived from `age` when it is.",
    )
    build: Fact = Field("", description="Body build, e.g. 'slim', 'broad-shouldered'.")
    face: Fact = Field("", description="Face and skin, e.g. 'freckled, pale skin'.")
    skin: Fact = Field("", description="Skin tone, e.g. 'dark brown', 'olive', 'pale'.")
    hair: Fact = Field("", description="Hair: colour, length, style, e.g. 'cropped silver hair'.")
    wardrobe: list[Garment] = Field(
        default_factory=list, max_length=limits.MAX_WARDROBE_ITEMS,
        description="What they wear in every scene, one garment each with its colour.",
    )
    accessories: list[Fact] = Field(
        default_factory=list, max_length=limits.MAX_WARDROBE_ITEMS,
        description="Signature accessories always on them, e.g. 'headphones around his neck'.",
    )
    notes: str = Field("", max_length=limits.MAX_DESCRIPTION_CHARS,
                       description="Anything else about the look that has no field of its own.")

    @model_validator(mode="after")
    def _look_fits_a_prompt(self) -> Character:
        """The composed look goes into every prompt, which has a bound (core/limits.py)."""
        if len(self.appearance) > limits.MAX_DESCRIPTION_CHARS:
            raise ValueError(f"the look's fields compose to {len(self.appearance)} characters; at most "
                             f"{limits.MAX_DESCRIPTION_CHARS}: shorten notes, wardrobe or accessories")
        return self

    @property
    def band(self) -> AgeBand | None:
        """The age band: from `age` when it is known, else as written."""
        return age_band_of(self.age) if self.age is not None else self.age_band

    @property
    def appearance(self) -> str:
        """The look as one display string for prompts: `description` when a person wrote one
        (their override), else composed from the fields, so no copy of a fact goes stale."""
        if self.description:
            return self.description
        facts = [self.build, self.face, self.skin, self.hair, *(garment.text() for garment in self.wardrobe),
                 *self.accessories, self.notes]
        young = self.band in (AgeBand.CHILD, AgeBand.TEEN)
        if any(re.search(r"[\u3400-\u9fff]", fact) for fact in facts):  # written in Chinese: said in Chinese
            age = f"{self.age}岁" if self.age is not None else ""
            who = age + {Gender.FEMALE: "女孩" if young else "女性", Gender.MALE: "男孩" if young else "男性"}.get(self.gender, "")
            return "，".join(part for part in (who, *facts) if part)
        age = f"{self.age}-year-old" if self.age is not None else str(self.age_band or "")
        who = " ".join(part for part in (age, PERSON.get((self.gender, young), "")) if part)
        skin = self.skin and f"{self.skin} skin"
        parts = [who, self.build, self.face, skin, self.hair, *facts[4:]]
        return ", ".join(part for part in parts if part)


PERSON = {(Gender.FEMALE, False): "woman", (Gender.MALE, False): "man", (Gender.FEMALE, True): "girl",
          (Gender.MALE, True): "boy", (Gender.NONBINARY, False): "person", (Gender.NONBINARY, True): "kid"}


def age_band_of(age: int) -> AgeBand:
    for band, below in ((AgeBand.CHILD, 13), (AgeBand.TEEN, 18), (AgeBand.YOUNG_ADULT, 30),
                        (AgeBand.ADULT, 45), (AgeBand.MIDDLE_AGED, 60)):
        if age < below:
            return band
    return AgeBand.ELDER


class Location(PlanModel):
    id: BibleId = Field(description="Stable id derived from the location name.")
    name: Name = Field(description="Location name as in the scene headings.")
    description: str = Field("", max_length=limits.MAX_DESCRIPTION_CHARS,
                             description="Canonical visual description of the place.")
    keyframe: str | None = Field(None, max_length=limits.MAX_PATH_CHARS,
                                 description="Reference image (relative path), if any.")
    described_at: SourceLine | None = Field(
        None, description="Screenplay line the description was taken from (the first action of the "
        "first scene set here); null when a person or the writer wrote it.",
    )


class EpisodeOutline(PlanModel):
    id: str = Field(pattern=EPISODE_ID, max_length=limits.MAX_ID_CHARS, description="Episode id, e.g. 'e01'.")
    title: Label = Field("", description="Episode title.")
    logline: str = Field("", max_length=limits.MAX_DESCRIPTION_CHARS,
                         description="One-sentence summary of the episode.")


class Series(PlanModel):
    """The series bible: format plus the canonical characters and locations."""

    slug: str = Field(
        pattern=r"^[a-z0-9][a-z0-9-]*$",
        max_length=limits.MAX_BIBLE_ID_CHARS,
        description="Folder name of the series under episodes/.",
    )
    title: str = Field(min_length=1, max_length=limits.MAX_LABEL_CHARS, description="Series title.")
    language: str = Field(
        "en", pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]+)*$", max_length=limits.MAX_LABEL_CHARS,
        description="Spoken language (BCP 47).",
    )
    aspect: Literal["9:16", "16:9"] = Field("9:16", description="Frame aspect ratio.")
    resolution: str = Field(
        "720x1280", pattern=r"^\d+x\d+$",
        max_length=len(f"{limits.MAX_FRAME_SIDE}x{limits.MAX_FRAME_SIDE}"),
        description="Frame size as WIDTHxHEIGHT in pixels.",
    )
    fps: int = Field(24, ge=limits.MIN_FPS, le=limits.MAX_FPS,
                     description="Frames per second; all plan times use it.")
    visual_style: str = Field(
        "cinematic, natural light, shallow depth of field",
        max_length=limits.MAX_DESCRIPTION_CHARS,
        description="Look of the whole series, prefixed to every shot prompt.",
    )
    characters: list[Character] = Field(
        default_factory=list, max_length=limits.MAX_BIBLE_ENTRIES, description="Recurring cast.")
    locations: list[Location] = Field(
        default_factory=list, max_length=limits.MAX_BIBLE_ENTRIES, description="Recurring places.")
    episodes: list[EpisodeOutline] = Field(
        default_factory=list, max_length=limits.MAX_EPISODES, description="Episode list.")

    @property
    def width(self) -> int:
        return int(self.resolution.split("x")[0])

    @property
    def height(self) -> int:
        return int(self.resolution.split("x")[1])

    @field_validator("resolution")
    @classmethod
    def _sides_within_limits(cls, resolution: str) -> str:
        """On the field, so that a bad size is placed at its own line of series.yaml."""
        w, h = (int(side) for side in resolution.split("x"))
        low, high = limits.MIN_FRAME_SIDE, limits.MAX_FRAME_SIDE
        if w % 2 or h % 2 or not (low <= w <= high and low <= h <= high):
            raise ValueError(f"resolution {resolution}: sides must be even, {low}..{high} px")
        return resolution

    @model_validator(mode="after")
    def _resolution_fits_aspect(self) -> Series:
        w, h = self.width, self.height
        if (self.aspect == "9:16") != (h > w):
            raise ValueError(f"resolution {self.resolution} does not match aspect {self.aspect}")
        return self

    def character(self, character_id: str) -> Character | None:
        return next((c for c in self.characters if c.id == character_id), None)

    def location(self, location_id: str) -> Location | None:
        return next((loc for loc in self.locations if loc.id == location_id), None)


# --- the plan (plan/eNN.yaml) ------------------------------------------------------------------


class DialogueLine(PlanModel):
    id: LineId = Field(description="Line id, e.g. 'e01s03l02'.")
    speaker: BibleId = Field(description="Character id of the speaker.")
    text: str = Field(min_length=1, max_length=limits.MAX_LINE_CHARS, description="Spoken text, without markup.")
    parenthetical: Label | None = Field(None, description="Delivery note, e.g. 'whispering'.")
    extension: Label | None = Field(
        None, description="Cue extension such as V.O., O.S. or CONT'D, without parentheses."
    )
    dual: bool = Field(False, description="Spoken simultaneously with the previous line.")
    offset_frames: ShotFrames = Field(0, ge=0, description="Start of the line within its shot.")
    duration_frames: ShotFrames = Field(gt=0, description="Planned speaking time of the line.")
    source_line: SourceLine | None = Field(None, description="Line of the cue in the screenplay.")

    @property
    def off_screen(self) -> bool:
        return is_off_screen(self.extension)

    @property
    def end_frame(self) -> int:
        return self.offset_frames + self.duration_frames


class SoundEffect(PlanModel):
    """A sound the shot's action makes, placed where the action places it."""

    sound: Label = Field(min_length=1, description="What is heard, in a few words ('knock', 'door "
                         "slams', '敲门'); the foley backend reads its kind from these words and a "
                         "text-to-audio model takes them as its prompt.")
    offset_frames: ShotFrames = Field(0, ge=0, description="Where the sound starts within its shot.")

    @model_validator(mode="before")
    @classmethod
    def _from_words(cls, data):
        """A bare string ('thunder') is a sound at the start of the shot: how plans written
        before offsets existed, and quick hand edits, say it."""
        return {"sound": data} if isinstance(data, str) else data


class FramedCharacter(PlanModel):
    character: BibleId = Field(description="Character id.")
    position: ScreenPosition = Field(description="Where the character stands in the frame.")
    facing: Facing = Field(Facing.CAMERA, description="Which way the character looks.")


class ShotTake(PlanModel):
    """One rendered take of a shot's picture, as the audit judged it (the fix loop records these)."""

    take: int = Field(ge=1, le=limits.MAX_TAKES, description="Take number; take 1 is the shot's own seed.")
    seed: Seed = Field(description="Seed the picture was rendered with.")
    score: float | None = Field(None, ge=0, le=1, description="The audit's score: the share of the shot's "
                                "picture checks that passed (1 = all).")
    verdict: Literal["pass", "fail"] | None = Field(
        None, description="fail: the audit found a failure a re-roll can fix (identity, black, frozen).")


class Shot(PlanModel):
    id: str = Field(pattern=SHOT_ID, max_length=limits.MAX_ID_CHARS, description="Shot id, e.g. 'e01s03k02'.")
    type: ShotType = Field(description="Framing, from the fixed vocabulary.")
    move: CameraMove = Field(CameraMove.STATIC, description="Camera move, from the vocabulary.")
    duration_frames: int = Field(gt=0, le=limits.MAX_SHOT_FRAMES, description="Length of the shot in frames.")
    characters: list[FramedCharacter] = Field(
        default_factory=list, max_length=limits.MAX_CHARACTERS_PER_SCENE,
        description="Characters in frame, with screen positions.",
    )
    action: str = Field("", max_length=limits.MAX_DESCRIPTION_CHARS, description="What happens on screen.")
    title_card: Label | None = Field(
        None, description="Text shown full-frame instead of a picture (centered text such as "
        "'TO BE CONTINUED')."
    )
    dialogue: list[DialogueLine] = Field(
        default_factory=list, max_length=limits.MAX_LINES_PER_SHOT, description="Lines heard during this shot."
    )
    sfx: list[SoundEffect] = Field(
        default_factory=list, max_length=limits.MAX_SFX_PER_SHOT,
        description="Sound effects heard in the shot, each at its frame within the shot.")
    prompt: str = Field("", max_length=limits.MAX_PROMPT_CHARS,
                        description="Generator prompt, composed from the bible.")
    seed: Seed = Field(description="Seed for every generator of this shot.")
    take: int | None = Field(None, ge=1, le=limits.MAX_TAKES, description="The take whose picture is used "
                             "(`microdrama take <shot> --use N`); none: take 1, rendered with `seed`.")
    pinned: bool | None = Field(None, description="A person chose the take: the fix loop leaves the shot alone.")
    takes: list[ShotTake] | None = Field(None, max_length=limits.MAX_TAKES,
                                         description="Takes rendered so far, with the audit's judgement.")

    @model_validator(mode="after")
    def _take_is_recorded(self) -> Shot:
        if self.take not in (None, 1) and self.recorded_take(self.take) is None:
            raise ValueError(f"take {self.take} is not among the shot's takes "
                             f"({', '.join(str(t.take) for t in self.takes or []) or 'none recorded'})")
        return self

    def recorded_take(self, number: int) -> ShotTake | None:
        return next((t for t in self.takes or [] if t.take == number), None)

    @property
    def picture_seed(self) -> int:
        """The seed of the take in use: the shot's own for take 1, else the take's recorded one."""
        take = self.recorded_take(self.take) if self.take not in (None, 1) else None
        return take.seed if take is not None else self.seed


class MusicCue(PlanModel):
    mood: Mood = Field(Mood.NEUTRAL, description="Mood the score should carry.")
    tempo_bpm: int = Field(90, ge=limits.MIN_TEMPO_BPM, le=limits.MAX_TEMPO_BPM,
                           description="Tempo in beats per minute.")
    intensity: float = Field(0.5, ge=0.0, le=1.0, description="0 = sparse and quiet, 1 = full.")
    seed: Seed = Field(description="Seed for the music generator.")


class Scene(PlanModel):
    id: str = Field(pattern=SCENE_ID, max_length=limits.MAX_ID_CHARS, description="Scene id, e.g. 'e01s03'.")
    heading: Label = Field(description="Scene heading as written, e.g. 'INT. KITCHEN - NIGHT'.")
    setting: Setting = Field(description="INT, EXT, INT/EXT or EST.")
    location: BibleId = Field(description="Location id from the bible.")
    time_of_day: TimeOfDay = Field(TimeOfDay.UNSPECIFIED, description="Light of the scene.")
    characters: list[BibleId] = Field(
        default_factory=list, max_length=limits.MAX_CHARACTERS_PER_SCENE,
        description="Ids of the characters present in the scene.",
    )
    mood: Mood = Field(Mood.NEUTRAL, description="Dominant mood.")
    summary: str = Field("", max_length=limits.MAX_DESCRIPTION_CHARS, description="What happens, in a sentence or two.")
    shots: list[Shot] = Field(default_factory=list, max_length=limits.MAX_SHOTS_PER_SCENE,
                              description="The shot list, in order.")
    music: MusicCue = Field(description="Score cue for the scene.")
    ambience: list[Label] = Field(
        default_factory=list, max_length=limits.MAX_SFX_PER_SHOT,
        description="Beds of sound under the whole scene ('rain', 'city hum', 'room tone'), from the "
        "place's description and the time of day; empty is silence under the dialogue.")
    source_line: SourceLine | None = Field(None, description="Line of the heading in the screenplay.")
    source_digest: Label = Field(
        "",
        description="Hash of the screenplay scene this plan was made from; a re-plan keeps a "
        "scene whose screenplay text is unchanged, hand edits included.",
    )

    @property
    def duration_frames(self) -> int:
        return sum(s.duration_frames for s in self.shots)


class Episode(PlanModel):
    id: str = Field(pattern=EPISODE_ID, max_length=limits.MAX_ID_CHARS, description="Episode id, e.g. 'e01'.")
    title: Label = Field("", description="Episode title.")
    scenes: list[Scene] = Field(default_factory=list, max_length=limits.MAX_SCENES_PER_EPISODE,
                                description="Scenes in order.")

    @property
    def duration_frames(self) -> int:
        return sum(s.duration_frames for s in self.scenes)

    @property
    def shots(self) -> list[Shot]:
        return [shot for scene in self.scenes for shot in scene.shots]

    @field_validator("scenes")
    @classmethod
    def _scenes_belong_here(cls, scenes: list[Scene], info) -> list[Scene]:
        episode_id = info.data.get("id")
        for scene in scenes:
            if episode_id and not ids.contains(episode_id, scene.id):
                raise ValueError(f"scene {scene.id} does not belong to episode {episode_id}")
        return scenes

    @field_validator("scenes")
    @classmethod
    def _within_episode_limits(cls, scenes: list[Scene]) -> list[Scene]:
        """The episode's totals (core/limits.py), each naming the shot where it is crossed."""
        frames = shots = lines = 0
        for shot in (shot for scene in scenes for shot in scene.shots):
            frames, shots, lines = frames + shot.duration_frames, shots + 1, lines + len(shot.dialogue)
            if frames > limits.MAX_EPISODE_FRAMES:
                raise ValueError(
                    f"the shots run past {limits.MAX_EPISODE_FRAMES} frames at shot {shot.id} "
                    f"({frames} frames by its end); an episode may last at most "
                    f"{limits.MAX_EPISODE_FRAMES} frames ({limits.MAX_EPISODE_FRAMES // limits.MAX_FPS // 60} "
                    f"minutes at {limits.MAX_FPS} fps): shorten shots or split the episode")
            if shots > limits.MAX_SHOTS_PER_EPISODE:
                raise ValueError(f"shot {shot.id} is shot {shots}; an episode may have at most "
                                 f"{limits.MAX_SHOTS_PER_EPISODE} shots: split the episode")
            if lines > limits.MAX_LINES_PER_EPISODE:
                raise ValueError(f"shot {shot.id} brings the episode to {lines} lines; an episode may have "
                                 f"at most {limits.MAX_LINES_PER_EPISODE} dialogue lines: split the episode")
        return scenes


class Finding(PlanModel):
    """A continuity or audit observation about one place in the plan."""

    severity: Severity = Field(description="error blocks approval; warning and info do not.")
    code: str = Field(description="Stable machine name of the rule, e.g. 'speaker-absent'.")
    message: str = Field(description="What is wrong and how to fix it.")
    where: str = Field(description="Most specific id concerned: episode, scene, shot or line.")
    source_line: int | None = Field(None, description="Screenplay line, where known.")
    origin: FindingOrigin = Field(
        FindingOrigin.RULES,
        description="Who found it: rules (deterministic checks; their errors block approval), llm "
        "(the continuity reviewer's judgement, shown for a human to decide) or audit (the rendered "
        "episode).",
    )
    file: str | None = Field(
        None, description="Plan file holding `where`, relative to the series folder (e.g. "
        "'plan/e01.yaml' or 'series.yaml'); set when review places the finding, else null.",
    )
    line: int | None = Field(None, ge=1, description="1-based line of `where` in `file`, where known.")

    @model_validator(mode="before")
    @classmethod
    def _origin_of_older_findings(cls, data):
        """A finding saved before `origin` existed (in a paused run's checkpoint) keeps its
        meaning: the continuity reviewer's codes are `llm-<category>`."""
        if isinstance(data, dict) and "origin" not in data and str(data.get("code", "")).startswith("llm-"):
            return {**data, "origin": FindingOrigin.LLM}
        return data


# --- the screenplay as the planners read it ----------------------------------------------------


class ScriptLine(PlanModel):
    """One speech of the screenplay, attributed to a bible character."""

    id: LineId = Field(description="Line id, e.g. 'e01s03l02'; kept in the plan.")
    speaker: BibleId = Field(description="Character id of the speaker.")
    text: str = Field(min_length=1, max_length=limits.MAX_LINE_CHARS, description="Spoken text, markup stripped.")
    parenthetical: Label | None = Field(None, description="Delivery note.")
    extension: Label | None = Field(None, description="V.O., O.S., CONT'D ...")
    dual: bool = Field(False, description="Spoken at the same time as the previous speech.")
    source_line: SourceLine | None = Field(None, description="Line in the screenplay.")


class Beat(PlanModel):
    """A unit of the scene in screenplay order: an action paragraph, a run of dialogue, or a
    card (centered text such as 'TO BE CONTINUED')."""

    kind: Literal["action", "dialogue", "card"] = Field(description="What the beat is.")
    text: str = Field("", max_length=limits.MAX_DESCRIPTION_CHARS,
                      description="Action or card text; empty for dialogue.")
    lines: list[ScriptLine] = Field(default_factory=list, description="Speeches, for dialogue.")
    characters: list[BibleId] = Field(
        default_factory=list, max_length=limits.MAX_CHARACTERS_PER_SCENE,
        description="Characters the beat names or who speak in it.",
    )
    source_line: SourceLine | None = Field(None, description="First line in the screenplay.")

    @model_validator(mode="after")
    def _card_fits_a_card(self) -> Beat:
        """A card's text becomes a shot's title card, which is one line of text."""
        if self.kind == "card" and len(self.text) > limits.MAX_LABEL_CHARS:
            raise ValueError(f"a card's text may be at most {limits.MAX_LABEL_CHARS} characters "
                             f"(this one has {len(self.text)})")
        return self


class ScriptScene(PlanModel):
    id: str = Field(pattern=SCENE_ID, max_length=limits.MAX_ID_CHARS, description="Scene id, e.g. 'e01s03'.")
    heading: Label = Field(description="Scene heading as written.")
    setting: Setting = Field(description="INT, EXT, INT/EXT or EST.")
    location: BibleId = Field(description="Location id from the bible.")
    time_of_day: TimeOfDay = Field(TimeOfDay.UNSPECIFIED, description="Light of the scene.")
    characters: list[BibleId] = Field(default_factory=list, max_length=limits.MAX_CHARACTERS_PER_SCENE,
                                      description="Characters present.")
    summary: str = Field("", max_length=limits.MAX_DESCRIPTION_CHARS,
                         description="The scene's synopsis line, if the screenplay has one.")
    beats: list[Beat] = Field(default_factory=list, description="The scene's content in order.")
    source_line: SourceLine | None = Field(None, description="Line of the heading.")


class ScriptEpisode(PlanModel):
    id: str = Field(pattern=EPISODE_ID, max_length=limits.MAX_ID_CHARS, description="Episode id, e.g. 'e01'.")
    title: Label = Field("", description="Episode title.")
    logline: str = Field("", max_length=limits.MAX_DESCRIPTION_CHARS,
                         description="The episode's synopsis line, if any.")
    scenes: list[ScriptScene] = Field(default_factory=list, max_length=limits.MAX_SCENES_PER_EPISODE,
                                      description="Scenes in order.")


class Screenplay(PlanModel):
    """A parsed screenplay, split into episodes, with speakers resolved to bible ids."""

    title: Label = Field(description="Title from the title page, or the file name.")
    language: Label = Field(description="Detected or declared language (BCP 47).")
    episodes: list[ScriptEpisode] = Field(max_length=limits.MAX_EPISODES, description="Episodes in order.")
    notices: list[Finding] = Field(default_factory=list, description="What the ingest tells the reviewer.")


class ShotDraft(PlanModel):
    """A shot as a planner designs it: framing, move, who is in frame, what happens, which lines
    are heard. Ids, timing, prompt and seed are filled in afterwards by the same deterministic pass
    for every planner, so an LLM cannot get them wrong."""

    type: ShotType = Field(description="Framing, from the fixed vocabulary.")
    move: CameraMove = Field(CameraMove.STATIC, description="Camera move, from the vocabulary.")
    characters: list[FramedCharacter] = Field(
        default_factory=list, max_length=limits.MAX_CHARACTERS_PER_SCENE,
        description="Characters in frame, with screen positions.",
    )
    action: str = Field("", max_length=limits.MAX_DESCRIPTION_CHARS,
                        description="What happens on screen, in the screenplay's language.")
    title_card: Label | None = Field(
        None, description="For a card beat: its text, shown full-frame instead of a picture."
    )
    lines: list[Annotated[str, Field(max_length=limits.MAX_ID_CHARS)]] = Field(
        default_factory=list,
        max_length=limits.MAX_LINES_PER_SHOT,
        description="Ids of the screenplay lines heard in this shot, in order; every line of the "
        "scene belongs to exactly one shot.",
    )
    sfx: list[Label] = Field(
        default_factory=list, max_length=limits.MAX_SFX_PER_SHOT,
        description="Sounds the action makes, in the order it makes them, each in a few words of the "
        "screenplay's language ('knock', 'door slams', 'footsteps', 'phone rings', '雷声'): each is "
        "placed at the frame where the action text mentions it. Not the music, not the dialogue, not "
        "the place's ambience (rain, city hum: the scene's ambience holds those).")
