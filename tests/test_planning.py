"""The rule-based shot planner, the timing pass and the drafts -> scene pass."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import EXAMPLE, FIXTURES
from microdrama.pipeline.ingest.screenplay import ingest
from microdrama.pipeline.core.models import CameraMove, ShotDraft, ShotType
from microdrama.pipeline.plan.rules import DraftError, finalize_scene, plan_screenplay
from microdrama.pipeline.core.store import dump_yaml
from microdrama.pipeline.plan.timing import speech_seconds


def plan(path: Path, **kwargs):
    series, screenplay = ingest([path], **kwargs)
    return series, screenplay, plan_screenplay(screenplay, series)


def scene_of(text: str, tmp_path: Path):
    path = tmp_path / "s.fountain"
    path.write_text("Title: Test\n\n" + text, encoding="utf-8")
    series, _, episodes = plan(path)
    return series, episodes[0].scenes


def test_same_input_same_plan_bytes():
    first = [dump_yaml(e) for e in plan(EXAMPLE / "screenplay.fountain")[2]]
    second = [dump_yaml(e) for e in plan(EXAMPLE / "screenplay.fountain")[2]]
    assert first == second


def test_establishing_shot_only_when_the_location_changes(tmp_path):
    _, scenes = scene_of("EXT. PARK - DAY\n\nANN\nHi.\n\nEXT. PARK - DAY\n\nANN\nStill here.\n\n"
                         "INT. CAR - DAY\n\nANN\nBye.\n", tmp_path)
    assert [s.shots[0].type for s in scenes] == [ShotType.EWS, ShotType.MCU, ShotType.WS]
    assert scenes[0].shots[0].characters == [] and scenes[2].shots[0].move == CameraMove.PULL_OUT


def test_opening_description_rides_on_the_establishing_shot(tmp_path):
    _, scenes = scene_of("EXT. DOCKS - NIGHT\n\nFog rolls over black water.\n\nANN walks in.\n\nANN\nHello?\n", tmp_path)
    establishing, ann, _ = scenes[0].shots
    assert establishing.action == "Fog rolls over black water." and ann.type == ShotType.MS


def test_an_insert_heading_names_its_shot_and_back_to_scene_is_no_shot(tmp_path):
    """INSERT - X (or CLOSE ON X) heads the insert shot of X; BACK TO SCENE only ends it."""
    _, scenes = scene_of("INT. HUT - NIGHT\n\nANN unrolls a bag.\n\nINSERT - THE PHOTOGRAPH\n\n"
                         "A little girl on a harbour wall.\n\nBACK TO SCENE\n\nAnn turns it over.\n\n"
                         "CLOSE ON ANN'S HAND\n\nIt trembles.\n\nBACK TO SCENE\n\nANN\nWho are you?\n", tmp_path)
    shots = [(s.type, s.action) for s in scenes[0].shots[1:] if not s.dialogue]
    assert shots == [(ShotType.MS, "ANN unrolls a bag."),
                     (ShotType.INSERT, "The photograph: A little girl on a harbour wall."),
                     (ShotType.MS, "Ann turns it over."),
                     (ShotType.INSERT, "Ann's hand: It trembles.")]
    assert not any(s.characters for s in scenes[0].shots if s.type == ShotType.INSERT)


def test_two_speakers_get_a_two_shot_then_reverse_shots_on_fixed_sides(tmp_path):
    _, scenes = scene_of("INT. ROOM - DAY\n\nANN\nHi.\n\nBEN\nHello.\n\nANN\nHow are you?\n\nBEN\nFine.\n", tmp_path)
    shots = scenes[0].shots[1:]
    assert [s.type for s in shots] == [ShotType.MS, ShotType.OTS, ShotType.OTS, ShotType.OTS]
    assert {c.character for c in shots[0].characters} == {"ann", "ben"}
    sides = {(c.character, c.position.value, c.facing.value) for s in shots for c in s.characters}
    assert sides == {("ann", "left", "right"), ("ben", "right", "left")}


def test_one_speaker_gets_singles_and_consecutive_speeches_share_a_shot(tmp_path):
    _, scenes = scene_of("INT. ROOM - DAY\n\nANN\nOne.\n\nANN\nTwo.\n\nAnn sits down.\n\nANN\n(whispering)\nThree.\n", tmp_path)
    types = [(s.type, s.move, len(s.dialogue)) for s in scenes[0].shots[1:]]
    assert types == [(ShotType.MCU, CameraMove.STATIC, 2), (ShotType.MS, CameraMove.STATIC, 0), (ShotType.CU, CameraMove.PUSH_IN, 1)]


def test_three_speakers_open_on_a_group_shot(tmp_path):
    _, scenes = scene_of("INT. ROOM - DAY\n\nANN\nA.\n\nBEN\nB.\n\nCAL\nC.\n", tmp_path)
    group = scenes[0].shots[1]
    assert group.type == ShotType.WS and len(group.characters) == 3


def test_action_without_characters_is_an_insert_and_movement_goes_handheld(tmp_path):
    _, scenes = scene_of("INT. ROOM - DAY\n\nANN waits.\n\nThe phone buzzes on the table.\n\nAnn runs for the door.\n\n"
                         "ANN\nToo late.\n", tmp_path)
    _, intro, insert, run, _ = scenes[0].shots
    assert (intro.type, intro.move) == (ShotType.MS, CameraMove.PUSH_IN)  # first appearance
    assert insert.type == ShotType.INSERT and insert.characters == []
    assert run.move == CameraMove.HANDHELD


def test_dual_dialogue_shares_one_two_shot_and_starts_together(tmp_path):
    _, scenes = scene_of("INT. ROOM - DAY\n\nANN\nStop!\n\nBEN ^\nNo, you stop!\n", tmp_path)
    shot = scenes[0].shots[1]
    assert shot.type == ShotType.MS and [l.speaker for l in shot.dialogue] == ["ann", "ben"]
    assert shot.dialogue[0].offset_frames == shot.dialogue[1].offset_frames


def test_voice_over_plays_over_the_shot_before_it():
    _, _, episodes = plan(EXAMPLE / "screenplay.fountain")
    radio = next(s for s in episodes[0].scenes[0].shots if any(l.speaker == "radio-voice" for l in s.dialogue))
    assert radio.type == ShotType.INSERT and radio.action.startswith("The radio hisses")


def test_title_card_beat_becomes_a_card_shot():
    _, _, episodes = plan(EXAMPLE / "screenplay.fountain")
    last = episodes[0].scenes[-1].shots[-1]
    assert last.title_card == "TO BE CONTINUED" and last.type == ShotType.INSERT


def test_durations_follow_reading_speed_per_language_and_fit_the_dialogue():
    series, _, episodes = plan(EXAMPLE / "screenplay.fountain")
    for shot in (s for e in episodes for s in e.shots):
        assert all(l.end_frame <= shot.duration_frames for l in shot.dialogue)
        assert shot.duration_frames >= series.fps  # floor
        if not shot.dialogue:
            assert shot.duration_frames <= 5 * series.fps  # ceiling for action
    # Mandarin is read by characters, so the same number of characters takes longer.
    assert speech_seconds("你好妈妈我回来了今天", "zh") > 2 * speech_seconds("hellohello", "en")
    assert speech_seconds("a long line " * 4, "en", speed=0.5) == pytest.approx(2 * speech_seconds("a long line " * 4, "en"))


def test_episodes_last_about_a_minute():
    series, _, episodes = plan(EXAMPLE / "screenplay.fountain")
    assert all(35 <= e.duration_frames / series.fps <= 90 for e in episodes)


def test_prompts_are_composed_from_the_bible():
    series, _, episodes = plan(EXAMPLE / "screenplay.fountain")
    nora_shot = next(s for s in episodes[0].shots if [c.character for c in s.characters] == ["nora"])
    assert series.character("nora").description in nora_shot.prompt
    assert series.visual_style in nora_shot.prompt
    assert series.location("apartment-rooftop").description.rstrip(".") in episodes[0].shots[0].prompt


def test_chinese_screenplay_plans_with_chinese_timing():
    series, _, episodes = plan(FIXTURES / "zh_two_episodes.fountain", slug="rain-night")
    assert [len(e.scenes) for e in episodes] == [2, 1]
    line = next(l for s in episodes[0].shots for l in s.dialogue if l.text == "姐，你真的要走吗？")
    speed = series.character("阿杰").voice.speed
    assert line.duration_frames >= round(speech_seconds(line.text, "zh", speed) * series.fps)
    assert speech_seconds(line.text, "zh", speed) > speech_seconds("Sis, must you go?", "en", speed)


def test_seeds_are_stable_per_shot_and_differ_between_shots():
    episodes = plan(EXAMPLE / "screenplay.fountain")[2]
    seeds = [s.seed for e in episodes for s in e.shots]
    assert len(set(seeds)) == len(seeds)
    assert seeds == [s.seed for e in plan(EXAMPLE / "screenplay.fountain")[2] for s in e.shots]


def test_finalize_rejects_drafts_that_lose_or_repeat_lines():
    series, screenplay = ingest([EXAMPLE / "screenplay.fountain"])
    scene = screenplay.episodes[0].scenes[0]
    ids = [l.id for b in scene.beats for l in b.lines]
    with pytest.raises(DraftError, match="lines in no shot"):
        finalize_scene(scene, [ShotDraft(type=ShotType.WS, lines=ids[:-1])], series)
    with pytest.raises(DraftError, match="more than one shot"):
        finalize_scene(scene, [ShotDraft(type=ShotType.WS, lines=ids), ShotDraft(type=ShotType.CU, lines=ids[:1])], series)
    with pytest.raises(DraftError, match="unknown line ids"):
        finalize_scene(scene, [ShotDraft(type=ShotType.WS, lines=[*ids, "e09s09l09"])], series)
    done = finalize_scene(scene, [ShotDraft(type=ShotType.WS, lines=ids)], series)
    assert [s.id for s in done.shots] == ["e01s01k01"] and len(done.shots[0].dialogue) == len(ids)


def test_the_checked_in_example_plan_is_what_the_planner_makes(tmp_path):
    """The bundled example's series.yaml and plan files are checked in; they must be exactly what
    planning makes, so that running the README's command leaves the clone unchanged."""
    from microdrama.pipeline.core.store import SeriesFolder

    series, screenplay = ingest([EXAMPLE / "screenplay.fountain"])
    folder = SeriesFolder(tmp_path / "fresh")
    folder.save_series(series)
    for episode in plan_screenplay(screenplay, series):
        folder.save_episode(episode)
    for name in ("series.yaml", "plan/e01.yaml", "plan/e02.yaml"):
        assert (folder.root / name).read_text(encoding="utf-8") == (EXAMPLE / name).read_text(encoding="utf-8"), name
