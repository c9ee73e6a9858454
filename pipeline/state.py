"""The production graph's state: what is checkpointed after every node."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field

from .models import Episode, Finding, Scene, Screenplay, ScriptScene, Series


def merge_scenes(current: list[Scene], new: list[Scene]) -> list[Scene]:
    """Reducer for scenes planned in parallel: a newer plan of a scene replaces the older one."""
    by_id = {scene.id: scene for scene in current}
    by_id.update({scene.id: scene for scene in new})
    return list(by_id.values())


class ReviewDecision(BaseModel):
    """What the human answered at the review interrupt."""

    action: Literal["approve", "reject"]
    note: str = ""


class SceneTask(BaseModel):
    """What one parallel `plan_scene` branch receives."""

    scene: ScriptScene
    series: Series
    establishing: bool = Field(description="The scene opens in a location the previous one was not in.")
    introduced: list[str] = Field(description="Characters already seen on screen before this scene.")


class ProductionState(BaseModel):
    sources: list[str] = Field(description="Screenplay files, relative to the series folder.")
    source_digest: str = Field("", description="Hash of the sources this run started from.")
    series: Series | None = None
    screenplay: Screenplay | None = None
    planned: Annotated[list[Scene], merge_scenes] = Field(default_factory=list)
    episodes: list[Episode] = Field(default_factory=list)
    findings: list[Finding] = Field(default_factory=list)
    review: ReviewDecision | None = None
