"""The LLM client layer, driven through the real `openai` SDK against a fake OpenAI-compatible
server on 127.0.0.1 (tests/openai_server.py). Backoff sleeps are recorded, never slept."""

from __future__ import annotations

import json
import random
import socket
import time
from pathlib import Path

import pytest
from openai_server import (
    JSON_MODE_ONLY,
    TEXT_ONLY,
    FakeOpenAIServer,
    Reply,
    completion,
    error,
    hang,
    html,
    reset,
    truncated,
)
from pydantic import BaseModel, Field, ValidationError
from test_llm_graph import cli, llm_planner

from microdrama.agents.fake import ScriptedLLM, ScriptExhausted, ScriptMismatch
from microdrama.agents.llm import (
    LLM,
    LLMError,
    LLMSettings,
    OpenAILLM,
    extract_json,
    strict_json_schema,
)
from microdrama.agents.prompting import PromptError, load_prompt
from microdrama.pipeline.core.config import Settings
from microdrama.pipeline.core.errors import ConfigError

KEY = "sk-test-0123456789abcdef-SECRET"
PROMPTS = Path(__file__).parent / "fixtures" / "prompts"


class Scene(BaseModel):
    heading: str = Field(description="Scene heading.")
    beats: int = Field(description="Number of story beats.")


class Outline(BaseModel):
    title: str = Field(description="Episode title.")
    scenes: list[Scene] = Field(description="Scenes in order.")


GOOD = Outline(title="The Heir", scenes=[Scene(heading="INT. OFFICE - DAY", beats=3)])
GOOD_JSON = GOOD.model_dump_json()
ASK = [
    {"role": "system", "content": "You outline micro-drama episodes."},
    {"role": "user", "content": "Outline episode 1 of THE-SENTINEL-PROMPT."},
]


@pytest.fixture
def server():
    with FakeOpenAIServer() as fake:
        yield fake


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def calls_path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "llm-calls.jsonl"


@pytest.fixture
def make_llm(calls_path: Path, sleeps: list[float]):
    """Build an OpenAILLM for a base URL; settings overridable per test."""
    made: list[OpenAILLM] = []

    def make(base_url: str, **settings: object) -> OpenAILLM:
        values = {"base_url": base_url, "api_key": KEY, "model": "test-model", "timeout_s": 2.0,
                  "max_retries": 2} | settings
        settings = LLMSettings.model_validate(values)
        llm = OpenAILLM(settings, calls_path, sleep=sleeps.append, rng=random.Random(0))
        made.append(llm)
        return llm

    yield make
    for llm in made:
        llm.close()


