"""The consistency audit on a real render of the tiny fixture: the clean episodes pass, and each
planted defect (re-mastered through the real assembly) is reported at the shot or line it
concerns, with its measured value."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest

from microdrama.pipeline.edit import assemble, ffmpeg, master
from microdrama.pipeline.edit.audio import read_wav
from microdrama.pipeline.review.audit import (
    NO_CLIP_MODEL, AuditOptions, analysis_size, AuditReport, Check, Verdict, audit_episode, palette_share,
    write_report,
)
from microdrama.pipeline.render.backends.animatic import AnimaticVideo
from microdrama.pipeline.core.models import Series
from microdrama.pipeline.render.renderer import video_request, write_video
from microdrama.pipeline.core.store import SeriesFolder
from microdrama.pipeline.edit.timeline import Timeline
from tiny_show import RenderedShow, render_tiny_show, changed


@pytest.fixture(scope="module")
def show(tmp_path_factory) -> RenderedShow:
    """The tiny fixture (144x256, 12 fps), planned, approved and rendered once for the module."""
    return render_tiny_show(tmp_path_factory.mktemp("audit") / "tiny-show")


def audit(show: RenderedShow, timeline: Timeline, video: Path, subtitles: Path, series: Series | None = None,
          **kwargs) -> AuditReport:
    """The episode's audit, measured twice: from nothing, and with what the render's own audit
    kept of the clean episodes (state/audit: a planted defect's shots are measured again, the
    rest come from there). The two must agree."""
    episode = show.episode(timeline.episode_id)
    fresh = audit_episode(timeline, episode, series or show.series, video, subtitles, **kwargs)
    with tempfile.TemporaryDirectory() as kept:
        shutil.copytree(show.folder / "state" / "audit", kept, dirs_exist_ok=True)
        incremental = audit_episode(timeline, episode, series or show.series, video, subtitles, kept=Path(kept),
                                    **kwargs)
    assert incremental.checks == fresh.checks
    return fresh


def remaster(timeline: Timeline, folder: Path) -> tuple[Path, Path]:
    """The episode assembled again from a (defective) timeline, by the real assembly."""
    video, subtitles, _ = assemble.master(timeline, SeriesFolder(folder))
    return video, subtitles


def with_segment(timeline: Timeline, shot_id: str, path: Path) -> Timeline:
    video = tuple(changed(c, path=path) if c.shot_id == shot_id else c for c in timeline.video)
    return changed(timeline, video=video)


def with_line_audio(timeline: Timeline, line_id: str, path: Path) -> Timeline:
    lines = tuple(changed(l, path=path) if l.line_id == line_id else l for l in timeline.dialogue)
    return changed(timeline, dialogue=lines)


def lines_in(timeline: Timeline, shot_id: str) -> set[str]:
    return {line.line_id for line in timeline.dialogue if line.shot_id == shot_id}


def clip(timeline: Timeline, shot_id: str):
    return next(c for c in timeline.video if c.shot_id == shot_id)


def segment_frames(show: RenderedShow, timeline: Timeline, shot_id: str) -> list[np.ndarray]:
    return list(ffmpeg.read_frames(clip(timeline, shot_id).path, show.series.width, show.series.height))


def encode(show: RenderedShow, frames: list[np.ndarray], path: Path) -> Path:
    ffmpeg.encode_frames(frames, path, show.series.width, show.series.height, show.series.fps)
    return path


def named(report: AuditReport, name: str) -> list[Check]:
    return [c for c in report.checks if c.name == name]


def places(checks: list[Check]) -> set[tuple[str, str]]:
    return {(c.name, c.where) for c in checks}


# --- the clean render --------------------------------------------------------------------------


@pytest.mark.parametrize("episode_id", ["e01", "e02"])
def test_a_clean_episode_passes_every_check(show, episode_id):
    timeline = show.timelines[episode_id]
    report = audit(show, timeline, show.video(episode_id), show.subtitles(episode_id))
    assert report.errors == [] and report.warnings == []
    assert {c.verdict for c in report.checks} == {Verdict.PASS}
    assert {c.where for c in named(report, "shot-present")} == {c.shot_id for c in timeline.video}
    assert {c.where for c in named(report, "subtitle-sync")} == {l.line_id for l in timeline.dialogue}
    framed = {s.id for s in show.episode(episode_id).shots if s.characters and s.type.value != "INSERT"}
    assert {c.where for c in named(report, "character-identity")} == framed


def test_loudness_true_peak_and_drift_report_measured_values(show):
    report = audit(show, show.timelines["e01"], show.video("e01"), show.subtitles("e01"))
    checks = {c.name: c for c in report.checks if c.where == "e01"}
    assert checks["loudness"].measured == pytest.approx(-16, abs=1) and checks["loudness"].threshold == "-16±1"
    assert checks["true-peak"].measured <= -1 and checks["true-peak"].threshold == -1
    assert abs(checks["av-duration"].measured) <= 0.1 and abs(checks["av-drift"].measured) <= 0.1
    assert checks["episode-length"].measured == show.timelines["e01"].duration_frames


# --- planted defects ---------------------------------------------------------------------------


def test_swapped_shots_are_reported_at_both_shots(show, tmp_path):
    timeline = show.timelines["e01"]
    first, second = clip(timeline, "e01s01k01"), clip(timeline, "e01s01k02")
    swapped = with_segment(with_segment(timeline, first.shot_id, second.path), second.shot_id, first.path)
    video, subtitles = remaster(swapped, tmp_path)
    report = audit(show, timeline, video, subtitles)
    # Anna's shot now shows the empty hallway: her palette is missing there too, rightly.
    assert places(report.errors) - {("character-identity", "e01s01k02")} == {
        ("shot-present", "e01s01k01"), ("shot-present", "e01s01k02")}
    opening = next(c for c in report.errors if c.where == "e01s01k01")
    assert "e01s01k02" in opening.message and opening.measured < opening.threshold


def test_a_shot_of_the_wrong_length_is_reported_first_at_that_shot(show, tmp_path):
    timeline = show.timelines["e01"]
    frames = segment_frames(show, timeline, "e01s01k02")
    short = with_segment(timeline, "e01s01k02", encode(show, frames[:-3], tmp_path / "short.mp4"))
    video, subtitles = remaster(short, tmp_path)
    report = audit(show, short, video, subtitles)
    present = named(report, "shot-present")
    assert present[0].verdict == Verdict.PASS
    assert present[1].where == "e01s01k02" and present[1].verdict == Verdict.ERROR
    assert "cut short or too long" in present[1].message
    assert present[-1].verdict == Verdict.ERROR  # the later shots are shifted
    length = named(report, "episode-length")[0]
    assert length.verdict == Verdict.ERROR and length.measured == timeline.duration_frames - 3


def test_a_failed_shot_standing_in_as_a_slate_is_an_error_at_that_shot(show):
    timeline = show.timelines["e02"]
    failed = changed(timeline, video=tuple(
        changed(c, slate="failed in a test") if c.shot_id == "e02s01k02" else c for c in timeline.video))
    report = audit(show, failed, show.video("e02"), show.subtitles("e02"))
    assert places(report.errors) == {("shot-present", "e02s01k02")}
    assert "failed to render" in report.errors[0].message


def test_a_truncated_line_is_reported_at_that_line(show, tmp_path):
    timeline = show.timelines["e01"]
    line = next(l for l in timeline.dialogue if l.line_id == "e01s02l02")
    samples, rate = read_wav(line.path)
    ffmpeg.write_wav(tmp_path / "half.wav", samples[: len(samples) // 2], rate)
    video, subtitles = remaster(with_line_audio(timeline, line.line_id, tmp_path / "half.wav"), tmp_path)
    report = audit(show, timeline, video, subtitles)
    assert {c.where for c in report.errors} == {"e01s02l02"}
    complete = named(report, "line-complete")
    truncated = next(c for c in complete if c.where == "e01s02l02")
    assert truncated.verdict == Verdict.ERROR and 0.2 < truncated.measured < 0.8
    assert all(c.verdict == Verdict.PASS for c in complete if c.where != "e01s02l02")


def test_a_line_silent_in_the_mix_is_reported_at_that_line(show, tmp_path):
    timeline = show.timelines["e01"]
    line = timeline.dialogue[0]
    samples, rate = read_wav(line.path)
    ffmpeg.write_wav(tmp_path / "silence.wav", np.zeros_like(samples), rate)
    video, subtitles = remaster(with_line_audio(timeline, line.line_id, tmp_path / "silence.wav"), tmp_path)
    report = audit(show, timeline, video, subtitles)
    assert places(report.errors) == {("line-audible", line.line_id)}
    assert "silent in the episode" in report.errors[0].message and report.errors[0].measured < 0.2


def test_a_line_rendered_as_silence_is_reported_at_that_line(show, tmp_path):
    timeline = show.timelines["e01"]
    line = timeline.dialogue[0]
    samples, rate = read_wav(line.path)
    ffmpeg.write_wav(tmp_path / "silence.wav", np.zeros_like(samples), rate)
    silent = with_line_audio(timeline, line.line_id, tmp_path / "silence.wav")
    video, subtitles = remaster(silent, tmp_path)
    report = audit(show, silent, video, subtitles)
    assert places(report.errors) == {("line-audible", line.line_id)}
    assert "rendered audio is silent" in report.errors[0].message


def test_a_wrong_palette_is_reported_at_that_shot(show, tmp_path):
    """The shot re-rendered with another description of Anna than the bible's."""
    timeline, episode = show.timelines["e01"], show.episode("e01")
    scene = episode.scenes[0]
    shot = next(s for s in scene.shots if s.id == "e01s01k02")
    other = show.series.model_copy(deep=True)
    other.character("anna").description = "30s, green coat, blonde bob"
    request = video_request(shot, scene, other, show.folder)
    write_video(AnimaticVideo(AnimaticVideo.Options()).render(request), tmp_path / "other.mp4", request)
    defective = with_segment(timeline, shot.id, tmp_path / "other.mp4")
    video, subtitles = remaster(defective, tmp_path)
    report = audit(show, defective, video, subtitles)
    assert places(report.errors) == {("character-identity", "e01s01k02")}
    assert "ANNA" in report.errors[0].message and report.errors[0].measured < 0.01


