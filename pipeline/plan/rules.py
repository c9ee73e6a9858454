"""Shot planning: the rule-based planner (film grammar, offline) and the pass every planner's
drafts go through to become plan scenes.

The rules, in screenplay order:
- a scene that opens in a new location starts with an establishing shot (EWS outside, WS inside),
  which also carries the scene's opening description;
- an action beat is an INSERT when it names nobody, a medium shot of the one character it names
  (pushing in on a character's introduction), a wide shot of several; movement verbs go handheld;
- dialogue is covered by the number of speakers: singles for one, a two-shot then
  shot/reverse-shot (over-the-shoulder, close-ups on emotional deliveries) for two, a group wide
  shot then singles for more; a dual-dialogue line shares the two-shot of the line it overlaps;
  a voice-over line plays over the shot before it, or over the listener;
- every character keeps one screen side for the whole scene (first to appear left, second right,
  third centre), facing the others: the 180-degree rule holds by construction.
Same input, same plan: nothing here depends on time, randomness or dict order.
"""

from __future__ import annotations

import hashlib
import json
import re

from ..core import ids
from ..core.models import (
    Beat,
    CameraMove,
    DialogueLine,
    Episode,
    Facing,
    FramedCharacter,
    Mood,
    MusicCue,
    Scene,
    Screenplay,
    ScreenPosition,
    ScriptLine,
    ScriptScene,
    Series,
    Setting,
    Shot,
    ShotDraft,
    ShotType,
    is_off_screen,
)
from . import sfx
from .shot_prompt import compose_prompt, stable_seed
from .timing import time_scene

MOVEMENT = re.compile(
    r"\b(run|runs|running|burst|bursts|rush|rushes|chase|chases|slam|slams|storm|storms|"
    r"sprint|sprints|dash|dashes|flee|flees|stumble|stumbles|falls?|crash|crashes|lunge|lunges)\b"
    r"|跑|冲|追|摔|撞|扑",
    re.IGNORECASE,
)
# A screenplay's shot headings inside a scene: "INSERT - THE PHOTOGRAPH" or "CLOSE ON HER HAND" heads
# the insert shot of that subject, and "BACK TO SCENE" only ends it; neither is a shot of its own.
SHOT_HEADING = re.compile(r"(?:INSERT|CLOSE(?:[- ]?UP)? ON|ANGLE ON|ECU(?: ON)?)\s*(?:[-\u2013\u2014:]\s*|\s)(?P<subject>[^a-z]+)")
BACK_TO_SCENE = re.compile(r"(?:BACK TO (?:SCENE|PRESENT)|END (?:OF )?INSERT|RESUME SCENE)[.:]?")
INTIMATE = re.compile(
    r"whisper|soft|quiet|low|tear|cry|crying|trembl|barely|breath|低声|轻声|小声|哭|颤|哽咽", re.IGNORECASE
)

MOOD_WORDS: dict[Mood, str] = {
    Mood.TENSE: r"freez|scream|thunder|slam|gun|blood|danger|panic|afraid|scar(e|ing)|storm|"
                r"breathless|block|warn|紧张|害怕|危险|尖叫|雷|慌",
    Mood.SAD: r"\bcr(y|ies|ying)\b|tears?\b|grave|funeral|alone|lost|sorry|miss(es|ed)?\b|grief|哭|泪|孤独|死|难过",
    Mood.WARM: r"smil|hug|laugh|family|home|\btea\b|gentl|soft|笑|拥抱|家|温暖",
    Mood.ROMANTIC: r"kiss|love|heart|darling|吻|爱|心动",
    Mood.MYSTERIOUS: r"static|shadow|strange|whisper|unknown|hiss|flicker|fog|crackl|by itself|"
                     r"神秘|影子|奇怪|低语|闪烁",
    Mood.JOYFUL: r"danc|cheer|celebrat|party|hooray|欢|庆|跳舞",
    Mood.ANGRY: r"shout|yell|punch|angry|furious|rage|吼|怒|骂",
}
MOOD_TEMPO = {
    Mood.NEUTRAL: 90, Mood.TENSE: 118, Mood.SAD: 66, Mood.WARM: 84, Mood.ROMANTIC: 72,
    Mood.MYSTERIOUS: 76, Mood.JOYFUL: 116, Mood.ANGRY: 132,
}
MOOD_INTENSITY = {
    Mood.NEUTRAL: 0.4, Mood.TENSE: 0.75, Mood.SAD: 0.35, Mood.WARM: 0.45, Mood.ROMANTIC: 0.4,
    Mood.MYSTERIOUS: 0.5, Mood.JOYFUL: 0.7, Mood.ANGRY: 0.85,
}


