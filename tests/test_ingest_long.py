"""Ingest of real-world screenplays: a cold open, text left out on purpose counted, shot headings
inside a scene, ids in separate spaces, older encodings, and a long story cut into episodes."""

from __future__ import annotations

from pathlib import Path

import pytest

from microdrama.pipeline.core.errors import InputError
from microdrama.pipeline.core.models import FindingOrigin, Severity
from microdrama.pipeline.ingest.episodes import cut_points, is_act, scene_ending, split_scene
from microdrama.pipeline.ingest import fountain as ft
from microdrama.pipeline.ingest.screenplay import bible_id, ingest, parse_heading
from microdrama.pipeline.plan.checks import check_plan


def write(tmp_path: Path, text: str | bytes, name: str = "show.fountain") -> Path:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


def speeches(screenplay) -> list[str]:
    return [l.text for e in screenplay.episodes for s in e.scenes for b in s.beats for l in b.lines]


def scene(n: int, words: int, question: bool = False) -> str:
    """A scene of about `words` spoken words, ending on a question or not."""
    line = " ".join(["word"] * words) + ("?" if question else ".")
    return f"INT. ROOM {n} - DAY\n\nANN\n{line}\n\n"


def test_text_before_the_first_heading_is_a_cold_open_scene(tmp_path):
    text = "FADE IN:\n\nA RIVER.\n\nEDWARD (V.O.)\nThere are some fish.\n\nINT. HOUSE - DAY\n\nANN\nHi.\n"
    _, screenplay = ingest([write(tmp_path, text)])
    cold, house = screenplay.episodes[0].scenes
    assert (cold.heading, cold.source_line, house.heading) == ("COLD OPEN", 3, "INT. HOUSE - DAY")
    assert speeches(screenplay) == ["There are some fish.", "Hi."]


def test_notes_and_boneyard_are_counted_for_review(tmp_path):
    text = "INT. A - DAY\n\nShe waits. [[note one]] [[note two]]\n\n/* cut\n\nBOB\nNo.\n*/\n\nANN\nHi. [[three]]\n"
    _, screenplay = ingest([write(tmp_path, text)])
    left_out = [n for n in screenplay.notices if n.code == "left-out"]
    assert len(left_out) == 1 and left_out[0].origin == FindingOrigin.INGEST
    assert "3 notes and 1 boneyard block left out" in left_out[0].message


def test_a_closing_parenthetical_becomes_an_action_beat(tmp_path):
    _, screenplay = ingest([write(tmp_path, "INT. A - DAY\n\nEVE\nOh, Adam.\n(kissing him)\n")])
    assert [(b.kind, b.text) for b in screenplay.episodes[0].scenes[0].beats] == [("dialogue", ""), ("action", "(kissing him)")]


def test_forced_shot_headings_inside_a_scene_are_shots_of_its_place_not_locations(tmp_path):
    text = ("INT. SCOTT'S APARTMENT - NIGHT\n\nSCOTT\nHello?\n\n.INSIDE\n\nDark.\n\n.ON THE TV\n\nStatic.\n\n"
            ".SCOTT\n\nHe stares.\n\nSCOTT\nWho's there?\n")
    series, screenplay = ingest([write(tmp_path, text)])
    assert [loc.id for loc in series.locations] == ["scott-s-apartment"]
    assert len(screenplay.episodes[0].scenes) == 1 and [c.id for c in series.characters] == ["scott"]
    assert "ON THE TV" in [b.text for b in screenplay.episodes[0].scenes[0].beats]


def test_characters_and_locations_are_separate_id_spaces(tmp_path):
    # The place SCOTT (a forced heading opening the script) and the speaker SCOTT share 'scott'.
    series, screenplay = ingest([write(tmp_path, ".SCOTT\n\nHe waits.\n\nSCOTT\nHi.\n")])
    assert series.location("scott") and series.character("scott")
    planned = []  # the duplicate-id rule counts ids within each space
    assert not [f for f in check_plan(series, planned) if f.code == "duplicate-id"]
    assert bible_id("E01") == "e01-name" and bible_id("Maya Chen") == "maya-chen"  # never a plan id