def call_log(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# Structured output ladder


def test_json_schema_mode_sends_a_strict_schema_and_returns_the_validated_model(server, make_llm):
    server.script(completion(GOOD_JSON))
    result = make_llm(server.base_url).complete("writer", ASK, Outline)

    assert result == GOOD
    (request,) = server.requests
    response_format = request.body["response_format"]
    assert response_format["type"] == "json_schema"
    assert response_format["json_schema"]["name"] == "Outline"
    assert response_format["json_schema"]["strict"] is True
    schema = response_format["json_schema"]["schema"]
    assert schema["additionalProperties"] is False
    assert sorted(schema["required"]) == ["scenes", "title"]
    assert schema["$defs"]["Scene"]["additionalProperties"] is False
    assert request.messages == ASK
    assert request.headers["authorization"] == f"Bearer {KEY}"


def test_rejected_json_schema_falls_back_to_json_mode_with_the_schema_in_the_prompt(make_llm):
    with FakeOpenAIServer(rejects=JSON_MODE_ONLY) as server:
        server.script(completion(GOOD_JSON), completion(GOOD_JSON))
        llm = make_llm(server.base_url)
        assert llm.complete("writer", ASK, Outline) == GOOD
        assert llm.mode == "json_object"
        assert llm.complete("writer", ASK, Outline) == GOOD

    assert [r.response_format_type for r in server.requests] == ["json_schema", "json_object", "json_object"]
    system = server.requests[1].messages[0]
    assert system["role"] == "system"
    assert system["content"].startswith("You outline micro-drama episodes.")
    assert "JSON" in system["content"]
    assert json.dumps(strict_json_schema(Outline), ensure_ascii=False) in system["content"]


def test_server_without_json_modes_gets_plain_text_and_the_json_is_extracted(make_llm):
    with FakeOpenAIServer(rejects=TEXT_ONLY) as server:
        server.script(completion(f"Sure! Here it is:\n```json\n{GOOD_JSON}\n```\nAnything else?"))
        llm = make_llm(server.base_url)
        assert llm.complete("writer", ASK, Outline) == GOOD

    assert [r.response_format_type for r in server.requests] == ["json_schema", "json_object", None]
    assert "response_format" not in server.requests[2].body
    assert llm.mode == "text"


def test_a_fixed_mode_does_not_fall_back(make_llm):
    with FakeOpenAIServer(rejects=JSON_MODE_ONLY) as server:
        llm = make_llm(server.base_url, structured_output="json_schema")
        with pytest.raises(LLMError, match="structured output mode 'json_schema'.*auto"):
            llm.complete("writer", ASK, Outline)
    assert len(server.requests) == 1


def test_json_mode_alone_skips_the_schema_rung(server, make_llm):
    server.script(completion(GOOD_JSON))
    make_llm(server.base_url, structured_output="json_object").complete("writer", ASK, Outline)
    assert [r.response_format_type for r in server.requests] == ["json_object"]


def test_json_is_extracted_from_prose_and_reasoning():
    assert extract_json('<think>{"not": "this"}</think>\n{"a": 1}') == '{"a": 1}'
    assert extract_json('The answer is {"a": {"b": 2}} as asked.') == '{"a": {"b": 2}}'
    assert extract_json('{"a": 1}\nHope this helps!') == '{"a": 1}'
    assert extract_json("no json here") == "no json here"


# Validation and repair


def test_malformed_json_is_repaired_by_quoting_the_error(server, make_llm):
    server.script(completion('{"title": "The Heir", "scenes": ['), completion(GOOD_JSON))
    assert make_llm(server.base_url).complete("writer", ASK, Outline) == GOOD

    first, second = server.requests
    assert second.messages[: len(ASK)] == ASK
    assert second.messages[-2] == {"role": "assistant", "content": '{"title": "The Heir", "scenes": ['}
    assert second.messages[-1]["role"] == "user"
    assert "Invalid JSON" in second.messages[-1]["content"]
    assert second.response_format_type == "json_schema"


def test_schema_violations_are_repaired_by_quoting_each_error(server, make_llm):
    bad = '{"scenes": [{"heading": "INT. OFFICE - DAY", "beats": "many"}]}'
    server.script(completion(bad), completion(GOOD_JSON))
    assert make_llm(server.base_url).complete("writer", ASK, Outline) == GOOD

    repair = server.requests[1].messages[-1]["content"]
    assert "- title: Field required" in repair
    assert "- scenes.0.beats: Input should be a valid integer" in repair


def test_exhausted_repairs_raise_llm_error(server, make_llm):
    server.script(completion('{"title": 1}'), completion('{"title": 2}'))
    with pytest.raises(LLMError) as caught:
        make_llm(server.base_url, max_repairs=1).complete("writer", ASK, Outline)
    message = str(caught.value)
    assert "no valid Outline after 1 repair attempt(s)" in message
    assert "scenes: Field required" in message
    assert "resumes" in message
    assert len(server.requests) == 2


def test_a_blank_reply_is_asked_again_unchanged(server, make_llm):
    server.script(completion("   "), completion(GOOD_JSON))
    assert make_llm(server.base_url).complete("writer", ASK, Outline) == GOOD
    assert server.requests[0].body == server.requests[1].body


def test_a_truncated_reply_is_a_clear_error(server, make_llm):
    server.script(completion('{"title": "The He', finish_reason="length"))
    with pytest.raises(LLMError, match="cut off at its token limit.*max_tokens"):
        make_llm(server.base_url).complete("writer", ASK, Outline)
    assert len(server.requests) == 1


def test_a_refusal_is_a_clear_error(server, make_llm):
    server.script(completion(None, refusal="I can't help with that."))
    with pytest.raises(LLMError, match="refused the request: I can't help with that"):
        make_llm(server.base_url).complete("writer", ASK, Outline)


# Retries


def test_429_waits_as_long_as_retry_after_says(server, make_llm, sleeps):
    server.script(error(429, "Rate limit reached", headers={"Retry-After": "3"}), completion(GOOD_JSON))
    assert make_llm(server.base_url).complete("writer", ASK, Outline) == GOOD
    assert sleeps == [3.0]


def test_retry_after_is_capped(server, make_llm, sleeps):
    server.script(error(429, "Rate limit reached", headers={"Retry-After": "86400"}), completion(GOOD_JSON))
    make_llm(server.base_url).complete("writer", ASK, Outline)
    assert sleeps == [60.0]


def test_500_is_retried_after_a_jittered_backoff(server, make_llm, sleeps):
    server.script(error(500, "upstream crashed"), completion(GOOD_JSON))
    assert make_llm(server.base_url).complete("writer", ASK, Outline) == GOOD
    (delay,) = sleeps
    assert 0.375 <= delay <= 0.5


def test_backoff_doubles_and_exhausted_retries_raise_llm_error(server, make_llm, sleeps):
    server.script(*[error(503, "overloaded")] * 3)
    with pytest.raises(LLMError) as caught:
        make_llm(server.base_url, max_retries=2).complete("writer", ASK, Outline)
    message = str(caught.value)
    assert server.base_url in message
    assert "after 3 attempt(s): HTTP 503: overloaded" in message
    assert "Nothing was lost" in message
    assert len(sleeps) == 2 and sleeps[1] > sleeps[0]


def test_a_400_that_is_not_about_response_format_is_not_retried(server, make_llm, sleeps):
    server.script(error(400, "This model's maximum context length is 8192 tokens."))
    with pytest.raises(LLMError, match="refused the request .*HTTP 400: This model's maximum context"):
        make_llm(server.base_url).complete("writer", ASK, Outline)
    assert len(server.requests) == 1
    assert sleeps == []


def test_a_wrong_model_name_says_what_to_check(server, make_llm):
    server.script(error(404, "model 'test-model' not found"))
    with pytest.raises(LLMError, match="Check the model name"):
        make_llm(server.base_url).complete("writer", ASK, Outline)


def test_a_web_page_instead_of_the_api_is_a_clear_error(server, make_llm):
    server.script(Reply(body="<html><body>Welcome</body></html>"))
    with pytest.raises(LLMError, match="not a chat completion.*/v1"):
        make_llm(server.base_url).complete("writer", ASK, Outline)
    assert len(server.requests) == 1


def test_a_timeout_is_retried(server, make_llm, calls_path):
    server.script(Reply(body={}, delay_s=0.6), completion(GOOD_JSON))
    assert make_llm(server.base_url, timeout_s=0.2).complete("writer", ASK, Outline) == GOOD
    assert outcomes(calls_path) == [("error", "timeout"), ("ok", None)]


def test_a_server_that_is_down_fails_quickly_naming_the_endpoint(make_llm, sleeps):
    base_url = f"http://127.0.0.1:{closed_port()}/v1"
    started = time.monotonic()
    with pytest.raises(LLMError) as caught:
        make_llm(base_url, max_retries=3).complete("writer", ASK, Outline)
    assert time.monotonic() - started < 2.0
    message = str(caught.value)
    assert base_url in message
    assert "could not connect" in message and "after 4 attempt(s)" in message
    assert "re-running the same command resumes" in message
    assert len(sleeps) == 3


# Faults of the server's own: never a traceback, always a line in the call log


def outcomes(path: Path) -> list[tuple[str, str | None]]:
    return [(line["outcome"], line.get("problem")) for line in call_log(path)]


def test_a_truncated_body_is_retried_and_logged_as_invalid(server, make_llm, calls_path, sleeps):
    server.script(truncated(completion(GOOD_JSON)), completion(GOOD_JSON))
    assert make_llm(server.base_url).complete("writer", ASK, Outline) == GOOD
    assert outcomes(calls_path) == [("invalid", "malformed_body"), ("ok", None)]
    first = call_log(calls_path)[0]
    assert first["status"] == 200 and first["attempt"] == 1
    assert len(sleeps) == 1  # retried after a backoff, like a 5xx


def test_truncated_bodies_are_reported_in_one_line_naming_the_agent_and_what_to_do(server, make_llm, calls_path):
    server.script(*[truncated(completion(GOOD_JSON))] * 3)
    with pytest.raises(LLMError) as caught:
        make_llm(server.base_url, max_retries=2).complete("writer", ASK, Outline)
    message = str(caught.value)
    assert "\n" not in message
    assert "agent 'writer'" in message and server.base_url in message
    assert "after 3 attempt(s)" in message and "malformed" in message
    assert "check the server's log" in message and "Nothing was lost" in message
    assert outcomes(calls_path) == [("invalid", "malformed_body")] * 3


def test_a_hung_server_fails_within_the_configured_timeout_naming_how_to_raise_it(server, make_llm, calls_path):
    server.script(*[hang()] * 5)
    started = time.monotonic()
    with pytest.raises(LLMError) as caught:
        make_llm(server.base_url, timeout_s=1, max_retries=4).complete("writer", ASK, Outline)
    elapsed = time.monotonic() - started
    # One attempt and one retry, each cut off at the timeout; not max_retries + 1 of them.
    assert elapsed < 2 * 1 + 1.0, elapsed
    lines = call_log(calls_path)
    assert outcomes(calls_path) == [("error", "timeout")] * 2
    assert all(line["latency_ms"] < 1500 for line in lines)
    message = str(caught.value)
    assert "\n" not in message and "agent 'writer'" in message
    assert "no reply within 1 s" in message
    assert "--llm-timeout" in message and "timeout_s" in message
    assert "max_tokens" in message and "concurrency" in message and "OPENAI_BASE_URL" not in message


def test_the_default_time_budget_fails_a_hung_server_in_well_under_a_minute():
    settings = LLMSettings()
    timeouts_retried = 1
    assert settings.timeout_s * (1 + timeouts_retried) <= 45


def test_the_call_log_marks_invalid_replies_invalid(server, make_llm, calls_path):
    bad_schema = '{"scenes": [{"heading": "INT. OFFICE - DAY", "beats": "many"}]}'
    server.script(completion(bad_schema), completion("Once upon a time, in an office..."), completion("  "),
                  completion(GOOD_JSON))
    assert make_llm(server.base_url, max_repairs=3).complete("writer", ASK, Outline) == GOOD
    assert outcomes(calls_path) == [("invalid", "schema"), ("invalid", "bad_json"), ("invalid", "blank"),
                                    ("ok", None)]
    assert [line["repair"] for line in call_log(calls_path)] == [0, 1, 2, 3]


def test_a_refused_reply_is_logged_invalid_and_a_cut_off_one_truncated_never_ok(server, make_llm, calls_path):
    server.script(completion(None, refusal="No."), completion('{"title": "x', finish_reason="length"))
    llm = make_llm(server.base_url)
    for _ in range(2):
        with pytest.raises(LLMError):
            llm.complete("writer", ASK, Outline)
    assert outcomes(calls_path) == [("invalid", "refusal"), ("truncated", None)]
    assert [line["finish_reason"] for line in call_log(calls_path)] == ["stop", "length"]


NO_CHOICES = Reply(body={"id": "chatcmpl-fake", "object": "chat.completion", "created": 0, "model": "m",
                         "choices": []})


@pytest.mark.parametrize("fault, logged, retried", [
    pytest.param(Reply(body="upstream error", content_type="application/json"), ("invalid", "malformed_body"),
                 True, id="a body that is not JSON at all"),
    pytest.param(NO_CHOICES, ("invalid", "no_choices"), True, id="empty choices"),
    pytest.param(Reply(body={"choices": [{}]}), ("invalid", "blank"), True, id="a choice without a message"),
    pytest.param(reset(completion(GOOD_JSON)), ("error", "connection_error"), True, id="a reset mid-body"),
    pytest.param(error(429, "Rate limit reached", headers={"Retry-After": "2"}), ("error", "http_429"), True,
                 id="429 with Retry-After"),
    pytest.param(html(), ("invalid", "html"), False, id="a 200 with an HTML page"),
    pytest.param(Reply(body="<html><body>Welcome</body></html>", content_type="application/json"),
                 ("invalid", "html"), False, id="an HTML page that says it is JSON"),
    pytest.param(Reply(body=[]), ("invalid", "not_a_completion"), False, id="JSON that is not a completion"),
])
def test_each_server_fault_is_handled_without_a_traceback_and_logged_with_its_kind(
    fault, logged, retried, server, make_llm, calls_path
):
    server.script(fault, completion(GOOD_JSON))
    llm = make_llm(server.base_url)
    if retried:
        assert llm.complete("writer", ASK, Outline) == GOOD
        assert outcomes(calls_path) == [logged, ("ok", None)]
    else:
        with pytest.raises(LLMError, match="not a chat completion.*/v1") as caught:
            llm.complete("writer", ASK, Outline)
        assert "\n" not in str(caught.value)
        assert outcomes(calls_path) == [logged]
    assert call_log(calls_path)[0]["status"] == (None if logged[1] == "connection_error" else
                                                 429 if logged[1] == "http_429" else 200)


def test_a_429_waits_as_its_retry_after_says_and_is_logged(server, make_llm, calls_path, sleeps):
    server.script(error(429, "Rate limit reached", headers={"Retry-After": "2"}), completion(GOOD_JSON))
    make_llm(server.base_url).complete("writer", ASK, Outline)
    assert sleeps == [2.0]
    assert [(line["outcome"], line["problem"], line["status"]) for line in call_log(calls_path)] == [
        ("error", "http_429", 429), ("ok", None, 200)]


# The command line


@pytest.fixture
def idea(tmp_path: Path) -> Path:
    path = tmp_path / "idea.md"
    path.write_text("A night nurse's dead radio starts speaking.\n", encoding="utf-8")
    llm_planner(tmp_path / "episodes" / "idea")  # max_retries = 1: one backoff, not four
    return path


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error:")]


def test_microdrama_new_reports_truncated_bodies_in_one_line_without_a_traceback(tmp_path, idea):
    with FakeOpenAIServer(responder=lambda request: truncated(completion(GOOD_JSON))) as server:
        done = cli("new", "idea.md", "--episodes", "1", "--yes", cwd=tmp_path, server=server)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    (line,) = error_lines(done.stderr)
    assert "agent 'writer'" in line and "malformed" in line and "check the server's log" in line
    assert "Nothing was lost" in line
    assert len(server.requests) == 2
    calls = call_log(tmp_path / "episodes" / "idea" / "state" / "llm-calls.jsonl")
    assert [(c["outcome"], c["problem"]) for c in calls] == [("invalid", "malformed_body")] * 2


def test_llm_timeout_on_the_command_line_bounds_a_hung_server(tmp_path, idea):
    with FakeOpenAIServer(responder=lambda request: hang()) as server:
        started = time.monotonic()
        done = cli("new", "idea.md", "--llm-timeout", "1", "--yes", cwd=tmp_path, server=server)
        elapsed = time.monotonic() - started
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    (line,) = error_lines(done.stderr)
    assert "no reply within 1 s" in line and "--llm-timeout" in line
    assert elapsed < 30, elapsed  # interpreter start-up, two 1 s attempts, one 0.5 s backoff


def test_the_llm_timeout_flag_overrides_the_file_and_is_checked(tmp_path):
    (tmp_path / "microdrama.toml").write_text("[llm]\ntimeout_s = 300\n", encoding="utf-8")
    assert Settings.load(tmp_path, environ={}).llm.timeout_s == 300
    assert Settings.load(tmp_path, environ={}, llm_timeout_s=None).llm.timeout_s == 300
    assert Settings.load(tmp_path, environ={}, llm_timeout_s=7.5).llm.timeout_s == 7.5
    with pytest.raises(ConfigError, match="^flag --llm-timeout: llm.timeout_s: Input should be greater than 0"):
        Settings.load(tmp_path, environ={}, llm_timeout_s=0)


def test_every_command_that_calls_an_llm_takes_llm_timeout():
    import typer

    from microdrama.pipeline.cli import app

    commands = typer.main.get_command(app).commands
    for name in ("plan", "new", "revise", "produce"):
        (option,) = [p for p in commands[name].params if "--llm-timeout" in p.opts]
        assert "timeout_s" in option.help, name


# Accounting and secrecy


def test_the_call_log_has_one_line_per_attempt_with_tokens_and_latency(server, make_llm, calls_path):
    server.script(error(500, "boom"), completion(GOOD_JSON, prompt_tokens=120, completion_tokens=30))
    make_llm(server.base_url).complete("writer", ASK, Outline)

    failed, ok = call_log(calls_path)
    assert (failed["outcome"], failed["problem"], failed["status"], failed["attempt"]) == ("error", "http_500", 500, 1)
    assert failed["prompt_tokens"] is None
    assert (ok["outcome"], ok["attempt"], ok["repair"]) == ("ok", 2, 0)
    assert (ok["prompt_tokens"], ok["completion_tokens"], ok["finish_reason"]) == (120, 30, "stop")
    assert ok["agent"] == "writer" and ok["model"] == "test-model" and ok["mode"] == "json_schema"
    assert isinstance(ok["latency_ms"], int) and ok["latency_ms"] >= 0
    assert ok["prompt_sha256"] == failed["prompt_sha256"] and ok["prompt_chars"] > 0
    assert "ts" in ok
    assert "THE-SENTINEL-PROMPT" not in calls_path.read_text(encoding="utf-8")


def test_the_key_appears_in_no_error_log_or_repr(server, make_llm, calls_path):
    server.script(error(401, f"Incorrect API key provided: {KEY}."))
    llm = make_llm(server.base_url)
    with pytest.raises(LLMError) as caught:
        llm.complete("writer", ASK, Outline)

    assert KEY not in str(caught.value)
    assert "[redacted]" in str(caught.value) and "Check OPENAI_API_KEY" in str(caught.value)
    assert KEY not in calls_path.read_text(encoding="utf-8")
    assert KEY not in repr(llm.settings) + str(llm.settings) + llm.settings.model_dump_json() + repr(llm)


# Settings


def test_settings_merge_the_toml_table_under_the_environment(tmp_path):
    toml = tmp_path / "microdrama.toml"
    toml.write_text(
        '[run]\nplanner = "llm"\n\n'
        '[llm]\nmodel = "file-model"\nbase_url = "http://localhost:11434/v1"\ntimeout_s = 30\n'
        'structured_output = "json_object"\n\n'
        '[[llm.agents]]\nagent = "writer"\nmodel = "big-model"\n',
        encoding="utf-8",
    )
    env = {"OPENAI_API_KEY": KEY, "MICRODRAMA_MODEL": "env-model", "MICRODRAMA_STRUCTURED_OUTPUT": ""}
    settings = LLMSettings.load(env, toml)

    assert settings.model == "env-model"
    assert settings.base_url == "http://localhost:11434/v1"
    assert settings.timeout_s == 30
    assert settings.structured_output == "json_object"
    assert settings.api_key.get_secret_value() == KEY
    assert settings.model_for("writer") == "big-model"
    assert settings.model_for("continuity") == "env-model"
    assert settings.configured


def test_a_missing_toml_file_is_no_table(tmp_path):
    settings = LLMSettings.load({"OPENAI_BASE_URL": "http://localhost:8080/v1", "MICRODRAMA_MODEL": "m"},
                                tmp_path / "microdrama.toml")
    assert settings.configured and settings.api_key is None


def test_a_key_in_the_toml_file_is_refused(tmp_path):
    toml = tmp_path / "microdrama.toml"
    toml.write_text(f'[llm]\nmodel = "m"\napi_key = "{KEY}"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="api_key is not allowed.*OPENAI_API_KEY") as caught:
        LLMSettings.load({}, toml)
    assert KEY not in str(caught.value)


def test_invalid_settings_are_config_errors(tmp_path):
    toml = tmp_path / "microdrama.toml"
    toml.write_text('[llm]\nmodle = "typo"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="modle: Extra inputs are not permitted"):
        LLMSettings.load({}, toml)
    with pytest.raises(ConfigError, match="structured_output"):
        LLMSettings.load({"MICRODRAMA_STRUCTURED_OUTPUT": "xml"})
    with pytest.raises(ConfigError, match="more than one model override"):
        LLMSettings.load({}, _toml(tmp_path, '[[llm.agents]]\nagent = "w"\nmodel = "a"\n'
                                              '[[llm.agents]]\nagent = "w"\nmodel = "b"\n'))


def _toml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "other.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_per_agent_model_is_the_one_requested(server, make_llm):
    server.script(completion(GOOD_JSON), completion(GOOD_JSON))
    llm = make_llm(server.base_url, agents=[{"agent": "writer", "model": "big-model"}])
    llm.complete("writer", ASK, Outline)
    llm.complete("shot_planner", ASK, Outline)
    assert [r.body["model"] for r in server.requests] == ["big-model", "test-model"]


def test_without_an_endpoint_the_error_says_how_to_configure_one():
    settings = LLMSettings.load({"OPENAI_API_KEY": KEY})
    assert not settings.configured
    with pytest.raises(ConfigError) as caught:
        OpenAILLM(settings)
    message = str(caught.value)
    assert "MICRODRAMA_MODEL is not set" in message
    for hint in ("OPENAI_API_KEY=", "Ollama", "http://localhost:11434/v1", "llama.cpp",
                 "http://localhost:8080/v1", "screenplay needs no LLM"):
        assert hint in message
    assert KEY not in message


# The fake LLM


def test_both_clients_satisfy_the_protocol(server, make_llm):
    assert isinstance(make_llm(server.base_url), LLM)
    assert isinstance(ScriptedLLM(), LLM)


def test_scripted_llm_answers_in_order_and_records_every_call():
    def by_agent(agent, messages, output):
        return output(title=agent, scenes=[])

    llm = ScriptedLLM([GOOD, GOOD_JSON, by_agent])
    assert llm.complete("writer", ASK, Outline) == GOOD
    assert llm.complete("writer", ASK, Outline) == GOOD
    assert llm.complete("continuity", ASK, Outline).title == "continuity"

    assert [call.agent for call in llm.calls] == ["writer", "writer", "continuity"]
    assert llm.calls[0].messages == ASK and llm.calls[0].output is Outline
    assert "THE-SENTINEL-PROMPT" in llm.calls[0].prompt
    assert llm.remaining == 0


def test_scripted_llm_fails_clearly_when_the_script_runs_out():
    llm = ScriptedLLM([GOOD])
    llm.complete("writer", ASK, Outline)
    expected = "ran out of replies at call 2 \\(agent 'shot_planner' asked for Outline\\)"
    with pytest.raises(ScriptExhausted, match=expected):
        llm.complete("shot_planner", ASK, Outline)


def test_scripted_llm_raises_scripted_errors_and_rejects_the_wrong_type():
    llm = ScriptedLLM([LLMError("endpoint down"), Scene(heading="x", beats=1), '{"title": 3}'])
    with pytest.raises(LLMError, match="endpoint down"):
        llm.complete("writer", ASK, Outline)
    with pytest.raises(ScriptMismatch, match="reply 2 is a Scene, but agent 'writer' asked for Outline"):
        llm.complete("writer", ASK, Outline)
    with pytest.raises(ValidationError):
        llm.complete("writer", ASK, Outline)


# Prompt templates


def test_a_prompt_renders_placeholders_and_keeps_json_braces():
    prompt = load_prompt("llm_test", source=PROMPTS)
    assert prompt.name == "llm_test.md"
    assert prompt.placeholders == {"scene_id", "audience"}
    text = prompt.render(scene_id="e01s02", audience="teen")
    assert text.startswith("Summarise the scene e01s02 for the teen audience.")
    assert '{"summary": "...", "cost": "$5"}' in text


def test_a_language_variant_is_preferred_and_a_region_falls_back_to_its_language():
    assert load_prompt("llm_test", language="zh", source=PROMPTS).name == "llm_test.zh.md"
    assert load_prompt("llm_test", language="zh-Hant", source=PROMPTS).name == "llm_test.zh.md"
    assert load_prompt("llm_test", language="fr", source=PROMPTS).name == "llm_test.md"


def test_prompt_errors_are_clear():
    with pytest.raises(PromptError, match="needs \\$scene_id; given: audience"):
        load_prompt("llm_test", source=PROMPTS).render(audience="teen")
    with pytest.raises(PromptError, match="task 'nowhere': looked for nowhere.de.md, nowhere.md"):
        load_prompt("nowhere", language="de", source=PROMPTS)
    with pytest.raises(PromptError, match="llm_test_broken.md, line 2: .*\\$\\$"):
        load_prompt("llm_test_broken", source=PROMPTS)
    with pytest.raises(PromptError, match="invalid prompt task name"):
        load_prompt("../secrets", source=PROMPTS)


def test_prompts_load_from_the_package_by_default():
    with pytest.raises(PromptError, match="no prompt template for task 'no_such_task'.* in .*prompts"):
        load_prompt("no_such_task")
