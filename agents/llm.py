"""The LLM client layer: the one small protocol every agent calls (`LLM.complete`), its settings,
and its implementation on the `openai` SDK for any OpenAI-compatible endpoint (OpenAI, Ollama,
llama.cpp, vLLM, DeepSeek, ...).

Why this is more than a call to the SDK:
- Servers differ in structured output, so a reply is asked for down a ladder of modes: native
  strict JSON schema -> JSON mode with the schema pasted into the system prompt -> plain text with
  the JSON extracted. The rung that works is remembered per client, so later calls skip the rungs
  the server rejected.
- Every reply is validated with pydantic; a bad one is repaired a bounded number of times by
  quoting the validation errors back to the model.
- The SDK's own retries are off: ours count, log and write every HTTP attempt to a call log, with
  its outcome: `ok` only for a reply that validated, `truncated` for one cut off at max_tokens,
  `invalid` (and the problem) for any other 200, `error` for no usable HTTP answer.
- A server's own faults (a body cut short, a web page, a hang, a reset) end in an LLMError saying
  what to do, never in a traceback. A hung server costs at most two timeouts per request.
- Every reply has a token budget (max_tokens) sized from its schema's bounds (budget.py), and an
  endpoint gets at most `concurrency` requests at a time; waiting for a free slot is not part of an
  attempt's timeout.
- A validated reply is kept by request digest in the series folder (replies.py), so a run killed
  inside a node does not send the calls that node had finished again.

The API key lives only in a `SecretStr` and inside the SDK client; it never reaches a log line, the
call log or an error message.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import re
import threading
import time
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import urlsplit
from typing import TYPE_CHECKING, Any, Generic, Literal, Protocol, TypeVar, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator

from microdrama.pipeline.core.errors import BackendUnavailable, ConfigError, MicrodramaError

from . import budget
from .replies import ReplyCache, call_key

if TYPE_CHECKING:
    import openai
    from openai.types.chat import ChatCompletion

log = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)

StructuredOutput = Literal["auto", "json_schema", "json_object", "text"]
Mode = Literal["json_schema", "json_object", "text"]
LADDER: tuple[Mode, ...] = ("json_schema", "json_object", "text")

DEFAULT_BASE_URL = "https://api.openai.com/v1"
# The SDK refuses an empty key; local servers (Ollama, llama.cpp) ignore whatever is sent.
KEYLESS_PLACEHOLDER = "no-key"

# Seconds one HTTP attempt may wait by default. Replies are not streamed, so a slow model and a
# hung server look alike until the timeout; with one retry (TIMEOUT_RETRIES) a hung server fails a
# call in about 40 s instead of minutes, and a slower model is given more with --llm-timeout or
# [llm] timeout_s (the error says so).
DEFAULT_TIMEOUT_S = 20.0
# A timed-out attempt is retried this often, whatever max_retries says: a server that times out
# twice in a row is hung (or too slow for the timeout), and more attempts only multiply the wait.
TIMEOUT_RETRIES = 1
TIMEOUT_HINT = (
    "The server is hung, or the model needs longer than that for one reply of up to {max_tokens} "
    "tokens (a slow local model, a reasoning model): raise timeout_s (--llm-timeout SECONDS or "
    "timeout_s under [llm] in microdrama.toml), or lower max_tokens under [llm]. A local server "
    "queues what exceeds its parallel slots (llama-server -np, OLLAMA_NUM_PARALLEL): keep [llm] "
    "concurrency (now {concurrency}) at most that."
)
# Requests in flight at once to an endpoint on this machine when [llm] concurrency is not set: a
# local server (llama.cpp, Ollama) usually has one slot, and a request queued behind another
# would spend its timeout waiting. Hosted APIs take many.
LOCAL_CONCURRENCY = 1
REMOTE_CONCURRENCY = 8
LOCAL_HOSTS = re.compile(r"^(localhost|127(\.\d+){3}|\[::1\]|0\.0\.0\.0)$", re.IGNORECASE)
INITIAL_BACKOFF_S = 0.5
MAX_BACKOFF_S = 8.0
MAX_RETRY_AFTER_S = 60.0
# Fraction of a backoff delay taken off at random, so parallel agents do not retry in lockstep.
JITTER = 0.25
RETRYABLE_STATUSES = frozenset({408, 429})
# A 400/422 whose message names one of these is the server refusing our response_format.
RESPONSE_FORMAT_REJECTION = re.compile(
    r"response_format|json_schema|json_object|structured output|grammar|schema", re.IGNORECASE
)

RESUME_HINT = "Nothing was lost: finished steps are saved, and re-running the same command resumes here."

# Protocol glue rather than an agent's prompt, so it stays beside the code that depends on it.
SCHEMA_INSTRUCTIONS = (
    "Reply with one JSON object only, with no prose and no markdown around it, that conforms to "
    "this JSON schema:\n{schema}"
)
REPAIR_INSTRUCTIONS = (
    "Your reply could not be used:\n{problems}\n"
    "Reply again with the whole corrected JSON object only."
)

ENVIRONMENT = {
    "OPENAI_API_KEY": "api_key",
    "OPENAI_BASE_URL": "base_url",
    "MICRODRAMA_MODEL": "model",
    "MICRODRAMA_STRUCTURED_OUTPUT": "structured_output",
}


class LLMError(MicrodramaError):
    """The LLM endpoint failed, refused or kept answering unusably; the message says which endpoint
    and what happened, never the key. The run stops cleanly and a re-run resumes."""


class InvalidReplies(LLMError):
    """The endpoint answered, but no reply validated within the repair attempts."""


class AgentModel(BaseModel):
    """One per-agent model override (`[[llm.agents]]` in microdrama.toml)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    agent: str = Field(min_length=1, description="Agent name, e.g. writer, shot_planner, continuity.")
    model: str = Field(min_length=1, description="Model this agent uses instead of the default model.")


