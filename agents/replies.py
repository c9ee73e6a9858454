"""Validated LLM replies kept by request, and the same replies read back from a call log.

A planning node may make several calls (the writer's bible and its repair turn, the shot
planner's attempts) and is re-run from its start when a killed run resumes. The reply cache
(`<series>/state/llm-replies/`) answers a call the node had already made, so a resumed run sends
only what was never answered: the README's "finished LLM calls are never repeated" holds inside a
node too. A reply is keyed by what determines it: the agent, the model, the agent's messages and
the reply's schema (which carries the per-call bounds). Changing any of them asks the model again.

It is a resume cache, not a memo: a kept reply answers one call of a later run (it is taken, not
read), and never a call of the run that kept it, so a continuity round that asks the same again
gets a fresh answer. The planning graph empties it once a run reaches review.

`ReplayLLM` answers from a call log written with `[llm] log_messages = true`, offline: it turns a
logged run into a scripted fake, to reproduce a bad plan without the server.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)


def call_key(agent: str, model: str, messages: Sequence[Mapping[str, str]], output: type[BaseModel]) -> str:
    """The digest of one `complete` call as the agent asked it (before any format instructions
    or repair turns the client adds)."""
    from .llm import strict_json_schema

    text = json.dumps(
        {"agent": agent, "model": model, "messages": [dict(m) for m in messages],
         "schema": strict_json_schema(output)},
        ensure_ascii=False, sort_keys=True,
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


class ReplyCache:
    """Validated replies as `<key>.json` files in one folder; writes are atomic, and a file that
    no longer validates (a schema or validator changed) is a miss, not an error."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self._opened = time.time()

    def take(self, key: str, output: type[M]) -> M | None:
        """The reply an earlier run kept for `key`, removed from the cache; None if there is none."""
        path = self.folder / f"{key}.json"
        try:
            if path.stat().st_mtime >= self._opened:
                return None  # kept by this run
            reply = output.model_validate_json(path.read_bytes())
        except (OSError, ValidationError):
            return None
        path.unlink(missing_ok=True)
        return reply

    def put(self, key: str, reply: BaseModel) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".tmp-")
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(reply.model_dump_json())
        os.replace(tmp, self.folder / f"{key}.json")


class ReplayError(AssertionError):
    """The replayed code asked for a call the log has no valid reply for."""


class ReplayLLM:
    """An `LLM` that answers every call with the reply a logged run got for the same request
    (call-log lines with outcome `ok` and the `reply` text, i.e. `[llm] log_messages = true`)."""

    def __init__(self, lines: Sequence[Mapping[str, Any]]):
        self._models = {line["agent"]: line["model"] for line in lines}
        self._replies = {line["call"]: line["reply"] for line in lines
                         if line.get("outcome") == "ok" and "reply" in line and "call" in line}
        self.calls = 0

    @classmethod
    def from_log(cls, path: Path) -> ReplayLLM:
        text = Path(path).read_text(encoding="utf-8")
        return cls([json.loads(line) for line in text.splitlines() if line.strip()])

    def complete(self, agent: str, messages: Sequence[Mapping[str, str]], output: type[M]) -> M:
        from .llm import extract_json

        model = self._models.get(agent)
        key = call_key(agent, model, messages, output) if model else None
        if key not in self._replies:
            raise ReplayError(
                f"the call log has no valid reply for this {output.__name__} call of agent {agent!r}: "
                "the run asked something the logged run did not (or it was logged without "
                "log_messages = true)"
            )
        self.calls += 1
        return output.model_validate_json(extract_json(self._replies[key]))
