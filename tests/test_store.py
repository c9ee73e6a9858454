"""Plan files: YAML round trip, validation with file/line/field, and the last good copy."""

from __future__ import annotations

import json

import pytest

from conftest import EXAMPLE
from microdrama.pipeline.core.config import Settings
from microdrama.pipeline.core.errors import InputError
from microdrama.pipeline.ingest.screenplay import ingest
from microdrama.pipeline.core.models import Episode, Series
from microdrama.pipeline.plan.rules import plan_screenplay
from microdrama.pipeline.core.store import SeriesFolder, dump_yaml, parse_model, plan_places
from microdrama.pipeline.plan.approval import check_files


@pytest.fixture
def folder(tmp_path) -> SeriesFolder:
    series, screenplay = ingest([EXAMPLE / "screenplay.fountain"])
    folder = SeriesFolder(tmp_path / "show")
    folder.save_series(series)
    for episode in plan_screenplay(screenplay, series):
        folder.save_episode(episode)
    return folder


def test_yaml_round_trips(folder):
    series, episodes = folder.load_plan()
    assert parse_model(dump_yaml(series), Series, "x") == series
    assert all(parse_model(dump_yaml(e), Episode, "x") == e for e in episodes)
    assert folder.episode_path("e01").read_text(encoding="utf-8") == dump_yaml(episodes[0])


def test_yaml_is_human_readable(folder):
    text = folder.episode_path("e01").read_text(encoding="utf-8")
    assert "type: EWS" in text and "move: pan-right" in text and "{" not in text


def edit(folder: SeriesFolder, old: str, new: str, count: int = 1) -> int:
    """Replace text in e01.yaml; returns the 1-based line of the first replacement."""
    path = folder.episode_path("e01")
    text = path.read_text(encoding="utf-8")
    assert old in text
    line = text[: text.index(old)].count("\n") + 1
    path.write_text(text.replace(old, new, count), encoding="utf-8")
    return line


def test_unknown_shot_type_names_file_line_and_field(folder):
    line = edit(folder, "type: EWS", "type: DRONE")
    with pytest.raises(InputError) as caught:
        folder.load_episode("e01")
    message = str(caught.value)
    assert f"e01.yaml:{line}: scenes[0] (e01s01).shots[0] (e01s01k01).type:" in message
    assert "'ECU', 'CU'" in message or "ECU" in message


def test_negative_duration_names_file_line_and_field(folder):
    line = edit(folder, "duration_frames: 60", "duration_frames: -5")
    with pytest.raises(InputError) as caught:
        folder.load_episode("e01")
    assert f"e01.yaml:{line}:" in str(caught.value) and "duration_frames" in str(caught.value)
    assert "greater than 0" in str(caught.value)


def test_an_invalid_edit_keeps_the_last_good_plan(folder):
    good = folder.episode_path("e01").read_text(encoding="utf-8")
    edit(folder, "type: EWS", "type: DRONE")
    with pytest.raises(InputError) as caught:
        folder.load_episode("e01")
    backup = folder.state_dir / "last-good" / "plan" / "e01.yaml"
    assert str(backup) in str(caught.value)
    assert backup.read_text(encoding="utf-8") == good
    assert "DRONE" in folder.episode_path("e01").read_text(encoding="utf-8")  # the user's edit is kept too


def test_a_valid_edit_becomes_the_new_last_good_once_the_rules_pass(folder):
    edit(folder, "move: pan-right", "move: tilt-up")
    backup = folder.state_dir / "last-good" / "plan" / "e01.yaml"
    assert folder.load_episode("e01").scenes[0].shots[0].move == "tilt-up"
    assert "tilt-up" not in backup.read_text(encoding="utf-8")  # loading alone keeps nothing
    assert not check_files(folder, Settings(series_dir=folder.root)).blocking
    assert backup.read_bytes() == folder.episode_path("e01").read_bytes()


def test_unknown_keys_and_broken_yaml(folder):
    line = edit(folder, "move: pan-right", "move: pan-right\n    lens: 35mm")
    with pytest.raises(InputError, match=f"e01.yaml:{line + 1}: .*lens: Extra inputs are not permitted"):
        folder.load_episode("e01")
    folder.episode_path("e01").write_text("scenes: [unclosed\n", encoding="utf-8")
    with pytest.raises(InputError, match="not valid YAML"):
        folder.load_episode("e01")


