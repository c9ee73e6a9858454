"""The receipt of the last complete render (graph/receipt.py): a no-change render and `status`
answer from it, and anything it rests on that changes sends them the long way."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from microdrama.pipeline.app import Project
from microdrama.pipeline.core.config import Settings
from microdrama.pipeline.core.layout import SeriesPaths
from microdrama.pipeline.core.snapshot import edited_since_approval
from microdrama.pipeline.core.store import SeriesFolder
from microdrama.pipeline.graph.receipt import receipt_path, standing_receipt
from microdrama.pipeline.graph.state import RenderRequest
from microdrama.pipeline.review.status import receipt_status, series_status
from tiny_show import render

MICRODRAMA = str(Path(sys.executable).with_name("microdrama"))


def long_way_status(folder: Path):
    settings = Settings.load(folder)
    series, episodes = SeriesFolder(folder).load_plan()
    with Project(settings) as project:
        return series_status(settings, series, episodes, project.last_render(), edited_since_approval(project.folder))


def test_a_complete_render_leaves_a_receipt_that_answers_status_as_the_long_way_does(rendered):
    receipt = standing_receipt(SeriesPaths(rendered))
    assert receipt is not None
    fast, slow = receipt_status(receipt, rendered), long_way_status(rendered)
    assert fast == slow  # every shot, its state, backend and segment, and nothing to redo


def test_a_no_change_render_answers_from_the_receipt_without_langgraph(rendered):
    script = (
        "import sys\n"
        "from microdrama.pipeline.app import Project\n"
        "from microdrama.pipeline.core.config import Settings\n"
        "from microdrama.pipeline.graph.state import RenderRequest\n"
        f"with Project(Settings.load({str(rendered)!r})) as project:\n"
        "    outcome = project.render(RenderRequest())\n"
        "import json\n"
        "print(json.dumps([len(outcome.this_run), sum(r.cached for r in outcome.state.renders),\n"
        "                  [o.video for o in outcome.state.outputs], [o.mastered for o in outcome.state.outputs],\n"
        "                  'langgraph' in sys.modules]))\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    this_run, cached, videos, mastered, langgraph = json.loads(done.stdout)
    shots = sum(len(ids) for ids in standing_receipt(SeriesPaths(rendered)).episodes.values())
    scenes = len(standing_receipt(SeriesPaths(rendered)).state["cues"])
    assert (this_run, cached) == (shots + scenes, shots)
    assert (videos, mastered, langgraph) == (["out/e01.mp4", "out/e02.mp4"], [False, False], False)


def test_the_cli_prints_a_no_change_render_as_the_graph_did(rendered):
    wide = {**os.environ, "COLUMNS": "300"}
    first = subprocess.run([MICRODRAMA, "render", str(rendered)], capture_output=True, text=True, env=wide)
    receipt_path(SeriesPaths(rendered)).unlink()  # the same render, the long way
    second = subprocess.run([MICRODRAMA, "render", str(rendered)], capture_output=True, text=True, env=wide)
    assert first.returncode == second.returncode == 0, first.stderr + second.stderr
    note = "nothing changed since the last complete render"
    assert note in first.stdout and note not in second.stdout

    def report(stdout: str) -> list[str]:  # without the long way's progress lines and the receipt's note
        return [line for line in stdout.splitlines() if not re.match(rf"shots \d+/\d+ |{note}", line)]

    assert report(first.stdout) == report(second.stdout)
    assert "0 rendered" in first.stdout and "e02.mp4" in first.stdout
    assert standing_receipt(SeriesPaths(rendered)) is not None  # the long way wrote it again


@pytest.mark.parametrize("change", ["touch a take", "delete an episode", "edit microdrama.toml", "set MICRODRAMA_",
                                    "edit the plan", "add an episode file", "damage the receipt"])
def test_any_change_it_rests_on_sends_the_command_the_long_way(rendered, change, monkeypatch):
    paths = SeriesPaths(rendered)
    if change == "touch a take":
        take = next((rendered / "cache").glob("voice-*.wav"))
        os.utime(take, ns=(take.stat().st_atime_ns, take.stat().st_mtime_ns + 1))
    elif change == "delete an episode":
        (rendered / "out" / "e02.mp4").unlink()
    elif change == "edit microdrama.toml":
        (rendered / "microdrama.toml").write_text("[run]\nsubtitles = \"soft\"\n", encoding="utf-8")
    elif change == "set MICRODRAMA_":
        monkeypatch.setenv("MICRODRAMA_SUBTITLES", "soft")
    elif change == "edit the plan":
        plan = rendered / "plan" / "e02.yaml"
        plan.write_text(plan.read_text(encoding="utf-8").replace("move: pull-out", "move: tilt-up", 1), encoding="utf-8")
    elif change == "add an episode file":
        (rendered / "plan" / "e03.yaml").write_text("", encoding="utf-8")
    else:
        receipt_path(paths).write_text("{not json", encoding="utf-8")
    assert standing_receipt(paths) is None


def test_a_deleted_episode_is_assembled_again_and_a_new_receipt_kept(rendered):
    (rendered / "out" / "e02.mp4").unlink()
    state = render(rendered)
    assert [o.mastered for o in state.outputs] == [False, True]
    assert standing_receipt(SeriesPaths(rendered)) is not None


def test_settings_given_in_code_are_compared_too(rendered):
    """Settings built by a caller (the studio, a test) are not in microdrama.toml: their digest is."""
    state = render(rendered, allow_failed=None)
    assert all(not o.mastered for o in state.outputs)
    with Project(Settings(series_dir=rendered, subtitles="soft")) as project:
        outcome = project.render(RenderRequest())
    assert [o.mastered for o in outcome.state.outputs] == [True, True]  # soft subtitles: muxed again


def test_a_partial_or_failed_render_keeps_no_receipt(rendered, monkeypatch):
    render(rendered, RenderRequest(scenes=["e01s01"], force=True))
    assert not receipt_path(SeriesPaths(rendered)).exists()
    render(rendered)
    assert standing_receipt(SeriesPaths(rendered)) is not None

    from microdrama.pipeline.render.backends.animatic import AnimaticVideo

    def broken(self, request):
        raise RuntimeError("no picture")

    monkeypatch.setattr(AnimaticVideo, "render", broken)
    render(rendered, RenderRequest(scenes=["e01s01"], force=True))
    render(rendered)  # the forced scene failed again: nothing to assemble e01 from
    assert not receipt_path(SeriesPaths(rendered)).exists()


def test_status_reads_the_receipt_and_lists_an_episode(rendered):
    receipt = json.loads(receipt_path(SeriesPaths(rendered)).read_text(encoding="utf-8"))
    done = subprocess.run([MICRODRAMA, "status", str(rendered), "--episode", "e02"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert all(shot in done.stdout for shot in receipt["episodes"]["e02"])
    assert "next render: nothing to do" in done.stdout
    wrong = subprocess.run([MICRODRAMA, "status", str(rendered), "--episode", "e09"], capture_output=True, text=True)
    assert wrong.returncode != 0 and "e01, e02" in wrong.stderr


def test_a_reference_file_is_recorded_by_its_place_in_the_folder(rendered, tmp_path):
    """A keyframe enters the keys by its content: the receipt records it relative to the folder,
    so a copied folder keeps its receipt, and a replaced keyframe sends the copy the long way."""
    import shutil

    from PIL import Image

    (rendered / "keyframes").mkdir()
    Image.new("RGB", (16, 16), (200, 40, 40)).save(rendered / "keyframes" / "anna.png")
    folder = SeriesFolder(rendered)
    series = folder.load_series()
    series.character("anna").keyframe = "keyframes/anna.png"
    folder.save_series(series)
    render(rendered, yes=True)
    recorded = json.loads(receipt_path(SeriesPaths(rendered)).read_text(encoding="utf-8"))["files"]
    assert "keyframes/anna.png" in recorded
    copy = shutil.copytree(rendered, tmp_path / "copy", symlinks=True)
    assert standing_receipt(SeriesPaths(copy)) is not None
    Image.new("RGB", (16, 16), (40, 40, 200)).save(copy / "keyframes" / "anna.png")
    assert standing_receipt(SeriesPaths(copy)) is None