class DraftError(ValueError):
    """A planner's drafts do not fit the scene (unknown line, line used twice or never)."""


def scene_mood(scene: ScriptScene) -> Mood:
    """The mood whose words the scene uses most; neutral when none stands out."""
    text = " ".join([scene.summary] + [b.text for b in scene.beats] +
                    [f"{l.parenthetical or ''} {l.text}" for b in scene.beats for l in b.lines])
    scores = {mood: len(re.findall(pattern, text, re.IGNORECASE)) for mood, pattern in MOOD_WORDS.items()}
    best = max(scores, key=lambda mood: scores[mood])
    return best if scores[best] > 0 else Mood.NEUTRAL


def screen_sides(scene: ScriptScene) -> dict[str, tuple[ScreenPosition, Facing]]:
    """One screen position per character for the whole scene, in order of appearance."""
    order = [ScreenPosition.LEFT, ScreenPosition.RIGHT, ScreenPosition.CENTER]
    facing = {ScreenPosition.LEFT: Facing.RIGHT, ScreenPosition.RIGHT: Facing.LEFT,
              ScreenPosition.CENTER: Facing.CAMERA}
    sides = {}
    for i, char_id in enumerate(scene.characters):
        position = order[i] if i < len(order) else order[i % 2]
        sides[char_id] = (position, facing[position])
    return sides


