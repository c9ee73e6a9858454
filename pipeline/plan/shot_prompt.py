"""Generator prompts, composed from the bible.

A shot's prompt is never typed per shot: it is built from the series style, the canonical
location and character descriptions, the framing and the action. Editing a character's
description therefore changes exactly the prompts (and cache keys) of the shots they are in.
"""

from __future__ import annotations

import hashlib

from ..core.models import CameraMove, Episode, Scene, Series, Shot, ShotType, TimeOfDay

FRAMING = {
    ShotType.ECU: "extreme close-up",
    ShotType.CU: "close-up",
    ShotType.MCU: "medium close-up",
    ShotType.MS: "medium shot",
    ShotType.WS: "wide shot",
    ShotType.EWS: "extreme wide establishing shot",
    ShotType.OTS: "over-the-shoulder shot",
    ShotType.POV: "point-of-view shot",
    ShotType.INSERT: "insert detail shot",
}
MOVES = {
    CameraMove.STATIC: "locked-off camera",
    CameraMove.PAN_LEFT: "slow pan left",
    CameraMove.PAN_RIGHT: "slow pan right",
    CameraMove.TILT_UP: "slow tilt up",
    CameraMove.TILT_DOWN: "slow tilt down",
    CameraMove.PUSH_IN: "slow push-in",
    CameraMove.PULL_OUT: "slow pull-out",
    CameraMove.HANDHELD: "handheld camera",
}
LIGHT = {
    TimeOfDay.DAY: "daylight",
    TimeOfDay.NIGHT: "night",
    TimeOfDay.DAWN: "dawn light",
    TimeOfDay.DUSK: "dusk light",
    TimeOfDay.UNSPECIFIED: "",
}


def compose_prompt(shot: Shot, scene: Scene, series: Series) -> str:
    location = series.location(scene.location)
    place = location.name.lower() if location else scene.location
    if location and location.description:
        place += f" ({location.description.rstrip('.。')})"
    light = LIGHT[scene.time_of_day]
    parts = [
        series.visual_style,
        f"{FRAMING[shot.type]}, {MOVES[shot.move]}, {series.aspect} frame",
        f"{scene.setting.value.lower()} {place}" + (f", {light}" if light else ""),
    ]
    for framed in shot.characters:
        character = series.character(framed.character)
        if character:
            # Cue capitals read as shouting in a prompt; a name written in mixed case is kept.
            who = character.name.title() if character.name.isupper() else character.name
            if character.appearance:
                who += f", {character.appearance.rstrip('.。')}"
            parts.append(f"{who}, frame {framed.position.value}")
    if shot.action:
        parts.append(" ".join(shot.action.split()))
    if shot.title_card:
        parts.append(f"title card with the words: {shot.title_card}")
    return " ".join(_sentence(p) for p in parts if p.strip())


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text[-1] in ".!?。！？" else text + "."


def recompose_prompts(episode: Episode, series: Series) -> Episode:
    """A copy of the episode whose every shot prompt is composed from the current bible."""
    episode = episode.model_copy(deep=True)
    for scene in episode.scenes:
        for shot in scene.shots:
            shot.prompt = compose_prompt(shot, scene, series)
    return episode


def stable_seed(*parts: str) -> int:
    """A seed that depends only on the names given (series slug, shot id), never on run order."""
    digest = hashlib.sha256("/".join(parts).encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF
