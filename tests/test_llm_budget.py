"""Budgets that hold on a slow local server: every answer schema bounded, max_tokens sized from
it, and no more requests in flight than the endpoint has slots."""

from __future__ import annotations

import json
import threading
import time

import pytest
from openai_server import FakeOpenAIServer, Request, completion
from test_agents import GOOD_EPISODE, bible, example_scene, rule_drafts

from microdrama.agents import budget
from microdrama.agents.continuity import ReviewAnswer
from microdrama.agents.fake import ScriptedLLM
from microdrama.agents.llm import LLMSettings, OpenAILLM, strict_json_schema
from microdrama.agents.shot_planner import ShotList, plan_scene_shots, shot_list_model
from microdrama.agents.writer import BibleBounds, ScreenplayDraft, SeriesFormat, write_episode

FORMATS = [SeriesFormat(episodes=1, minutes_per_episode=1), SeriesFormat(episodes=60, minutes_per_episode=10)]


def unbounded(node: object, path: str = "") -> list[str]:
    """Every string without maxLength (or enum/const) and every array without maxItems."""
    found = []
    if isinstance(node, dict):
        bounded = "enum" in node or "const" in node
        if node.get("type") == "string" and not bounded and "maxLength" not in node:
            found.append(path or "(root)")
        if node.get("type") == "array" and "maxItems" not in node:
            found.append(path or "(root)")
        for key, value in node.items():
            found += unbounded(value, f"{path}.{key}" if path else key)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += unbounded(value, f"{path}[{index}]")
    return found


def answer_models() -> dict[str, type]:
    screenplay = ScriptedLLM([ScreenplayDraft(fountain=GOOD_EPISODE)])
    write_episode(bible(episodes=1), 1, FORMATS[0], screenplay)
    scene, series = example_scene("e01s01")
    return {
        **{f"bible {f.episodes}x{f.minutes_per_episode:g}": BibleBounds.of(f).model() for f in FORMATS},
        "screenplay": screenplay.calls[0].output,
        "shot list": shot_list_model(scene),
        "review": ReviewAnswer,
    }


@pytest.mark.parametrize("name, model", answer_models().items())
def test_every_string_and_list_an_llm_fills_has_a_maximum(name, model):
    assert unbounded(strict_json_schema(model)) == [], name


def test_the_token_budget_grows_with_the_request_and_covers_the_longest_valid_reply():
    small, large = (budget.max_tokens(strict_json_schema(BibleBounds.of(f).model())) for f in FORMATS)
    assert small < large
    # The longest valid shot list, as JSON, fits in its budget at the budget's own rate.
    scene, _ = example_scene("e01s01")
    model = shot_list_model(scene)
    most = model.model_fields["shots"].metadata[1].max_length
    longest = model.model_validate({"shots": [
        {**rule_drafts(scene)[0].model_dump(mode="json", exclude={"lines"}), "action": "x" * 300, "sfx": ["y" * 40] * 3}
    ] * most, "heard_in": {line.id: most for beat in scene.beats for line in beat.lines}})
    assert len(longest.model_dump_json()) / budget.CHARS_PER_TOKEN <= budget.max_tokens(strict_json_schema(model))


def test_each_request_carries_the_budget_of_its_schema_unless_max_tokens_is_set(tmp_path):
    scene, series = example_scene("e01s01")
    answer = json.dumps(ShotList.of(rule_drafts(scene)).model_dump(mode="json"))
    with FakeOpenAIServer(responder=lambda request: completion(answer)) as server:
        for max_tokens in (None, 300):
            settings = LLMSettings(base_url=server.base_url, model="m", max_tokens=max_tokens)
            with OpenAILLM(settings) as llm:
                plan_scene_shots(scene, series, llm)
        sized, fixed = (r.body["max_tokens"] for r in server.requests)
    assert sized == budget.max_tokens(strict_json_schema(shot_list_model(scene)))
    assert fixed == 300


def test_a_local_endpoint_gets_one_request_at_a_time_by_default_and_a_hosted_one_more():
    assert LLMSettings(base_url="http://127.0.0.1:8080/v1").slots == 1
    assert LLMSettings(base_url="http://localhost:11434/v1").slots == 1
    assert LLMSettings(base_url="http://[::1]:8080/v1").slots == 1
    assert LLMSettings().slots > 1
    assert LLMSettings(base_url="http://127.0.0.1:8000/v1", concurrency=4).slots == 4


def test_waiting_for_a_slot_is_not_charged_to_an_attempts_timeout():
    """A one-slot server answers one request at a time in 1 s; two parallel calls with a 1.6 s
    timeout both succeed because the second one is sent only once the first is answered."""
    slot = threading.Lock()
    in_flight = []

    def one_slot(request: Request):
        with slot:
            in_flight.append(time.monotonic())
            time.sleep(1.0)
        return completion(ReviewAnswer(findings=[]).model_dump_json())

    with FakeOpenAIServer(responder=one_slot) as server:
        settings = LLMSettings(base_url=server.base_url, model="m", timeout_s=1.6, max_retries=0)
        with OpenAILLM(settings) as llm:
            answers = []
            ask = lambda n: answers.append(llm.complete(  # noqa: E731
                "continuity", [{"role": "user", "content": f"review {n}"}], ReviewAnswer))
            threads = [threading.Thread(target=ask, args=(n,)) for n in range(2)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
    assert len(answers) == 2 and len(server.requests) == 2
