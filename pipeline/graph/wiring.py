"""The two graphs, wired, and the SQLite checkpointer they run on.

Planning (one thread per planning run: sources, planner, revision):

    START -> [synopsis] write_bible -> write_episode (one per episode) -> collect_screenplays
          -> ingest_screenplay -> plan_scene (one per scene) -> collect_plan -> check_continuity
          -> [LLM planner: scenes with findings re-planned, bounded rounds] -> review (interrupt)
          -> END   (continued with Command(resume=approve|reject); approve freezes a snapshot)

Render (one thread per approved snapshot, request and settings):

    START -> invalidate -> reuse (what the cache holds whole) -> dispatch -> render_shot (one per shot left)
          + render_cue (one per scene left) -> assemble
          -> publish -> END
"""

from __future__ import annotations

import sqlite3
from enum import Enum
from pathlib import Path

from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.graph import END, START, StateGraph
from pydantic import BaseModel

from microdrama.agents import writer
from ..core import models, results, vocabulary
from ..core.config import Settings
from . import planning, render, state
from .last_state import connect_read_only
from .state import PlanningState, RenderState


def build_planning_graph() -> StateGraph:
    builder = StateGraph(PlanningState, context_schema=Settings)
    builder.add_node("write_bible", planning.write_series_bible)
    builder.add_node("write_episode", planning.write_episode_screenplay)
    builder.add_node("collect_screenplays", planning.collect_screenplays, defer=True)
    builder.add_node("ingest_screenplay", planning.ingest_screenplay)
    builder.add_node("plan_scene", planning.plan_scene)
    builder.add_node("collect_plan", planning.collect_plan, defer=True)
    builder.add_node("check_continuity", planning.check_continuity)
    builder.add_node("review", planning.review)

    builder.add_conditional_edges(START, planning.route_start, ["write_bible", "ingest_screenplay"])
    builder.add_conditional_edges("write_bible", planning.route_episodes, ["write_episode"])
    builder.add_edge("write_episode", "collect_screenplays")
    builder.add_edge("collect_screenplays", "ingest_screenplay")
    builder.add_conditional_edges("ingest_screenplay", planning.route_scenes, ["plan_scene", "collect_plan"])
    builder.add_edge("plan_scene", "collect_plan")
    builder.add_edge("collect_plan", "check_continuity")
    builder.add_conditional_edges("check_continuity", planning.route_after_continuity, ["plan_scene", "review"])
    builder.add_conditional_edges("review", planning.after_review, ["review", END])
    return builder


def build_render_graph() -> StateGraph:
    builder = StateGraph(RenderState, context_schema=Settings)
    builder.add_node("invalidate", render.invalidate)
    builder.add_node("reuse", render.reuse)
    builder.add_node("render_shot", render.render_shot)
    builder.add_node("render_cue", render.render_cue)
    builder.add_node("assemble", render.assemble, defer=True)
    builder.add_node("publish", render.publish)

    builder.add_edge(START, "invalidate")
    builder.add_edge("invalidate", "reuse")
    builder.add_conditional_edges("reuse", render.dispatch, ["render_shot", "render_cue", "assemble"])
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
        for module in (models, results, state, vocabulary, writer)
        for name, obj in vars(module).items()
        if isinstance(obj, type) and issubclass(obj, (BaseModel, Enum)) and obj.__module__ == module.__name__
    ]
    return JsonPlusSerializer(allowed_msgpack_modules=allowed)


class Checkpoints:
    """The series' checkpoint database (state/checkpoints.sqlite) and both graphs compiled on it.

    `read_only` (status, review, the latest run's state): the database must exist and nothing is
    written, so readers work on a read-only series folder; invoking a graph then fails."""

    def __init__(self, database: Path, read_only: bool = False):
        self.read_only = read_only
        if read_only:
            self._conn = connect_read_only(database)
        else:
            database.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(database, check_same_thread=False)
        self.saver = SqliteSaver(self._conn, serde=checkpoint_serializer())
        self.planning = build_planning_graph().compile(checkpointer=self.saver)
        self.render = build_render_graph().compile(checkpointer=self.saver)

    def close(self) -> None:
        self._conn.close()
