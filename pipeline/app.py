"""The application layer: every use case of a series folder, as the CLI, the review studio and
the tests call it. The CLI only parses arguments and prints what these return.

    plan     sources -> plan files, stopping at review (the planning graph's interrupt)
    approve  the plan files -> an approved snapshot (state/approved/<digest>/)
    revise   one scene re-planned with a note (a new planning run; other scenes byte-identical)
    edit     one shot's fields changed in its plan file, validated as a hand edit is
    render   an approved snapshot + a request -> artifacts, timelines, episodes, audits
    audit    the episode files in out/ measured against the snapshot they were rendered from
    status   each shot planned / rendered / stale / failed, as a render would see it
    gc       cache artifacts no approval references

Commands that write take the series lock (state/.lock); status and review only read: they open
the checkpoint database read-only, so they work on a read-only series folder. Every command but
plan needs the series folder to exist, and says so, creating nothing, when it does not.

Threads: a planning run's thread id comes from its sources, planner and revision; a render's
from its snapshot, request and settings (graph/state.py). The same command after a crash finds
its thread and resumes it; a different request, an edit or a new approval is a new thread.
state/runs.json remembers the latest planning thread (where review waits) and render thread.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ValidationError

from .core.cache import ArtifactCache
from .core.config import Settings
from .core.errors import ConfigError, InputError, Problem
from .core import ids
from .core.lock import current_command, series_lock
from .core.models import Finding, FindingOrigin, Shot
from .core.snapshot import (
    Snapshot, approved_dir, current_digest, edited_since_approval, load_snapshot, plan_digest, snapshot_digests,
)
from .core.store import SYNOPSIS_FILE, SeriesFolder, atomic_write_text, check_slug, slugify, sweep_atomic_temporaries
from .graph.state import (
    PlanningState, RenderRequest, RenderState, ReviewDecision, Revision, render_thread,
)
from .graph import last_state
from .graph.receipt import drop_receipt, resting_files, standing_receipt, write_receipt
from .plan.approval import CheckedPlan, approve_files, check_files, refuse_blocking

# Imported by the commands that need them, not by status or review: LangGraph (the graphs), the
# agents, the renderer, assembly and the audit.
if TYPE_CHECKING:
    from microdrama.agents.writer import SeriesFormat
    from .graph.wiring import Checkpoints
    from .plan.shot_edit import ShotEdit
    from .render.estimate import Estimate
    from .review.audit import AuditReport
    from .review.cost import CostReport, Spent
    from .review.fix_loop import FixReport
    from .review.publish import Published

PlanResult = Literal["started", "resumed", "unchanged"]


def settings_digest(settings: Settings) -> str:
    """What of the settings shapes a render's results (part of its thread id)."""
    shaping = [repr(settings.backends), settings.subtitles, settings.allow_failed, repr(settings.audit)]
    return hashlib.sha256(json.dumps(shaping).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Approval:
    digest: str
    plan: CheckedPlan


@dataclass(frozen=True)
class RenderOutcome:
    state: RenderState
    approved_now: bool  # the render approved an edited plan first (render --yes)
    this_run: frozenset[str]  # shots and cues rendered (or found cached) by this process, not a killed one
    forecast: Estimate | None = None  # what the render was expected to cost, before it started
    spent: Spent | None = None  # what it cost (backend seconds and money, from the ledger)
    fix: FixReport | None = None  # the fix loop's rounds, when it ran
    started: float = 0.0  # when the render started (Unix time)
    unchanged: bool = False  # answered from the receipt of the last complete render (graph/receipt.py)

    @property
    def failed(self) -> list[str]:
        return sorted({r.id for r in self.state.renders if r.failed} | {c.id for c in self.state.cues if c.failed})

    @property
    def deferred(self) -> list[str]:
        return sorted({r.id for r in self.state.renders if r.deferred} | {c.id for c in self.state.cues if c.deferred})


# --- sources ---------------------------------------------------------------------------------


SYNOPSIS_SUFFIXES = (".md", ".txt")


def is_synopsis(target: Path) -> bool:
    """A .md or .txt file is a synopsis, unless a .txt is a Fountain screenplay (Fountain allows
    .txt): one with a scene heading."""
    from .ingest import fountain
    from .ingest.screenplay import read_text

    if not (target.is_file() and target.suffix.lower() in SYNOPSIS_SUFFIXES):
        return False
    if target.suffix.lower() == ".md":
        return True
    try:
        elements = fountain.parse(read_text(target, what="synopsis")).elements
    except InputError:
        return True
    return not any(isinstance(e, fountain.SceneHeading) for e in elements)


def series_folder_for(target: Path, root: Path, slug: str | None,
                      episode_minutes: float | None = None) -> tuple[SeriesFolder, list[str]]:
    """A screenplay or synopsis file is copied into root/<slug>/ (a screenplay is ingested first,
    so bad input is refused before anything is written); a series folder is used as it is."""
    from microdrama.agents.llm import LLMSettings
    from .ingest.screenplay import ingest, read_text

    if target.is_dir():
        folder = SeriesFolder(target)
        screenplays = folder.screenplays()
        if screenplays:
            return folder, [str(p.relative_to(folder.root)) for p in screenplays]
        if (folder.root / SYNOPSIS_FILE).is_file():
            return folder, [SYNOPSIS_FILE]
        raise InputError(target, "no screenplay.fountain, screenplay/*.fountain or synopsis.md in this folder")
    if not target.exists():
        raise InputError(target, "no such file or folder")
    if slug is not None:
        check_slug(slug)
    if is_synopsis(target):
        read_text(target, what="synopsis")
        LLMSettings.load(os.environ, root / (slug or "") / "microdrama.toml").check_configured()
        slug = slug or slugify(target.stem)
        if not slug:
            raise InputError(target, Problem("cannot derive a folder name from the file name; pass --slug", field="slug"))
        folder, name = SeriesFolder(root / check_slug(slug)), SYNOPSIS_FILE
    else:
        series, _ = ingest([target], slug=slug, episode_minutes=episode_minutes)
        folder, name = SeriesFolder(root / series.slug), "screenplay.fountain"
    destination = folder.root / name
    if destination.is_file() and destination.read_bytes() != target.read_bytes():
        # A different source replaces the series' one; the old text is kept, never lost.
        backup = folder.state_dir / "replaced" / f"{destination.stem}.{destination.stat().st_mtime_ns}{destination.suffix}"
        backup.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(destination, backup)
    folder.root.mkdir(parents=True, exist_ok=True)
    if destination.resolve() != target.resolve():
        if destination.is_symlink():  # replace the link itself: never write through it
            destination.unlink()
        shutil.copyfile(target, destination)
    return folder, [name]


class Project:
    """One series folder and its graphs. Use as a context manager; it opens the checkpoint
    database only when a graph is needed."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.folder = SeriesFolder(settings.series_dir)
        self._checkpoints: Checkpoints | None = None

    def __enter__(self) -> Project:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._checkpoints is not None:
            self._checkpoints.close()

    @property
    def graphs(self) -> Checkpoints:
        """The graphs on the checkpoint database, open for writing (created if missing)."""
        if self._checkpoints is None or self._checkpoints.read_only:
            if self._checkpoints is not None:
                self._checkpoints.close()
            from .graph.wiring import Checkpoints

            self._checkpoints = Checkpoints(self.folder.checkpoint_db)
        return self._checkpoints

    @property
    def _reading(self) -> Checkpoints:
        """The graphs for reading a checkpoint (the database exists): the open database, else
        opened read-only, so that status and review write nothing."""
        if self._checkpoints is None:
            from .graph.wiring import Checkpoints

            self._checkpoints = Checkpoints(self.folder.checkpoint_db, read_only=True)
        return self._checkpoints

    def _require_series(self, planned: bool = True) -> None:
        """Refuse a command on a folder that is not there (or, `planned`, holds no plan) before
        anything is created in it."""
        if not self.folder.root.is_dir():
            raise InputError(self.folder.root, "no such series folder (nothing was created); "
                                               "`microdrama plan <screenplay>` makes one")
        if planned and not self.folder.exists():
            raise InputError(self.folder.root, "no series.yaml here: nothing is planned; run `microdrama plan` first")

    @contextmanager
    def writing(self, command: str | None = None) -> Iterator[None]:
        """The series lock, for the duration of a command that writes. Once it is held, the
        temporaries of writers that died (a kill mid-write) are swept: no live process owns them."""
        from .edit.assemble import sweep_work_folders

        with series_lock(self.folder.state_dir, command or current_command()):
            ArtifactCache(self.folder.cache_dir).sweep_temporaries()
            for place in (self.folder.root, self.folder.plan_dir, self.folder.state_dir, self.folder.parsed.folder,
                          self.folder.out_dir):
                sweep_atomic_temporaries(place)
            sweep_work_folders(self.folder.out_dir)
            yield

    # --- threads -------------------------------------------------------------------------------

    @property
    def _runs_file(self) -> Path:
        return self.folder.state_dir / "runs.json"

    def _runs(self) -> dict[str, Any]:
        return json.loads(self._runs_file.read_text(encoding="utf-8")) if self._runs_file.is_file() else {}

    def _remember(self, **threads: str) -> None:
        atomic_write_text(self._runs_file, json.dumps({**self._runs(), **threads}, indent=1))

    def _config(self, thread: str) -> dict:
        return {"configurable": {"thread_id": thread}, "max_concurrency": self.settings.render_concurrency}

    def _planning_snapshot(self):
        thread = self._runs().get("plan")
        if not thread or not self.folder.checkpoint_db.is_file():
            return None
        snap = self._reading.planning.get_state(self._config(thread))
        return snap if snap.values else None

    def _recorded(self, graph: last_state.Graph, thread: str | None) -> dict[str, Any] | None:
        """The thread's state as the last run recorded it, if still current (graph/last_state.py)."""
        return last_state.read(self.folder.state_dir, self.folder.checkpoint_db, graph, thread) if thread else None

    def _record(self, graph: last_state.Graph, thread: str) -> Any:
        """The thread's state after a run, recorded for the readers that do not import LangGraph."""
        snap = getattr(self.graphs, graph).get_state(self._config(thread))
        last_state.write(self.folder.state_dir, graph, thread, snap.config["configurable"]["checkpoint_id"],
                         snap.values, bool(snap.interrupts))
        return snap

    def planning_state(self) -> PlanningState | None:
        if record := self._recorded("planning", self._runs().get("plan")):
            return _state_or_none(PlanningState, record["values"]) if record["values"] else None
        snap = self._planning_snapshot()
        return _state_or_none(PlanningState, snap.values) if snap else None

    def pending_review(self) -> bool:
        if record := self._recorded("planning", self._runs().get("plan")):
            return bool(record["values"] and record["interrupted"])
        snap = self._planning_snapshot()
        return bool(snap and snap.interrupts)

    def _run_planning(self, payload: Any, thread: str) -> None:
        self.graphs.planning.invoke(payload, self._config(thread), context=self.settings, durability="sync")
        self._record("planning", thread)

    def _resume_planning(self, decision: ReviewDecision) -> None:
        from langgraph.types import Command

        self._run_planning(Command(resume=decision.model_dump()), self._runs()["plan"])

    # --- planning ------------------------------------------------------------------------------

    def plan(self, sources: list[str], fresh: bool = False, format: SeriesFormat | None = None) -> PlanResult:
        """Plan from the sources and stop at review. The same sources resume their run if it was
        killed (finished nodes and LLM calls are not repeated) and are 'unchanged' once it is at
        review or done; edited sources (or `fresh`) start a new run, which keeps every scene whose
        screenplay text is unchanged."""
        digest = self.folder.sources_digest(sources)
        nonce = str(time.time_ns()) if fresh else ""
        key = json.dumps([digest, self.settings.planner, nonce])
        thread = "plan-" + hashlib.sha256(key.encode()).hexdigest()[:16]
        with self.writing():
            latest = self._planning_snapshot()
            if (not fresh and latest and latest.next and not latest.interrupts
                    and PlanningState.model_validate(latest.values).source_digest == digest):
                # A run killed after it wrote these sources itself (a synopsis run's screenplays).
                self._run_planning(None, self._runs()["plan"])
                return "resumed"
            self._remember(plan=thread)
            snap = self.graphs.planning.get_state(self._config(thread))
            if snap.values and snap.next and not snap.interrupts:
                self._run_planning(None, thread)
                return "resumed"
            if snap.values:
                return "unchanged"
            self._run_planning(PlanningState(sources=sources, source_digest=digest, format=format), thread)
            return "started"

    def require_llm_planner(self) -> None:
        """Refuse (ConfigError, saying what to set) a revision the settings cannot make: it
        re-plans with the LLM shot planner, which needs planner = "llm" and an endpoint."""
        if self.settings.planner != "llm":
            raise ConfigError('revise re-plans with the LLM shot planner: set planner = "llm" under [run] in '
                              f"{self.folder.root / 'microdrama.toml'} (or MICRODRAMA_PLANNER=llm) and configure "
                              "an endpoint")
        if self.settings.llm_client is None:
            self.settings.llm.check_configured()

    def revise(self, scene: str, note: str) -> None:
        """Re-plan one scene with a note: a new planning run over the same sources in which only
        that scene is planned; every other scene is carried over from the plan files."""
        self._require_series()
        with self.writing():
            state = self.planning_state()
            if state is None:
                raise InputError(self.folder.root, "nothing planned here yet; run `microdrama plan` first")
            _, episodes = self.folder.load_plan()
            if scene not in {s.id for e in episodes for s in e.scenes}:
                raise InputError(self.folder.root, Problem(f"no scene {scene!r} in the plan", field="--scene"))
            revision = Revision(scene=scene, note=note)
            key = json.dumps([state.source_digest, self.settings.planner, revision.model_dump(), plan_digest(self.folder)])
            thread = "plan-" + hashlib.sha256(key.encode()).hexdigest()[:16]
            self._remember(plan=thread)
            snap = self.graphs.planning.get_state(self._config(thread))
            if snap.values and snap.next and not snap.interrupts:
                self._run_planning(None, thread)
            elif not snap.values:
                self._run_planning(PlanningState(sources=state.sources, source_digest=state.source_digest,
                                                 revision=revision), thread)

    def judged_findings(self) -> list[Finding]:
        """The LLM reviewer's findings and the ingest's notices of the latest planning run (the
        rules are computed afresh from the files wherever findings are shown)."""
        state = self.planning_state()
        return [f for f in (state.findings if state else []) if f.origin in (FindingOrigin.LLM, FindingOrigin.INGEST)]

    def review(self) -> CheckedPlan:
        """The plan files as they are now, validated, with their findings."""
        self._require_series()
        return check_files(self.folder, self.settings, self.judged_findings())

    def changed_since_approval(self, plan: CheckedPlan) -> set[str] | None:
        """The ids of `plan`'s scenes and shots that are not as the current approval has them;
        None when nothing is approved yet."""
        digest = current_digest(self.folder)
        if digest is None:
            return None
        approved = load_snapshot(self.folder, digest)
        changed = set()
        for episode in plan.episodes:
            for scene in episode.scenes:
                if not approved.has(scene.id) or \
                        approved.scene(scene.id).model_dump(exclude={"shots"}) != scene.model_dump(exclude={"shots"}):
                    changed.add(scene.id)
                changed.update(shot.id for shot in scene.shots
                               if not approved.has(shot.id) or approved.shot(shot.id)[1] != shot)
        return changed

    def approved(self) -> bool:
        """An approval exists and the plan files are what it approved."""
        return current_digest(self.folder) is not None and not edited_since_approval(self.folder)

    def approve(self) -> Approval:
        """Approve the plan files as they stand (refused while a rule error remains). Answers the
        review interrupt when a planning run waits there."""
        self._require_series()
        with self.writing():
            if not self.pending_review() and self.approved():
                raise InputError(self.folder.root, "nothing awaits review here: the plan files are as approved")
            if self.pending_review():
                # Refused here, with the reasons, rather than by the graph's review node, which
                # would only wait at review again.
                refuse_blocking(self.folder, check_files(self.folder, self.settings, self.judged_findings()))
                self._resume_planning(ReviewDecision(action="approve"))
                return Approval(self.planning_state().approved, self.review())
            digest, plan = approve_files(self.folder, self.settings, self.judged_findings())
            return Approval(digest, plan)

    def reject(self, note: str = "") -> None:
        self._require_series()
        with self.writing():
            if not self.pending_review():
                raise InputError(self.folder.root, "nothing awaits review here")
            self._resume_planning(ReviewDecision(action="reject", note=note))

    # --- edits ---------------------------------------------------------------------------------

    def edit_shot(self, shot_id: str, edit: ShotEdit, dry_run: bool = False,
                  if_unchanged: str | None = None) -> Shot:
        """Change one shot's fields in its plan file and return the shot as it now reads (prompt
        recomposed). Validated as a hand edit is: on an error nothing is saved. `dry_run` saves
        nothing and takes no lock (the studio's live prompt). `if_unchanged` is the file_digest
        of the plan file the editor was shown: a file changed on disk since is refused."""
        from .plan.shot_edit import apply_edit, file_digest

        self._require_series()
        if not ids.is_plan_id(shot_id) or ids.parse(shot_id).kind != "shot":
            raise InputError(self.folder.root, Problem(f"{shot_id!r} is not a shot id (e.g. e01s02k03)", field="--shot"))
        path = self.folder.episode_path(ids.episode_of(shot_id))
        with contextlib.nullcontext() if dry_run else self.writing():
            if if_unchanged is not None and file_digest(path) != if_unchanged:
                raise InputError(path, "changed on disk since it was opened; reload to see the file as it is now "
                                       "(nothing was saved)")
            edited = apply_edit(self.folder.load_episode(path.stem), self.folder.load_series(), shot_id, edit, path)
            if not dry_run:
                self.folder.save_edit(edited)
            return next(shot for shot in edited.shots if shot.id == shot_id)

    # --- render --------------------------------------------------------------------------------

    def approval_to_render(self, yes: bool) -> tuple[str, bool]:
        """The snapshot a render reads: the current approval, if the plan files are still what
        it approved. An edited plan is approved first with `yes` (refused on rule errors)."""
        check_files(self.folder, self.settings)  # invalid files are named before anything runs
        digest = current_digest(self.folder)
        if digest is None and not yes:
            if self.pending_review():
                raise InputError(self.folder.root, "the plan awaits review: `microdrama approve` it first "
                                                   "(or render --yes)")
            raise InputError(self.folder.root, "no approved plan here: run `microdrama plan <dir> --yes` first")
        if digest is not None and not edited_since_approval(self.folder):
            return digest, False
        if not yes:
            raise InputError(self.folder.root, "the plan files were edited since approval: `microdrama review` "
                                               "and `approve` them, or `render --yes` to approve the edit")
        return approve_files(self.folder, self.settings, self.judged_findings())[0], True

    def render(self, request: RenderRequest, yes: bool = False,
               on_update: Callable[[str, Any], None] | None = None, fix_rounds: int | None = None) -> RenderOutcome:
        """Render the approved plan (what the request selects, and what the touched episodes
        need) and assemble and audit its episodes. A render killed part-way resumes when the same
        command runs again; any other request starts its own run. `fix_rounds` (default: [audit]
        fix_rounds) re-rolls the shots whose audit failures a new seed can fix (review/fix_loop.py).
        Without a budget in the request, [cost] budget_usd applies."""
        self._require_series()
        if request.budget_usd is None and self.settings.cost.budget_usd is not None:
            request = request.model_copy(update={"budget_usd": self.settings.cost.budget_usd})
        rounds = self.settings.audit.fix_rounds if fix_rounds is None else fix_rounds
        with self.writing():
            outcome = self._unchanged_since_receipt(request)
            if outcome is None:
                digest, approved_now = self.approval_to_render(yes)
                outcome = self._render_approved(digest, request, on_update, approved_now)
            return self._fix(outcome, rounds) if rounds and not outcome.deferred else outcome

    def _unchanged_since_receipt(self, request: RenderRequest) -> RenderOutcome | None:
        """A render of the whole plan with nothing changed since the last complete one: its outcome,
        from the receipt (graph/receipt.py), without the graph; None when the render has work to
        do or to check."""
        if not request.whole_plan or request.force:
            return None
        receipt = standing_receipt(self.folder)
        if receipt is None or receipt.snapshot != current_digest(self.folder) \
                or receipt.settings != settings_digest(self.settings):
            return None
        state = RenderState.model_validate(receipt.state)
        state = state.model_copy(update={
            "request": request, "audits": [],
            "outputs": [o.model_copy(update={"mastered": False}) for o in state.outputs],
            "renders": [r.model_copy(update={"cached": True, "selected": True}) for r in state.renders],
            "cues": [c.model_copy(update={"cached": True}) for c in state.cues]})
        return RenderOutcome(state, False, frozenset(r.id for r in [*state.renders, *state.cues]), started=time.time(),
                             unchanged=True)

    def _fix(self, outcome: RenderOutcome, rounds: int) -> RenderOutcome:
        """The fix loop after a render: its report, the latest audits, and the spend of both."""
        from .review.cost import spent_since
        from .review.fix_loop import FixLoop

        audits = {a.id: a for a in outcome.state.audits}
        budget = outcome.state.request.budget_usd

        def rerender(shots: list[str]) -> bool:
            left = None if budget is None else max(0.0, budget - spent_since(self.folder, outcome.started,
                                                                                self.settings.cost).usd)
            again = self._render_approved(current_digest(self.folder), RenderRequest(shots=shots, budget_usd=left), None)
            audits.update({a.id: a for a in again.state.audits})
            return not again.deferred

        fix = FixLoop(self.folder, self._approve_takes, rerender, self._audit_report).run(
            rounds, [o.id for o in outcome.state.outputs if o.video])
        state = outcome.state.model_copy(update={"audits": list(audits.values())})
        return RenderOutcome(state, outcome.approved_now, outcome.this_run, outcome.forecast,
                             spent_since(self.folder, outcome.started, self.settings.cost), fix, outcome.started)

    def _approve_takes(self) -> None:
        approve_files(self.folder, self.settings, self.judged_findings())

    def _audit_report(self, episode_id: str) -> AuditReport:
        from .review.audit import AuditReport

        return AuditReport.model_validate_json((self.folder.out_dir / f"{episode_id}.audit.json").read_text("utf-8"))

    def _render_approved(self, digest: str, request: RenderRequest, on_update: Callable[[str, Any], None] | None,
                         approved_now: bool = False) -> RenderOutcome:
        """One run of the render graph over an approved snapshot, with its estimate and its spend."""
        from .render.estimate import estimate, planned_work
        from .render.executors import executor_for
        from .review.cost import spent_since

        snapshot = load_snapshot(self.folder, digest)
        unknown = [i for i in (request.scenes or []) + (request.shots or []) if not snapshot.has(i)]
        if unknown:
            raise InputError(self.folder.root, f"no such scene or shot: {', '.join(unknown)}")
        touched = [e for e in snapshot.episodes if any(request.selects(s.id) for s in e.shots)]
        forced = request.selects if request.force else (lambda shot_id: False)
        forecast = estimate(planned_work(snapshot.series, touched, self.settings, forced), self.settings)
        started = time.time()
        thread, payload = self._render_thread(digest, request)
        self._remember(render=thread)
        config = self._config(thread)
        if on_update:
            shots = sum(len(e.shots) for e in touched)
            scenes = sum(len(e.scenes) for e in touched)
            on_update("start", {"total": shots + scenes, "shots": shots, "cues": scenes,
                                "voices": sum(len(s.dialogue) for e in touched for s in e.shots)})
        this_run: set[str] = set()
        drop_receipt(self.folder)
        with executor_for(self.settings) as settings:
            config["max_concurrency"] = settings.render_concurrency
            for chunk in self.graphs.render.stream(payload, config, context=settings, durability="sync",
                                                   stream_mode="updates"):
                for node, update in chunk.items():
                    this_run.update(r.id for r in [*(update or {}).get("renders", []),
                                                   *(update or {}).get("cues", [])])
                    if on_update:
                        on_update(node, update)
        values = self._record("render", thread).values
        state = RenderState.model_validate(values)
        self._keep_receipt(snapshot, request, state)
        spent = spent_since(self.folder, started, self.settings.cost)
        return RenderOutcome(state, approved_now, frozenset(this_run), forecast, spent, started=started)

    def _keep_receipt(self, snapshot: Snapshot, request: RenderRequest, state: RenderState) -> None:
        """A receipt for a render of the whole plan that left every episode assembled from rendered
        shots, nothing failed or deferred."""
        outputs = {o.id: o for o in state.outputs}
        complete = all(o.video and not o.failed_shots for o in outputs.values()) and \
            {e.id for e in snapshot.episodes} == set(outputs) and \
            not any(r.failed or r.deferred for r in [*state.renders, *state.cues])
        unedited = plan_digest(self.folder) == snapshot.digest  # not edited while it rendered
        if request.whole_plan and complete and unedited:
            write_receipt(
                self.folder, snapshot.digest, settings_digest(self.settings), state.model_dump(mode="json"),
                {e.id: [s.id for s in e.shots] for e in snapshot.episodes},
                resting_files(self.folder, self.settings, snapshot, state))

    def _render_thread(self, digest: str, request: RenderRequest) -> tuple[str, RenderState | None]:
        """The thread for this render and its input (None: resume it). A finished run of the same
        request gets a fresh thread; finished render threads are dropped then, so the checkpoint
        database holds the runs that may resume and the latest one."""
        base = render_thread(digest, request, settings_digest(self.settings))
        runs = self._runs().get("render_runs", {})
        number = runs.get(base, 1)
        snap = self.graphs.render.get_state(self._config(f"{base}.{number}"))
        if snap.values and snap.next:
            return f"{base}.{number}", None
        if snap.values:
            number += 1
        self._drop_finished_renders()
        self._remember(render_runs={**runs, base: number})
        return f"{base}.{number}", RenderState(snapshot=digest, request=request)

    def _drop_finished_renders(self) -> None:
        saver = self.graphs.saver
        threads = [row[0] for row in saver.conn.execute("SELECT DISTINCT thread_id FROM checkpoints")]
        for thread in threads:
            if thread.startswith("render-") and not self.graphs.render.get_state(self._config(thread)).next:
                saver.delete_thread(thread)

    def last_render(self) -> RenderState | None:
        thread = self._runs().get("render")
        if record := self._recorded("render", thread):
            return _state_or_none(RenderState, record["values"]) if record["values"] else None
        if not thread or not self.folder.checkpoint_db.is_file():
            return None
        values = self._reading.render.get_state(self._config(thread)).values
        return _state_or_none(RenderState, values) if values else None

    # --- audit ---------------------------------------------------------------------------------

    def audit(self, episode: str | None = None) -> list[Published]:
        """Audit every episode with an MP4 and a timeline in out/ (or the one named) against the
        approved snapshot it was rendered from; refreshes the storyboard and editor export."""
        from .review.publish import assembled_episodes, publish_episode

        self._require_series(planned=False)
        with self.writing():
            assembled = assembled_episodes(self.folder)
            if not assembled:
                raise InputError(self.folder.root, "no assembled episode here: run `microdrama render` first")
            if episode is not None and episode not in assembled:
                raise InputError(self.folder.root, Problem(
                    f"episode {episode!r} is not assembled; assembled: {', '.join(assembled)}", field="--episode"))
            return [publish_episode(self.folder, e, self.settings) for e in assembled if episode in (None, e)]

    # --- takes and cost ------------------------------------------------------------------------

    def use_take(self, shot_id: str, take: int) -> None:
        """Pin a shot's take in its plan file (`microdrama take`): the picture of that take is
        used from the next render on, and the fix loop leaves the shot alone."""
        self._require_series()
        with self.writing():
            if not ids.is_plan_id(shot_id) or ids.parse(shot_id).kind != "shot":
                raise InputError(self.folder.root, Problem(f"{shot_id!r} is not a shot id (e.g. e01s02k03)", field="shot"))
            path = self.folder.episode_path(ids.episode_of(shot_id))
            if not path.is_file():
                raise InputError(self.folder.root, Problem(f"no episode file for {shot_id}", field="shot"))
            episode = self.folder.load_episode(ids.episode_of(shot_id))
            shot = next((s for s in episode.shots if s.id == shot_id), None)
            if shot is None:
                raise InputError(path, Problem(f"no shot {shot_id} in the plan", field="shot"))
            if take != 1 and shot.recorded_take(take) is None:
                known = ", ".join(str(t.take) for t in shot.takes or []) or "1"
                raise InputError(path, Problem(f"{shot_id} has no take {take}; its takes: {known}", field="--use"))
            pinned = shot.model_copy(update={"take": None if take == 1 else take, "pinned": True})
            scenes = [scene.model_copy(update={"shots": [pinned if s.id == shot_id else s for s in scene.shots]})
                      for scene in episode.scenes]
            self.folder.save_episode(episode.model_copy(update={"scenes": scenes}))

    def cost(self) -> CostReport:
        """What the series has cost so far, from the ledger and the LLM call log."""
        from .review.cost import cost_report

        self._require_series()
        return cost_report(self.folder, self.settings.cost, self.folder.load_series().fps)

    def estimate(self, plan: CheckedPlan | None = None) -> Estimate:
        """What rendering the approved plan (or the plan files as reviewed) would cost now; what
        is cached costs nothing. Plan files a rule error blocks are not estimated (an empty
        scene has no music to price): the InputError names the errors."""
        from .render.estimate import estimate, planned_work

        self._require_series()
        if plan is not None:
            refuse_blocking(self.folder, plan)
            return estimate(planned_work(plan.series, plan.episodes, self.settings), self.settings)
        digest = current_digest(self.folder)
        if digest is None:
            raise InputError(self.folder.root, "no approved plan here to estimate: `microdrama approve` it first")
        snapshot = load_snapshot(self.folder, digest)
        return estimate(planned_work(snapshot.series, list(snapshot.episodes), self.settings), self.settings)

    # --- garbage -------------------------------------------------------------------------------

    def gc(self, delete: bool = False, prune_approvals: bool = False) -> GarbageReport:
        """Cache artifacts that no approved snapshot references (under the current settings) and
        no episode's timeline uses. With `prune_approvals`, approvals other than the current one
        are dropped first (their artifacts become garbage unless the current one shares them)."""
        self._require_series(planned=False)
        with self.writing():
            digests = snapshot_digests(self.folder)
            current = current_digest(self.folder)
            if prune_approvals and delete:
                for digest in digests:
                    if digest != current:
                        shutil.rmtree(approved_dir(self.folder) / digest)
                digests = [current] if current else []
            elif prune_approvals:
                digests = [current] if current else []
            keep = self._referenced(digests)
            cache = self.folder.cache_dir
            garbage = sorted(p for p in cache.iterdir() if p.is_file() and p not in keep) if cache.is_dir() else []
            freed = sum(p.stat().st_size for p in garbage)
            if delete:
                for path in garbage:
                    path.unlink(missing_ok=True)
            return GarbageReport(garbage, freed, len(keep), deleted=delete)

    def _referenced(self, digests: list[str]) -> set[Path]:
        from .core.cache import ArtifactCache
        from .edit.master import master_files
        from .edit.timeline import read_timeline, timeline_path
        from .render.renderer import Renderer
        from .render.requests import ambience_requests, effect_requests
        from .review.publish import assembled_episodes
        from .review.thumbnails import thumbnail_path

        renderer, keep = Renderer(self.settings), set()
        for digest in digests:
            snapshot = load_snapshot(self.folder, digest)
            for episode in snapshot.episodes:
                for scene in episode.scenes:
                    if music := renderer.music(scene, snapshot.series, render=False):
                        keep.add(music.path)
                    sounds = [*ambience_requests(scene, snapshot.series),
                              *(r for shot in scene.shots for r in effect_requests(shot, scene, snapshot.series))]
                    keep.update(take.path for r in sounds if (take := renderer.sound(r, render=False)))
                    for shot in scene.shots:
                        voices, picture = renderer.cached_shot(shot, scene, snapshot.series)
                        keep.update(voices)
                        if picture:
                            keep.add(picture.path)
        for episode_id in assembled_episodes(self.folder):
            timeline = read_timeline(timeline_path(self.folder.out_dir, episode_id), self.folder.root)
            keep.update(clip.path for clip in (*timeline.video, *timeline.dialogue, *timeline.music,
                                               *timeline.effects, *timeline.ambience))
            keep.update(thumbnail_path(clip, timeline) for clip in timeline.video)
            keep.update(master_files(timeline, self.folder.root, ArtifactCache(self.folder.cache_dir)))
        return keep


def _state_or_none(model: type[BaseModel], values: dict) -> Any:
    """A checkpointed state, or None when it was written by a version of microdrama whose state
    had another shape: such a run is not resumed, and nothing in it is needed (the plan is in
    the files, the results in cache/ and out/)."""
    try:
        return model.model_validate(values)
    except ValidationError:
        return None


@dataclass(frozen=True)
class GarbageReport:
    files: list[Path]
    bytes: int
    kept: int
    deleted: bool
