"""The two graphs' states: what is checkpointed after every node.

A checkpoint holds ids, digests and progress. The plan itself lives in the plan files (planning)
and in an approved snapshot (render); a render branch's payload names its shot, never carries the
bible or the scene.
"""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from microdrama.agents.writer import BibleDraft, SeriesFormat
from ..core import ids
from ..core.models import Finding
from ..core.results import AuditSummary, CueRender, EpisodeOutput, LineRender, ShotRender


def merge_by_id(current: list, new: list) -> list:
    """Reducer for results produced in parallel (planned scenes, rendered shots and cues): a newer
    result for an id replaces the older one."""
    by_id = {item.id: item for item in current}
    by_id.update({item.id: item for item in new})
    return list(by_id.values())


def union(current: list[str], new: list[str]) -> list[str]:
    """Reducer for ids reported by parallel branches: each id once, first report first."""
    return list(dict.fromkeys([*current, *new]))


# --- planning ----------------------------------------------------------------------------------


class ReviewDecision(BaseModel):
    """What the human answered at the review interrupt."""

    action: Literal["approve", "reject"]
    note: str = ""


class SceneTask(BaseModel):
    """What one parallel `plan_scene` branch receives: which scene of which parsed screenplay
    (state/planning/), and its context (the bible is read from series.yaml)."""

    screenplay: str = Field(description="Digest of the parsed screenplay.")
    scene_id: str
    establishing: bool = Field(description="The scene opens in a location the previous one was not in.")
    introduced: list[str] = Field(description="Characters already seen on screen before this scene.")
    note: str | None = Field(None, description="A reviewer's revision note for this scene.")
    findings: list[Finding] = Field(default_factory=list, description="Continuity findings to fix.")


class EpisodeTask(BaseModel):
    """What one parallel `write_episode` branch receives."""

    number: int
    bible: BibleDraft
    format: SeriesFormat


class EpisodeScript(BaseModel):
    id: str
    title: str
    fountain: str


class Revision(BaseModel):
    """`microdrama revise`: re-plan one scene with a note."""

    scene: str
    note: str


class PlanningState(BaseModel):
    sources: list[str] = Field(description="Screenplay (or synopsis) files, relative to the series folder.")
    source_digest: str = Field("", description="Hash of the sources this run started from.")
    format: SeriesFormat | None = Field(None, description="Set when the run starts from a synopsis.")
    bible: BibleDraft | None = None
    bible_findings: list[Finding] = Field(
        default_factory=list, description="What the writer's bible still gets wrong after its repair turn.")
    scripts: Annotated[list[EpisodeScript], merge_by_id] = Field(default_factory=list)
    revision: Revision | None = None
    round: int = Field(0, description="Continuity checks done in this planning run.")
    screenplay: str = Field("", description="Digest of the parsed screenplay (state/planning/screenplay-<digest>.json).")
    kept: list[str] = Field(default_factory=list, description="Scenes whose plan is kept from the plan files.")
    planned: Annotated[list[str], union] = Field(
        default_factory=list, description="Scenes planned in this run (state/planning/drafts/<id>.json).")
    findings: list[Finding] = Field(default_factory=list)
    review: ReviewDecision | None = None
    approved: str | None = Field(None, description="Digest of the approved snapshot, once approved.")


# --- render ------------------------------------------------------------------------------------


class RenderRequest(BaseModel):
    """What `microdrama render` asked for: everything (None) or some scenes/shots, maybe forced."""

    scenes: list[str] | None = None
    shots: list[str] | None = None
    force: bool = Field(False, description="Re-render the selection even when its cache is valid.")
    budget_usd: float | None = Field(None, ge=0, description="Most this render may spend (render/budget.py).")

    @property
    def whole_plan(self) -> bool:
        return self.scenes is None and self.shots is None

    def selects(self, shot_id: str) -> bool:
        if self.whole_plan:
            return True
        return any(ids.contains(s, shot_id) for s in self.scenes or []) or shot_id in (self.shots or [])


def render_thread(snapshot: str, request: RenderRequest, settings_digest: str) -> str:
    """One thread per (approval, request, settings): the same command after a crash finds its
    thread; anything else is a new thread."""
    key = json.dumps([snapshot, request.model_dump(mode="json"), settings_digest], sort_keys=True)
    return "render-" + hashlib.sha256(key.encode()).hexdigest()[:16]


class ShotJob(BaseModel):
    """What one parallel `render_shot` branch receives: ids only."""

    snapshot: str
    shot_id: str
    selected: bool = True
    deferred: str | None = Field(None, description="Why the shot is not rendered in this run (the budget).")


class CueJob(BaseModel):
    snapshot: str
    scene_id: str
    deferred: str | None = None


class RenderState(BaseModel):
    snapshot: str = Field(description="Digest of the approved snapshot being rendered.")
    request: RenderRequest = Field(default_factory=RenderRequest)
    renders: Annotated[list[ShotRender], merge_by_id] = Field(default_factory=list)
    cues: Annotated[list[CueRender], merge_by_id] = Field(default_factory=list)
    outputs: list[EpisodeOutput] = Field(default_factory=list)
    audits: list[AuditSummary] = Field(default_factory=list)