def test_a_black_segment_is_reported_at_that_shot(show, tmp_path):
    timeline = show.timelines["e01"]
    target = clip(timeline, "e01s01k03")
    black = np.zeros((show.series.height, show.series.width, 3), np.uint8)
    defective = with_segment(timeline, target.shot_id, encode(show, [black] * target.duration_frames, tmp_path / "b.mp4"))
    video, subtitles = remaster(defective, tmp_path)
    report = audit(show, defective, video, subtitles)
    assert ("shot-black", "e01s01k03") in places(report.errors)
    # Anna is not seen either, nor her mouth moving with her lines in the shot
    assert {c.where for c in report.errors if c.name != "mouth-moves"} == {"e01s01k03"}
    assert {c.where for c in report.errors if c.name == "mouth-moves"} <= lines_in(timeline, "e01s01k03")


def test_a_frozen_segment_is_reported_at_that_shot(show, tmp_path):
    timeline = show.timelines["e01"]
    frames = segment_frames(show, timeline, "e01s01k02")  # a push-in
    defective = with_segment(timeline, "e01s01k02", encode(show, [frames[0]] * len(frames), tmp_path / "f.mp4"))
    video, subtitles = remaster(defective, tmp_path)
    report = audit(show, defective, video, subtitles)
    assert places(report.errors) == {("shot-frozen", "e01s01k02")}
    assert report.errors[0].measured < report.errors[0].threshold


