"""The production graph, wired:

    START -> [synopsis] write_bible -> write_episode (one per episode) -> collect_screenplays
          -> ingest_screenplay -> plan_scene (one per scene) -> collect_plan -> check_continuity
          -> [LLM planner: scenes with findings re-planned, bounded rounds] -> review (interrupt)
          -> render_shot (one per shot) + render_cue (one per scene) -> assemble
          -> publish (audit, storyboard, editor export) -> END

The run stops after review until `microdrama render` sets a render request (a fork of the
approved state, so a re-render never repeats planning); `microdrama revise` forks it at
ingest with one scene to re-plan.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from enum import Enum
from collections.abc import Callable
from pathlib import Path
from typing import Any

from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.checkpoint.sqlite import SqliteSaver
from pydantic import BaseModel
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command

from microdrama.agents import writer
from ..core import models
from . import planning as nodes
from . import state
from ..edit.assemble import assemble
from ..core.config import Settings
from ..review.publish import publish
from ..render.renderer import dispatch_render, render_cue, render_shot
from microdrama.agents.writer import SeriesFormat
from .state import ProductionState, RenderRequest, ReviewDecision, Revision
from ..core.store import SeriesFolder, atomic_write_text


def after_review(state: ProductionState) -> str | list:
    if state.review is None:
        return "review"  # approval refused by blocking findings: ask again
    if state.review.action == "reject" or state.render is None:
        return END
    return dispatch_render(state) or END


def build_graph() -> StateGraph:
    builder = StateGraph(ProductionState, context_schema=Settings)
    builder.add_node("write_bible", nodes.write_series_bible)
    builder.add_node("write_episode", nodes.write_episode_screenplay)
    builder.add_node("collect_screenplays", nodes.collect_screenplays, defer=True)
    builder.add_node("ingest_screenplay", nodes.ingest_screenplay)
    builder.add_node("plan_scene", nodes.plan_scene)
    builder.add_node("collect_plan", nodes.collect_plan, defer=True)
    builder.add_node("check_continuity", nodes.check_continuity)
    builder.add_node("review", nodes.review)
    builder.add_node("render_shot", render_shot)
    builder.add_node("render_cue", render_cue)
    builder.add_node("assemble", assemble, defer=True)
    builder.add_node("publish", publish)

    builder.add_conditional_edges(START, nodes.route_start, ["write_bible", "ingest_screenplay"])
    builder.add_conditional_edges("write_bible", nodes.route_episodes, ["write_episode"])
    builder.add_edge("write_episode", "collect_screenplays")
    builder.add_edge("collect_screenplays", "ingest_screenplay")
    builder.add_conditional_edges("ingest_screenplay", nodes.route_scenes, ["plan_scene", "collect_plan"])
    builder.add_edge("plan_scene", "collect_plan")
    builder.add_edge("collect_plan", "check_continuity")
    builder.add_conditional_edges("check_continuity", nodes.route_after_continuity, ["plan_scene", "review"])
    builder.add_conditional_edges("review", after_review, ["review", "render_shot", "render_cue", END])
    builder.add_edge("render_shot", "assemble")
    builder.add_edge("render_cue", "assemble")
    builder.add_edge("assemble", "publish")
    builder.add_edge("publish", END)
    return builder


def checkpoint_serializer() -> JsonPlusSerializer:
    """Checkpoints may only revive our own state types (a checkpoint file is code-adjacent data:
    LangGraph would otherwise deserialize any type it names)."""
    allowed = [
        (module.__name__, name)
        for module in (models, state, writer)
        for name, obj in vars(module).items()
        if isinstance(obj, type) and issubclass(obj, (BaseModel, Enum)) and obj.__module__ == module.__name__
    ]
    return JsonPlusSerializer(allowed_msgpack_modules=allowed)


def sources_digest(folder: SeriesFolder, sources: list[str]) -> str:
    digest = hashlib.sha256()
    for source in sources:
        digest.update(source.encode("utf-8") + b"\0" + (folder.root / source).read_bytes() + b"\0")
    return digest.hexdigest()[:16]


class Production:
    """One series' graph runs: which thread is current, starting, resuming, reviewing."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.folder = SeriesFolder(settings.series_dir)
        self.folder.state_dir.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(self.folder.checkpoint_db, check_same_thread=False)
        self.graph = build_graph().compile(checkpointer=SqliteSaver(self._conn, serde=checkpoint_serializer()))

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Production:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- threads: one per planning run of the series; state/run.json names the current one
    @property
    def _run_file(self) -> Path:
        return self.folder.state_dir / "run.json"

    def current_run(self) -> dict[str, Any] | None:
        if not self._run_file.is_file():
            return None
        return json.loads(self._run_file.read_text(encoding="utf-8"))

    def _config(self, thread_id: str) -> dict:
        return {"configurable": {"thread_id": thread_id}, "max_concurrency": self.settings.render_concurrency}

    def _invoke(self, payload: Any, thread_id: str) -> None:
        self.graph.invoke(payload, self._config(thread_id), context=self.settings, durability="sync")

    def _stream(self, payload: Any, config: dict, on_update: Callable[[str, Any], None] | None) -> None:
        for chunk in self.graph.stream(payload, config, context=self.settings, durability="sync",
                                       stream_mode="updates"):
            for node, update in chunk.items():
                if on_update:
                    on_update(node, update)

    def snapshot(self):
        run = self.current_run()
        return self.graph.get_state(self._config(run["thread"])) if run else None

    def pending_review(self) -> bool:
        snap = self.snapshot()
        return bool(snap and snap.interrupts)

    def plan(self, sources: list[str], fresh: bool = False, format: SeriesFormat | None = None) -> str:
        """Start planning, or resume the current run if it was interrupted (a killed process):
        finished nodes and LLM calls are not repeated. Returns 'resumed', 'started', or
        'unchanged' (the current run is at review or done, with these same sources)."""
        digest = sources_digest(self.folder, sources)
        run = self.current_run()
        snap = self.snapshot()
        if run and not fresh and snap and snap.values:
            if snap.next and not snap.interrupts:
                self._invoke(None, run["thread"])
                return "resumed"
            if run["digest"] == digest:
                return "unchanged"
        number = (run["number"] + 1) if run else 1
        thread = f"run-{number}"
        atomic_write_text(self._run_file, json.dumps({"thread": thread, "number": number, "digest": digest}))
        self._invoke(ProductionState(sources=sources, source_digest=digest, format=format), thread)
        return "started"

    def revise(self, revision: Revision, planned: list[Any]) -> None:
        """Re-plan one scene with a note: a fork of the current state at ingest, holding the
        current plan files (hand edits included) so every other scene is written back as is."""
        run = self.current_run()
        config = self._config(run["thread"])
        update = {"revision": revision, "planned": planned, "review": None, "render": None, "round": 0}
        forked = self.graph.update_state(config, update, as_node="ingest_screenplay")
        self._stream(None, {**config, "configurable": forked["configurable"]}, None)

    def render(self, request: RenderRequest, series: Any, episodes: list[Any],
               on_update: Callable[[str, Any], None] | None = None) -> ProductionState:
        """Render an approved plan: resume a render that was killed, or fork the approved state
        with this request and the current plan files (hand edits since approval included)."""
        run = self.current_run()
        snap = self.snapshot()
        config = self._config(run["thread"])
        if snap.next and not snap.interrupts:
            self._stream(None, config, on_update)  # a render in flight when the process died
        else:
            update = {"render": request, "series": series, "episodes": episodes, "outputs": [], "audits": []}
            forked = self.graph.update_state(config, update, as_node="review")
            self._stream(None, {**config, "configurable": forked["configurable"]}, on_update)
        return self.state()

    def approved(self) -> bool:
        state = self.state()
        return bool(state and state.review and state.review.action == "approve")

    def decide(self, decision: ReviewDecision) -> None:
        run = self.current_run()
        self._invoke(Command(resume=decision.model_dump()), run["thread"])

    def state(self) -> ProductionState | None:
        snap = self.snapshot()
        return ProductionState.model_validate(snap.values) if snap and snap.values else None
