"""Plan ids: the one place that knows how they are spelled.

    e01         episode 1
    e01s03      scene 3 of episode 1
    e01s03k02   shot 2 of that scene
    e01s03l04   dialogue line 4 of that scene (lines are numbered per scene, not per shot)

Numbers are written with at least two digits (`e07`, `e123`: the planners format with `:02d`, so
episode 100 is `e100`). Ids are stable: a re-plan keeps them, and everything downstream (file
names, caches, seeds, findings) is keyed by them. Bible ids (characters, locations) are a separate
space and are not plan ids.

Everything else builds ids with the format functions and takes them apart with `parse` and the
relations below, never with f-strings, slicing or `startswith`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Kind = Literal["episode", "scene", "shot", "line"]

# [0-9], not \d: Python's and pydantic's (Rust) \d both match every Unicode digit.
_NUMBER = r"[0-9]{2,}"
_EPISODE = rf"e{_NUMBER}"
_SCENE = rf"{_EPISODE}s{_NUMBER}"

# Anchored patterns for pydantic `Field(pattern=...)`.
EPISODE_ID = rf"^{_EPISODE}$"
SCENE_ID = rf"^{_SCENE}$"
SHOT_ID = rf"^{_SCENE}k{_NUMBER}$"
LINE_ID = rf"^{_SCENE}l{_NUMBER}$"
PLAN_ID = rf"^{_EPISODE}(?:s{_NUMBER}(?:[kl]{_NUMBER})?)?$"

# Unanchored, to find an id inside free text (an LLM's answer, a message).
PLAN_ID_IN_TEXT = re.compile(rf"{_EPISODE}(?:s{_NUMBER}(?:[kl]{_NUMBER})?)?")

_PARTS = re.compile(
    rf"(?P<episode_id>e(?P<episode>{_NUMBER}))"
    rf"(?:(?P<scene_id>s(?P<scene>{_NUMBER}))(?:(?P<part>[kl])(?P<number>{_NUMBER}))?)?"
)
_KIND_OF_PART = {"k": "shot", "l": "line"}


@dataclass(frozen=True)
class PlanId:
    """A parsed plan id. `id` is the text as given; the numbers are its parts."""

    id: str
    kind: Kind
    episode: int
    scene: int | None = None
    shot: int | None = None
    line: int | None = None

    def __str__(self) -> str:
        return self.id

    @property
    def episode_id(self) -> str:
        return _PARTS.fullmatch(self.id).group("episode_id")

    @property
    def scene_id(self) -> str | None:
        """The scene id of a scene, shot or line; None for an episode."""
        match = _PARTS.fullmatch(self.id)
        return match.group("episode_id") + match.group("scene_id") if self.scene is not None else None


def parse(plan_id: str) -> PlanId:
    """The parts of an episode, scene, shot or line id. Raises ValueError on anything else
    (a bible id, an upper-case or one-digit spelling, trailing text)."""
    match = _PARTS.fullmatch(plan_id) if isinstance(plan_id, str) else None
    if match is None:
        raise ValueError(f"{plan_id!r} is not a plan id (e01, e01s03, e01s03k02 or e01s03l04)")
    episode, scene, part, number = match.group("episode", "scene", "part", "number")
    if scene is None:
        return PlanId(plan_id, "episode", int(episode))
    if part is None:
        return PlanId(plan_id, "scene", int(episode), int(scene))
    kind = _KIND_OF_PART[part]
    return PlanId(plan_id, kind, int(episode), int(scene), **{kind: int(number)})


def is_plan_id(text: str) -> bool:
    """Whether `text` is exactly an episode, scene, shot or line id."""
    return isinstance(text, str) and _PARTS.fullmatch(text) is not None


# --- building ----------------------------------------------------------------------------------


def _number(n: int) -> str:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"id numbers start at 1, got {n!r}")
    return f"{n:02d}"


def _expect(plan_id: str, kind: Kind) -> None:
    if parse(plan_id).kind != kind:
        raise ValueError(f"{plan_id!r} is not a {kind} id")


def episode_id(n: int) -> str:
    """`e01` for episode 1."""
    return f"e{_number(n)}"


def scene_id(episode: str, n: int) -> str:
    """`e01s03` for scene 3 of episode `e01`."""
    _expect(episode, "episode")
    return f"{episode}s{_number(n)}"


def shot_id(scene: str, n: int) -> str:
    """`e01s03k02` for shot 2 of scene `e01s03`."""
    _expect(scene, "scene")
    return f"{scene}k{_number(n)}"


def line_id(scene: str, n: int) -> str:
    """`e01s03l04` for dialogue line 4 of scene `e01s03`."""
    _expect(scene, "scene")
    return f"{scene}l{_number(n)}"


# --- relations ---------------------------------------------------------------------------------


def episode_of(plan_id: str) -> str:
    """The episode id of any plan id (`e01s03k02` -> `e01`). Raises ValueError if not a plan id."""
    return parse(plan_id).episode_id


def scene_of(plan_id: str) -> str | None:
    """The scene id of a scene, shot or line id (`e01s03l04` -> `e01s03`); None for an episode
    id. Raises ValueError if not a plan id."""
    return parse(plan_id).scene_id


def contains(outer: str, inner: str) -> bool:
    """Whether `inner` is `outer` or lies inside it: a scene, shot or line in its episode, a shot
    or line in its scene. Whole parts only (`e01s02` does not contain `e01s021k01`). Which shot a
    line is heard in is the plan's business, not the ids': a shot contains only itself. False when
    `inner` is not a plan id (a bible id, free text); raises ValueError when `outer` is not one."""
    container = parse(outer)
    if not is_plan_id(inner):
        return False
    if inner == outer:
        return True
    if container.kind == "episode":
        return episode_of(inner) == outer
    if container.kind == "scene":
        return scene_of(inner) == outer
    return False
