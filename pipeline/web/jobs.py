"""The studio's long actions (render, audit, revise) as jobs, each in a child process.

A job is the CLI command it stands for (`microdrama render <dir> --scene e01s02`), run through
the same application layer in a process of its own, so that it takes the series lock the way a
terminal would: while it renders, an edit made in the studio (in the server's process) is
refused by the lock itself, as an edit from a second terminal is. Threads would share the
server's lock (the lock is re-entrant within a process) and let the edit through.

The child is started with "spawn", never "fork": the server runs threads, and a forked copy of
a threaded process may inherit a held lock. It reports progress as (event, data) tuples on a
queue; a thread in the server folds them into the job, which the page polls.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ..core.errors import MicrodramaError

Kind = Literal["render", "audit", "revise"]
JobState = Literal["running", "done", "failed"]
_CONTEXT = multiprocessing.get_context("spawn")


@dataclass
class Job:
    """One action started from the studio, as the page shows it."""

    number: int
    kind: Kind
    argv: list[str]  # the equivalent command line
    state: JobState = "running"
    total: int | None = None
    done: int = 0
    finished: list[str] = field(default_factory=list)  # shot and cue ids rendered so far
    message: str = ""
    started: float = field(default_factory=time.time)

    @property
    def command(self) -> str:
        return " ".join(self.argv)

    @property
    def running(self) -> bool:
        return self.state == "running"


def command_line(kind: Kind, series_dir: Path, params: dict[str, Any]) -> list[str]:
    """The `microdrama` command a job runs, as a person would type it."""
    argv = ["microdrama", kind, str(series_dir)]
    if kind == "render":
        for scene in params.get("scenes") or []:
            argv += ["--scene", scene]
        for shot in params.get("shots") or []:
            argv += ["--shot", shot]
        if params.get("force"):
            argv.append("--force")
    elif kind == "revise":
        argv += ["--scene", params["scene"], "--note", params["note"]]
    return argv


class Jobs:
    """The jobs of one studio, newest last."""

    def __init__(self, series_dir: Path):
        self.series_dir = Path(series_dir)
        self._jobs: list[Job] = []
        self._guard = threading.Lock()

    def get(self, number: int) -> Job | None:
        with self._guard:
            return next((job for job in self._jobs if job.number == number), None)

    def latest(self) -> Job | None:
        with self._guard:
            return self._jobs[-1] if self._jobs else None

    def start(self, kind: Kind, **params: Any) -> Job:
        with self._guard:
            job = Job(len(self._jobs) + 1, kind, command_line(kind, self.series_dir, params))
            self._jobs.append(job)
        events = _CONTEXT.Queue()
        process = _CONTEXT.Process(target=run_job, args=(str(self.series_dir), kind, params, job.argv, events),
                                   daemon=True, name=f"studio-{kind}-{job.number}")
        process.start()
        threading.Thread(target=self._follow, args=(job, process, events), daemon=True).start()
        return job

    def wait(self, job: Job, timeout_s: float) -> bool:
        """Whether the job ended within `timeout_s` (for tests and the CLI-less shutdown)."""
        deadline = time.monotonic() + timeout_s
        while job.running and time.monotonic() < deadline:
            time.sleep(0.05)
        return not job.running

    def _follow(self, job: Job, process, events) -> None:
        while job.running:
            try:
                event, data = events.get(timeout=0.5)
            except queue.Empty:  # check that the child is still there
                if not process.is_alive():
                    self._end(job, "failed", f"the job's process ended unexpectedly (exit code {process.exitcode})")
                continue
            with self._guard:
                if event == "total":
                    job.total = data
                elif event == "progress":
                    job.done += 1
                    job.finished.extend(data)
                elif event == "message":
                    job.message = data
            if event in ("done", "failed"):
                self._end(job, event, data)
        process.join(timeout=5)

    def _end(self, job: Job, state: JobState, message: str) -> None:
        with self._guard:
            job.state, job.message = state, message


# --- in the child process ----------------------------------------------------------------------


def run_job(series_dir: str, kind: Kind, params: dict[str, Any], argv: list[str], events) -> None:
    """The child's body: the command through the application layer, its progress on `events`.
    The project's errors end the job with their one line (with the traceback under
    MICRODRAMA_DEBUG=1); anything else is a bug, reported with its traceback."""
    sys.argv = argv  # the series lock records the holder's command line: the command this job is
    try:
        events.put(("done", _run(Path(series_dir), kind, params, events)))
    except MicrodramaError as exc:
        detail = traceback.format_exc() if os.environ.get("MICRODRAMA_DEBUG") else ""
        events.put(("failed", f"{exc}\n{detail}".strip()))
    except Exception:  # a bug: the page shows it, not a job spinning forever
        events.put(("failed", "internal error (please report it):\n" + traceback.format_exc()))


def _run(series_dir: Path, kind: Kind, params: dict[str, Any], events) -> str:
    from ..app import Project
    from ..core.config import Settings
    from ..graph.state import RenderRequest

    with Project(Settings.load(series_dir)) as project:
        if kind == "audit":
            published = project.audit()
            errors = sum(len(p.report.errors) for p in published)
            return f"audited {', '.join(p.summary.id for p in published)}: {errors} error(s)"
        if kind == "revise":
            project.revise(params["scene"], params["note"])
            return f"{params['scene']} re-planned; the plan awaits review"

        def on_update(node: str, update: Any) -> None:
            if node == "start":
                events.put(("total", update["total"]))
            elif node in ("render_shot", "render_cue"):
                results = [*(update or {}).get("renders", []), *(update or {}).get("cues", [])]
                events.put(("progress", [r.id for r in results]))
            elif node == "assemble":
                events.put(("message", "assembling"))

        request = RenderRequest(scenes=params.get("scenes"), shots=params.get("shots"), force=params.get("force", False))
        outcome = project.render(request, on_update=on_update)
        assembled = [o.id for o in outcome.state.outputs if o.video]
        summary = (f"nothing changed since the last complete render; {', '.join(assembled)} current" if outcome.unchanged
                   else f"rendered; assembled {', '.join(assembled) or 'nothing'}")
        if outcome.failed and not project.settings.allow_failed:
            raise RenderFailedInJob(f"{len(outcome.failed)} failed: {', '.join(outcome.failed)}; the rest is "
                                    "cached: fix and render again")
        return summary


class RenderFailedInJob(MicrodramaError):
    """Some shots or cues failed; the job fails as `microdrama render` exits non-zero."""