def test_all_problems_of_all_files_at_once(folder):
    edit(folder, "type: EWS", "type: DRONE")
    text = folder.series_path.read_text(encoding="utf-8").replace("fps: 24", "fps: 1000")
    folder.series_path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as caught:
        folder.load_plan()
    assert "series.yaml" in str(caught.value) and "e01.yaml" in str(caught.value)


def test_file_name_and_id_must_agree(folder):
    (folder.plan_dir / "e07.yaml").write_text(folder.episode_path("e01").read_text(encoding="utf-8"), encoding="utf-8")
    with pytest.raises(InputError, match="file is named e07.yaml"):
        folder.load_episode("e07")


def test_places_name_the_file_line_and_field_of_each_id(folder):
    text = folder.episode_path("e01").read_text(encoding="utf-8")
    places = folder.places()
    (shot,) = places["e01s01k02"]
    assert (shot.file, shot.line) == ("plan/e01.yaml", text[: text.index("- id: e01s01k02")].count("\n") + 1)
    assert shot.field == "scenes[0] (e01s01).shots[1] (e01s01k02)"
    assert places["e01"][0].field is None and places["e01"][0].file == "plan/e01.yaml"
    assert [p.file for p in places["e02"]] == ["plan/e02.yaml"]  # the bible's episode outlines are not places
    line_id = next(i for i in places if i.startswith("e01s01l"))
    assert ".dialogue[0] (" in places[line_id][0].field
    bible = folder.series_path.read_text(encoding="utf-8")
    character = folder.load_series().characters[0].id
    assert places[character][0].file == "series.yaml"
    assert places[character][0].line == bible[: bible.index(f"- id: {character}")].count("\n") + 1


# --- the plan's data kept as JSON (ParsedData) --------------------------------------------------


def test_a_checked_plan_is_read_from_its_json_until_a_file_changes(folder):
    folder.load_plan()
    folder.keep_last_good()
    entry = folder.parsed.folder / "plan--e01.yaml.json"
    assert {p.name for p in folder.parsed.folder.iterdir()} == {"series.yaml.json", "plan--e01.yaml.json",
                                                               "plan--e02.yaml.json"}
    # The JSON is what a load reads while the file's bytes are unchanged: a title changed in the
    # JSON alone shows through (only a test would write one).
    texts = {path.relative_to(folder.root).as_posix(): path.read_text()
             for path in [folder.series_path, *map(folder.episode_path, folder.episode_ids())]}
    reread = SeriesFolder(folder.root)
    reread.load_plan()
    assert reread.places() == plan_places(texts) and "e01s01k01" in reread.places()  # kept with the data
    kept = json.loads(entry.read_text())
    kept["data"]["title"] = "From the JSON"
    entry.write_text(json.dumps(kept))
    assert SeriesFolder(folder.root).load_episode("e01").title == "From the JSON"
    # An edit of the file is read from the file, and the next check keeps it.
    path = folder.episode_path("e01")
    path.write_text(_retitled(path.read_text(), "Edited"))
    again = SeriesFolder(folder.root)
    again.load_plan()
    assert again.load_episode("e01").title == "Edited"
    again.keep_last_good()
    assert json.loads(entry.read_text())["data"]["title"] == "Edited"


def _retitled(text: str, title: str) -> str:
    lines = text.splitlines(keepends=True)
    at = next(i for i, line in enumerate(lines) if line.startswith("title:"))
    lines[at] = f"title: {title}\n"
    return "".join(lines)


def test_a_broken_json_entry_is_read_past_and_loading_alone_keeps_nothing(folder):
    SeriesFolder(folder.root).load_plan()
    assert not folder.parsed.folder.exists()  # status and the like load without keeping
    folder.load_plan()
    folder.keep_last_good()
    (folder.parsed.folder / "series.yaml.json").write_text("{not json")
    series, _ = SeriesFolder(folder.root).load_plan()
    assert series == folder.load_series()


def test_an_invalid_edit_is_reported_with_its_line_though_a_json_was_kept(folder):
    folder.load_plan()
    folder.keep_last_good()
    line = edit(folder, "duration_frames: 60", "duration_frames: -5")
    with pytest.raises(InputError) as caught:
        SeriesFolder(folder.root).load_plan()
    assert f"e01.yaml:{line}:" in str(caught.value) and "duration_frames" in str(caught.value)