@pytest.mark.parametrize("heading, place, time", [
    ("INT. SCOTT'S APARTMENT, A BIT LATER", "SCOTT'S APARTMENT", "A BIT LATER"),
    ("INT. HOUSE - KITCHEN - NIGHT", "HOUSE - KITCHEN", "NIGHT"),
    ("EXT. PARK - CONTINUOUS", "PARK", "CONTINUOUS"),
    ("INT. HALL - MOMENTS LATER", "HALL", "MOMENTS LATER"),
    ("INT. HALL - SAME", "HALL", "SAME"),
    ("INT. HOUSE - NEXT DOOR", "HOUSE - NEXT DOOR", None),
])
def test_heading_times_and_sub_locations(heading, place, time):
    assert parse_heading(heading)[1:] == (place, time)


def test_a_windows_1252_screenplay_is_decoded_with_a_warning(tmp_path):
    text = "INT. CAFÉ - DAY\n\nJOSÉ\n“Ça va?” — ½ price.\n"
    _, screenplay = ingest([write(tmp_path, text.encode("cp1252"))])
    assert speeches(screenplay) == ["“Ça va?” — ½ price."]
    assert [n.severity for n in screenplay.notices if n.code == "encoding"] == [Severity.WARNING]


def test_a_multibyte_legacy_encoding_is_refused_with_how_to_convert(tmp_path):
    with pytest.raises(InputError) as caught:
        ingest([write(tmp_path, ".茶馆 - 日\n\n@林雨\n你好，妈妈。\n".encode("gbk"))])
    assert "show.fountain:1: not UTF-8" in str(caught.value) and "iconv -f GBK -t UTF-8" in str(caught.value)


def test_cut_points_keep_episodes_near_the_target_and_prefer_a_hook():
    assert cut_points([60] * 9, [None] * 9, 180) == [3, 3, 3]
    # Cutting after the question (scene 4) costs less than an even cut after scene 3.
    assert cut_points([60, 60, 60, 60, 60, 60, 60], [None, None, None, "question", None, None, None], 200)[0] == 4


def test_scene_endings_and_act_sections():
    question = ft.parse("INT. A - DAY\n\nANN\nWho are you?\n").elements
    assert scene_ending(question) == "question"
    assert scene_ending(ft.parse("INT. A - DAY\n\nShe runs.\n\nCUT TO:\n\n").elements) == "transition"
    assert scene_ending(ft.parse("INT. A - DAY\n\nShe sits.\n").elements) is None
    assert is_act("ACT I") and is_act("Act Two: The Fall") and is_act("第一幕") and not is_act("Episode 1")


def test_episode_minutes_cut_a_long_story_into_episodes_and_keep_every_speech(tmp_path):
    text = "".join(scene(n, 60, question=n % 4 == 0) for n in range(1, 25))
    path = write(tmp_path, text)
    _, whole = ingest([path])
    series, screenplay = ingest([path], episode_minutes=1)
    assert len(whole.episodes) == 1 and len(screenplay.episodes) > 3
    assert speeches(screenplay) == speeches(whole)
    assert [s.id for s in screenplay.episodes[1].scenes][0] == "e02s01"
    assert [o.id for o in series.episodes] == [e.id for e in screenplay.episodes]
    summary = next(n for n in screenplay.notices if n.code == "episodes-cut")
    assert f"cut into {len(screenplay.episodes)} episodes of about 1 minutes" in summary.message


def test_title_page_episode_minutes_and_act_sections(tmp_path):
    acts = "# ACT I\n\n" + "".join(scene(n, 60) for n in range(1, 7)) + "# ACT II\n\n" + "".join(
        scene(n, 60) for n in range(7, 13))
    _, as_acts = ingest([write(tmp_path, acts)])
    assert len(as_acts.episodes) == 2 and [n.code for n in as_acts.notices] == ["acts-as-episodes"]
    _, cut = ingest([write(tmp_path, "Title: T\nEpisode-Minutes: 1\n\n" + acts)])
    assert len(cut.episodes) > 2 and "acts-as-episodes" not in [n.code for n in cut.notices]
    with pytest.raises(InputError, match="show.fountain:1: episode-minutes: Episode-Minutes must be a number"):
        ingest([write(tmp_path, "Title: T\nEpisode-Minutes: soon\n\n" + acts)])


