"""A run stopped inside a node, by SIGKILL or Ctrl-C, through the real CLI and client against the
fake OpenAI-compatible server: the calls the node had finished are not sent again, and Ctrl-C
says how to resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from openai_server import FakeOpenAIServer, Request, completion, hang
from test_llm_graph import BIBLE, KEY, MICRODRAMA, Writers, schema_name

from microdrama.agents.replies import ReplayError, ReplayLLM
from microdrama.agents.writer import SeriesFormat, write_bible

# The first bible has a character whose description is not a look, so the writer asks once more.
POOR = {**BIBLE, "characters": [{**BIBLE["characters"][0], "description": "kind"}, BIBLE["characters"][1]]}


def start(*args: str, cwd: Path, server: FakeOpenAIServer, toml: str = "") -> subprocess.Popen:
    folder = cwd / "episodes" / "radio"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "microdrama.toml").write_text(f"[llm]\nmax_retries = 0\ntimeout_s = 60\n{toml}", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "MICRODRAMA_"))}
    env.update(OPENAI_BASE_URL=server.base_url, OPENAI_API_KEY=KEY, MICRODRAMA_MODEL="fake-model")
    return subprocess.Popen([MICRODRAMA, *args], cwd=cwd, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def wait_for(condition, timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)


class PoorThenHang:
    """The first bible needs a repair turn; the repair request never gets an answer."""

    def __init__(self):
        self.bibles = 0

    def __call__(self, request: Request):
        self.bibles += 1
        return completion(json.dumps(POOR)) if self.bibles == 1 else hang()


def stopped_in_the_repair_turn(tmp_path: Path, stop: int) -> subprocess.CompletedProcess:
    (tmp_path / "radio.md").write_text("A night nurse's dead radio starts speaking.\n", encoding="utf-8")
    poor = PoorThenHang()
    with FakeOpenAIServer(responder=poor) as server:
        run = start("new", "radio.md", "--episodes", "2", "--minutes", "1", "--yes", cwd=tmp_path, server=server)
        wait_for(lambda: len(server.requests) == 2)  # the first bible answered, the repair turn in flight
        started = time.monotonic()
        run.send_signal(stop)
        out, err = run.communicate(timeout=60)
        elapsed = time.monotonic() - started
    return subprocess.CompletedProcess(run.args, run.returncode, out, err), elapsed


def test_a_run_killed_inside_a_node_does_not_send_the_calls_that_node_had_finished(tmp_path):
    killed, _ = stopped_in_the_repair_turn(tmp_path, signal.SIGKILL)
    assert killed.returncode == -signal.SIGKILL

    working = Writers()
    with FakeOpenAIServer(responder=working) as server:
        again = start("new", "radio.md", "--episodes", "2", "--minutes", "1", "--yes", cwd=tmp_path, server=server)
        out, err = again.communicate(timeout=300)
        asked = [schema_name(r) for r in server.requests]
    assert again.returncode == 0, err
    # The node re-ran from its start: the first bible came from state/llm-replies/, and only the
    # repair turn that never got its answer was sent.
    assert asked.count("BibleDraft") == 1
    assert "fix each problem" in json.dumps(server.requests[0].messages)
    log = (tmp_path / "episodes" / "radio" / "state" / "llm-calls.jsonl").read_text(encoding="utf-8")
    outcomes = [json.loads(line)["outcome"] for line in log.splitlines()]
    assert outcomes[:2] == ["ok", "reused"]


def test_ctrl_c_says_how_to_resume_and_exits_130_at_once(tmp_path):
    interrupted, elapsed = stopped_in_the_repair_turn(tmp_path, signal.SIGINT)
    assert interrupted.returncode == 130
    assert interrupted.stderr.strip().splitlines()[-1] == "interrupted — run the same command to resume"
    assert "Traceback" not in interrupted.stderr and "Aborted" not in interrupted.stderr
    assert elapsed < 10, elapsed  # not the 60 s timeout of the request in flight


def test_a_run_logged_with_its_messages_replays_offline(tmp_path):
    from microdrama.agents.llm import LLMSettings, OpenAILLM

    fmt = SeriesFormat(episodes=2, minutes_per_episode=1)
    log = tmp_path / "llm-calls.jsonl"
    with FakeOpenAIServer(responder=lambda request: completion(json.dumps(BIBLE))) as server:
        settings = LLMSettings(base_url=server.base_url, model="m", log_messages=True)
        with OpenAILLM(settings, call_log=log) as llm:
            logged = write_bible("A night nurse's radio speaks.", fmt, llm)
    line = json.loads(log.read_text(encoding="utf-8"))
    assert line["request"]["messages"][1]["content"].count("radio speaks") == 1 and line["reply"]

    replay = ReplayLLM.from_log(log)
    assert write_bible("A night nurse's radio speaks.", fmt, replay) == logged and replay.calls == 1
    with pytest.raises(ReplayError, match="no valid reply"):  # a different synopsis is not in the log
        write_bible("Another story.", fmt, replay)


def test_a_kept_reply_answers_one_call_of_a_later_run_and_none_of_its_own(tmp_path):
    from microdrama.agents.continuity import ReviewAnswer
    from microdrama.agents.llm import LLMSettings, OpenAILLM

    ask = [{"role": "user", "content": "review e01"}]
    answer = completion(ReviewAnswer(findings=[]).model_dump_json())
    with FakeOpenAIServer(responder=lambda request: answer) as server:
        settings = LLMSettings(base_url=server.base_url, model="m")
        with OpenAILLM(settings, reply_cache=tmp_path / "replies") as run:
            run.complete("continuity", ask, ReviewAnswer)
            run.complete("continuity", ask, ReviewAnswer)  # asked again in the same run: a fresh answer
        assert len(server.requests) == 2
        time.sleep(0.01)
        with OpenAILLM(settings, reply_cache=tmp_path / "replies") as resumed:
            resumed.complete("continuity", ask, ReviewAnswer)  # kept by the earlier run: not sent
            assert len(server.requests) == 2
            resumed.complete("continuity", ask, ReviewAnswer)  # taken once only
        assert len(server.requests) == 3
