"""The timing pass: how long each line is spoken and each shot is held, from the text alone.

Every planner (rule-based or LLM) leaves timing to this pass, so durations follow one rule set:
reading speed per language scaled by the speaker's voice speed, a floor and a ceiling per shot.
"""

from __future__ import annotations

import math

from ..core.models import Scene, Series, Shot, ShotType

# Characters per second the planner assumes. CJK counts characters (a syllable each); other
# languages count letters and spaces. Measured with bench/voice_rate.py against the bundled Piper
# voice (en: 16.4 cps median) and espeak-ng (zh 3.1, yue 5.1): set so that >= 95% of lines fit
# their slot and none overruns by more than 15% (the renderer speeds up the rare overrun).
READING_CPS = {"en": 12.0, "zh": 2.9, "yue": 4.5, "ja": 6.5, "ko": 5.5}
DEFAULT_CPS = 11.0

LINE_FLOOR_S = 0.8
HEAD_S = 0.3  # before the first line of a shot
GAP_S = 0.25  # between lines
TAIL_S = 0.4  # after the last line
SHOT_FLOOR_S = 1.2
ACTION_CEILING_S = 5.0
ESTABLISHING_S = 2.5
CARD_S = 2.5


def frames(seconds: float, fps: int) -> int:
    return max(1, math.ceil(seconds * fps - 1e-9))


def spoken_length(text: str) -> int:
    return sum(1 for ch in text if not ch.isspace() or ch == " ")


def speech_seconds(text: str, language: str, speed: float = 1.0) -> float:
    cps = READING_CPS.get(language.split("-")[0], DEFAULT_CPS)
    return max(LINE_FLOOR_S, spoken_length(text.strip()) / cps / speed)


def action_seconds(shot: Shot) -> float:
    """Screen time for a shot without dialogue: long enough to read what happens in it."""
    if shot.type in (ShotType.EWS, ShotType.WS) and not shot.characters:
        return ESTABLISHING_S
    if shot.title_card:
        return CARD_S
    return min(ACTION_CEILING_S, max(2.0, 1.4 + 0.03 * len(shot.action)))


def time_scene(scene: Scene, series: Series) -> None:
    """Set every line's offset and duration and every shot's duration, in place."""
    fps = series.fps
    for shot in scene.shots:
        cursor = frames(HEAD_S, fps)
        previous = None
        for line in shot.dialogue:
            speaker = series.character(line.speaker)
            speed = speaker.voice.speed if speaker else 1.0
            line.duration_frames = frames(speech_seconds(line.text, series.language, speed), fps)
            # A dual line is spoken over the previous one, starting with it.
            line.offset_frames = previous.offset_frames if (line.dual and previous) else cursor
            cursor = max(cursor, line.end_frame + frames(GAP_S, fps))
            previous = line
        if shot.dialogue:
            spoken = max(l.end_frame for l in shot.dialogue) + frames(TAIL_S, fps)
            shot.duration_frames = max(spoken, frames(SHOT_FLOOR_S, fps))
        else:
            shot.duration_frames = frames(action_seconds(shot), fps)