def test_a_scene_longer_than_an_episode_is_split_at_a_beat(tmp_path):
    text = "INT. A - DAY\n\n" + "".join(f"ANN\n{' '.join(['word'] * 40)}.\n\nShe turns.\n\n" for _ in range(12))
    _, one = ingest([write(tmp_path, text)])
    parts = split_scene(one.episodes[0].scenes[0], 3)
    assert len(parts) == 3 and sum(len(p.beats) for p in parts) == len(one.episodes[0].scenes[0].beats)
    _, cut = ingest([write(tmp_path, text)], episode_minutes=1)
    assert len(cut.episodes) > 1 and speeches(cut) == speeches(one)


ZH_WITHOUT_AT = """Title：雨夜归人

内景 老屋 客厅 - 夜

林雨推门进来。

林雨
我回来了。

母亲（画外音）
你还知道回来？

她放下伞。
外面在下雨。

INT。巷口 - 晨

阿杰
姐，你要走吗？
"""


def test_a_chinese_screenplay_without_at_plans_and_review_names_the_guessed_cues(tmp_path):
    series, screenplay = ingest([write(tmp_path, ZH_WITHOUT_AT)])
    assert series.title == "雨夜归人" and [c.id for c in series.characters] == ["林雨", "母亲", "阿杰"]
    assert speeches(screenplay) == ["我回来了。", "你还知道回来？", "姐，你要走吗？"]
    assert [s.location for s in screenplay.episodes[0].scenes] == ["老屋-客厅", "巷口"]
    guessed = next(n for n in screenplay.notices if n.code == "cue-guessed")
    assert "line 7 林雨, line 10 母亲, line 18 阿杰; write @NAME" in guessed.message


def test_a_chinese_screenplay_without_headings_says_which_lines_to_force(tmp_path):
    with pytest.raises(InputError) as caught:
        ingest([write(tmp_path, "老屋 客厅 - 夜\n\n林雨推门进来。\n\n林雨\n我回来了。\n")])
    assert "show.fountain:1: '老屋 客厅 - 夜' looks like a scene heading; write '.老屋 客厅 - 夜'" in str(caught.value)


def test_short_chinese_action_is_not_flagged_as_a_cue_without_dialogue(tmp_path):
    from microdrama.pipeline.plan.checks import cue_like_action
    from microdrama.pipeline.plan.rules import draft_scene, finalize_scene
    from microdrama.pipeline.core.models import Episode
    series, screenplay = ingest([write(tmp_path, ".茶馆 - 日\n\n喝茶\n\n@林雨\n你好。\n\nBANG\n\n")])
    script = screenplay.episodes[0].scenes[0]
    planned = finalize_scene(script, draft_scene(script, True, set()), series)
    flagged = [f.message for f in cue_like_action(series, [Episode(id="e01", scenes=[planned])])]
    assert len(flagged) == 1 and "'BANG'" in flagged[0]


def test_plan_episode_minutes_through_the_cli_cuts_approves_and_shows_each_length(tmp_path):
    import subprocess
    import sys
    text = "Title: Long Night\n\n# ACT I\n\n" + "".join(scene(n, 60, question=n % 3 == 0) for n in range(1, 13))
    path = write(tmp_path, text)
    command = [str(Path(sys.executable).with_name("microdrama")), "plan", str(path), "--yes", "--root", str(tmp_path)]
    done = subprocess.run([*command, "--episode-minutes", "1"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    episodes = sorted(p.name for p in (tmp_path / "long-night" / "plan").iterdir())
    assert len(episodes) > 3 and f"approved {len(episodes)} episodes" in done.stdout
    assert f"cut into {len(episodes)} episodes of about 1 minutes (planned minutes: e01 " in " ".join(done.stdout.split())