def test_two_consecutive_shots_showing_one_picture_are_a_duplicate_warning(show, tmp_path):
    timeline = show.timelines["e01"]
    picture = segment_frames(show, timeline, "e01s01k03")[0]
    defective = timeline
    for shot_id in ("e01s01k03", "e01s01k04"):
        still = encode(show, [picture] * clip(timeline, shot_id).duration_frames, tmp_path / f"{shot_id}.mp4")
        defective = with_segment(defective, shot_id, still)
    video, subtitles = remaster(defective, tmp_path)
    report = audit(show, defective, video, subtitles)
    assert places(report.warnings) == {("shot-duplicate", "e01s01k04")}
    # a still picture of a speaker: the mouth does not move with the line
    assert {c.name for c in report.errors} <= {"mouth-moves"}
    assert {c.where for c in report.errors} <= lines_in(timeline, "e01s01k03") | lines_in(timeline, "e01s01k04")


def test_a_colour_jump_within_a_scene_is_a_warning_at_the_cut(show, tmp_path):
    timeline = show.timelines["e01"]
    tint = np.array([0.25, 0.35, 1.0], np.float32)
    frames = [(frame * tint).astype(np.uint8) for frame in segment_frames(show, timeline, "e01s02k01")]
    defective = with_segment(timeline, "e01s02k01", encode(show, frames, tmp_path / "tinted.mp4"))
    video, subtitles = remaster(defective, tmp_path)
    report = audit(show, defective, video, subtitles)
    assert report.errors == [] and places(report.warnings) == {("colour-continuity", "e01s02k02")}
    assert report.warnings[0].measured > report.warnings[0].threshold


