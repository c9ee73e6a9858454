"""The application layer the CLI calls, against the defects of the old spine: each test failed
before the redesign (old request resumed, audit of a checkpoint, two cuts, subtitles twice, no
lock, absolute paths in keys, unexplained extra renders)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import opentimelineio as otio
import pytest

from microdrama.pipeline.app import Project
from microdrama.pipeline.core.cache import artifact_key
from microdrama.pipeline.core.config import Settings
from microdrama.pipeline.core.errors import InputError, SeriesLocked
from microdrama.pipeline.core.snapshot import current_digest, load_snapshot
from microdrama.pipeline.edit import ffmpeg
from microdrama.pipeline.edit.timeline import read_timeline, timeline_path
from microdrama.pipeline.graph.state import RenderRequest
from microdrama.pipeline.render.backends import VideoRequest
from microdrama.pipeline.render.backends.animatic import AnimaticVideo
from tiny_show import approved_show, render, rendered_show

MICRODRAMA = str(Path(sys.executable).with_name("microdrama"))

KILL_AFTER_SHOTS = textwrap.dedent("""
    import os, sys
    from pathlib import Path
    from microdrama.pipeline.render.backends.animatic import AnimaticVideo
    original, seen = AnimaticVideo.render, []

    def render(self, request):
        seen.append(request.shot_id)
        if len(seen) == 2:
            os._exit(9)
        return original(self, request)

    AnimaticVideo.render = render
    from microdrama.pipeline.app import Project
    from microdrama.pipeline.core.config import Settings
    from microdrama.pipeline.graph.state import RenderRequest
    with Project(Settings(series_dir=Path(sys.argv[1]), render_concurrency=1)) as project:
        project.render(RenderRequest(scenes=[sys.argv[2]], force=True))
