"""A scripted `LLM` for testing agents without an endpoint (after pydantic-ai's `TestModel` and
llm's `MockModel`). It ships in the package so that tests of any agent, and users trying the graph
offline, can script the replies an agent will get:

    llm = ScriptedLLM([Outline(title="..."), '{"scenes": []}', lambda agent, messages, output: ...])
    plan = shot_planner.plan(llm, ...)
    assert llm.calls[0].agent == "shot_planner"
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)

# A scripted reply: the output itself, its JSON, an exception to raise (an LLMError, to test how an
# agent copes with a failing endpoint), or a callable that builds one of those from the call.
Reply = BaseModel | str | BaseException | Callable[[str, list[dict[str, str]], type[BaseModel]], object]


class ScriptExhausted(AssertionError):
    """The code under test asked the scripted LLM more often than the test expected."""


class ScriptMismatch(AssertionError):
    """A scripted reply is not the type the code under test asked for."""


@dataclass(frozen=True)
class RecordedCall:
    """One `complete` call as the code under test made it."""

    agent: str
    messages: list[dict[str, str]]
    output: type[BaseModel]

    @property
    def prompt(self) -> str:
        """All message contents joined, for `in` assertions about what the agent sent."""
        return "\n\n".join(message.get("content", "") for message in self.messages)


class ScriptedLLM:
    """Answers calls with scripted replies in order, records every call, and fails clearly when
    the script runs out or a reply does not fit."""

    def __init__(self, replies: Iterable[Reply] = ()):
        self._replies: deque[Reply] = deque(replies)
        self._scripted = len(self._replies)
        self._lock = threading.Lock()
        self.calls: list[RecordedCall] = []

    def __repr__(self) -> str:
        return f"ScriptedLLM(calls={len(self.calls)}, remaining={self.remaining})"

    @property
    def remaining(self) -> int:
        """Replies not used yet; a test may assert this is 0 at the end."""
        return len(self._replies)

    def add(self, *replies: Reply) -> None:
        """Script more replies, e.g. after looking at the first calls."""
        with self._lock:
            self._replies.extend(replies)
            self._scripted += len(replies)

    def complete(self, agent: str, messages: Sequence[Mapping[str, str]], output: type[M]) -> M:
        call = RecordedCall(agent, [dict(message) for message in messages], output)
        with self._lock:
            self.calls.append(call)
            number = len(self.calls)
            if not self._replies:
                raise ScriptExhausted(
                    f"ScriptedLLM ran out of replies at call {number} (agent {agent!r} asked for "
                    f"{output.__name__}); the script had {self._scripted}. Add a reply for this call."
                )
            reply = self._replies.popleft()
        if callable(reply) and not isinstance(reply, (BaseModel, BaseException)):
            reply = reply(agent, call.messages, output)
        return _as_output(reply, output, number, agent)


def _as_output(reply: object, output: type[M], number: int, agent: str) -> M:
    if isinstance(reply, BaseException):
        raise reply
    if isinstance(reply, output):
        return reply
    if isinstance(reply, BaseModel) and issubclass(output, type(reply)):
        # The agent asked for its answer model bounded for this call (bounds.py): the scripted
        # answer is held to those bounds, as the server's JSON would be.
        return output.model_validate(reply.model_dump())
    if isinstance(reply, str):
        return output.model_validate_json(reply)
    raise ScriptMismatch(
        f"ScriptedLLM reply {number} is a {type(reply).__name__}, but agent {agent!r} asked for "
        f"{output.__name__}; script a {output.__name__}, its JSON or a callable."
    )
