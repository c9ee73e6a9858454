"""Deterministic continuity checks: each rule fires on a planted error, and not on the example."""

from __future__ import annotations

import pytest

from conftest import EXAMPLE
from microdrama.pipeline.plan.checks import blocking, check_plan
from microdrama.pipeline.ingest.screenplay import ingest
from microdrama.pipeline.core.models import Finding, FindingOrigin, FramedCharacter, Severity
from microdrama.pipeline.plan.rules import plan_screenplay


@pytest.fixture
def plan():
    series, screenplay = ingest([EXAMPLE / "screenplay.fountain"])
    return series, plan_screenplay(screenplay, series)


def codes(series, episodes) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for finding in check_plan(series, episodes):
        found.setdefault(finding.code, []).append(finding.where)
    return found


def test_the_bundled_example_is_clean(plan):
    assert check_plan(*plan) == []


def test_speaker_not_in_the_bible(plan):
    series, episodes = plan
    line = episodes[0].scenes[0].shots[4].dialogue[0]
    line.speaker = "ghost"
    assert codes(series, episodes)["unknown-speaker"] == [line.id]


def test_speaker_not_present_unless_off_screen(plan):
    series, episodes = plan
    scene = episodes[0].scenes[1]  # Nora alone in the kitchen; the radio is V.O.
    radio = next(l for s in scene.shots for l in s.dialogue if l.speaker == "radio-voice")
    radio.extension = None
    found = check_plan(series, episodes)
    absent = [f for f in found if f.code == "speaker-absent"]
    assert [f.where for f in absent] == [radio.id] and absent[0].severity == Severity.ERROR
    assert absent[0].source_line == radio.source_line


def test_shot_shorter_than_its_dialogue(plan):
    series, episodes = plan
    shot = next(s for s in episodes[1].shots if s.dialogue)
    shot.duration_frames = shot.dialogue[-1].end_frame - 1
    assert codes(series, episodes)["shot-shorter-than-dialogue"] == [shot.dialogue[-1].id]


def test_crossing_the_line_between_consecutive_shots(plan):
    series, episodes = plan
    scene = episodes[0].scenes[0]
    a, b = next((x, y) for x, y in zip(scene.shots, scene.shots[1:]) if len(x.characters) == 2 and len(y.characters) == 2)
    b.characters = [FramedCharacter(character=f.character, position={"left": "right", "right": "left"}[f.position.value],
                                    facing=f.facing) for f in b.characters]
    found = [f for f in check_plan(series, episodes) if f.code == "crossing-the-line"]
    assert b.id in {f.where for f in found} and all(f.severity == Severity.WARNING for f in found)
    assert "180-degree rule" in found[0].message


def test_duplicate_ids(plan):
    series, episodes = plan
    episodes[0].scenes[0].shots[1].id = episodes[0].scenes[0].shots[0].id
    assert episodes[0].scenes[0].shots[0].id in codes(series, episodes)["duplicate-id"]


def test_empty_scene(plan):
    series, episodes = plan
    episodes[1].scenes[0].shots = []
    found = [f for f in check_plan(series, episodes) if f.code == "empty-scene"]
    assert [(f.where, f.severity) for f in found] == [("e02s01", Severity.ERROR)]


def test_unknown_location_and_framed_character(plan):
    series, episodes = plan
    episodes[0].scenes[0].location = "nowhere"
    episodes[0].scenes[0].shots[1].characters[0].character = "stranger"
    found = codes(series, episodes)
    assert found["unknown-location"] == ["e01s01"] and "e01s01k02" in found["unknown-character"]


def test_errors_block_and_warnings_do_not(plan):
    series, episodes = plan
    episodes[0].scenes[0].shots[1].characters.append(FramedCharacter(character="mrs-okafor", position="center"))
    found = check_plan(series, episodes)
    assert [f.code for f in found] == ["framed-absent"] and blocking(found) == []


def test_only_rule_errors_block_approval(plan):
    series, episodes = plan
    episodes[0].scenes[0].location = "nowhere"
    rules = check_plan(series, episodes)
    assert {f.origin for f in rules} == {FindingOrigin.RULES}
    judged = Finding(severity=Severity.ERROR, code="llm-props", message="the mug changes hands", where="e01s01",
                     origin=FindingOrigin.LLM)
    rendered = Finding(severity=Severity.ERROR, code="shot-black", message="black", where="e01s01k01",
                       origin=FindingOrigin.AUDIT)
    assert blocking([*rules, judged, rendered]) == rules


def test_a_finding_saved_before_origin_existed_keeps_its_meaning():
    """A paused run's checkpoint holds findings without `origin`; the reviewer's stay its own."""
    saved = {"severity": "error", "code": "llm-props", "message": "m", "where": "e01"}
    assert Finding.model_validate(saved).origin == FindingOrigin.LLM
    assert Finding.model_validate({**saved, "code": "speaker-absent"}).origin == FindingOrigin.RULES


def test_a_lone_capitalised_action_line_is_flagged_as_a_cue_without_dialogue(tmp_path):
    path = tmp_path / "s.fountain"
    path.write_text("INT. ROOM - DAY\n\nAnn waits.\n\nBOB\n\nShe leaves. BANG!\n\nANN\nBye.\n", encoding="utf-8")
    series, screenplay = ingest([path])
    found = [f for f in check_plan(series, plan_screenplay(screenplay, series)) if f.code == "cue-without-dialogue"]
    assert len(found) == 1 and "'BOB'" in found[0].message and found[0].severity == Severity.WARNING


def test_a_language_no_installed_voice_speaks_is_an_error_at_review(plan):
    from microdrama.pipeline.plan.checks import review_findings
    from microdrama.pipeline.core.config import BackendSettings

    series, episodes = plan
    klingon = series.model_copy(update={"language": "tlh"})
    found = [f for f in review_findings(klingon, episodes, BackendSettings()) if f.code == "voice-unavailable"]
    assert {f.where for f in found} == {"nora", "eli", "radio-voice", "mrs-okafor"}
    assert all(f.severity == Severity.ERROR and "'tlh'" in f.message for f in found)
    assert blocking(found) == found
    assert [f for f in review_findings(series, episodes, BackendSettings()) if f.code == "voice-unavailable"] == []