def test_audio_late_against_the_picture_is_drift(show, tmp_path):
    late = tmp_path / "late.mp4"
    ffmpeg.run(["-loglevel", "error", "-i", str(show.video("e01")), "-map", "0:v", "-map", "0:a", "-c:v", "copy",
                "-af", "adelay=250:all=1", "-c:a", "aac", "-b:a", "192k", "-y", str(late)])
    report = audit(show, show.timelines["e01"], late, show.subtitles("e01"))
    drift = next(c for c in report.checks if c.name == "av-drift")
    assert drift.verdict == Verdict.ERROR and drift.measured == pytest.approx(0.25, abs=0.02)
    assert next(c for c in report.checks if c.name == "av-duration").verdict == Verdict.ERROR
    assert {c.verdict for c in named(report, "subtitle-sync")} == {Verdict.ERROR}


def test_a_quiet_master_fails_the_loudness_check(show, tmp_path):
    quiet = tmp_path / "quiet.mp4"
    ffmpeg.run(["-loglevel", "error", "-i", str(show.video("e01")), "-map", "0:v", "-map", "0:a", "-c:v", "copy",
                "-af", "volume=-10dB", "-c:a", "aac", "-b:a", "192k", "-y", str(quiet)])
    report = audit(show, show.timelines["e01"], quiet, show.subtitles("e01"))
    assert places(report.errors) == {("loudness", "e01")}
    assert report.errors[0].measured == pytest.approx(-26, abs=1)


def test_an_unreadable_segment_is_reported_at_its_shot_and_the_others_still_measured(show, tmp_path):
    timeline = show.timelines["e02"]
    (tmp_path / "broken.mp4").write_bytes(b"not a video")
    broken = with_segment(timeline, "e02s01k02", tmp_path / "broken.mp4")
    report = audit(show, broken, show.video("e02"), show.subtitles("e02"))
    assert places(report.errors) == {("shot-present", "e02s01k02")}
    assert "cannot be read" in report.errors[0].message
    assert all(c.verdict == Verdict.PASS for c in named(report, "shot-present") if c.where != "e02s01k02")


# --- identity in neural shots ------------------------------------------------------------------


def neural(timeline: Timeline) -> dict[str, str]:
    """Every shot marked as drawn by a neural backend (as `ShotRender.backend` would say)."""
    return {c.shot_id: "diffusers" for c in timeline.video}


def test_an_episode_file_cut_short_before_its_sound_is_reported_not_a_crash(show, tmp_path):
    """A fifth of the file is left, none of its sound: what is left is measured, and the shots
    and the sound it lost are errors."""
    timeline, video = show.timelines["e01"], tmp_path / "e01.mp4"
    data = show.video("e01").read_bytes()
    video.write_bytes(data[: len(data) // 5])
    report = audit(show, timeline, video, show.subtitles("e01"))
    assert ("episode-length", "e01") in places(report.errors)
    assert ("shot-present", timeline.video[-1].shot_id) in places(report.errors)


def test_neural_shots_without_a_clip_model_are_skipped_with_the_reason(show):
    timeline = show.timelines["e01"]
    report = audit(show, timeline, show.video("e01"), show.subtitles("e01"), backend_by_shot=neural(timeline))
    identity = named(report, "character-identity")
    assert identity and all(c.verdict == Verdict.SKIPPED and NO_CLIP_MODEL in c.message for c in identity)
    assert report.errors == []


def tiny_clip(folder: Path) -> Path:
    """A random-weight CLIP saved like a real one (model + image processor), built offline."""
    import torch
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel

    torch.manual_seed(0)
    layers = {"hidden_size": 32, "intermediate_size": 37, "num_attention_heads": 4, "num_hidden_layers": 2}
    text = {**layers, "vocab_size": 99, "max_position_embeddings": 32, "bos_token_id": 0, "eos_token_id": 1,
            "pad_token_id": 1}
    vision = {**layers, "image_size": 32, "patch_size": 8}
    CLIPModel(CLIPConfig(text_config=text, vision_config=vision, projection_dim=16)).save_pretrained(folder)
    CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}).save_pretrained(folder)
    return folder


