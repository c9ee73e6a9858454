"""The last good plan is really good: state/last-good/ holds only plan files that passed every
blocking rule, and a rule error is placed at its file and line like a format error is.

Each edit below parses (so loading alone would accept it) but breaks a rule; `review`, `status`
and `approve` run as users run them, on a copy of the planned and approved tiny show."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tiny_show import approved_show

MICRODRAMA = str(Path(sys.executable).with_name("microdrama"))


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([MICRODRAMA, *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def line_of(text: str, needle: str, occurrence: int = 1) -> int:
    """1-based line of the `occurrence`-th `needle` in `text`."""
    at = -1
    for _ in range(occurrence):
        at = text.index(needle, at + 1)
    return text[:at].count("\n") + 1


# Each edit: the e01.yaml text -> (the edited text, where the error is, the field path approval
# names, the start of the message).
Edit = Callable[[str], tuple[str, str, str, str]]


def empty_scene(text: str):
    start = text.index("  shots:\n", text.index("- id: e01s02\n"))
    end = text.index("  music:\n", start)
    return (text[:start] + "  shots: []\n" + text[end:], "e01s02", "scenes[1] (e01s02)", "e01s02 has no shots")


def ghost_speaker(text: str):
    return (text.replace("speaker: anna", "speaker: ghost", 1), "e01s01l01",
            "scenes[0] (e01s01).shots[2] (e01s01k03).dialogue[0] (e01s01l01)", "speaker 'ghost' is not in series.yaml")


def duplicated_shot_id(text: str):
    return (text.replace("- id: e01s01k02\n", "- id: e01s01k01\n", 1), "e01s01k01",
            "scenes[0] (e01s01).shots[1] (e01s01k01)", "id 'e01s01k01' is used 2 times")


@pytest.fixture
def show(tmp_path) -> Path:
    folder = approved_show(tmp_path / "tiny-show")
    plan, last_good = folder / "plan" / "e01.yaml", folder / "state" / "last-good" / "plan" / "e01.yaml"
    assert last_good.read_bytes() == plan.read_bytes()  # the planner's save left a good copy
    return folder


@pytest.mark.parametrize("edit", [empty_scene, ghost_speaker, duplicated_shot_id])
def test_a_rule_breaking_edit_is_placed_and_never_becomes_the_last_good(show, edit: Edit):
    plan, last_good = show / "plan" / "e01.yaml", show / "state" / "last-good" / "plan" / "e01.yaml"
    good = plan.read_bytes()
    text, where, field, message = edit(good.decode("utf-8"))
    assert text != good.decode("utf-8")
    plan.write_text(text, encoding="utf-8")
    # A repeated id is placed at its repeat, the copy the error is about; anything else at its object.
    line = line_of(text, f"- id: {where}\n", occurrence=text.count(f"- id: {where}\n"))

    review = cli("review", str(show), cwd=show.parent)
    assert review.returncode == 1, review.stdout + review.stderr
    assert last_good.read_bytes() == good
    assert f"error plan/e01.yaml:{line}: {where}: {message}" in review.stdout
    assert "Traceback" not in review.stderr

    approve = cli("approve", str(show), cwd=show.parent)
    assert approve.returncode == 1 and "approval refused" in approve.stderr
    assert f"plan/e01.yaml:{line}: {field}: {message}" in approve.stderr
    assert last_good.read_bytes() == good
    assert plan.read_text(encoding="utf-8") == text  # the user's edit stays as it is too


def test_loading_alone_never_writes_the_last_good(show):
    """`status` reads the plan files (hand edits included) without the rules: it keeps nothing."""
    plan, last_good = show / "plan" / "e01.yaml", show / "state" / "last-good" / "plan" / "e01.yaml"
    good = plan.read_bytes()
    text, *_ = ghost_speaker(good.decode("utf-8"))
    plan.write_text(text, encoding="utf-8")
    status = cli("status", str(show), cwd=show.parent)
    assert status.returncode == 0, status.stderr
    assert "edited since approval" in status.stdout
    assert last_good.read_bytes() == good


def test_a_valid_edit_becomes_the_last_good_and_a_later_broken_one_keeps_it(show):
    plan, last_good = show / "plan" / "e01.yaml", show / "state" / "last-good" / "plan" / "e01.yaml"
    text = plan.read_text(encoding="utf-8")
    assert "move: pull-out" in text
    valid = text.replace("move: pull-out", "move: tilt-up", 1) + "# tilted on purpose\n"
    plan.write_text(valid, encoding="utf-8")
    review = cli("review", str(show), cwd=show.parent)
    assert review.returncode == 0, review.stdout + review.stderr
    assert last_good.read_bytes() == valid.encode("utf-8")  # byte for byte, the comment included

    broken, where, _, message = duplicated_shot_id(valid)
    plan.write_text(broken, encoding="utf-8")
    review = cli("review", str(show), cwd=show.parent)
    assert review.returncode == 1
    assert last_good.read_bytes() == valid.encode("utf-8")
    assert f"plan/e01.yaml:{line_of(broken, '- id: e01s01k01', 2)}: {where}: {message}" in review.stdout

    # A format error on top still says where the good version is kept: the valid edit.
    plan.write_text(broken.replace("type: WS", "type: DRONE", 1), encoding="utf-8")
    review = cli("review", str(show), cwd=show.parent)
    assert review.returncode == 1 and "(e01s01k01).type:" in review.stderr
    assert f"nothing was overwritten; the last good version is kept at {last_good}" in review.stderr
    assert last_good.read_bytes() == valid.encode("utf-8")


def test_a_plan_file_that_is_not_utf8_is_named_with_its_line_and_the_last_good_kept(tmp_path):
    show = approved_show(tmp_path / "show")
    path = show / "plan" / "e01.yaml"
    good = path.read_bytes()
    lines = good.split(b"\n")
    lines[4] = lines[4] + b" \xff\xfe"
    path.write_bytes(b"\n".join(lines))
    done = subprocess.run([str(Path(sys.executable).with_name("microdrama")), "review", str(show)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert f"{path}:5: not UTF-8 text" in done.stderr and "last good version is kept" in done.stderr
    assert (show / "state" / "last-good" / "plan" / "e01.yaml").read_bytes() == good
