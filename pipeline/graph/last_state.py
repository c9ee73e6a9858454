"""The latest state of a graph thread, read without LangGraph.

`status` and `review` only read what the last render or planning run left, and importing
LangGraph for that was most of their time. After each run the application records the thread's
state (state/last-<graph>.json) with the id of the checkpoint it was read from. The record counts
only while that id is still the thread's newest checkpoint: a run killed or resumed since then is
read through LangGraph from the checkpoint database instead (`read` answers None).
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

import pydantic_core

from ..core.store import atomic_write_bytes

Graph = Literal["planning", "render"]


def connect_read_only(database: Path) -> sqlite3.Connection:
    """An existing database, opened so that nothing is written to it. SQLite cannot open a WAL
    database read-only in a folder where it may not create the -shm file (a read-only series
    folder); there no writer can be at work, and it is opened immutable."""
    uri = "file:" + quote(str(Path(database).absolute()))
    conn = sqlite3.connect(f"{uri}?mode=ro", uri=True, check_same_thread=False)
    try:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return conn
    except sqlite3.OperationalError as exc:
        conn.close()
        if "readonly" not in str(exc):  # "attempt to write a readonly database": no -shm here
            raise
    return sqlite3.connect(f"{uri}?mode=ro&immutable=1", uri=True, check_same_thread=False)


def _record_path(state_dir: Path, graph: Graph) -> Path:
    return state_dir / f"last-{graph}.json"


def newest_checkpoint(database: Path, thread: str) -> str | None:
    """The id of the thread's newest checkpoint (ids sort by time, as the SQLite saver orders them)."""
    if not database.is_file():
        return None
    conn = connect_read_only(database)
    try:
        row = conn.execute("SELECT checkpoint_id FROM checkpoints WHERE thread_id = ? AND checkpoint_ns = '' "
                           "ORDER BY checkpoint_id DESC LIMIT 1", (thread,)).fetchone()
    except sqlite3.OperationalError:  # no checkpoints table yet
        return None
    finally:
        conn.close()
    return row[0] if row else None


def write(state_dir: Path, graph: Graph, thread: str, checkpoint: str, values: dict[str, Any],
          interrupted: bool) -> None:
    """Record a thread's state as of `checkpoint` (values may hold pydantic models)."""
    record = {"thread": thread, "checkpoint": checkpoint, "interrupted": interrupted, "values": values}
    atomic_write_bytes(_record_path(state_dir, graph), pydantic_core.to_json(record))


def read(state_dir: Path, database: Path, graph: Graph, thread: str) -> dict[str, Any] | None:
    """The recorded state of `thread` ({"values", "interrupted"}), or None when there is no record
    of it or the database holds a newer checkpoint of it than the record."""
    path = _record_path(state_dir, graph)
    try:
        record = json.loads(path.read_bytes())
    except (FileNotFoundError, ValueError):
        return None
    if not isinstance(record, dict) or record.get("thread") != thread:
        return None
    if newest_checkpoint(database, thread) != record.get("checkpoint"):
        return None
    return record