def test_clip_identity_flags_the_shot_that_stands_out_from_the_characters_others(show, tmp_path):
    """Anna's keyframe is her own picture; one of her shots is replaced by the empty street."""
    pytest.importorskip("transformers")
    timeline = show.timelines["e01"]
    keyframe = segment_frames(show, timeline, "e01s01k03")[0]
    from PIL import Image

    Image.fromarray(keyframe).save(tmp_path / "anna.png")
    series = show.series.model_copy(deep=True)
    series.character("anna").keyframe = "anna.png"
    street = segment_frames(show, timeline, "e01s02k01")
    length = clip(timeline, "e01s02k04").duration_frames
    defective = with_segment(timeline, "e01s02k04", encode(show, street[:length], tmp_path / "street.mp4"))
    video, subtitles = remaster(defective, tmp_path)
    options = AuditOptions(clip_model=str(tiny_clip(tmp_path / "clip")))
    report = audit(show, defective, video, subtitles, series=series, options=options,
                   backend_by_shot=neural(timeline), series_dir=tmp_path)
    anna = [c for c in named(report, "character-identity") if "ANNA" in c.message]
    assert {c.where for c in anna} == {"e01s01k02", "e01s01k03", "e01s01k04", "e01s02k03", "e01s02k04"}
    assert places([c for c in anna if c.verdict == Verdict.WARNING]) == {("character-identity", "e01s02k04")}
    assert all(c.verdict == Verdict.PASS for c in anna if c.where != "e01s02k04")


# --- the report file ---------------------------------------------------------------------------


def test_the_report_round_trips_through_json(show, tmp_path):
    report = audit(show, show.timelines["e02"], show.video("e02"), show.subtitles("e02"))
    write_report(report, tmp_path / "e02.audit.json")
    text = (tmp_path / "e02.audit.json").read_text(encoding="utf-8")
    assert AuditReport.model_validate_json(text) == report
    assert json.loads(text)["checks"][0].keys() == {"name", "where", "threshold", "measured", "verdict", "message"}
    assert report.counts[Verdict.PASS] == len(report.checks) and report.counts[Verdict.ERROR] == 0


