"""Framing: where the figures of a shot stand and how big they are, by shot type and position."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

from ....core.models import Facing, ScreenPosition, ShotType
from .. import CharacterRef, VideoRequest
from .looks import CharacterLook, character_look


@dataclass(frozen=True)
class Framing:
    head: float  # head height, as a share of _head_reference
    head_y: float  # head centre, as a share of the frame height (close shots)
    feet_y: float | None  # feet, as a share of the frame height (wide shots, instead of head_y)
    spread: float  # distance of the left and right positions from the centre, share of the width
    lens: float  # magnification of the backdrop: a close shot sees less of the place
    soften: int  # backdrop blur (a reduction factor): close shots have shallow focus


FRAMINGS = {
    ShotType.EWS: Framing(0.021, 0.0, 0.86, 0.26, 1.0, 1),
    ShotType.WS: Framing(0.072, 0.0, 0.93, 0.24, 1.0, 1),
    ShotType.MS: Framing(0.19, 0.32, None, 0.2, 1.15, 2),
    ShotType.MCU: Framing(0.28, 0.36, None, 0.18, 1.3, 3),
    ShotType.CU: Framing(0.4, 0.4, None, 0.18, 1.45, 3),
    ShotType.ECU: Framing(1.45, 0.47, None, 0.0, 1.6, 4),
    ShotType.OTS: Framing(0.25, 0.35, None, 0.14, 1.3, 3),
    ShotType.POV: Framing(0.19, 0.32, None, 0.2, 1.1, 2),
    ShotType.INSERT: Framing(0.0, 0.0, None, 0.0, 1.9, 5),
}
FEET_BELOW_HEAD_CENTRE = 6.85  # in head heights, for the figure that draw_figure draws
CLOSE_GROUPS = (ShotType.MS, ShotType.MCU, ShotType.CU, ShotType.POV)
SIDE = {ScreenPosition.LEFT: -1, ScreenPosition.CENTER: 0, ScreenPosition.RIGHT: 1}
TURN = {Facing.LEFT: -1, Facing.CAMERA: 0, Facing.RIGHT: 1}


@dataclass(frozen=True)
class Figure:
    character: CharacterRef
    look: CharacterLook
    x: float  # head centre, share of the frame width
    y: float  # head centre, share of the frame height
    head: float  # head height in frame pixels
    turn: int  # -1 faces left, 0 the camera, 1 right
    from_behind: bool = False


def place_figures(request: VideoRequest) -> list[Figure]:
    """The figures of a shot, back to front, sized and placed by its framing."""
    if request.shot_type == ShotType.INSERT or not request.characters:
        return []
    if request.shot_type == ShotType.OTS:
        return _place_over_the_shoulder(request)
    if request.shot_type == ShotType.ECU:
        focal = _speaker(request) or request.characters[0]
        return [_figure(request, focal, 0.5, FRAMINGS[ShotType.ECU].head)]
    framing = FRAMINGS[request.shot_type]
    together = request.shot_type in CLOSE_GROUPS and len(request.characters) > 1
    spread = max(framing.spread, 0.25) if together else framing.spread
    xs = [_screen_x(request.characters, character, spread) for character in request.characters]
    head = framing.head
    if together:
        # Neighbours stand about two head heights apart: shoulders may touch, faces do not.
        gap = min(b - a for a, b in pairwise(sorted(xs))) * request.width
        head = max(0.4 * head, min(head, gap / 1.9 / _head_reference(request)))
    return [_figure(request, c, x, head) for c, x in zip(request.characters, xs, strict=True)]


def _screen_x(characters: list[CharacterRef], character: CharacterRef, spread: float) -> float:
    """Left, centre or right; characters sharing a position stand side by side there."""
    sharing = [c for c in characters if c.position == character.position]
    offset = (sharing.index(character) - (len(sharing) - 1) / 2) * max(spread, 0.12) * 0.6
    return 0.5 + SIDE[character.position] * spread + offset


def _head_reference(request: VideoRequest) -> float:
    """Head sizes are shares of this length: the frame height, or 1.45 x the width where that is
    less (a 9:16 frame), so that a close-up still fits across the frame."""
    return min(request.height, 1.45 * request.width)


def _figure(
    request: VideoRequest,
    character: CharacterRef,
    x: float,
    head: float,
    y: float | None = None,
    turn: int | None = None,
    from_behind: bool = False,
) -> Figure:
    """A character at x with a head of `head` (share of _head_reference). Unless y is given, wide
    shots stand the figure on the framing's feet line and closer ones put the head at its height."""
    framing = FRAMINGS[request.shot_type]
    look = character_look(character.id, character.description)
    head_px = head * _head_reference(request)
    if y is None and framing.feet_y is not None:
        head_px *= look.height
        y = framing.feet_y - FEET_BELOW_HEAD_CENTRE * head_px / request.height
    y = framing.head_y if y is None else y
    turn = TURN[character.facing] if turn is None else turn
    return Figure(character, look, x, y, head_px, turn, from_behind)


def _place_over_the_shoulder(request: VideoRequest) -> list[Figure]:
    """The speaker faces the camera; the listener's back and shoulder fill their side of the
    foreground."""
    speaker = _speaker(request) or request.characters[-1]
    framing = FRAMINGS[ShotType.OTS]
    others = [c for c in request.characters if c != speaker]
    if not others:
        return [_figure(request, speaker, 0.5, framing.head, turn=0)]
    listener = others[0]
    side = SIDE[listener.position] or (-SIDE[speaker.position] or -1)
    return [
        _figure(request, speaker, 0.5 - side * framing.spread, framing.head, turn=0),
        _figure(request, listener, 0.5 + side * 0.44, 0.42, y=0.55, turn=0, from_behind=True),
    ]


def _speaker(request: VideoRequest) -> CharacterRef | None:
    """The first character heard in the shot, matched by display name or id."""
    named = {c.name.casefold(): c for c in request.characters}
    named |= {c.id.casefold(): c for c in request.characters}
    heard = (named.get(cue.speaker.casefold()) for cue in request.subtitles)
    return next((c for c in heard if c is not None), None)
