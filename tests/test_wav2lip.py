"""The lip-sync pass: the `wav2lip` backend on a random-weight Wav2Lip built from the `lipsync`
package's own model class and saved as a checkpoint, loaded through the backend's load path; and
the route that names the pass, through a real render of the tiny show."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from microdrama.pipeline.app import Project
from microdrama.pipeline.core.cache import artifact_key
from microdrama.pipeline.core.config import Settings
from microdrama.pipeline.core.errors import BackendUnavailable, ConfigError, RenderError
from microdrama.pipeline.core.ledger import read_ledger
from microdrama.pipeline.core.models import CameraMove, Facing, ScreenPosition, Setting, ShotType, TimeOfDay
from microdrama.pipeline.core.store import SeriesFolder
from microdrama.pipeline.edit import ffmpeg
from microdrama.pipeline.render.backends import (
    CharacterRef, FaceBox, LipsyncRequest, LocationRef, VideoRequest, VoicePlacement, backend_statuses, load_backend,
)
from microdrama.pipeline.render.requests import lipsync_request
from conftest import needs_lipsync
from tiny_show import approved_show, render, routed

WIDTH, HEIGHT, FPS, FRAMES = 96, 128, 12, 12
FACE = FaceBox(x=24, y=30, width=48, height=56)


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> tuple[Path, Path]:
    """A 12-frame textured segment and a 0.5 s voice take (a vowel-like buzz)."""
    folder = tmp_path_factory.mktemp("clip")
    rng = np.random.default_rng(3)
    base = rng.integers(40, 200, (HEIGHT, WIDTH, 3), dtype=np.uint8)
    frames = [np.roll(base, k, axis=1) for k in range(FRAMES)]
    picture = folder / "shot.mp4"
    ffmpeg.encode_frames(frames, picture, WIDTH, HEIGHT, FPS)
    t = np.arange(int(0.5 * 48_000)) / 48_000
    take = folder / "line.wav"
    ffmpeg.write_wav(take, (0.3 * np.sign(np.sin(2 * np.pi * 140 * t)) * np.sin(2 * np.pi * 3 * t)).astype(np.float32),
                     48_000)
    return picture, take


def voice(take: Path, start: int = 3, end: int = 9, off_screen: bool = False, speaker: str = "anna") -> VoicePlacement:
    return VoicePlacement(line_id="e01s01l01", speaker=speaker, start_frame=start, end_frame=end,
                          off_screen=off_screen, voice_clip=str(take), voice_digest="d1")


def sync_request(picture: Path, voices: list[VoicePlacement], framing: dict[str, FaceBox] | None = None):
    return LipsyncRequest(shot_id="e01s01k03", picture=str(picture), picture_key="k1", width=WIDTH, height=HEIGHT,
                          fps=FPS, num_frames=FRAMES, voices=voices,
                          framing={"anna": FACE} if framing is None else framing)


@needs_lipsync
def test_the_pass_keeps_the_frames_and_changes_only_the_mouth_while_the_line_plays(wav2lip_checkpoint, clip):
    picture, take = clip
    backend = load_backend("wav2lip", "lipsync", {"checkpoint": str(wav2lip_checkpoint), "pad_bottom": 4})
    result = backend.render(sync_request(picture, [voice(take)]))
    before = list(ffmpeg.read_frames(picture, WIDTH, HEIGHT))
    after = list(result.frames)
    assert (result.num_frames, result.width, result.height, len(after)) == (FRAMES, WIDTH, HEIGHT, FRAMES)
    assert all(frame.shape == (HEIGHT, WIDTH, 3) and frame.dtype == np.uint8 for frame in after)
    inside = np.zeros((HEIGHT, WIDTH), dtype=bool)
    inside[FACE.y:FACE.y + FACE.height + 4, FACE.x:FACE.x + FACE.width] = True
    for index, (old, new) in enumerate(zip(before, after, strict=True)):
        changed = np.any(old != new, axis=2)
        if 3 <= index < 9:
            assert changed[inside].mean() > 0.5, index  # the face box is redrawn
            assert not changed[~inside].any(), index  # nothing outside it
        else:
            assert not changed.any(), index  # frames outside the line are untouched


@needs_lipsync
def test_a_line_placed_past_the_last_frame_changes_nothing(wav2lip_checkpoint, clip):
    picture, take = clip
    backend = load_backend("wav2lip", "lipsync", {"checkpoint": str(wav2lip_checkpoint)})
    result = backend.render(sync_request(picture, [voice(take, start=FRAMES, end=FRAMES + 4)]))
    before = ffmpeg.read_frames(picture, WIDTH, HEIGHT)
    assert all(np.array_equal(a, b) for a, b in zip(before, result.frames, strict=True))


@needs_lipsync
def test_the_original_checkpoint_format_loads_too(wav2lip_checkpoint, clip, tmp_path):
    """Wav2Lip's own checkpoints wrap the weights as {'state_dict': {'module.<name>': ...}}."""
    import torch

    wrapped = tmp_path / "wav2lip_gan.pth"
    torch.save({"state_dict": {f"module.{k}": v for k, v in torch.load(wav2lip_checkpoint).items()}}, wrapped)
    picture, take = clip
    plain = load_backend("wav2lip", "lipsync", {"checkpoint": str(wav2lip_checkpoint)}).render(
        sync_request(picture, [voice(take)]))
    original = load_backend("wav2lip", "lipsync", {"checkpoint": str(wrapped)}).render(
        sync_request(picture, [voice(take)]))
    assert all(np.array_equal(a, b) for a, b in zip(plain.frames, original.frames, strict=True))