class LLMSettings(BaseModel):
    """Where the LLM is and how to talk to it. Built once by `load` from the environment and the
    series' microdrama.toml `[llm]` table, then passed in; nothing below reads os.environ."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    base_url: str | None = Field(
        None, description="OpenAI-compatible endpoint, e.g. http://localhost:11434/v1; None means OpenAI."
    )
    api_key: SecretStr | None = Field(
        None, description="From OPENAI_API_KEY only, never from a file; local servers need none."
    )
    model: str | None = Field(None, description="Model every agent uses unless overridden per agent.")
    agents: list[AgentModel] = Field(default_factory=list, description="Per-agent model overrides.")
    timeout_s: float = Field(
        DEFAULT_TIMEOUT_S, gt=0,
        description="Seconds one HTTP attempt may wait for its reply (a timed-out one is retried once).",
    )
    max_retries: int = Field(
        4, ge=0, le=20,
        description="Extra attempts after a connection error, a body cut short, 408, 429 or 5xx (after a "
        "timeout: one at most).",
    )
    structured_output: StructuredOutput = Field(
        "auto",
        description="auto walks json_schema -> json_object -> text; any other value uses only that mode.",
    )
    max_repairs: int = Field(
        2, ge=0, le=10, description="Times a blank or invalid reply is asked again before giving up."
    )
    max_tokens: int | None = Field(
        None, gt=0, le=1_000_000,
        description="Reply token limit for every call; None sizes it per call from the reply's schema.",
    )
    concurrency: int | None = Field(
        None, ge=1, le=64,
        description=f"Requests in flight at once to the endpoint; None: {LOCAL_CONCURRENCY} for a server "
        f"on this machine, {REMOTE_CONCURRENCY} otherwise. At most the server's parallel slots.",
    )
    log_messages: bool = Field(
        False, description="Also write each request's messages and the reply's text to the call log "
        "(to replay a run offline); off by default, since they hold the whole story.",
    )

    @model_validator(mode="after")
    def _one_override_per_agent(self) -> LLMSettings:
        names = [entry.agent for entry in self.agents]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"agents {repeated} have more than one model override")
        return self

    @classmethod
    def load(cls, environ: Mapping[str, str], toml_path: Path | None = None) -> LLMSettings:
        """File `[llm]` table < environment. A missing file is no table; an `api_key` in the file
        is refused, because a file with a key ends up in backups and version control."""
        values = _llm_table(Path(toml_path)) if toml_path is not None else {}
        values.update({name: environ[var] for var, name in ENVIRONMENT.items() if environ.get(var)})
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            source = f"{toml_path} [llm] and the environment" if toml_path else "the environment"
            problems = _describe_errors(exc, root="(settings)")
            raise ConfigError(f"invalid LLM settings in {source}:\n{problems}") from None

    @property
    def endpoint(self) -> str:
        """The base URL requests go to (safe to show: it holds no key)."""
        return self.base_url or DEFAULT_BASE_URL

    @property
    def slots(self) -> int:
        """Requests in flight at once to the endpoint (`concurrency`, or its default)."""
        if self.concurrency is not None:
            return self.concurrency
        host = urlsplit(self.endpoint).hostname or ""
        local = LOCAL_HOSTS.match(host if ":" not in host else f"[{host}]")
        return LOCAL_CONCURRENCY if local else REMOTE_CONCURRENCY

    @property
    def configured(self) -> bool:
        """Whether an endpoint is usable: a model, and a base URL or a key."""
        return bool(self.model) and bool(self.base_url or self.api_key)

    def check_configured(self) -> None:
        """Raise a ConfigError that says how to configure an endpoint, unless one is configured."""
        missing = []
        if not self.model:
            missing.append("MICRODRAMA_MODEL is not set")
        if not (self.base_url or self.api_key):
            missing.append("neither OPENAI_API_KEY nor OPENAI_BASE_URL is set")
        if missing:
            raise ConfigError(_not_configured_message(missing))

    def model_for(self, agent: str) -> str:
        """The agent's own model if it has an override, else the default model."""
        for entry in self.agents:
            if entry.agent == agent:
                return entry.model
        if not self.model:
            missing = f"no model for agent {agent!r}: MICRODRAMA_MODEL is not set"
            raise ConfigError(_not_configured_message([missing]))
        return self.model