def test_write_report_never_leaves_half_a_file(show, tmp_path, monkeypatch):
    path = tmp_path / "e02.audit.json"
    path.write_text("previous report", encoding="utf-8")
    report = AuditReport(episode_id="e02", checks=[])

    def interrupted(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr("microdrama.pipeline.core.store.os.replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_report(report, path)
    assert path.read_text(encoding="utf-8") == "previous report"
    assert [p.name for p in tmp_path.iterdir()] == ["e02.audit.json"]  # no temporary left behind


def test_options_refuse_unknown_thresholds():
    with pytest.raises(ValueError, match="extra"):
        AuditOptions(black_threshold=0.5)


# --- what the audit keeps between audits -------------------------------------------------------


@pytest.fixture
def decoded(monkeypatch) -> list[tuple[str, Path]]:
    """Every decode of frames or sound the audit asks FFmpeg for: (how, which file)."""
    seen: list[tuple[str, Path]] = []
    for name in ("read_frames", "read_chosen_frames", "read_span", "read_end_frames", "read_segment", "read_audio",
                 "read_audio_span"):
        real = getattr(ffmpeg, name)

        def counting(path, *args, _real=real, _name=name, **kwargs):
            for one in (path if isinstance(path, list) else [path]):
                seen.append((_name, Path(one)))
            return _real(path, *args, **kwargs)

        monkeypatch.setattr(ffmpeg, name, counting)
    return seen


def test_the_episode_holds_each_segment_as_encoded_so_a_shot_frames_are_its_segment_frames(show):
    """The audit takes a shot's frames from its own segment where the episode holds the segment's
    packets under the same decoder set-up: the master copies them as they are, and they decode to
    the episode's frames, pixel for pixel."""
    timeline, video = show.timelines["e01"], show.video("e01")
    episode = ffmpeg.stream_packets(video)
    size = analysis_size(timeline.width, timeline.height, 72)
    numbers = list(range(0, timeline.duration_frames, 5))
    whole = ffmpeg.read_chosen_frames(video, *size, numbers)
    for segment in timeline.video:
        own = ffmpeg.stream_packets(segment.path)
        assert own.setup == episode.setup
        assert own.digests() == episode.digests(segment.start_frame, segment.duration_frames)
        inside = [n - segment.start_frame for n in numbers if 0 <= n - segment.start_frame < segment.duration_frames]
        read = ffmpeg.read_segment(segment.path, timeline.width, timeline.height, {size: inside}, []).chosen[size]
        assert inside and all(np.array_equal(read[n], whole[n + segment.start_frame]) for n in inside)


def test_an_unchanged_episode_is_audited_again_without_decoding_a_frame_or_measuring_the_sound(
        show, tmp_path, decoded, monkeypatch):
    from microdrama.pipeline.review import sound_audit

    timeline = show.timelines["e01"]
    episode, video, subtitles = show.episode("e01"), show.video("e01"), show.subtitles("e01")
    first = audit_episode(timeline, episode, show.series, video, subtitles, kept=tmp_path)
    assert {path.name for _, path in decoded} >= {"e01.mp4"}
    decoded.clear()
    sound = []
    real = sound_audit.whitened
    monkeypatch.setattr(sound_audit, "whitened", lambda *args: sound.append(args) or real(*args))
    again = audit_episode(timeline, episode, show.series, video, subtitles, kept=tmp_path)
    assert decoded == [] and sound == [] and again.checks == first.checks
    assert sorted(p.name for p in tmp_path.iterdir()) == ["e01.mouths.json", "e01.pictures", "e01.sound.json"]
    assert len(list((tmp_path / "e01.pictures").iterdir())) == len(timeline.video)


def test_a_changed_shot_is_the_only_one_decoded_again(show, tmp_path, decoded):
    timeline = show.timelines["e01"]
    target = clip(timeline, "e01s01k03")
    black = np.zeros((show.series.height, show.series.width, 3), np.uint8)
    defective = with_segment(timeline, target.shot_id, encode(show, [black] * target.duration_frames, tmp_path / "b.mp4"))
    video, subtitles = remaster(defective, tmp_path)
    kept = tmp_path / "kept"
    shutil.copytree(show.folder / "state" / "audit", kept)
    decoded.clear()
    report = audit_episode(defective, show.episode("e01"), show.series, video, subtitles, kept=kept)
    assert ("shot-black", "e01s01k03") in places(report.errors)
    # the episode holds the new segment's packets, so its frames are the segment's: only that is decoded
    assert [(how, path.name) for how, path in decoded if path == video] == []
    assert {path for _, path in decoded if path != video} == {tmp_path / "b.mp4"}


def test_an_edited_line_measures_again_only_the_sound_near_it(show, tmp_path, monkeypatch, decoded):
    """A new take of the last line: the audit finds that line again, decoding only the sound
    around it, and what it kept of the rest of the sound stands; the report is the one a fresh
    audit of the new file gives."""
    from microdrama.pipeline.review import audit as audit_module

    timeline, episode = show.timelines["e01"], show.episode("e01")
    line = timeline.dialogue[-1]
    edited = take_keeping_the_gain(show, timeline, line, tmp_path / "take.wav")
    kept = tmp_path / "kept"
    audit_episode(timeline, episode, show.series, show.video("e01"), show.subtitles("e01"), kept=kept)
    video, subtitles = remaster(edited, tmp_path)
    found, real = [], audit_module.find_line
    monkeypatch.setattr(audit_module, "find_line", lambda clip, *args: found.append(clip.line_id) or real(clip, *args))
    decoded.clear()
    report = audit_episode(edited, episode, show.series, video, subtitles, kept=kept)
    assert line.line_id in found and len(found) < len(timeline.dialogue)
    assert {how for how, path in decoded if path == video} == {"read_audio_span"}  # not the whole sound
    monkeypatch.setattr(audit_module, "find_line", real)
    assert report.checks == audit_episode(edited, episode, show.series, video, subtitles).checks


def test_a_stretch_of_an_episode_decodes_to_the_samples_of_the_whole_decode(show):
    """The audit decodes only the stretches an edit reached (with the picture beside the sound,
    FFmpeg seeks otherwise than in sound alone: test_master.py has that case): the samples are
    the whole decode's, bit for bit."""
    video = show.video("e01")
    whole, audio = ffmpeg.read_audio(video, channels=2), ffmpeg.packets(video, "a")
    rng = np.random.default_rng(11)
    for low, high in [(0, 4000), (1500, 480000), (480000, 960000), (len(whole) - 3000, len(whole)),
                      *(sorted(rng.integers(0, len(whole), 2)) for _ in range(8))]:
        assert np.array_equal(ffmpeg.read_audio_span(video, audio, low, high), whole[low:high]), (low, high)


def test_an_ffmpeg_that_seeks_otherwise_has_the_whole_sound_decoded(show, tmp_path, monkeypatch):
    """Where a decode from a seek does not come out as read_audio_span expects, the audit decodes
    the whole sound, and measures as a fresh audit does."""
    timeline, episode = show.timelines["e02"], show.episode("e02")
    video, subtitles = show.video("e02"), show.subtitles("e02")
    fresh = audit_episode(timeline, episode, show.series, video, subtitles)
    audit_episode(timeline, episode, show.series, video, subtitles, kept=tmp_path)
    kept = json.loads((tmp_path / "e02.sound.json").read_text(encoding="utf-8"))
    (tmp_path / "e02.sound.json").write_text(json.dumps({"blocks": kept["blocks"]}), encoding="utf-8")
    monkeypatch.setattr(ffmpeg, "read_audio_span", lambda *args: None)
    assert audit_episode(timeline, episode, show.series, video, subtitles, kept=tmp_path).checks == fresh.checks


def take_keeping_the_gain(show: RenderedShow, timeline: Timeline, line, path: Path) -> Timeline:
    """The timeline with a new take of `line` (its samples reversed, at a level a little off the
    old) that leaves the episode's gain where it was: a take that moves the gain across its grid
    makes every chunk of the master again (master.py), and the mix around every line with it."""
    samples, rate = read_wav(line.path)
    edited = with_line_audio(timeline, line.line_id, path)

    def gain(timeline: Timeline) -> float:
        stems = master.Stems(timeline, show.folder)
        energies = [e for c in master.chunks(stems.total) for e in master.chunk_energies(stems.mix(*c.mixed), c)]
        return master.episode_gain_db(master.integrated_loudness(np.asarray(energies)))

    for level in (1.0, 1.03, 0.97, 1.06, 0.94):
        ffmpeg.write_wav(path, samples[::-1] * level, rate)
        if gain(edited) == gain(timeline):
            return edited
    raise AssertionError("every take tried moves the episode's gain")


def test_a_damaged_kept_file_is_measured_again(show, tmp_path):
    timeline, episode = show.timelines["e02"], show.episode("e02")
    video, subtitles = show.video("e02"), show.subtitles("e02")
    fresh = audit_episode(timeline, episode, show.series, video, subtitles)
    audit_episode(timeline, episode, show.series, video, subtitles, kept=tmp_path)
    for picture in (tmp_path / "e02.pictures").iterdir():
        picture.write_bytes(b"not a zip")
    (tmp_path / "e02.mouths.json").write_text("{", encoding="utf-8")
    (tmp_path / "e02.sound.json").write_text('{"a": 1}', encoding="utf-8")
    assert audit_episode(timeline, episode, show.series, video, subtitles, kept=tmp_path).checks == fresh.checks
    assert audit_episode(timeline, episode, show.series, video, subtitles, kept=tmp_path).checks == fresh.checks
    kept = json.loads((tmp_path / "e02.sound.json").read_text(encoding="utf-8"))
    # damaged block names: the sound is decoded whole; no measurements: all made on decoded blocks
    for damaged in ({**kept, "blocks": 5}, {"blocks": kept["blocks"]}):
        (tmp_path / "e02.sound.json").write_text(json.dumps(damaged), encoding="utf-8")
        assert audit_episode(timeline, episode, show.series, video, subtitles, kept=tmp_path).checks == fresh.checks


def test_the_palette_share_counts_pixels_within_the_tolerance_in_every_channel():
    frame = np.array([[[10, 250, 0], [0, 255, 30], [11, 240, 5], [0, 245, 10]]], np.uint8)
    assert palette_share(frame, (0, 255, 0), 10) == 0.5  # the first and last; 30 and 11 are out
    assert palette_share(frame, (0, 255, 0), 0) == 0.0
    assert palette_share(frame, (128, 128, 128), 255) == 1.0
