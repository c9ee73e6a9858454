"""Reading the checkpoint database without LangGraph."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from urllib.parse import quote


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