def _llm_table(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        table = tomllib.loads(path.read_text(encoding="utf-8")).get("llm", {})
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: llm must be a table ([llm])")
    if "api_key" in table:
        raise ConfigError(
            f"{path}: [llm] api_key is not allowed here: a key in a file ends up in backups and "
            "version control. Remove it and set OPENAI_API_KEY in the environment instead."
        )
    return dict(table)


def _describe_errors(exc: ValidationError, root: str) -> str:
    """Validation errors as `- field: message` lines, without the input values (one may be a key);
    `root` names the whole object for errors about it rather than one field."""
    lines = []
    for error in exc.errors(include_url=False, include_input=False):
        where = ".".join(str(part) for part in error["loc"]) or root
        lines.append(f"- {where}: {error['msg']}")
    return "\n".join(lines)


def _not_configured_message(missing: list[str]) -> str:
    return (
        f"No LLM endpoint is configured ({'; '.join(missing)}). Writing from a synopsis and the LLM "
        "planner need one; configure one of:\n"
        "  - a hosted API: OPENAI_API_KEY=<key> MICRODRAMA_MODEL=<model> "
        "(plus OPENAI_BASE_URL=<url> for an OpenAI-compatible provider other than OpenAI)\n"
        "  - a local Ollama: OPENAI_BASE_URL=http://localhost:11434/v1 "
        "MICRODRAMA_MODEL=<model, e.g. qwen2.5:7b>\n"
        "  - a local llama.cpp server: OPENAI_BASE_URL=http://localhost:8080/v1 MICRODRAMA_MODEL=<any name>\n"
        "The model and per-agent models may also go in microdrama.toml under [llm] (never the key).\n"
        "A finished Fountain screenplay needs no LLM at all: give the screenplay as the input instead."
    )


@runtime_checkable
class LLM(Protocol):
    """What an agent needs from a language model: typed output for a conversation."""

    def complete(self, agent: str, messages: Sequence[Mapping[str, str]], output: type[M]) -> M:
        """Answer `messages` (OpenAI chat messages: role + content) as an instance of `output`,
        validated. `agent` picks the model and labels the call log. Raises LLMError."""
        ...


def strict_json_schema(output: type[BaseModel]) -> dict[str, Any]:
    """`output`'s JSON schema in OpenAI's strict form (every field required, no extra keys), the
    same transformation the SDK's `.parse()` applies."""
    from openai.lib._pydantic import to_strict_json_schema

    return to_strict_json_schema(output)


def extract_json(text: str) -> str:
    """The JSON object inside a reply that may wrap it in prose, a ```json fence or a reasoning
    model's <think> block; the text itself when there is none (validation then says why)."""
    text = re.sub(r"<think>.*?</think>", "", text, flags=re.DOTALL).strip()
    fenced = re.search(r"```(?:json)?\s*(.*?)```", text, flags=re.DOTALL | re.IGNORECASE)
    if fenced and not text.startswith("{"):
        text = fenced.group(1)
    start, end = text.find("{"), text.rfind("}")
    return text[start : end + 1] if 0 <= start < end else text


class CallLog:
    """One JSON line per HTTP attempt (e.g. `<series>/state/llm-calls.jsonl`): who asked, which
    model and mode, the outcome, finish_reason, tokens and latency. A hash and length stand in for
    the prompt, unless `[llm] log_messages` asks for the request and the reply themselves.

    `outcome` is `ok` (a reply that validated), `truncated` (cut off at max_tokens: finish_reason
    "length"), `invalid` (a 200 that could not be used; `problem` says why: malformed_body, html,
    not_a_completion, no_choices, blank, bad_json, schema, refusal) or `error` (no usable answer;
    `problem` is timeout, connection_error or http_<status>). A call answered from the reply cache
    is one line with outcome `reused` and no attempt."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._lock = threading.Lock()

    def append(self, record: Mapping[str, Any]) -> None:
        line = json.dumps({"ts": datetime.now(timezone.utc).isoformat(), **record}, ensure_ascii=False)
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as file:
                file.write(line + "\n")


@dataclass(frozen=True)
class _Call(Generic[M]):
    """What one `complete` is asking for, as the retry and repair loops need it."""

    agent: str
    model: str
    mode: Mode
    output: type[M]
    key: str  # replies.call_key: the same for every attempt, repair and mode of the call


@dataclass(frozen=True)
class _Failure:
    """One failed HTTP attempt, classified."""

    outcome: Literal["invalid", "error"]
    problem: str  # what went wrong, as the call log names it
    detail: str
    status: int | None = None
    retryable: bool = False
    retry_after_s: float | None = None
    rejects_response_format: bool = False
    hint: str | None = None  # what to do when retrying did not help


@dataclass(frozen=True)
class _Sent:
    """A chat completion as it came back, with its call-log line, written once the reply is judged."""

    completion: ChatCompletion
    record: dict[str, Any]


class _ResponseFormatRejected(Exception):
    """The server refused the current mode's response_format; the caller steps down the ladder."""


class OpenAILLM:
    """`LLM` on the openai SDK. One instance per run: it remembers which structured-output mode
    the endpoint accepts. `reply_cache` is a folder of validated replies by request (replies.py).
    `sleep` and `rng` are injectable so tests need no real backoff."""

    def __init__(
        self,
        settings: LLMSettings,
        call_log: Path | None = None,
        *,
        reply_cache: Path | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ):
        settings.check_configured()
        sdk = _import_openai()
        self.settings = settings
        self._client = sdk.OpenAI(
            base_url=settings.endpoint,
            api_key=settings.api_key.get_secret_value() if settings.api_key else KEYLESS_PLACEHOLDER,
            timeout=settings.timeout_s,
            max_retries=0,
        )
        self._calls = CallLog(call_log) if call_log is not None else None
        self._replies = ReplyCache(reply_cache) if reply_cache is not None else None
        self._slots = threading.BoundedSemaphore(settings.slots)
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._ladder: tuple[Mode, ...] = (
            LADDER if settings.structured_output == "auto" else (settings.structured_output,)
        )
        self._ladder_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"OpenAILLM(endpoint={self.settings.endpoint!r}, mode={self.mode!r})"

    def __enter__(self) -> OpenAILLM:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    @property
    def mode(self) -> Mode:
        """The structured-output mode the next call starts with."""
        return self._ladder[0]

    def complete(self, agent: str, messages: Sequence[Mapping[str, str]], output: type[M]) -> M:
        model = self.settings.model_for(agent)
        key = call_key(agent, model, messages, output)
        if self._replies is not None and (kept := self._replies.take(key, output)) is not None:
            self._log({"agent": agent, "model": model, "call": key, "endpoint": self.settings.endpoint},
                      "reused", None)
            return kept
        while True:
            call = _Call(agent, model, self.mode, output, key)
            try:
                result = self._complete_in_mode(call, messages)
            except _ResponseFormatRejected as rejected:
                self._step_down(call, str(rejected))
                continue
            if self._replies is not None:
                self._replies.put(key, result)
            return result

    def _step_down(self, call: _Call, reason: str) -> None:
        """Drop the rejected rung for this and every later call, or fail if it was the last."""
        with self._ladder_lock:
            if self._ladder[0] != call.mode:
                return  # another thread stepped down already
            if len(self._ladder) == 1:
                raise LLMError(
                    f"LLM endpoint {self.settings.endpoint} (model {call.model}) does not accept "
                    f"structured output mode {call.mode!r}: {reason}. Set "
                    "MICRODRAMA_STRUCTURED_OUTPUT=auto (or [llm] structured_output = \"auto\") to fall "
                    f"back automatically. {RESUME_HINT}"
                )
            self._ladder = self._ladder[1:]
        log.warning(
            "%s rejected structured output mode %s (%s); using %s from now on",
            self.settings.endpoint, call.mode, reason, self._ladder[0],
        )

    def _complete_in_mode(self, call: _Call[M], messages: Sequence[Mapping[str, str]]) -> M:
        """Ask, validate, and repair a bounded number of times."""
        conversation = _with_format_instructions(messages, call)
        problems = ""
        for repair in range(self.settings.max_repairs + 1):
            sent = self._send(call, conversation, repair)
            reply = self._reply_text(sent, call)
            if not reply.strip():
                # Seen from DeepSeek's JSON mode; asking the same again is the documented remedy,
                # and an empty assistant turn would break some servers' chat templates.
                empty = "no_choices" if not sent.completion.choices else "blank"
                self._log_reply(sent, "invalid", empty)
                problems = f"- (reply): {'there was no choice' if empty == 'no_choices' else 'the reply was empty'}"
                log.warning("%s: blank reply from %s (repair %d)", call.agent, call.model, repair)
                continue
            try:
                result = call.output.model_validate_json(extract_json(reply))
            except ValidationError as exc:
                problems = _describe_errors(exc, root="(reply)")
                unparsed = any(error["type"] == "json_invalid" for error in exc.errors())
                self._log_reply(sent, "invalid", "bad_json" if unparsed else "schema")
            else:
                self._log_reply(sent, "ok")
                return result
            log.warning("%s: unusable reply from %s, asking again:\n%s", call.agent, call.model, problems)
            conversation = [
                *conversation,
                {"role": "assistant", "content": reply},
                {"role": "user", "content": REPAIR_INSTRUCTIONS.format(problems=problems)},
            ]
        raise InvalidReplies(
            f"LLM endpoint {self.settings.endpoint}: agent {call.agent!r} (model {call.model}, mode "
            f"{call.mode}) got no valid {call.output.__name__} after {self.settings.max_repairs} "
            f"repair attempt(s); last problems:\n{self._redact(problems)}\n"
            f"A larger or more capable model may help. {RESUME_HINT}"
        )

    def _send(self, call: _Call, conversation: list[dict[str, str]], repair: int) -> _Sent:
        """One request, retried with backoff on timeouts (once), connection errors, a body cut
        short, 408, 429 and 5xx. The completion's log line is left to the caller, who judges it."""
        import openai

        tokens = self.settings.max_tokens or budget.max_tokens(strict_json_schema(call.output))
        request = _request(call, conversation, tokens)
        record = {
            "agent": call.agent, "model": call.model, "mode": call.mode, "repair": repair,
            "call": call.key, "endpoint": self.settings.endpoint, "max_tokens": tokens,
            **_prompt_fingerprint(conversation),
        }
        if self.settings.log_messages:
            record["request"] = {key: value for key, value in request.items() if key != "model"}
        attempt = timeouts = 0
        while True:
            attempt += 1
            try:
                with self._slots:  # the timeout starts once a slot is ours, not while queued
                    started = time.monotonic()
                    completion = self._client.chat.completions.create(**request)
            except openai.APIConnectionError as exc:  # includes APITimeoutError
                failure = self._connection_failure(exc, tokens)
            except openai.APIStatusError as exc:
                failure = self._status_failure(exc, call.mode)
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:  # a 200 said JSON, sent something else
                failure = self._malformed_body(exc)
            else:
                failure = self._not_a_completion(completion)
                if failure is None:
                    return _Sent(completion, self._attempt_record(record, attempt, started, 200, completion))
            self._log(self._attempt_record(record, attempt, started, failure.status), failure.outcome,
                      failure.problem)
            if failure.rejects_response_format:
                raise _ResponseFormatRejected(failure.detail)
            if not failure.retryable:
                raise LLMError(self._refused_message(call, failure))
            timeouts += failure.problem == "timeout"
            if attempt > self.settings.max_retries or timeouts > TIMEOUT_RETRIES:
                raise LLMError(self._gave_up_message(call, failure, attempt))
            delay = self._backoff(attempt, failure.retry_after_s)
            log.warning(
                "%s: %s from %s (attempt %d of %d); retrying in %.1f s",
                call.agent, failure.detail, self.settings.endpoint, attempt,
                self.settings.max_retries + 1, delay,
            )
            self._sleep(delay)

    def _connection_failure(self, exc: openai.APIConnectionError, max_tokens: int) -> _Failure:
        import openai

        if isinstance(exc, openai.APITimeoutError):
            hint = TIMEOUT_HINT.format(max_tokens=max_tokens, concurrency=self.settings.slots)
            return _Failure("error", "timeout", f"no reply within {self.settings.timeout_s:g} s (timeout_s)",
                            retryable=True, hint=hint)
        cause = f" ({exc.__cause__})" if exc.__cause__ else ""
        return _Failure("error", "connection_error", self._redact(f"could not connect{cause}"), retryable=True)

    def _malformed_body(self, exc: ValueError) -> _Failure:
        """A 200 labelled JSON whose body does not parse: a web page mislabelled, or (retried, like
        a 5xx) a body cut short by a crashing server or a proxy."""
        if isinstance(exc, json.JSONDecodeError):
            if exc.doc.lstrip()[:1] == "<":
                return self._web_page(exc.doc)
            where = f"{exc.msg}: character {exc.pos} of {len(exc.doc)}"
        else:
            where = f"not UTF-8 at byte {exc.start}"
        return _Failure(
            "invalid",
            "malformed_body",
            f"HTTP 200 with a malformed JSON body ({where}; cut short?)",
            status=200,
            retryable=True,
            hint="The server, or a proxy in front of it, kept sending broken replies: check the server's "
            "log, or try again later.",
        )

    def _not_a_completion(self, completion: object) -> _Failure | None:
        """None for a chat completion; else what the 200 was instead. A body that is not JSON comes
        back from the SDK as text, JSON that is not a completion as whatever it parsed to."""
        if isinstance(completion, str):
            return self._web_page(completion)
        if isinstance(getattr(completion, "choices", None), list):
            return None
        return _Failure(
            "invalid",
            "not_a_completion",
            "HTTP 200 but not a chat completion (JSON without choices); OPENAI_BASE_URL usually ends in /v1",
            status=200,
        )

    def _web_page(self, body: str) -> _Failure:
        """A 200 that is text, not JSON: usually a web page, so the base URL points at something
        other than the API."""
        excerpt = " ".join(body.split())[:120]
        looks_like_html = body.lstrip()[:1] == "<"
        return _Failure(
            "invalid",
            "html" if looks_like_html else "not_a_completion",
            self._redact(
                f"HTTP 200 but not a chat completion ({excerpt!r}); OPENAI_BASE_URL usually ends in /v1"
            ),
            status=200,
        )

    def _status_failure(self, exc: openai.APIStatusError, mode: Mode) -> _Failure:
        status = exc.status_code
        message = self._redact(_server_message(exc))
        return _Failure(
            outcome="error",
            problem=f"http_{status}",
            detail=f"HTTP {status}: {message}",
            status=status,
            retryable=status in RETRYABLE_STATUSES or status >= 500,
            retry_after_s=_retry_after_s(exc.response.headers),
            rejects_response_format=(
                mode != "text" and status in (400, 422) and bool(RESPONSE_FORMAT_REJECTION.search(message))
            ),
        )

    def _backoff(self, attempt: int, retry_after_s: float | None) -> float:
        if retry_after_s is not None:
            return min(retry_after_s, MAX_RETRY_AFTER_S)
        delay = min(INITIAL_BACKOFF_S * 2 ** (attempt - 1), MAX_BACKOFF_S)
        return delay * (1 - JITTER * self._rng.random())

    def _reply_text(self, sent: _Sent, call: _Call) -> str:
        """The reply's text; refusals and truncation are errors (logged here), no choice at all,
        or one without a message, is blank. Fields are read leniently: the SDK does not validate
        what a server sends."""
        if not sent.completion.choices:
            return ""
        choice = sent.completion.choices[0]
        message = getattr(choice, "message", None)
        refusal = getattr(message, "refusal", None)
        finish_reason = getattr(choice, "finish_reason", None)
        where = f"LLM endpoint {self.settings.endpoint}: model {call.model} (agent {call.agent!r})"
        if refusal or finish_reason == "content_filter":
            self._log_reply(sent, "invalid", "refusal")
            reason = str(refusal or "the content filter stopped the reply")
            raise LLMError(
                f"{where} refused the request: {self._redact(reason)}. Rephrase the input (synopsis, "
                f"screenplay or note) or use another model. {RESUME_HINT}"
            )
        if finish_reason == "length":
            self._log_reply(sent, "truncated")
            raise LLMError(
                f"{where} was cut off at its token limit (max_tokens {sent.record['max_tokens']}) before "
                f"finishing the {call.output.__name__}: the longest valid reply fits in that, so the "
                "model was looping or ignoring the format. Try a more capable model, or raise "
                "max_tokens under [llm] (and the server's context size). " + RESUME_HINT
            )
        content = getattr(message, "content", None)
        return content if isinstance(content, str) else ""

    def _refused_message(self, call: _Call, failure: _Failure) -> str:
        hints = {
            401: "Check OPENAI_API_KEY.",
            403: "Check that OPENAI_API_KEY may use this model.",
            404: "Check the model name (MICRODRAMA_MODEL or [llm] model) and OPENAI_BASE_URL "
            "(it usually ends in /v1).",
        }
        hint = hints.get(failure.status or 0)
        return (
            f"LLM endpoint {self.settings.endpoint} refused the request from agent {call.agent!r} "
            f"(model {call.model}): {failure.detail}. {f'{hint} ' if hint else ''}{RESUME_HINT}"
        )

    def _gave_up_message(self, call: _Call, failure: _Failure, attempts: int) -> str:
        if failure.hint is not None:
            hint = failure.hint
        elif failure.status is None:
            hint = "Is the server running, and is OPENAI_BASE_URL right?"
        elif failure.status == 429:
            hint = "The endpoint kept rate-limiting; wait a while or lower the request rate."
        else:
            hint = "The server kept failing; try again later."
        return (
            f"LLM endpoint {self.settings.endpoint} failed for agent {call.agent!r} (model "
            f"{call.model}) after {attempts} attempt(s): {failure.detail}. {hint} {RESUME_HINT}"
        )

    @staticmethod
    def _attempt_record(
        record: dict[str, Any], attempt: int, started: float, status: int | None,
        completion: ChatCompletion | None = None,
    ) -> dict[str, Any]:
        """The call-log line of one attempt, but its outcome: latency up to the reply, not its check."""
        usage = getattr(completion, "usage", None)
        return {
            **record,
            "attempt": attempt,
            "status": status,
            "prompt_tokens": getattr(usage, "prompt_tokens", None),
            "completion_tokens": getattr(usage, "completion_tokens", None),
            "latency_ms": round((time.monotonic() - started) * 1000),
        }

    def _log_reply(self, sent: _Sent, outcome: str, problem: str | None = None) -> None:
        """The attempt's line once its reply is judged: the finish_reason, and with log_messages
        the reply's text."""
        choices = sent.completion.choices or [None]
        record = {**sent.record, "finish_reason": getattr(choices[0], "finish_reason", None)}
        if self.settings.log_messages:
            content = getattr(getattr(choices[0], "message", None), "content", None)
            record["reply"] = content if isinstance(content, str) else None
        self._log(record, outcome, problem)

    def _log(self, record: dict[str, Any], outcome: str, problem: str | None) -> None:
        if self._calls is not None:
            self._calls.append({**record, "outcome": outcome, "problem": problem})

    def _redact(self, text: str) -> str:
        """Servers may echo the key back in an error (a 401 often does); it must go no further."""
        key = self.settings.api_key.get_secret_value() if self.settings.api_key else ""
        return text.replace(key, "[redacted]") if key else text


def _import_openai() -> Any:
    """The SDK is imported only when an LLM is used: a screenplay run never pays for it."""
    try:
        import openai
    except ImportError:
        raise BackendUnavailable(
            "openai", "the openai package is not installed: pip install 'openai>=3'"
        ) from None
    return openai


def _with_format_instructions(messages: Sequence[Mapping[str, str]], call: _Call) -> list[dict[str, str]]:
    """The conversation to send: in JSON and text modes the schema goes into the system prompt
    (which must say "JSON" for DeepSeek's and Qwen's JSON mode)."""
    conversation = [dict(message) for message in messages]
    if call.mode == "json_schema":
        return conversation
    schema = json.dumps(strict_json_schema(call.output), ensure_ascii=False)
    instructions = SCHEMA_INSTRUCTIONS.format(schema=schema)
    if conversation and conversation[0].get("role") == "system":
        conversation[0]["content"] = f"{conversation[0]['content']}\n\n{instructions}"
    else:
        conversation.insert(0, {"role": "system", "content": instructions})
    return conversation


def _request(call: _Call, conversation: list[dict[str, str]], max_tokens: int) -> dict[str, Any]:
    request: dict[str, Any] = {"model": call.model, "messages": conversation, "max_tokens": max_tokens}
    if call.mode == "json_schema":
        name = re.sub(r"[^A-Za-z0-9_-]", "_", call.output.__name__)[:64]
        request["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": name, "schema": strict_json_schema(call.output), "strict": True},
        }
    elif call.mode == "json_object":
        request["response_format"] = {"type": "json_object"}
    return request


def _prompt_fingerprint(conversation: list[dict[str, str]]) -> dict[str, Any]:
    text = json.dumps(conversation, ensure_ascii=False, sort_keys=True)
    return {"prompt_sha256": hashlib.sha256(text.encode()).hexdigest()[:16], "prompt_chars": len(text)}


def _server_message(exc: openai.APIStatusError) -> str:
    """The server's own words: OpenAI-style bodies carry `{"error": {"message": ...}}`, and the SDK
    has already unwrapped "error"; other servers send a bare string."""
    body = exc.body
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        message = body["message"]
    elif isinstance(body, str) and body.strip():
        message = body
    else:
        message = exc.message
    return message.strip()[:500]


def _retry_after_s(headers: Mapping[str, str]) -> float | None:
    """Seconds the server asked us to wait (`retry-after-ms`, or `Retry-After` as seconds or an
    HTTP date), None when it did not say."""
    if (millis := headers.get("retry-after-ms")) is not None:
        try:
            return max(float(millis) / 1000, 0.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max((when - datetime.now(timezone.utc)).total_seconds(), 0.0)