class _RulePlanner:
    """Builds one scene's drafts beat by beat; see the module docstring for the rules."""

    def __init__(self, scene: ScriptScene, establishing: bool, introduced: set[str]):
        self.scene = scene
        self.sides = screen_sides(scene)
        self.introduced = introduced
        self.lines = {l.id: l for b in scene.beats for l in b.lines}
        self.drafts: list[ShotDraft] = []
        self.last_on_screen: list[str] = []
        self.insert_of: str | None = None  # the subject of a shot heading, for the beat below it
        if establishing:
            self.drafts.append(ShotDraft(
                type=ShotType.EWS if scene.setting in (Setting.EXT, Setting.EST) else ShotType.WS,
                move=CameraMove.PAN_RIGHT if scene.setting != Setting.INT else CameraMove.PULL_OUT,
            ))

    def framed(self, ids: list[str]) -> list[FramedCharacter]:
        ids = [c for c in ids if c in self.sides]
        return [FramedCharacter(character=c, position=self.sides[c][0], facing=self.sides[c][1]) for c in ids]

    def plan(self) -> list[ShotDraft]:
        for beat in self.scene.beats:
            if beat.kind != "action":
                self.close_insert()
            if beat.kind == "dialogue":
                self.dialogue(beat)
            elif beat.kind == "card":
                self.drafts.append(ShotDraft(type=ShotType.INSERT, title_card=beat.text))
            else:
                self.action(beat)
        self.close_insert()
        return self.drafts

    def close_insert(self) -> None:
        """A shot heading with no action under it is the insert of its subject alone."""
        if self.insert_of:
            self.drafts.append(ShotDraft(type=ShotType.INSERT, action=self.insert_of + "."))
            self.insert_of = None

    def action(self, beat: Beat) -> None:
        if heading := SHOT_HEADING.fullmatch(beat.text.strip()):
            self.close_insert()
            self.insert_of = heading["subject"].strip().capitalize()
            return
        if BACK_TO_SCENE.fullmatch(beat.text.strip()):
            self.close_insert()
            return
        move = CameraMove.HANDHELD if MOVEMENT.search(beat.text) else CameraMove.STATIC
        if self.insert_of:
            self.drafts.append(ShotDraft(type=ShotType.INSERT, move=move, action=f"{self.insert_of}: {beat.text}"))
            self.insert_of = None
            return
        people = [c for c in beat.characters if c in self.sides]
        opening = self.drafts and len(self.drafts) == 1 and not self.drafts[0].action and not self.drafts[0].characters
        if not people and opening:
            self.drafts[0].action = beat.text  # the scene's description belongs to its establishing shot
            return
        if not people:
            self.drafts.append(ShotDraft(type=ShotType.INSERT, move=move, action=beat.text))
            return
        new = [c for c in people if c not in self.introduced]
        self.introduced.update(people)
        if len(people) == 1:
            if new and move == CameraMove.STATIC:
                move = CameraMove.PUSH_IN
            self.drafts.append(ShotDraft(type=ShotType.MS, move=move, characters=self.framed(people), action=beat.text))
        else:
            self.drafts.append(ShotDraft(type=ShotType.WS, move=move, characters=self.framed(people), action=beat.text))
        self.last_on_screen = people

    def dialogue(self, beat: Beat) -> None:
        speakers = []
        for line in beat.lines:
            if not _off(line) and line.speaker not in speakers:
                speakers.append(line.speaker)
        for line in beat.lines:
            if line.dual and self.drafts and self.drafts[-1].lines:
                self.dual(line)
            elif _off(line):
                self.voice_over(line)
            else:
                self.spoken(line, speakers)

    def spoken(self, line: ScriptLine, speakers: list[str]) -> None:
        last = self.drafts[-1] if self.drafts else None
        # Consecutive speeches of one speaker stay in one shot.
        if last and last.lines and self._speaker_of(last) == line.speaker and not line.parenthetical:
            last.lines.append(line.id)
            return
        others = [c for c in speakers if c != line.speaker]
        emotional = bool(line.parenthetical and INTIMATE.search(line.parenthetical))
        opening_exchange = not any(d.lines and self._speaker_of(d) in speakers for d in self.drafts)
        if len(speakers) >= 2 and opening_exchange:
            draft = ShotDraft(type=ShotType.MS if len(speakers) == 2 else ShotType.WS,
                              characters=self.framed(speakers))
        elif emotional:
            draft = ShotDraft(type=ShotType.CU, move=CameraMove.PUSH_IN, characters=self.framed([line.speaker]))
        elif len(speakers) == 2:
            listener = others[0]
            draft = ShotDraft(type=ShotType.OTS, characters=self.framed([line.speaker, listener]))
        else:
            draft = ShotDraft(type=ShotType.MCU, characters=self.framed([line.speaker]))
        draft.lines.append(line.id)
        self.drafts.append(draft)
        self.last_on_screen = [line.speaker]
        self.introduced.add(line.speaker)

    def dual(self, line: ScriptLine) -> None:
        """Simultaneous speech: both speakers share the shot of the line it overlaps."""
        last = self.drafts[-1]
        people = [f.character for f in last.characters]
        if line.speaker not in people and not _off(line):
            people.append(line.speaker)
            last.type = ShotType.MS if len(people) <= 2 else ShotType.WS
            last.move = CameraMove.STATIC
            last.characters = self.framed(people)
        last.lines.append(line.id)

    def voice_over(self, line: ScriptLine) -> None:
        last = self.drafts[-1] if self.drafts else None
        if last and not last.lines and not last.title_card:
            last.lines.append(line.id)
            return
        listeners = self.last_on_screen or [c for c in self.scene.characters[:1]]
        if listeners:
            self.drafts.append(ShotDraft(type=ShotType.MCU, characters=self.framed(listeners[:1]), lines=[line.id]))
        else:
            self.drafts.append(ShotDraft(type=ShotType.WS, lines=[line.id]))

    def _speaker_of(self, draft: ShotDraft) -> str | None:
        return self.lines[draft.lines[-1]].speaker if draft.lines else None


def _off(line: ScriptLine) -> bool:
    return is_off_screen(line.extension)


def draft_scene(scene: ScriptScene, establishing: bool, introduced: set[str]) -> list[ShotDraft]:
    """The rule-based planner for one scene; each shot's sounds come from its action."""
    drafts = _RulePlanner(scene, establishing, introduced).plan()
    for draft in drafts:
        draft.sfx = draft.sfx or sfx.effect_labels(draft.action)
    return drafts


