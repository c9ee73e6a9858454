"""Sound from the words of the screenplay: which effects a shot's action makes (and at which
frame), and which ambience beds lie under a scene.

One vocabulary serves both directions: the rule planner finds sounds in action text with it, and
the render stage reads the kind of a sound someone wrote by hand or an LLM planned ('door slams',
'敲门') with the same patterns, so the foley backend knows what to synthesise.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..core.models import Location, ScriptScene, Setting, SoundEffect


@dataclass(frozen=True)
class Sound:
    kind: str  # what the foley backend synthesises
    label: str  # the words written into the plan
    pattern: re.Pattern[str]
    seconds: float  # how long the effect lasts


def _words(english: str, chinese: str) -> re.Pattern[str]:
    return re.compile(rf"\b(?:{english})\b|{chinese}", re.IGNORECASE)


_DOOR_VERB = r"opens?|closes?|shuts?|slams?|pushes|pushed|bursts?|swings?|creaks?|kicks?|bangs?"
# Order matters where two kinds share words: a sentence's door or glass takes its slam or crash.
EFFECTS = (
    Sound("knock", "knock", _words(r"knocks?|knocked|knocking|raps? on", "敲门|敲了敲|叩门"), 1.2),
    Sound("door", "door", _words(rf"(?:{_DOOR_VERB})\b[^.!?]*\bdoors?|doors?\b[^.!?]*\b(?:{_DOOR_VERB})",
                                 "开门|关门|摔门|推门|门开|门关|砰地关上"), 1.4),
    Sound("glass", "glass breaks", _words(r"shatters?|shattered|smash(?:es|ed)?|glass breaks",
                                          "玻璃|打碎|摔碎"), 1.5),
    Sound("phone", "phone rings", _words(r"phones?\s+(?:rings?|buzz(?:es)?|vibrates?)|ringtone|ringing",
                                         "电话响|手机响|铃声|来电"), 3.0),
    Sound("car", "car passes", _words(r"cars?|engine|tyres?|tires?|honks?|horn|traffic", "汽车|车声|喇叭|引擎"), 3.5),
    Sound("thunder", "thunder", _words(r"thunder|thunderclap|lightning", "雷声|打雷|雷鸣|闪电"), 4.0),
    Sound("static", "radio static", _words(r"static|hiss(?:es|ing)?|crackles?|crackling",
                                           "杂音|沙沙|静电|滋滋"), 2.5),
    Sound("crowd", "crowd", _words(r"crowd|chatter|murmurs?|applause|cheers?", "人群|人声|喧哗|欢呼"), 4.0),
    Sound("footsteps", "footsteps", _words(
        r"footsteps?|walks?|walked|steps?|stepped|climbs?|climbed|runs?|ran|paces?|strides?|hurries|bursts? "
        r"(?:onto|into|in|out)|stairs?",
        "脚步|走进|走出|走来|跑|上楼|下楼|楼梯"), 2.4),
    Sound("impact", "impact", _words(r"slams?|slammed|crash(?:es|ed)?|thuds?|drops?|dropped|falls?|fell",
                                     "砰|摔|掉在|倒地"), 1.2),
)
# The sounds a sentence's door or glass already makes.
SWALLOWED = {"door": {"impact"}, "glass": {"impact"}}

AMBIENCES = (
    Sound("rain", "rain", _words(r"rain\w*|drizzle|downpour|storm\w*|wet", "雨"), 0),
    Sound("wind", "wind", _words(r"wind\w*|gusts?|breeze|storm\w*|sways?", "风"), 0),
    Sound("sea", "sea", _words(r"sea|ocean|beach|waves?|harbou?r|shore|pier", "海|浪|码头"), 0),
    Sound("market", "market", _words(r"market|bazaar|stalls?|vendors?|hawkers?", "市场|集市|菜市|摊"), 0),
    Sound("city", "city hum", _words(r"city|street|traffic|downtown|skyline|rooftop|avenue", "城市|街|马路|天台|楼顶"), 0),
    Sound("room", "room tone", _words(r"room tone", "室内"), 0),
)
_BY_KIND = {sound.kind: sound for sound in (*EFFECTS, *AMBIENCES)}
_SENTENCE = re.compile(r"[^.!?。！？]+[.!?。！？]*")


def effect_seconds(kind: str) -> float:
    return _BY_KIND[kind].seconds if kind in _BY_KIND else 2.0


def sound_kind(words: str, ambience: bool = False) -> str | None:
    """The kind of a sound written in words ('door slams' -> 'door', 'impact' -> 'impact'), or
    None when the vocabulary has no word of it (a generator with a text prompt may still make it)."""
    sounds = AMBIENCES if ambience else EFFECTS
    folded = words.strip().casefold()
    named = next((s.kind for s in sounds if folded in (s.kind, s.label)), None)
    return named or next((s.kind for s in sounds if s.pattern.search(words)), None)


def sounds_in(action: str) -> list[tuple[str, int]]:
    """The effects an action paragraph makes, as (label, character position), in order."""
    found = []
    for sentence in _SENTENCE.finditer(action):
        hits = {s.kind: (s, m.start()) for s in EFFECTS if (m := s.pattern.search(sentence.group()))}
        for kind in list(hits):
            for swallowed in SWALLOWED.get(kind, ()):
                hits.pop(swallowed, None)
        found += [(s.label, sentence.start() + at) for s, at in sorted(hits.values(), key=lambda h: h[1])]
    return found


def effect_labels(action: str) -> list[str]:
    """What the rule planner writes into a shot draft's `sfx`."""
    return [label for label, _ in sounds_in(action)]


def place_effects(labels: list[str], action: str, duration_frames: int) -> list[SoundEffect]:
    """Each sound at the frame where the action mentions it: the action is read over the length
    of the shot, so a sound named half-way through starts half-way through. A sound the action
    does not mention (an LLM's or a hand edit's) starts with the shot."""
    mentions = [(sound_kind(label), at) for label, at in sounds_in(action)]
    placed = []
    for label in labels:
        kind = sound_kind(label)
        at = next((pos for k, pos in mentions if kind and k == kind), None)
        if at is not None:
            mentions.remove((kind, at))  # a second knock takes the next mention
        share = at / max(1, len(action)) if at is not None else 0.0
        placed.append(SoundEffect(sound=label, offset_frames=min(duration_frames - 1, round(share * duration_frames))))
    return placed


def scene_ambience(script: ScriptScene, location: Location | None) -> list[str]:
    """The beds under a scene: what the place's description, its heading and the scene's action
    say (rain, wind, sea, market, city), and room tone under any interior that names nothing
    else. Night thins the city (the foley backend reads the time of day)."""
    words = " ".join([script.heading, location.description if location else "",
                      *(b.text for b in script.beats if b.kind == "action")])
    beds = [sound.label for sound in AMBIENCES if sound.kind != "room" and sound.pattern.search(words)]
    if script.setting == Setting.INT and not any(k in beds for k in ("market", "sea")):
        beds = [b for b in beds if b not in ("wind", "city hum")]  # heard through a window, not here
        beds.insert(0, "room tone")
    if not beds:
        beds = ["wind"] if script.setting != Setting.INT else ["room tone"]
    return beds