@needs_lipsync
def test_a_broken_checkpoint_fails_the_shot_naming_the_file(clip, tmp_path):
    broken = tmp_path / "wav2lip.pth"
    broken.write_bytes(b"not a checkpoint")
    picture, take = clip
    backend = load_backend("wav2lip", "lipsync", {"checkpoint": str(broken)})
    with pytest.raises(RenderError, match=f"cannot load the Wav2Lip checkpoint {broken}"):
        backend.render(sync_request(picture, [voice(take)]))


def test_the_key_holds_the_picture_and_the_takes_content_not_their_paths(clip):
    picture, take = clip

    def key(request: LipsyncRequest) -> str:
        return artifact_key("wav2lip", "1", {}, request)

    base = sync_request(picture, [voice(take)])
    assert key(base) == key(base.model_copy(update={"picture": "/elsewhere/shot.mp4"}))
    assert key(base) == key(sync_request(picture, [voice(take).model_copy(update={"voice_clip": "/elsewhere.wav"})]))
    assert key(base) != key(base.model_copy(update={"picture_key": "k2"}))  # the picture was re-rendered
    assert key(base) != key(sync_request(picture, [voice(take).model_copy(update={"voice_digest": "d2"})]))  # re-voiced


@needs_lipsync
def test_a_speaker_the_framing_does_not_place_fails_the_shot_naming_the_line(wav2lip_checkpoint, clip):
    picture, take = clip
    backend = load_backend("wav2lip", "lipsync", {"checkpoint": str(wav2lip_checkpoint)})
    with pytest.raises(RenderError, match="line e01s01l01: ben is not framed"):
        backend.render(sync_request(picture, [voice(take, speaker="ben")]))


@needs_lipsync
def test_faces_found_by_a_local_s3fd_detector(wav2lip_checkpoint, clip, tmp_path):
    """face-alignment's S3FD class with random weights saved locally (threshold 0: it finds
    something in any picture): the pass runs through the detector and stays in the frame."""
    import torch
    from face_alignment.detection.sfd.net_s3fd import s3fd

    torch.manual_seed(0)
    detector = tmp_path / "s3fd.pth"
    torch.save(s3fd().state_dict(), detector)
    picture, take = clip
    backend = load_backend("wav2lip", "lipsync", {"checkpoint": str(wav2lip_checkpoint), "face_detector": str(detector),
                                                  "detector_threshold": 0.0})
    result = backend.render(sync_request(picture, [voice(take)], framing={}))
    before = list(ffmpeg.read_frames(picture, WIDTH, HEIGHT))
    after = list(result.frames)
    assert len(after) == FRAMES
    assert any(np.any(a != b) for a, b in zip(before[3:9], after[3:9]))
    assert all(np.array_equal(a, b) for a, b in zip(before[:3] + before[9:], after[:3] + after[9:]))


@needs_lipsync
@pytest.mark.parametrize("option", ["checkpoint", "face_detector"])
def test_a_missing_weights_file_is_unavailable_naming_the_path(wav2lip_checkpoint, tmp_path, option):
    missing = tmp_path / "nothing.pth"
    options = {"checkpoint": str(wav2lip_checkpoint), option: str(missing)}
    with pytest.raises(BackendUnavailable, match=f"{option} {missing} is not a file"):
        load_backend("wav2lip", "lipsync", options)


@needs_lipsync
def test_backends_lists_it_as_lipsync_with_its_non_commercial_licence():
    status = next(s for s in backend_statuses() if s.name == "wav2lip")
    assert status.kind == "lipsync" and status.available
    assert "non-commercial" in status.reason and "Wav2Lip weights" in status.reason


def video_request(voices: list[VoicePlacement]) -> VideoRequest:
    return VideoRequest(
        shot_id="e01s01k03", prompt="", width=144, height=256, fps=12, num_frames=19, seed=1, shot_type=ShotType.MCU,
        move=CameraMove.STATIC, setting=Setting.INT, time_of_day=TimeOfDay.NIGHT,
        location=LocationRef(id="hallway", name="Hallway"),
        characters=[CharacterRef(id="anna", name="Anna", description="red coat", position=ScreenPosition.CENTER,
                                 facing=Facing.CAMERA)],
        voices=voices)


