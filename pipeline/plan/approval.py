"""Approval: the plan files as they stand, checked and frozen into an approved snapshot.

The one path to an approved plan, whether the answer comes at the planning graph's review
interrupt or later (`microdrama approve` after hand edits, `render --yes`)."""

from __future__ import annotations

from dataclasses import dataclass

from ..core.config import Settings
from ..core.errors import InputError, Problem
from ..core.models import Episode, Finding, Series
from ..core.snapshot import write_snapshot
from ..core.store import SeriesFolder
from .checks import blocking, review_findings
from .shot_prompt import recompose_prompts


@dataclass(frozen=True)
class CheckedPlan:
    series: Series
    episodes: list[Episode]
    findings: list[Finding]

    @property
    def blocking(self) -> list[Finding]:
        return blocking(self.findings)


def check_files(folder: SeriesFolder, settings: Settings, judged: list[Finding] = ()) -> CheckedPlan:
    """The plan files, validated (an invalid file raises, naming file, line and field), with the
    rule findings computed afresh plus `judged` (the LLM reviewer's findings of the run)."""
    series, episodes = folder.load_plan()
    return CheckedPlan(series, episodes, review_findings(series, episodes, settings.backends) + list(judged))


def refuse_blocking(folder: SeriesFolder, plan: CheckedPlan) -> None:
    """An approval is refused while a rule error remains; the error names each one."""
    if plan.blocking:
        raise InputError(folder.root, [Problem(f"{f.where}: {f.message}") for f in plan.blocking] + [
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
