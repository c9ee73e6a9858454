"""The fix loop: after the audit, re-render with the next seed each shot whose failures a re-roll
can fix, re-assemble, re-audit, for at most N rounds; a shot that still fails keeps its best take.

Takes live in the plan (Shot.take, Shot.takes, Shot.pinned): take 1 is the shot's own seed, take
n the n-th seed of `take_seed`'s sequence, so a later run never renders a take twice (a take
already recorded is skipped; its artifact is in the cache anyway). Each round writes the takes to
the plan files and approves them (the render reads only an approved snapshot), then renders the
re-rolled shots. A pinned shot (`microdrama take <shot> --use N`) is left alone.

A take's score is the share of its picture checks that passed (a warning counts half); its
verdict is `fail` while a check a re-roll can fix fails. Failures a re-roll cannot fix (a line
that does not fit its shot, loudness) are not re-rolled: the report says what to change.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field

from ..core import ids, limits
from ..core.models import Shot, ShotTake
from ..core.store import SeriesFolder
from .audit import AuditReport, Check, Verdict
from .publish import assembled_episodes

# What a new seed can change: the picture's own failures.
REROLLABLE = ("character-identity", "shot-black", "shot-frozen")
PICTURE_CHECKS = (*REROLLABLE, "shot-present", "shot-duplicate", "colour-continuity")
# What to change instead, for failures a seed cannot fix.
HINTS = {
    "line-in-shot": "the line does not fit its shot: shorten the line or lengthen the shot",
    "line-complete": "the line is cut off: shorten the line or lengthen the shot",
    "line-audible": "the line is not heard: check the voice and the music's intensity",
    "subtitle-sync": "the subtitle drifts from its line: re-render the episode (`render --force`)",
    "av-drift": "sound and picture drift: re-render the episode (`render --force`)",
    "av-duration": "sound and picture lengths differ: re-render the episode (`render --force`)",
    "true-peak": "the mix clips: lower the scene's music intensity",
}
LOUDNESS_HINT = "the mix misses the loudness target: lower or raise the scene's music intensity"


def take_seed(seed: int, take: int) -> int:
    """The seed of take `take` (take 1: the shot's own): a fixed sequence, so every run agrees."""
    if take == 1:
        return seed
    digest = hashlib.sha256(f"{seed}:{take}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % (limits.MAX_SEED + 1)


@dataclass(frozen=True)
class Judgement:
    score: float
    failures: list[Check]  # the re-rollable ones

    @property
    def verdict(self) -> str:
        return "fail" if self.failures else "pass"


def judge(report: AuditReport, shot_id: str) -> Judgement:
    checks = [c for c in report.checks if c.where == shot_id and c.name in PICTURE_CHECKS
              and c.verdict != Verdict.SKIPPED]
    points = {Verdict.PASS: 1.0, Verdict.WARNING: 0.5, Verdict.ERROR: 0.0}
    score = sum(points[c.verdict] for c in checks) / len(checks) if checks else 1.0
    failures = [c for c in checks if c.name in REROLLABLE and c.verdict in (Verdict.ERROR, Verdict.WARNING)]
    return Judgement(round(score, 4), failures)


def advice(check: Check) -> str | None:
    """What to change for a failure no re-roll fixes; None for a re-rollable or passing one."""
    if check.verdict not in (Verdict.ERROR, Verdict.WARNING) or check.name in REROLLABLE:
        return None
    if "loudness" in check.name:
        return LOUDNESS_HINT
    return HINTS.get(check.name)


@dataclass
class FixReport:
    rounds: int = 0
    rerolled: list[list[str]] = field(default_factory=list)  # per round, the shots re-rendered
    kept: dict[str, int] = field(default_factory=dict)  # still failing: shot -> the best take, kept
    unfixed: dict[str, list[str]] = field(default_factory=dict)  # still failing: shot -> what fails
    advice: list[tuple[str, str]] = field(default_factory=list)  # (place, what to change)
    budget_stop: bool = False  # the budget left a round's re-renders for a later run


def record(shot: Shot, judgement: Judgement) -> Shot:
    """The shot with the take in use scored (take 1 is recorded the first time it is judged)."""
    number = shot.take or 1
    entry = ShotTake(take=number, seed=shot.picture_seed, score=judgement.score, verdict=judgement.verdict)
    takes = [t for t in shot.takes or [] if t.take != number] + [entry]
    return shot.model_copy(update={"takes": sorted(takes, key=lambda t: t.take)})


def next_take(shot: Shot) -> Shot | None:
    """The shot switched to its next unrendered take; None when no take is left."""
    done = {t.take for t in shot.takes or []}
    number = next((n for n in range(2, limits.MAX_TAKES + 1) if n not in done), None)
    if number is None:
        return None
    take = ShotTake(take=number, seed=take_seed(shot.seed, number))
    return shot.model_copy(update={"take": number, "takes": [*(shot.takes or []), take]})


def best_take(shot: Shot) -> int:
    """The take with the best score (the earliest of equals): passing takes first."""
    scored = [t for t in shot.takes or [] if t.score is not None]
    if not scored:
        return shot.take or 1
    return min(scored, key=lambda t: (t.verdict != "pass", -(t.score or 0.0), t.take)).take


class FixLoop:
    """One run of the loop over the episodes in out/. `approve` approves the plan files as they
    stand; `rerender(shots)` renders those shots of the new approval and re-assembles and
    re-audits their episodes, and says whether it could (False: the budget left work). A take
    left unrendered stays in the plan unscored: the next run renders and judges it."""

    def __init__(self, folder: SeriesFolder, approve: Callable[[], None], rerender: Callable[[list[str]], bool],
                 audit_of: Callable[[str], AuditReport]):
        self.folder, self.approve, self.rerender, self.audit_of = folder, approve, rerender, audit_of

    def run(self, rounds: int, episodes: list[str]) -> FixReport:
        report = FixReport()
        episodes = [e for e in episodes if e in assembled_episodes(self.folder)]
        for number in range(1, rounds + 1):
            shots, _ = self._judge_and_record(episodes)
            failing = [s for s, j in shots.items() if j.failures]
            rerolled = self._switch(failing, next_take)
            if not rerolled:
                break
            report.rounds, report.rerolled = number, [*report.rerolled, rerolled]
            self.approve()
            if not self.rerender(rerolled):
                report.budget_stop = True
                return report
        shots, scored = self._judge_and_record(episodes)
        failing = [s for s, j in shots.items() if j.failures]
        back = self._switch(failing, lambda shot: _use(shot, best_take(shot)))
        if back or scored:  # the plan as the episodes now are is approved: what a later render reads
            self.approve()
        if back:  # a shot whose last take is not its best goes back to the best one (from the cache)
            report.budget_stop = not self.rerender(back)
        for shot_id in failing:
            report.unfixed[shot_id] = [c.message for c in shots[shot_id].failures]
            report.kept[shot_id] = self._shot(shot_id).take or 1
        for episode_id in episodes:
            for check in self.audit_of(episode_id).checks:
                if (hint := advice(check)) is not None:
                    report.advice.append((check.where, hint))
        return report

    def _shot(self, shot_id: str) -> Shot:
        episode = self.folder.load_episode(ids.episode_of(shot_id))
        return next(s for s in episode.shots if s.id == shot_id)

    def _judge_and_record(self, episodes: list[str]) -> tuple[dict[str, Judgement], bool]:
        """Judge every shot of the episodes by their audits (pinned ones are not re-rolled) and
        record the scores of those that failed or have takes in the plan; and whether any
        score was new."""
        judged: dict[str, Judgement] = {}
        changed = False
        for episode_id in episodes:
            audit = self.audit_of(episode_id)

            def scored(shot: Shot) -> Shot:
                judgement = judge(audit, shot.id)
                if not shot.pinned:
                    judged[shot.id] = judgement
                return record(shot, judgement) if judgement.failures or shot.takes else shot

            changed |= bool(self._edit_shots(episode_id, scored))
        return judged, changed

    def _switch(self, shot_ids: list[str], change: Callable[[Shot], Shot | None]) -> list[str]:
        """Apply `change` to those shots in the plan files; the ids of the shots it changed."""
        changed = []
        for episode_id in dict.fromkeys(ids.episode_of(s) for s in shot_ids):
            changed += self._edit_shots(episode_id, lambda shot: (change(shot) or shot) if shot.id in shot_ids else shot)
        return changed

    def _edit_shots(self, episode_id: str, change: Callable[[Shot], Shot]) -> list[str]:
        episode = self.folder.load_episode(episode_id)
        changed, scenes = [], []
        for scene in episode.scenes:
            shots = [change(shot) for shot in scene.shots]
            changed += [new.id for new, old in zip(shots, scene.shots) if new != old]
            scenes.append(scene.model_copy(update={"shots": shots}))
        if changed:
            self.folder.save_episode(episode.model_copy(update={"scenes": scenes}))
        return changed


def _use(shot: Shot, take: int) -> Shot:
    return shot.model_copy(update={"take": None if take == 1 else take})
