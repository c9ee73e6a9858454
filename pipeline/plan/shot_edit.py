"""One shot's fields changed in place (`microdrama edit`, the review studio).

An edit is validated exactly as a hand edit of the file is: the changed episode is written out
as YAML and parsed back by the store's loader, so a bad value is an InputError naming the plan
file, the shot's line and the field (`plan/e01.yaml:42: scenes[0] (e01s01).shots[1]
(e01s01k02).duration_frames: ...`), and nothing is saved.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from pydantic import BaseModel, Field

from ..core.errors import InputError, Problem
from ..core.models import CameraMove, Episode, FramedCharacter, Series, ShotType
from ..core.store import dump_yaml_data, parse_model
from .shot_prompt import compose_prompt


class ShotEdit(BaseModel):
    """What to change in one shot; a field left None stays as it is. Values are not checked
    here (a negative duration is accepted): the plan model checks them, with the file and line."""

    type: ShotType | None = None
    move: CameraMove | None = None
    duration_frames: int | None = None
    action: str | None = None
    framing: list[FramedCharacter] | None = Field(None, description="The characters in frame, replacing the list.")
    lines: dict[str, str] = Field(default_factory=dict, description="Dialogue line id -> its new text.")

    def is_empty(self) -> bool:
        return not self.lines and all(getattr(self, name) is None for name in self.model_fields if name != "lines")


def file_digest(path: Path) -> str:
    """Digest of a plan file as it is on disk: what an editor saw when it opened the file."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16] if Path(path).is_file() else ""


def apply_edit(episode: Episode, series: Series, shot_id: str, edit: ShotEdit, path: Path) -> Episode:
    """The episode with `edit` applied to shot `shot_id` and its prompt recomposed; raises an
    InputError (naming `path`, line and field) when the result is not a valid plan file."""
    data = episode.model_dump(mode="json", exclude_none=True)
    found = [shot for scene in data["scenes"] for shot in scene["shots"] if shot["id"] == shot_id]
    if not found:
        raise InputError(path, Problem(f"no shot {shot_id!r} in episode {episode.id}", field="--shot"))
    shot = found[0]
    shot.update(edit.model_dump(mode="json", exclude_none=True, exclude={"framing", "lines"}))
    if edit.framing is not None:
        shot["characters"] = [framed.model_dump(mode="json") for framed in edit.framing]
    known = {line["id"]: line for line in shot.get("dialogue", [])}
    unknown = sorted(set(edit.lines) - set(known))
    if unknown:
        raise InputError(path, Problem(f"shot {shot_id} has no line {', '.join(unknown)}; its lines: "
                                       f"{', '.join(known) or 'none'}", field="--line"))
    for line_id, text in edit.lines.items():
        known[line_id]["text"] = text
    edited = parse_model(dump_yaml_data(data), Episode, path)
    for edited_scene in edited.scenes:
        for edited_shot in edited_scene.shots:
            if edited_shot.id == shot_id:
                edited_shot.prompt = compose_prompt(edited_shot, edited_scene, series)
    return edited



def edited_frames(seconds: float, fps: int) -> int:
    """A duration typed in seconds, in frames. Not timing.frames, which never goes below one
    frame: a zero or negative duration typed by a person must reach the model's check."""
    return round(seconds * fps)
