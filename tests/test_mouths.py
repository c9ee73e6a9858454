"""Mouths that move: the animatic opens the speaking character's mouth with their voice, only
while their line plays; listeners, backs and off-screen voices stay still."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from microdrama.pipeline.edit import ffmpeg
from microdrama.pipeline.render.backends import CharacterRef, LocationRef, VideoRequest, VoicePlacement
from microdrama.pipeline.render.backends.animatic import AnimaticVideo
from microdrama.pipeline.render.backends.animatic.figures import mouth_area
from microdrama.pipeline.render.backends.animatic.framing import place_figures
from microdrama.pipeline.render.backends.animatic.mouths import envelope_openings

W, H, FPS = 144, 256, 12
LINE = (6, 18)  # the line plays from frame 6 to frame 17
NORA = CharacterRef(id="nora", name="NORA", description="cropped silver hair, orange work jacket", position="left")
ELI = CharacterRef(id="eli", name="ELI", description="grey hoodie", position="right")


@pytest.fixture(scope="module")
def take(tmp_path_factory) -> Path:
    """A second of 'speech': a voiced tone in syllables, four per second, with silent gaps."""
    t = np.arange(48000) / 48000
    syllables = np.maximum(0, np.sin(2 * np.pi * 4 * t)) ** 2
    path = tmp_path_factory.mktemp("voice") / "line.wav"
    ffmpeg.write_wav(path, (0.6 * syllables * np.sin(2 * np.pi * 180 * t)).astype(np.float32), 48000)
    return path


def request(take: Path, shot_type: str = "CU", characters=(NORA,), speaker: str = "nora",
            off_screen: bool = False) -> VideoRequest:
    voice = VoicePlacement(line_id="e01s01l01", speaker=speaker, start_frame=LINE[0], end_frame=LINE[1],
                           off_screen=off_screen, voice_clip=str(take), voice_digest="d")
    return VideoRequest(shot_id="e01s01k01", prompt="", width=W, height=H, fps=FPS, num_frames=24, seed=1,
                        shot_type=shot_type, move="static", setting="INT", time_of_day="night",
                        location=LocationRef(id="kitchen", name="KITCHEN"), characters=list(characters),
                        voices=[voice])


def frames(req: VideoRequest, **options) -> list[np.ndarray]:
    return list(AnimaticVideo(AnimaticVideo.Options(caption=False, name_tags=False, **options)).render(req).frames)


def mouth_of(req: VideoRequest, character_id: str) -> tuple[slice, slice]:
    """The frame region a character's moving mouth can cover (a static shot: world minus margin)."""
    figure = next(f for f in place_figures(req) if f.character.id == character_id)
    x0, y0, x1, y1 = mouth_area(figure.turn)
    cx, cy, u = figure.x * W, figure.y * H, figure.head
    return slice(max(0, int(cy + y0 * u)), int(cy + y1 * u) + 2), slice(max(0, int(cx + x0 * u)), int(cx + x1 * u) + 2)


def changes(shot: list[np.ndarray], region: tuple[slice, slice]) -> list[float]:
    """Per frame, the mean absolute difference of the region from the first frame's."""
    still = shot[0][region].astype(np.int16)
    return [float(np.abs(frame[region].astype(np.int16) - still).mean()) for frame in shot]


def test_the_speakers_mouth_moves_during_the_line_and_not_outside_it(take):
    req = request(take)
    moved = changes(frames(req), mouth_of(req, "nora"))
    before, during, after = moved[: LINE[0]], moved[LINE[0]: LINE[1]], moved[LINE[1]:]
    assert before == [0.0] * len(before) and after == [0.0] * len(after)
    assert max(during) > 10  # the mouth opens wide on the loud syllables
    assert min(during) == 0.0  # and closes between them


def test_only_the_mouth_changes(take):
    req = request(take)
    shot = frames(req)
    rows, cols = mouth_of(req, "nora")
    outside = np.ones((H, W), bool)
    outside[rows, cols] = False
    assert all(np.array_equal(frame[outside], shot[0][outside]) for frame in shot)


def test_a_listener_stays_still_while_the_other_speaks(take):
    req = request(take, shot_type="MS", characters=(NORA, ELI))
    shot = frames(req)
    assert max(changes(shot, mouth_of(req, "nora"))) > 5
    assert max(changes(shot, mouth_of(req, "eli"))) == 0.0


