"""The plan's words: every choice a plan field offers, as plain string enums.

Kept apart from the pydantic models (core/models.py, which uses them) so that the command line can
offer them as option choices without importing pydantic: `microdrama --help` imports this alone.
"""

from __future__ import annotations

from enum import StrEnum


class ShotType(StrEnum):
    ECU = "ECU"  # extreme close-up
    CU = "CU"  # close-up
    MCU = "MCU"  # medium close-up
    MS = "MS"  # medium shot (a two-shot when two characters are framed)
    WS = "WS"  # wide shot
    EWS = "EWS"  # extreme wide / establishing
    OTS = "OTS"  # over the shoulder
    POV = "POV"  # point of view
    INSERT = "INSERT"  # detail of an object or action


class CameraMove(StrEnum):
    STATIC = "static"
    PAN_LEFT = "pan-left"
    PAN_RIGHT = "pan-right"
    TILT_UP = "tilt-up"
    TILT_DOWN = "tilt-down"
    PUSH_IN = "push-in"
    PULL_OUT = "pull-out"
    HANDHELD = "handheld"


class Setting(StrEnum):
    INT = "INT"
    EXT = "EXT"
    INT_EXT = "INT/EXT"
    EST = "EST"


class TimeOfDay(StrEnum):
    DAY = "day"
    NIGHT = "night"
    DAWN = "dawn"
    DUSK = "dusk"
    UNSPECIFIED = "unspecified"


class Mood(StrEnum):
    NEUTRAL = "neutral"
    TENSE = "tense"
    SAD = "sad"
    WARM = "warm"
    ROMANTIC = "romantic"
    MYSTERIOUS = "mysterious"
    JOYFUL = "joyful"
    ANGRY = "angry"


class ScreenPosition(StrEnum):
    LEFT = "left"
    CENTER = "center"
    RIGHT = "right"


class Facing(StrEnum):
    LEFT = "left"
    RIGHT = "right"
    CAMERA = "camera"


class Gender(StrEnum):
    FEMALE = "female"
    MALE = "male"
    NONBINARY = "nonbinary"


class AgeBand(StrEnum):
    CHILD = "child"  # under 13
    TEEN = "teen"  # 13-17
    YOUNG_ADULT = "young adult"  # 18-29
    ADULT = "adult"  # 30-44
    MIDDLE_AGED = "middle-aged"  # 45-59
    ELDER = "elder"  # 60 and over


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


class FindingOrigin(StrEnum):
    RULES = "rules"  # the deterministic checks (pipeline/plan/checks.py, voice routing)
    LLM = "llm"  # the LLM continuity reviewer (agents/continuity.py)
    AUDIT = "audit"  # the audit of a rendered episode
    INGEST = "ingest"  # the screenplay ingest: text left out, an encoding decoded, episodes cut