def finalize_scene(script: ScriptScene, drafts: list[ShotDraft], series: Series, mood: Mood | None = None) -> Scene:
    """Drafts -> a plan Scene: ids, dialogue lines, timing, composed prompts and seeds. Raises
    DraftError when the drafts do not use every line of the scene exactly once."""
    lines = {l.id: l for b in script.beats for l in b.lines}
    used = [line_id for d in drafts for line_id in d.lines]
    unknown = [i for i in used if i not in lines]
    twice = sorted({i for i in used if used.count(i) > 1})
    missing = [i for i in lines if i not in used]
    if unknown or twice or missing:
        raise DraftError("; ".join(filter(None, [
            unknown and f"unknown line ids {unknown}",
            twice and f"lines used in more than one shot {twice}",
            missing and f"lines in no shot {missing}",
        ])))
    mood = mood or scene_mood(script)
    shots = []
    for number, draft in enumerate(drafts, start=1):
        dialogue = [
            DialogueLine(
                id=l.id, speaker=l.speaker, text=l.text, parenthetical=l.parenthetical,
                extension=l.extension, dual=l.dual, duration_frames=1, source_line=l.source_line,
            )
            for l in (lines[i] for i in draft.lines)
        ]
        shot_id = ids.shot_id(script.id, number)
        shots.append(Shot(
            id=shot_id, type=draft.type, move=draft.move, duration_frames=1,
            characters=draft.characters, action=draft.action, title_card=draft.title_card,
            dialogue=dialogue,
            seed=stable_seed(series.slug, shot_id),
        ))
    scene = Scene(
        id=script.id, heading=script.heading, setting=script.setting, location=script.location,
        time_of_day=script.time_of_day, characters=script.characters, mood=mood,
        summary=script.summary or _summary(script), shots=shots, source_line=script.source_line,
        music=MusicCue(mood=mood, tempo_bpm=MOOD_TEMPO[mood], intensity=MOOD_INTENSITY[mood],
                       seed=stable_seed(series.slug, script.id, "music")),
    )
    time_scene(scene, series)
    for shot, draft in zip(scene.shots, drafts, strict=True):
        shot.prompt = compose_prompt(shot, scene, series)
        shot.sfx = sfx.place_effects(draft.sfx, draft.action, shot.duration_frames)
    scene.ambience = sfx.scene_ambience(script, series.location(script.location))
    return scene


def _summary(scene: ScriptScene) -> str:
    first = next((b.text for b in scene.beats if b.kind == "action"), "")
    sentence = re.split(r"(?<=[.!?。！？])\s*", first.strip(), maxsplit=1)[0]
    return sentence[:200]


def plan_screenplay(screenplay: Screenplay, series: Series) -> list[Episode]:
    """Plan every scene of every episode with the rule-based planner."""
    context = scene_context(screenplay)
    episodes = []
    for script_episode in screenplay.episodes:
        scenes = []
        for script in script_episode.scenes:
            establishing, introduced = context[script.id]
            scene = finalize_scene(script, draft_scene(script, establishing, set(introduced)), series)
            scene.source_digest = scene_digest(script, series)
            scenes.append(scene)
        episodes.append(Episode(id=script_episode.id, title=script_episode.title, scenes=scenes))
    return episodes


def scene_digest(script: ScriptScene, series: Series, planner: str = "rules") -> str:
    """Hash of everything a scene's plan is made from: its screenplay text, the planner, the
    language, and the voice speeds that set its timing. Bible descriptions are left out on
    purpose: prompts are recomposed on every plan, so a description edit never needs a re-plan."""
    speakers = sorted({l.speaker for b in script.beats for l in b.lines})
    speeds = [(c, series.character(c).voice.speed if series.character(c) else 1.0) for c in speakers]
    payload = json.dumps([script.model_dump(mode="json"), planner, series.language, series.fps, speeds],
                         sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]


def scene_context(screenplay: Screenplay) -> dict[str, tuple[bool, list[str]]]:
    """For each scene: does it open in a new location, and who has been seen before it. This is
    the only state the rule planner carries from scene to scene, so scenes can be planned in
    parallel."""
    context = {}
    previous_location, seen = None, []
    for scene in (s for e in screenplay.episodes for s in e.scenes):
        context[scene.id] = (scene.location != previous_location, list(seen))
        previous_location = scene.location
        for beat in scene.beats:
            speakers = [l.speaker for l in beat.lines if not is_off_screen(l.extension)]
            for char_id in (beat.characters if beat.kind == "action" else speakers):
                if char_id not in seen:
                    seen.append(char_id)
    return context
