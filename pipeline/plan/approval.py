"""Approval: the plan files as they stand, checked and frozen into an approved snapshot.

The one path to an approved plan, whether the answer comes at the planning graph's review
interrupt or later (`microdrama approve` after hand edits, `render --yes`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..core.config import Settings
from ..core.errors import InputError, Problem
from ..core.models import Episode, Finding, Series
from ..core.snapshot import write_snapshot
from ..core.store import Place, SeriesFolder
from .checks import blocking, review_findings
from .shot_prompt import recompose_prompts


@dataclass(frozen=True)
class CheckedPlan:
    series: Series
    episodes: list[Episode]
    findings: list[Finding]
    places: dict[str, list[Place]] = field(default_factory=dict)  # id -> where it lies in the files

    @property
    def blocking(self) -> list[Finding]:
        return blocking(self.findings)

    def place(self, finding: Finding) -> Place | None:
        """The object a finding is about in the plan files."""
        return _place(self.places, finding.where)

    def problem(self, folder: SeriesFolder, finding: Finding) -> Problem:
        """A finding as a format error reads: 'plan/e01.yaml:42: scenes[0] (e01s01).shots[1]
        (e01s01k02): message' (the series folder and the id alone where it cannot be placed)."""
        spot = self.place(finding)
        if spot is None:
            return Problem(f"{finding.where}: {finding.message}", path=folder.root)
        if spot.field is None:  # an episode: its file
            return Problem(f"{finding.where}: {finding.message}", line=spot.line, path=folder.root / spot.file)
        return Problem(finding.message, line=spot.line, field=spot.field, path=folder.root / spot.file)


def check_files(folder: SeriesFolder, settings: Settings, judged: list[Finding] = ()) -> CheckedPlan:
    """The plan files, validated (an invalid file raises, naming file, line and field), with the
    rule findings computed afresh plus `judged` (the LLM reviewer's findings of the run), each
    placed at its file and line. A plan without a blocking finding becomes the last good copy
    (state/last-good/); loading alone never writes it, so an edit that breaks a rule cannot
    replace it."""
    series, episodes = folder.load_plan()
    findings = review_findings(series, episodes, settings.backends, folder.root) + list(judged)
    places = folder.places()
    plan = CheckedPlan(series, episodes, [_placed(f, places) for f in findings], places)
    if not plan.blocking:
        folder.keep_last_good()
    return plan


def _place(places: dict[str, list[Place]], where: str) -> Place | None:
    """Where the object with id `where` lies. An id used more than once is placed at its first
    repeat: the copy that a duplicate-id error is about."""
    found = places.get(where, [])
    return found[1] if len(found) > 1 else found[0] if found else None


def _placed(finding: Finding, places: dict[str, list[Place]]) -> Finding:
    spot = _place(places, finding.where)
    if spot is None:
        return finding
    return finding.model_copy(update={"file": spot.file, "line": spot.line})


def refuse_blocking(folder: SeriesFolder, plan: CheckedPlan) -> None:
    """An approval is refused while a rule error remains; the error names each one with its
    file, line and field."""
    if plan.blocking:
        raise InputError(folder.root, [plan.problem(folder, f) for f in plan.blocking] + [
            Problem("approval refused: fix the errors above, then run it again")])


def approve_files(folder: SeriesFolder, settings: Settings, judged: list[Finding] = ()) -> tuple[str, CheckedPlan]:
    """Freeze the plan files as approved; refused (InputError) while a rule error remains. The
    stored prompts are recomposed first, so they follow bible and framing edits made since
    planning. Returns the snapshot's digest."""
    plan = check_files(folder, settings, judged)
    refuse_blocking(folder, plan)
    for index, episode in enumerate(plan.episodes):
        recomposed = recompose_prompts(episode, plan.series)
        if recomposed != episode:
            folder.save_episode(recomposed)
            plan.episodes[index] = recomposed
    return write_snapshot(folder, plan.findings), plan