def test_an_off_screen_voice_moves_no_mouth(take):
    shot = frames(request(take, off_screen=True))
    assert all(np.array_equal(frame, shot[0]) for frame in shot)


def test_a_speaker_not_in_frame_moves_no_mouth(take):
    shot = frames(request(take, speaker="eli"))
    assert all(np.array_equal(frame, shot[0]) for frame in shot)


def test_mouths_can_be_switched_off(take):
    shot = frames(request(take), mouths=False)
    assert all(np.array_equal(frame, shot[0]) for frame in shot)


def test_openings_follow_the_envelope():
    rate = 48000
    loud, quiet = np.full(rate // FPS, 0.5, np.float32), np.zeros(rate // FPS, np.float32)
    assert envelope_openings(np.concatenate([quiet, loud, loud, quiet]), rate, FPS, 4) == [0, 3, 3, 0]


# --- the audit of the rendered episode ---------------------------------------------------------


@pytest.fixture(scope="module")
def show(tmp_path_factory):
    from tiny_show import render_tiny_show

    return render_tiny_show(tmp_path_factory.mktemp("mouths") / "tiny-show")


def mouth_checks(show, timeline):
    """The audit's mouth checks of the episode file with `timeline` (its segments read for them)."""
    from microdrama.pipeline.review.audit import audit_episode

    episode_id = timeline.episode_id
    report = audit_episode(timeline, show.episode(episode_id), show.series, show.folder / "out" / f"{episode_id}.mp4",
                           show.folder / "out" / f"{episode_id}.srt", series_dir=show.folder)
    return [check for check in report.checks if check.name == "mouth-moves"]


def test_the_audit_sees_each_seen_speaker_move_their_mouth_with_their_line(show):
    checks = mouth_checks(show, show.timelines["e01"])
    assert checks and all(c.name == "mouth-moves" and c.verdict == "pass" for c in checks)
    assert {c.where for c in checks} <= {line.line_id for line in show.timelines["e01"].dialogue}


def test_a_shot_whose_speaker_keeps_still_is_reported_at_the_line(show, tmp_path):
    from microdrama.pipeline.render.renderer import write_video
    from microdrama.pipeline.render.requests import video_request
    from tiny_show import changed

    timeline = show.timelines["e01"]
    line_id = mouth_checks(show, timeline)[0].where
    shot_id = next(l.shot_id for l in timeline.dialogue if l.line_id == line_id)
    scene = next(s for s in show.episode("e01").scenes if any(k.id == shot_id for k in s.shots))
    shot = next(k for k in scene.shots if k.id == shot_id)
    request = video_request(shot, scene, show.series, show.folder)  # no voice takes: no one speaks
    write_video(AnimaticVideo(AnimaticVideo.Options()).render(request), tmp_path / "still.mp4", request)
    video = tuple(changed(c, path=tmp_path / "still.mp4") if c.shot_id == shot_id else c for c in timeline.video)
    failed = [c for c in mouth_checks(show, changed(timeline, video=video)) if c.verdict == "error"]
    in_shot = {l.line_id for l in timeline.dialogue if l.shot_id == shot_id}
    assert line_id in {c.where for c in failed} <= in_shot


@pytest.mark.parametrize("box", [(31, 41, 77, 67), (30, 40, 76, 66), (0, 0, 5, 3), (120, 230, 150, 260)])
def test_a_box_of_the_decoded_frames_is_the_same_pixels_as_a_slice_of_the_whole_frames(tmp_path, box):
    """The mouth check cuts only the mouth's box from the segment's decode: it must see what a
    slice of each whole frame shows, odd edges and a box running off the frame included."""
    rng = np.random.default_rng(3)
    canvas = rng.integers(0, 255, (300, 180, 3), dtype=np.uint8)
    video = tmp_path / "shot.mp4"
    ffmpeg.encode_frames((np.ascontiguousarray(canvas[i:i + 256, i:i + 144]) for i in range(12)), video, 144, 256, 12)
    whole = [frame[box[1]:box[3], box[0]:box[2]] for frame in ffmpeg.read_frames(video, 144, 256)]
    boxed = ffmpeg.read_segment(video, 144, 256, {}, [box]).crops[0]
    assert len(boxed) == len(whole) == 12
    assert all(np.array_equal(a, b) for a, b in zip(whole, boxed))
