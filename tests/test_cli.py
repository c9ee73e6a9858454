"""The command line, run as users run it: the installed `microdrama` script in a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import EXAMPLE

MICRODRAMA = str(Path(sys.executable).with_name("microdrama"))


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([MICRODRAMA, *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def test_plan_yes_on_the_bundled_example_writes_the_plan_and_prints_the_review(example_copy):
    done = cli("plan", str(example_copy), "--yes", cwd=example_copy.parent)
    assert done.returncode == 0, done.stderr
    assert "e01s01k01" in done.stdout and "EWS" in done.stdout and "approved 2 episodes" in done.stdout
    assert "0 errors" in done.stdout
    assert {p.name for p in (example_copy / "plan").iterdir()} == {"e01.yaml", "e02.yaml"}


def test_plan_a_screenplay_file_creates_the_series_folder(tmp_path):
    done = cli("plan", str(EXAMPLE / "screenplay.fountain"), "--root", "shows", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    folder = tmp_path / "shows" / "rooftop-frequencies"
    assert (folder / "screenplay.fountain").read_bytes() == (EXAMPLE / "screenplay.fountain").read_bytes()
    assert "awaiting review" in done.stdout
    approved = cli("approve", str(folder), cwd=tmp_path)
    assert approved.returncode == 0 and "approved" in approved.stdout
    again = cli("approve", str(folder), cwd=tmp_path)
    assert again.returncode == 1 and "nothing awaits review" in again.stderr


def test_review_reports_an_invalid_edit_with_file_line_field_and_keeps_the_last_good(example_copy):
    cli("plan", str(example_copy), cwd=example_copy.parent)
    path = example_copy / "plan" / "e02.yaml"
    text = path.read_text(encoding="utf-8")
    line = text[: text.index("duration_frames:")].count("\n") + 1
    path.write_text(text.replace("duration_frames:", "duration_frames: -1 #", 1), encoding="utf-8")
    done = cli("review", str(example_copy), cwd=example_copy.parent)
    assert done.returncode == 1
    assert f"e02.yaml:{line}: scenes[0] (e02s01).shots[0] (e02s01k01).duration_frames:" in done.stderr
    assert "last good version is kept" in done.stderr and "Traceback" not in done.stderr
    refused = cli("approve", str(example_copy), cwd=example_copy.parent)
    assert refused.returncode == 1 and "e02.yaml" in refused.stderr


def test_approve_is_refused_while_continuity_errors_remain(example_copy):
    cli("plan", str(example_copy), cwd=example_copy.parent)
    path = example_copy / "plan" / "e01.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("speaker: eli", "speaker: ghost", 1), encoding="utf-8")
    review = cli("review", str(example_copy), cwd=example_copy.parent)
    assert review.returncode == 1 and "ghost" in review.stdout and "2 errors" in review.stdout
    done = cli("approve", str(example_copy), cwd=example_copy.parent)
    assert done.returncode == 1 and "approval refused" in done.stderr


@pytest.mark.parametrize("content, message", [
    (b"", "the file is empty"),
    (b"\x00\x01\x02binary", "binary file"),
    ("INT. A - DAY\n\n咖啡馆\n".encode("gbk"), ":3: not UTF-8"),
    (b"Title: T\n\nNo scenes here.\n", "no scene found"),
])
def test_bad_screenplays_give_one_clear_line_and_write_nothing(tmp_path, content, message):
    bad = tmp_path / "bad.fountain"
    bad.write_bytes(content)
    done = cli("plan", str(bad), cwd=tmp_path)
    assert done.returncode == 1 and message in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "episodes").exists()


@pytest.mark.parametrize("slug", ["../escape", "a/b", ".."])
def test_unsafe_slug_is_refused(tmp_path, slug):
    done = cli("plan", str(EXAMPLE / "screenplay.fountain"), "--slug", slug, cwd=tmp_path)
    assert done.returncode == 1 and "slug" in done.stderr
    assert not (tmp_path / "episodes").exists() and not (tmp_path / "escape").exists()


def test_schema_prints_json_schema(tmp_path):
    done = cli("schema", "episode", cwd=tmp_path)
    schema = json.loads(done.stdout)
    assert schema["title"] == "Episode" and "ShotType" in schema["$defs"]
    assert set(schema["$defs"]["ShotType"]["enum"]) == {"ECU", "CU", "MCU", "MS", "WS", "EWS", "OTS", "POV", "INSERT"}


def test_every_command_has_help_with_an_example(tmp_path):
    for command in ("plan", "review", "approve", "reject", "schema"):
        done = cli(command, "--help", cwd=tmp_path)
        assert done.returncode == 0 and "Example" in done.stdout, command


def test_debug_env_shows_the_traceback(tmp_path):
    bad = tmp_path / "bad.fountain"
    bad.write_bytes(b"")
    done = subprocess.run([MICRODRAMA, "plan", str(bad)], cwd=tmp_path, capture_output=True, text=True,
                          env={"MICRODRAMA_DEBUG": "1", "PATH": "/usr/bin:/bin"})
    assert done.returncode == 1 and "Traceback" in done.stderr


def test_screen_text_with_square_brackets_is_shown_as_written(tmp_path):
    show = tmp_path / "brackets.fountain"
    show.write_text("Title: Brackets\n\nINT. LAB - NIGHT\n\nA screen reads [ERROR] and [/warning].\n\n"
                    "KAI\nIt says [bold]reboot[/bold].\n", encoding="utf-8")
    done = cli("plan", str(show), "--yes", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert all(text in done.stdout for text in ("[ERROR]", "[/warning]", "[bold]reboot[/bold]"))
    missing = cli("plan", "missing[/x].fountain", cwd=tmp_path)
    assert missing.returncode == 1 and "missing[/x].fountain" in missing.stderr and "Traceback" not in missing.stderr


def test_usage_errors_are_usage_messages(tmp_path):
    for args in ([], ["frobnicate"], ["render", "--bogus", "x"], ["new", "x.md", "--episodes", "99"]):
        done = cli(*args, cwd=tmp_path)
        assert done.returncode == 2 and "Traceback" not in done.stderr, args
        assert "Usage" in done.stdout + done.stderr


def test_review_of_an_unknown_episode_is_an_error(example_copy):
    cli("plan", str(example_copy), cwd=example_copy.parent)
    done = cli("review", str(example_copy), "--episode", "e09", cwd=example_copy.parent)
    assert done.returncode == 1 and "no episode 'e09'" in done.stderr and "e01, e02" in done.stderr


def test_a_fountain_screenplay_saved_as_txt_is_a_screenplay(tmp_path):
    screenplay = tmp_path / "show.txt"
    screenplay.write_bytes((EXAMPLE / "screenplay.fountain").read_bytes())
    done = cli("plan", str(screenplay), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "episodes" / "rooftop-frequencies" / "screenplay.fountain").is_file()


def test_a_re_plan_after_an_edit_reviews_what_changed_since_approval(tmp_path):
    """A one-line edit of a season re-planned printed every one of its 720 shots (3.5 s of
    table layout); the review after a re-plan shows the rows that changed (and any with findings),
    and names the episodes it leaves out."""
    from tiny_show import approved_show

    show = approved_show(tmp_path / "tiny-show")
    screenplay = show / "screenplay.fountain"
    screenplay.write_text(screenplay.read_text(encoding="utf-8").replace("Morning, Ben.", "Evening, Ben."),
                          encoding="utf-8")
    done = cli("plan", str(show), "--yes", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    rows = [line.split()[1] for line in done.stdout.splitlines() if line.startswith("│ e0")]
    assert rows == ["e01s02", "e01s02k04"]  # the edited line's shot, under its scene
    assert "Evening, Ben." in done.stdout and "1 shot changed since approval" in done.stdout
    assert "unchanged since approval, without findings: e02" in done.stdout
    full = cli("review", str(show), cwd=tmp_path)
    listed = [line.split()[1] for line in full.stdout.splitlines() if line.startswith("│ e0")]
    assert len([row for row in listed if "k" in row]) == 12  # review still lists every shot