""")


def kill_render_of(folder: Path, scene: str) -> None:
    died = subprocess.run([sys.executable, "-c", KILL_AFTER_SHOTS, str(folder), scene], capture_output=True, text=True)
    assert died.returncode == 9, died.stderr


def test_a_different_request_after_a_killed_render_is_not_swallowed_by_the_old_one(rendered, calls):
    show = rendered
    kill_render_of(show, "e01s02")
    state = render(show, RenderRequest(scenes=["e02s01"], force=True))
    rendered = {key.split(":")[1] for key in calls if key.startswith("video:")}
    assert rendered and all(shot.startswith("e02s01k") for shot in rendered)
    assert [o.id for o in state.outputs] == ["e02"]


def test_the_same_request_after_a_kill_resumes_without_redoing_finished_shots(rendered, calls):
    show = rendered
    kill_render_of(show, "e01s02")
    render(show, RenderRequest(scenes=["e01s02"], force=True))
    timeline = read_timeline(timeline_path(show / "out", "e01"), show)
    scene_shots = [c.shot_id for c in timeline.video if c.scene_id == "e01s02"]
    assert calls["video"] == len(scene_shots) - 1  # the one shot finished before the kill is kept


def test_an_edit_after_a_killed_render_is_not_ignored(tmp_path):
    show = rendered_show(tmp_path / "show")
    kill_render_of(show, "e01s02")
    path = show / "plan" / "e01.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("move: pan-right", "move: tilt-down", 1), encoding="utf-8")
    with pytest.raises(InputError, match="edited since approval"):
        render(show)
    render(show, yes=True)
    timeline = read_timeline(timeline_path(show / "out", "e01"), show)
    with Project(Settings(series_dir=show)) as project:
        assert project.approved() and timeline.snapshot == current_digest(project.folder)
    assert any(s.move == "tilt-down" for s in load_snapshot(project.folder, timeline.snapshot).episodes[0].shots)


def test_audit_reports_an_invalid_plan_file_instead_of_passing(tmp_path):
    show = rendered_show(tmp_path / "show")
    path = show / "plan" / "e01.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("type: EWS", "type: DRONE", 1), encoding="utf-8")
    done = subprocess.run([MICRODRAMA, "audit", str(show), "--strict"], capture_output=True, text=True)
    assert done.returncode == 1, done.stdout
    assert "plan-valid" in done.stdout


def test_audit_after_a_scene_render_covers_every_assembled_episode(tmp_path):
    show = rendered_show(tmp_path / "show")
    render(show, RenderRequest(scenes=["e01s02"], force=True))
    with Project(Settings(series_dir=show)) as project:
        assert [p.report.episode_id for p in project.audit()] == ["e01", "e02"]
        assert [p.report.episode_id for p in project.audit("e02")] == ["e02"]


def test_with_allow_failed_the_mp4_the_export_and_the_audit_agree_on_the_slate(tmp_path, monkeypatch):
    show = approved_show(tmp_path / "show")
    original = AnimaticVideo.render

    def failing(self, request):
        if request.shot_id == "e01s01k02":
            raise RuntimeError("simulated failure")
        return original(self, request)

    monkeypatch.setattr(AnimaticVideo, "render", failing)
    render(show, allow_failed=True, render_attempts=1)
    timeline = read_timeline(timeline_path(show / "out", "e01"), show)
    clip = next(c for c in timeline.video if c.shot_id == "e01s01k02")
    assert clip.failed and clip.path.is_file() and "slate" in clip.path.name
    cut = otio.adapters.read_from_file(str(show / "out" / "e01.otio"))
    refs = {c.name: c.media_reference.target_url for c in cut.find_clips()}
    assert refs["e01s01k02"].endswith(clip.path.name)
    report = json.loads((show / "out" / "e01.audit.json").read_text(encoding="utf-8"))
    present = next(c for c in report["checks"] if c["name"] == "shot-present" and c["where"] == "e01s01k02")
    assert "a slate stands in" in present["message"]


def test_burned_subtitles_end_with_the_voice_like_the_srt_and_no_second_track(tmp_path, monkeypatch):
    show = approved_show(tmp_path / "show")
    burned: dict[str, list] = {}
    original = AnimaticVideo.render

    def capture(self, request: VideoRequest):
        burned[request.shot_id] = [(s.start_frame, s.end_frame) for s in request.subtitles]
        return original(self, request)

    monkeypatch.setattr(AnimaticVideo, "render", capture)
    render(show)
    timeline = read_timeline(timeline_path(show / "out", "e01"), show)
    starts = {c.shot_id: c.start_frame for c in timeline.video}
    for line in timeline.dialogue:
        shot_start = starts[line.shot_id]
        end = min(line.start_frame + line.duration_frames, line.planned_end_frame)
        assert (line.start_frame - shot_start, end - shot_start) in burned[line.shot_id]
    assert ffmpeg.probe(show / "out" / "e01.mp4").first("subtitle") is None


def test_soft_subtitles_are_a_track_and_nothing_is_burned(tmp_path, monkeypatch):
    show = approved_show(tmp_path / "show")
    (show / "microdrama.toml").write_text('[run]\nsubtitles = "soft"\n', encoding="utf-8")
    burn = []
    original = AnimaticVideo.render
    monkeypatch.setattr(AnimaticVideo, "render", lambda self, r: (burn.append(r.burn_subtitles), original(self, r))[1])
    render(show)
    assert burn and not any(burn)
    assert ffmpeg.probe(show / "out" / "e01.mp4").first("subtitle").codec == "mov_text"


def test_a_second_writer_is_refused_naming_the_holder(tmp_path):
    show = rendered_show(tmp_path / "show")
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time
        from pathlib import Path
        from microdrama.pipeline.core.lock import series_lock
        with series_lock(Path({str(show / 'state')!r}), "microdrama render {show}"):
            print("held", flush=True)
            time.sleep(30)
    """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(SeriesLocked, match=f"pid {holder.pid}"):
            render(show)
        done = subprocess.run([MICRODRAMA, "status", str(show)], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0  # readers never block
    finally:
        holder.kill()
        holder.wait()


def test_a_moved_series_folder_re_renders_nothing(rendered, calls, tmp_path):
    show = rendered
    moved = tmp_path / "elsewhere" / "show"
    shutil.move(str(show), moved)
    before = (moved / "out" / "e01.mp4").stat().st_mtime_ns
    state = render(moved)
    assert sum(calls.values()) == 0 and all(r.cached for r in state.renders)
    assert (moved / "out" / "e01.mp4").stat().st_mtime_ns == before  # not even re-mastered


def test_a_moved_models_folder_keeps_its_keys(tmp_path):
    for name in ("a", "b"):
        (tmp_path / name / "model").mkdir(parents=True)
        (tmp_path / name / "model" / "config.json").write_text('{"layers": 2}', encoding="utf-8")
    request = VideoRequest.model_validate({
        "shot_id": "e01s01k01", "prompt": "x", "width": 16, "height": 16, "fps": 8, "num_frames": 1, "seed": 1,
        "shot_type": "MS", "move": "static", "setting": "INT", "time_of_day": "day",
        "location": {"id": "room", "name": "Room", "keyframe": str(tmp_path / "a" / "k.png"), "keyframe_digest": "d"}})
    moved = request.model_copy(update={"location": request.location.model_copy(
        update={"keyframe": str(tmp_path / "b" / "k.png")})})
    keys = {artifact_key("diffusers", "1", {"model": str(tmp_path / name / "model")}, r)
            for name, r in (("a", request), ("b", moved))}
    assert len(keys) == 1
    (tmp_path / "c" / "model").mkdir(parents=True)
    (tmp_path / "c" / "model" / "config.json").write_text('{"layers": 3}', encoding="utf-8")  # other weights
    assert artifact_key("diffusers", "1", {"model": str(tmp_path / "c" / "model")}, moved) not in keys


def test_a_shot_render_names_the_stale_shots_it_renders_beside_it(tmp_path):
    show = rendered_show(tmp_path / "show")
    folder_series = show / "series.yaml"
    folder_series.write_text(folder_series.read_text(encoding="utf-8").replace("colour: red", "colour: crimson"), encoding="utf-8")
    done = subprocess.run([MICRODRAMA, "render", str(show), "--shot", "e01s01k01", "--yes"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    state_extra = [line for line in done.stdout.splitlines() if "outside the selection" in line]
    assert state_extra and "e01s01k01" not in state_extra[0].split(":")[-1]


def test_gc_lists_and_deletes_only_unreferenced_artifacts(tmp_path):
    show = rendered_show(tmp_path / "show")
    orphan = show / "cache" / "video-0000000000000000deadbeef.mp4"
    orphan.write_bytes(b"x" * 1000)
    with Project(Settings(series_dir=show)) as project:
        listed = project.gc()
        assert listed.files == [orphan] and listed.bytes == 1000 and orphan.is_file()
        deleted = project.gc(delete=True)
        assert deleted.files == [orphan] and not orphan.exists()
    again = render(show)
    assert all(r.cached for r in again.renders)  # nothing referenced was deleted


def test_no_checkpoint_holds_a_copy_of_the_bible_or_the_plan(rendered):
    """Branch payloads and states are ids and digests: a character's description (bible) and a
    shot's action (plan) appear in no checkpoint row and no pending write."""
    import sqlite3

    with sqlite3.connect(rendered / "state" / "checkpoints.sqlite") as conn:
        blobs = [row[0] for table in ("checkpoints", "writes")
                 for row in conn.execute(f"SELECT {'checkpoint' if table == 'checkpoints' else 'value'} FROM {table}")]
    assert blobs
    for needle in (b"red coat", b"knocks twice"):
        assert not any(needle in blob for blob in blobs if blob)


def test_a_series_folder_given_relative_to_the_working_directory_renders_and_audits(tmp_path):
    approved_show(tmp_path / "show")
    for command in (["render", "show"], ["audit", "show", "--strict"], ["status", "show"]):
        done = subprocess.run([MICRODRAMA, *command], cwd=tmp_path, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
    timeline = read_timeline(timeline_path(tmp_path / "show" / "out", "e01"), tmp_path / "show")
    assert all(clip.path.is_file() for clip in timeline.video)
    assert json.loads((tmp_path / "show" / "out" / "e01.timeline.json").read_text())["video"][0]["path"].startswith("cache/")
