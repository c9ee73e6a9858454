"""What each studio page shows, gathered from the application layer and the files it writes:
the plan as it is now (hand edits included) with its findings, each shot's status, the cut,
the audit. Reading only: nothing here writes or takes the series lock.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ..app import Project
from ..core import ids
from ..core.errors import MicrodramaError
from ..core.models import Episode, Finding, Scene, Series, Shot
from ..core.snapshot import current_digest, edited_since_approval, plan_digest
from ..edit.timeline import LineClip, Timeline, read_timeline, timeline_path
from ..plan.approval import CheckedPlan
from ..plan.shot_edit import file_digest
from ..review.audit import AuditReport
from ..review.status import SeriesStatus, ShotStatus, series_status


@dataclass(frozen=True)
class PlanView:
    """The plan files as they are now; `error` is set (and the rest empty) when they do not load."""

    plan: CheckedPlan | None
    status: SeriesStatus | None
    review: str  # "approved", "edited since approval", "awaiting review", "not approved"
    digest: str  # of every plan file: the page notices a change on disk by it
    failure: MicrodramaError | None = None  # why the plan files do not load

    @property
    def error(self) -> str | None:
        return str(self.failure) if self.failure else None

    @property
    def series(self) -> Series:
        return self.plan.series

    def episode(self, episode_id: str) -> Episode | None:
        return next((e for e in self.plan.episodes if e.id == episode_id), None) if self.plan else None

    def shot_status(self, shot_id: str) -> ShotStatus | None:
        return next((s for s in self.status.shots if s.shot_id == shot_id), None) if self.status else None

    def findings_at(self, *places: str) -> list[Finding]:
        return [f for f in self.plan.findings if f.where in places] if self.plan else []

    def shot_findings(self, shot: Shot) -> list[Finding]:
        return self.findings_at(shot.id, *(line.id for line in shot.dialogue))

    def to_render(self, scope: str) -> list[str]:
        """The shots of `scope` (an episode, scene or shot id) that a render would do."""
        return [s.shot_id for s in self.status.shots if s.state != "rendered" and ids.contains(scope, s.shot_id)] \
            if self.status else []

    def count(self, episode_id: str, state: str) -> int:
        return sum(1 for s in self.status.shots if s.episode_id == episode_id and s.state == state) if self.status else 0

    def name(self, character_id: str) -> str:
        character = self.series.character(character_id) if self.plan else None
        return character.name if character else character_id


def plan_view(project: Project, with_status: bool = True) -> PlanView:
    """The plan files as they stand, checked, and (`with_status`) each shot's status."""
    folder = project.folder
    digest = plan_digest(folder)
    if project.pending_review():
        review = "awaiting review"
    elif current_digest(folder) is None:
        review = "not approved"
    else:
        review = "edited since approval" if edited_since_approval(folder) else "approved"
    try:
        plan = project.review()
    except MicrodramaError as exc:
        return PlanView(None, None, review, digest, failure=exc)
    status = series_status(project.settings, plan.series, plan.episodes, project.last_render(),
                           review == "edited since approval") if with_status else None
    return PlanView(plan, status, review, digest)


@dataclass(frozen=True)
class ShotView:
    episode: Episode
    scene: Scene
    shot: Shot
    file: str  # the plan file, relative to the series folder
    file_digest: str  # as it was when the form was made: a save from a stale form is refused


def shot_view(project: Project, view: PlanView, shot_id: str) -> ShotView | None:
    if view.plan is None or not ids.is_plan_id(shot_id):
        return None
    episode = view.episode(ids.episode_of(shot_id))
    for scene in episode.scenes if episode else []:
        for shot in scene.shots:
            if shot.id == shot_id:
                path = project.folder.episode_path(episode.id)
                return ShotView(episode, scene, shot, path.relative_to(project.folder.root).as_posix(),
                                file_digest(path))
    return None


def timelines(project: Project) -> dict[str, Timeline]:
    """The cut of each assembled episode (out/eNN.timeline.json)."""
    folder = project.folder
    found = {}
    for path in sorted(folder.out_dir.glob("e*.timeline.json")) if folder.out_dir.is_dir() else []:
        episode_id = path.name.split(".")[0]
        found[episode_id] = read_timeline(timeline_path(folder.out_dir, episode_id), folder.root)
    return found


def voice_samples(cuts: dict[str, Timeline]) -> dict[str, LineClip]:
    """Each speaker's first line in the cuts: what the series page plays for a voice."""
    samples: dict[str, LineClip] = {}
    for cut in cuts.values():
        for line in cut.dialogue:
            samples.setdefault(line.speaker, line)
    return samples


def audit_report(project: Project, episode_id: str) -> AuditReport | None:
    path = project.folder.out_dir / f"{episode_id}.audit.json"
    if not path.is_file():
        return None
    return AuditReport.model_validate(json.loads(path.read_text(encoding="utf-8")))


def relative(project: Project, path: Path | None) -> str | None:
    """A file of the series as the studio serves it (/files/<this>)."""
    if path is None:
        return None
    try:
        return Path(path).resolve().relative_to(project.folder.root.resolve()).as_posix()
    except ValueError:
        return None
