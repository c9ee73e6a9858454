"""Plan ids: formatting and parsing agree, anything else is refused, and the relations follow
whole id parts."""

from __future__ import annotations

import re

import pytest
from pydantic import ValidationError

from microdrama.pipeline.core import ids
from microdrama.pipeline.core.ids import PlanId
from microdrama.pipeline.core.models import EpisodeOutline


def test_format():
    assert ids.episode_id(1) == "e01"
    assert ids.scene_id("e01", 3) == "e01s03"
    assert ids.shot_id("e01s03", 2) == "e01s03k02"
    assert ids.line_id("e01s03", 4) == "e01s03l04"
    assert ids.shot_id(ids.scene_id(ids.episode_id(100), 12), 345) == "e100s12k345"


@pytest.mark.parametrize("text, expected", [
    ("e01", PlanId("e01", "episode", 1)),
    ("e01s03", PlanId("e01s03", "scene", 1, 3)),
    ("e01s03k02", PlanId("e01s03k02", "shot", 1, 3, shot=2)),
    ("e01s03l04", PlanId("e01s03l04", "line", 1, 3, line=4)),
    ("e123s100l101", PlanId("e123s100l101", "line", 123, 100, line=101)),
])
def test_parse(text, expected):
    parsed = ids.parse(text)
    assert parsed == expected
    assert str(parsed) == text
    assert ids.is_plan_id(text)


@pytest.mark.parametrize("episode, scene, number", [(1, 1, 1), (9, 10, 99), (12, 100, 1000)])
def test_round_trip(episode, scene, number):
    e = ids.episode_id(episode)
    s = ids.scene_id(e, scene)
    k, line = ids.shot_id(s, number), ids.line_id(s, number)
    assert ids.parse(e) == PlanId(e, "episode", episode)
    assert ids.parse(s) == PlanId(s, "scene", episode, scene)
    assert ids.parse(k) == PlanId(k, "shot", episode, scene, shot=number)
    assert ids.parse(line) == PlanId(line, "line", episode, scene, line=number)
    assert ids.parse(k).episode_id == e and ids.parse(k).scene_id == s
    assert ids.parse(e).scene_id is None


@pytest.mark.parametrize("text", [
    "", "e", "e1", "e01s3", "e01s03k2", "E01", "e01S03", "e01s03k02l01", "e01s03x01", "e01k02",
    "e01s03k", " e01", "e01\n", "e01s03-k02", "maya", "林雨", "e٠١", None, 1,
])
def test_parse_rejects(text):
    with pytest.raises(ValueError):
        ids.parse(text)
    assert not ids.is_plan_id(text)


@pytest.mark.parametrize("call", [
    lambda: ids.episode_id(0), lambda: ids.episode_id(-1), lambda: ids.episode_id(True),
    lambda: ids.episode_id("1"), lambda: ids.scene_id("e01s01", 1), lambda: ids.scene_id("maya", 1),
    lambda: ids.shot_id("e01", 1), lambda: ids.line_id("e01s01k01", 1),
])
def test_format_rejects(call):
    with pytest.raises(ValueError):
        call()


def test_relations():
    assert ids.episode_of("e01") == "e01"
    assert ids.episode_of("e01s03k02") == "e01"
    assert ids.episode_of("e100s01l01") == "e100"
    assert ids.scene_of("e01") is None
    assert ids.scene_of("e01s03") == "e01s03"
    assert ids.scene_of("e01s03k02") == ids.scene_of("e01s03l04") == "e01s03"
    with pytest.raises(ValueError):
        ids.episode_of("maya")
    with pytest.raises(ValueError):
        ids.scene_of("e01s")


@pytest.mark.parametrize("outer, inner, inside", [
    ("e01", "e01", True),
    ("e01", "e01s03", True),
    ("e01", "e01s03k02", True),
    ("e01", "e01s03l04", True),
    ("e01s03", "e01s03k02", True),
    ("e01s03", "e01s03l04", True),
    ("e01s03", "e01s03", True),
    ("e01s03k02", "e01s03k02", True),
    ("e01", "e02s01", False),
    ("e01", "e010s01", False),  # whole parts: e01 is not a prefix part of e010
    ("e01s02", "e01s021k01", False),
    ("e01s02", "e01", False),
    ("e01s03k02", "e01s03l02", False),  # which shot hears a line is the plan's business
    ("e01s03k02", "e01s03k021", False),
    ("e01", "maya", False),
    ("e01", "e01-notes", False),
])
def test_contains(outer, inner, inside):
    assert ids.contains(outer, inner) is inside


def test_contains_needs_a_plan_id_outside():
    with pytest.raises(ValueError):
        ids.contains("maya", "e01")


def test_patterns_agree_with_the_parser():
    samples = ["e01", "e01s03", "e01s03k02", "e01s03l04", "e100s100k100", "e1", "e01s03x02", "maya"]
    for pattern, kind in [(ids.EPISODE_ID, "episode"), (ids.SCENE_ID, "scene"), (ids.SHOT_ID, "shot"),
                          (ids.LINE_ID, "line")]:
        for text in samples:
            assert bool(re.match(pattern, text)) == (ids.is_plan_id(text) and ids.parse(text).kind == kind)
    assert all(bool(re.match(ids.PLAN_ID, text)) == ids.is_plan_id(text) for text in samples)
    assert [m.group() for m in ids.PLAN_ID_IN_TEXT.finditer("see e01s02k03 and e02, not e1")] == ["e01s02k03", "e02"]


def test_models_use_the_patterns():
    """pydantic's regex engine reads the patterns the same way: ASCII digits only."""
    assert EpisodeOutline(id="e100").id == "e100"
    for bad in ("e1", "e٠١", "e01s01"):
        with pytest.raises(ValidationError):
            EpisodeOutline(id=bad)
