"""Ingest: screenplay files -> bible + episodes, and the bad inputs it must refuse clearly."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import EXAMPLE, FIXTURES
from microdrama.pipeline.core.errors import InputError
from microdrama.pipeline.ingest.screenplay import bible_id, detect_language, ingest, parse_heading
from microdrama.pipeline.core.models import Setting, TimeOfDay


def write(tmp_path: Path, text: str | bytes, name: str = "show.fountain") -> Path:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


def test_bundled_example_episodes_characters_locations():
    series, screenplay = ingest([EXAMPLE / "screenplay.fountain"])
    assert (series.slug, series.language, series.aspect, series.fps) == ("rooftop-frequencies", "en", "9:16", 24)
    assert [e.title for e in screenplay.episodes] == ["Static", "Tomorrow"]
    assert {c.id for c in series.characters} == {"radio-voice", "nora", "eli", "mrs-okafor"}
    nora = series.character("nora")
    assert nora.aliases == ["NORA VANCE"]
    assert (nora.gender, nora.age, nora.band, nora.hair) == ("female", 28, "young adult", "cropped silver hair")
    assert [g.text() for g in nora.wardrobe] == ["oversized orange work jacket"]
    assert nora.description == ""  # composed from the fields: no second copy to go stale
    assert nora.appearance == "28-year-old woman, cropped silver hair, oversized orange work jacket"
    assert series.location("nora-s-apartment-kitchen").description == "A narrow kitchen lit by a single hanging bulb."
    assert series.location("apartment-stairwell").description == "Flickering fluorescent tubes."
    assert [loc.id for loc in series.locations] == ["apartment-rooftop", "nora-s-apartment-kitchen", "apartment-stairwell"]
    first = screenplay.episodes[0].scenes[0]
    assert (first.id, first.setting, first.location, first.time_of_day) == ("e01s01", Setting.EXT, "apartment-rooftop", TimeOfDay.NIGHT)
    assert first.characters == ["nora", "eli"]  # the V.O. radio is heard, not present


def test_dialogue_lines_keep_parenthetical_extension_dual_and_source_line():
    _, screenplay = ingest([EXAMPLE / "screenplay.fountain"])
    lines = [l for e in screenplay.episodes for s in e.scenes for b in s.beats for l in b.lines]
    whisper = next(l for l in lines if l.text == "Who is this?")
    assert (whisper.speaker, whisper.parenthetical, whisper.source_line) == ("nora", "whispering", 29)
    radio = next(l for l in lines if l.speaker == "radio-voice")
    assert radio.extension == "V.O."
    assert [l.dual for l in lines if l.text == "Eli, stop!"] == [True]
    assert len({l.id for l in lines}) == len(lines) == 14


def test_chinese_screenplay_with_forced_cues_and_sections():
    series, screenplay = ingest([FIXTURES / "zh_two_episodes.fountain"], slug="rain-night")
    assert series.language == "zh" and series.title == "雨夜归人"
    assert [(e.id, e.title, e.logline) for e in screenplay.episodes] == [
        ("e01", "回家", "林雨在雨夜回到老屋。"), ("e02", "真相", "")]
    assert {c.id for c in series.characters} == {"林雨", "母亲", "阿杰"}  # the boneyard's 父亲 is gone
    lin, mother = series.character("林雨"), series.character("母亲")
    assert (lin.age, lin.hair, [g.text() for g in lin.wardrobe]) == (25, "湿透的短发", ["红色雨衣"])
    assert (mother.age, [g.text() for g in mother.wardrobe]) == (55, ["蓝色旗袍"])
    scene = screenplay.episodes[0].scenes[0]
    assert (scene.setting, scene.location, scene.time_of_day) == (Setting.INT, "老屋-客厅", TimeOfDay.NIGHT)
    mother = next(l for b in scene.beats for l in b.lines if l.speaker == "母亲")
    assert mother.extension == "V.O." and "母亲" not in scene.characters
    lines = [l for b in screenplay.episodes[0].scenes[1].beats for l in b.lines]
    assert [(l.speaker, l.text, l.dual) for l in lines] == [("阿杰", "姐，你真的要走吗？", False), ("林雨", "别问了。", True)]
    assert screenplay.episodes[0].scenes[1].time_of_day == TimeOfDay.DAWN
    last = screenplay.episodes[1].scenes[0]
    assert [b.kind for b in last.beats] == ["action", "dialogue", "card"]


def test_one_file_per_episode(tmp_path):
    one = write(tmp_path, "Title: Split\n\nINT. A - DAY\n\nANN\nOne.\n", "e1.fountain")
    two = write(tmp_path, "INT. B - NIGHT\n\nANN\nTwo.\n", "e2.fountain")
    series, screenplay = ingest([one, two])
    assert [e.id for e in screenplay.episodes] == ["e01", "e02"] and series.slug == "split"
    assert [c.id for c in series.characters] == ["ann"]


def test_existing_bible_edits_win(tmp_path):
    series, _ = ingest([EXAMPLE / "screenplay.fountain"])
    edited = series.model_copy(deep=True)
    edited.character("eli").description = "a tall teenager in a yellow raincoat"
    edited.character("eli").voice.pitch = 9.0
    again, _ = ingest([EXAMPLE / "screenplay.fountain"], existing=edited)
    assert again.character("eli").description == "a tall teenager in a yellow raincoat"
    assert again.character("eli").voice.pitch == 9.0


def test_title_page_sets_format_and_bad_values_are_reported(tmp_path):
    series, _ = ingest([write(tmp_path, "Title: Wide\nAspect: 16:9\nResolution: 1280x720\nFPS: 30\n\nINT. A - DAY\n\nHi.\n")])
    assert (series.aspect, series.resolution, series.fps) == ("16:9", "1280x720", 30)
    with pytest.raises(InputError) as caught:
        ingest([write(tmp_path, "Title: Bad\nAspect: 4:3\n\nINT. A - DAY\n\nHi.\n")])
    assert "aspect" in str(caught.value) and "show.fountain:1:" in str(caught.value)


@pytest.mark.parametrize("heading, expected", [
    ("INT. OLD HOUSE - KITCHEN - NIGHT", (Setting.INT, "OLD HOUSE - KITCHEN", "NIGHT")),
    ("EXT. PARK", (Setting.EXT, "PARK", None)),
    ("INT./EXT. CAR - MOMENTS LATER", (Setting.INT_EXT, "CAR", "MOMENTS LATER")),
    ("外景 巷口 晨", (Setting.EXT, "巷口", "晨")),
    ("FLASHBACK", (Setting.INT, "FLASHBACK", None)),
])
def test_parse_heading(heading, expected):
    assert parse_heading(heading) == expected


def test_continuous_keeps_the_previous_light(tmp_path):
    _, screenplay = ingest([write(tmp_path, "INT. A - NIGHT\n\nGo.\n\nINT. B - CONTINUOUS\n\nGo on.\n")])
    assert [s.time_of_day for s in screenplay.episodes[0].scenes] == [TimeOfDay.NIGHT, TimeOfDay.NIGHT]


def test_ids_and_language():
    assert bible_id("MRS. O'NEIL") == "mrs-o-neil" and bible_id("林雨") == "林雨"
    assert detect_language("林雨推门进来。我回来了。She said OK.") == "zh"
    assert detect_language("She opens the door. I am back.") == "en"
    assert detect_language("こんにちは、林さん。") == "ja"


def test_language_from_title_page_wins(tmp_path):
    series, _ = ingest([write(tmp_path, "Title: Hola\nLanguage: es\n\nINT. CASA - DÍA\n\nANA\nHola.\n")])
    assert series.language == "es"


# --- bad input: each refused with the file (and line) named, nothing written -------------------

@pytest.mark.parametrize("content, message", [
    (b"", "the file is empty"),
    (b"  \n\n  ", "the file is empty"),
    ("INT. A - DAY\n\n你好，妈妈。\n".encode("gbk"), "show.fountain:3: not UTF-8"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary file"),
    (b"Title: Nothing\n\nJust some action and no heading.\n", "no scene found"),
])
def test_bad_screenplays_are_refused_clearly(tmp_path, content, message):
    with pytest.raises(InputError) as caught:
        ingest([write(tmp_path, content)])
    assert message in str(caught.value)


def test_oversized_file(tmp_path):
    with pytest.raises(InputError, match="may be at most 2 MB"):
        ingest([write(tmp_path, b"INT. A - DAY\n\n" + b"word " * 500_000)])


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="not found"):
        ingest([tmp_path / "nope.fountain"])


@pytest.mark.parametrize("slug", ["../escape", "a/b", "..", "UPPER", "", "a" * 65])
def test_unsafe_slugs_are_refused(tmp_path, slug):
    with pytest.raises(InputError, match="slug"):
        ingest([EXAMPLE / "screenplay.fountain"], slug=slug)


def test_title_without_latin_letters_needs_a_slug(tmp_path):
    path = write(tmp_path, "Title: 雨夜\n\n.客厅 - 夜\n\n@林雨\n你好。\n", "雨夜.fountain")
    with pytest.raises(InputError, match="--slug"):
        ingest([path])
    assert ingest([path], slug="rain-night")[0].slug == "rain-night"


def test_a_character_introduced_in_capitals_who_never_speaks_is_in_the_bible(tmp_path):
    series, screenplay = ingest([write(tmp_path, "INT. HARBOR OFFICE - NIGHT\n\nMcCLANE (60s, eye patch) taps the desk.\n\n"
                                                 "A GUARD (50s, bald, green uniform) dozes on a stool.\n\n"
                                                 "Rain lashes the window.\n\n@McCLANE\nWake up.\n")])
    assert {c.id: c.appearance for c in series.characters} == {"mcclane": "65-year-old, eye patch",
                                                             "guard": "55-year-old, bald, green uniform"}
    assert screenplay.episodes[0].scenes[0].characters == ["mcclane", "guard"]
    # The place is described by the line about the place, not by a character's introduction.
    assert series.location("harbor-office").description == "Rain lashes the window."


def test_the_introduction_of_a_speaker_by_full_name_is_not_a_second_character():
    series, _ = ingest([EXAMPLE / "screenplay.fountain"])
    assert "nora-vance" not in {c.id for c in series.characters}


def test_a_screenplay_without_a_title_page_is_named_after_its_file_and_keeps_that_name_in_its_folder(tmp_path):
    """`plan night-tea.fountain` copies the file to night-tea/screenplay.fountain and ingests the
    copy: the series is night-tea both times, not 'screenplay'."""
    body = "INT. KITCHEN - NIGHT\n\nMara pours tea.\n\nMARA\nYou came back.\n"
    given, _ = ingest([write(tmp_path, body, "night-tea.fountain")])
    (tmp_path / "night-tea").mkdir()
    copied, _ = ingest([write(tmp_path / "night-tea", body, "screenplay.fountain")])
    (tmp_path / "two" / "screenplay").mkdir(parents=True)
    per_episode, _ = ingest([write(tmp_path / "two" / "screenplay", body, "e01.fountain")])
    assert (given.slug, given.title) == (copied.slug, copied.title) == ("night-tea", "night-tea")
    assert per_episode.slug == "two"