def test_the_request_holds_only_the_lines_seen_spoken_and_the_speakers_framed_face(tmp_path):
    take = tmp_path / "line.wav"
    seen, heard = voice(take), voice(take, off_screen=True).model_copy(update={"line_id": "e01s01l02"})
    request = lipsync_request(video_request([seen, heard]), tmp_path / "shot.mp4", "k1")
    assert [v.line_id for v in request.voices] == ["e01s01l01"]
    face = request.framing["anna"]
    assert 0 < face.x < 72 < face.x + face.width < 144 and face.y + face.height < 256
    assert lipsync_request(video_request([heard]), tmp_path / "shot.mp4", "k1") is None


@needs_lipsync
def test_a_route_gives_the_pass_to_its_shots_with_a_line_seen_spoken(wav2lip_checkpoint, tmp_path):
    show = routed(approved_show(tmp_path / "tiny-show"), wav2lip_checkpoint)
    state = render(show)
    renders = {r.id: r for r in state.renders}
    assert not [r.id for r in state.renders if r.failed]
    # e01s01k03 (MCU, Anna speaks) gets the pass; e01s01k04 (MCU, Ben is O.S.) and every other shot do not.
    synced = {r.id for r in renders.values() if r.video and r.video.startswith("cache/lipsync-")}
    assert synced == {"e01s01k03"}
    assert renders["e01s01k03"].backend == "animatic"
    entries = read_ledger(SeriesFolder(show).state_dir)
    assert [(e.target, e.cached) for e in entries if e.kind == "lipsync"] == [("e01s01k03", False)]
    path = show / renders["e01s01k03"].video
    assert ffmpeg.count_frames(path) == 19 and ffmpeg.probe(path).first("video").width == 144

    again = render(show)  # nothing changed: the shot, pass included, is found whole in the cache
    assert next(r for r in again.renders if r.id == "e01s01k03").cached
    assert [e.cached for e in read_ledger(SeriesFolder(show).state_dir) if e.kind == "lipsync"] == [False]


def passes_made(show: Path) -> list[str]:
    """The shots whose lip-sync pass ran (was not a cache hit), in the ledger's order."""
    return [e.target for e in read_ledger(SeriesFolder(show).state_dir) if e.kind == "lipsync" and not e.cached]


@needs_lipsync
def test_a_re_voiced_character_re_runs_the_pass_of_their_shots_only(wav2lip_checkpoint, tmp_path):
    show = routed(approved_show(tmp_path / "tiny-show"), wav2lip_checkpoint, '"MCU", "MS"')
    render(show)
    # MS e01s02k03 (Ben speaks) and e02s01k03 (Ben, then Anna) join MCU e01s01k03 (Anna).
    assert sorted(passes_made(show)) == ["e01s01k03", "e01s02k03", "e02s01k03"]
    folder = SeriesFolder(show)
    series = folder.load_series()
    series.character("ben").voice.pitch = 6.0
    folder.save_series(series)
    render(show, yes=True)
    assert sorted(passes_made(show)[3:]) == ["e01s02k03", "e02s01k03"]


@needs_lipsync
def test_a_routed_shot_whose_pass_cannot_load_fails_naming_the_backend(tmp_path):
    missing = tmp_path / "nowhere.pth"
    show = routed(approved_show(tmp_path / "tiny-show"), missing)
    state = render(show, allow_failed=True)
    failed = {r.id: r.error for r in state.renders if r.error}
    assert list(failed) == ["e01s01k03"]
    assert "wav2lip" in failed["e01s01k03"] and str(missing) in failed["e01s01k03"]
    with Project(Settings.load(show)) as project:  # what a render would do is still estimated
        assert project.estimate().total.items >= 1


def test_the_route_checks_the_pass_is_a_lipsync_backend_and_its_options(tmp_path):
    (tmp_path / "microdrama.toml").write_text(
        '[[backends.routes]]\nvideo = "animatic"\nlipsync = "animatic"\n'
        '[[backends.routes]]\nvideo = "animatic"\nlipsync = "wav2lip"\nlipsync_options = { chekpoint = "x" }\n',
        encoding="utf-8")
    with pytest.raises(ConfigError) as error:
        Settings.load(tmp_path)
    problems = str(error.value)
    assert "microdrama.toml:3: backends.routes#1.lipsync: backend 'animatic' makes video, not lipsync" in problems
    assert "microdrama.toml:7: backends.routes#2.lipsync_options.chekpoint: unknown key" in problems


@needs_lipsync
def test_the_backends_command_shows_the_pass_of_a_route_and_why_it_cannot_run(tmp_path):
    missing = tmp_path / "nowhere.pth"
    routed(tmp_path, missing)
    shown = subprocess.run([str(Path(sys.executable).with_name("microdrama")), "backends", str(tmp_path)],
                           capture_output=True, text=True, timeout=120, env=os.environ | {"COLUMNS": "400"})
    assert shown.returncode == 0, shown.stderr
    row = next(line for line in shown.stdout.splitlines() if "lip-sync of MCU" in line)
    assert "wav2lip" in row and f"checkpoint {missing} is not a file" in row
