"""The `ltx2` video backend on a tiny random-weight LTX-2 pipeline (tests/tiny_models.py), saved
with `save_pretrained` and reached as a user reaches real weights: `load_backend("ltx2", ...)`.
The checks are invariants (the family's sizes and frame counts, uint8 pixels, the seed and the
keyframe honoured), never golden pixels.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest

from microdrama.pipeline.core.errors import BackendUnavailable
from microdrama.pipeline.core.models import CameraMove, ScreenPosition, ShotType
from microdrama.pipeline.render.backends import (
    CharacterRef, LocationRef, VideoFrames, VideoRequest, VoicePlacement, backend_statuses, load_backend, register,
)
from microdrama.pipeline.render.backends.ltx2_video import LTX2, LTX2Video
from microdrama.pipeline.render.backends.torch_device import missing_modules
from microdrama.pipeline.render.conform import conform_frames
from tiny_models import save_tiny, tiny_ltx, tiny_ltx2

if missing_modules(["torch", "diffusers", "transformers", "av"]) and os.environ.get("MICRODRAMA_REQUIRE_ALL") != "1":
    pytest.skip("needs the video extra: pip install 'microdrama[video]'", allow_module_level=True)

# Two steps, no guidance passes, short prompts: about a second a shot on a CPU.
TINY = {"num_inference_steps": 2, "max_frames": 9, "device": "cpu", "width": 32, "guidance_scale": 1.0,
        "call_kwargs": {"audio_guidance_scale": 1.0, "stg_scale": 0.0, "audio_stg_scale": 0.0, "modality_scale": 1.0,
                        "audio_modality_scale": 1.0, "max_sequence_length": 32}}


@pytest.fixture(scope="module", autouse=True)
def offline_and_registered():
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HF_HUB_OFFLINE", "1")
        register(LTX2Video)
        yield


@pytest.fixture(scope="module")
def ltx2_dir(tmp_path_factory) -> Path:
    return save_tiny(tiny_ltx2, tmp_path_factory.mktemp("ltx2"))


@pytest.fixture(scope="module")
def video(ltx2_dir) -> LTX2Video:
    return load_backend("ltx2", "video", {"model": str(ltx2_dir), **TINY})


def request(seed: int = 7, keyframe: str | None = None, **fields) -> VideoRequest:
    characters = [CharacterRef(id="maya", name="MAYA", description="a woman in a red coat",
                               position=ScreenPosition.CENTER, keyframe=keyframe)] if keyframe else []
    base = {
        "shot_id": "e01s01k01", "prompt": "cinematic. close-up. a woman on the roof at night.", "width": 90,
        "height": 160, "fps": 24, "num_frames": 12, "seed": seed, "shot_type": ShotType.CU,
        "move": CameraMove.STATIC, "setting": "EXT", "time_of_day": "night", "characters": characters,
        "location": LocationRef(id="roof", name="ROOF"),
    }
    return VideoRequest(**(base | fields))


def frames(video: LTX2Video, shot: VideoRequest) -> np.ndarray:
    return np.stack(list(video.render(shot).frames))


@pytest.fixture(scope="module")
def plain(video) -> VideoFrames:
    """`request()` rendered once: the clip the other tests compare theirs with."""
    return video.render(request())


def test_text_to_video_follows_the_family_rules_and_conforms_to_the_shot(plain):
    shot, clip = request(), plain
    assert (clip.width, clip.height, clip.fps, clip.num_frames) == (32, 64, LTX2.fps, 9)  # 9:16, sides of 32, 8k + 1
    conformed = list(conform_frames(clip, shot.width, shot.height, shot.fps, shot.num_frames))
    assert len(conformed) == shot.num_frames
    assert all(f.shape == (160, 90, 3) and f.dtype == np.uint8 for f in conformed)
    assert np.ptp(np.stack(conformed)) > 0  # not a blank clip


def test_same_seed_gives_the_same_frames_and_another_seed_differs(video, plain):
    first, again, other = np.stack(plain.frames), frames(video, request(seed=7)), frames(video, request(seed=8))
    assert np.array_equal(first, again)
    assert not np.array_equal(first, other)


def test_a_character_keyframe_makes_it_image_to_video(video, plain, keyframe_pngs):
    one, one_again, two = (frames(video, request(keyframe=k)) for k in (keyframe_pngs[0], keyframe_pngs[0], keyframe_pngs[1]))
    assert one.shape == (9, 64, 32, 3)
    assert np.array_equal(one, one_again)
    assert not np.array_equal(one, two)
    assert not np.array_equal(one, np.stack(plain.frames))  # no keyframe: text-to-video


def test_the_voice_takes_do_not_change_the_picture(video, plain, tmp_path):
    """The installed pipelines take no audio to condition on (see ltx2_video.py): a shot with a
    voice take renders the frames it renders without one."""
    take = VoicePlacement(line_id="e01s01l01", speaker="maya", start_frame=0, end_frame=12,
                          voice_clip=str(tmp_path / "take.wav"), voice_digest="0" * 16)
    assert np.array_equal(frames(video, request(voices=[take])), np.stack(plain.frames))


def test_a_missing_model_folder_is_unavailable_naming_the_path(tmp_path):
    missing = tmp_path / "no-such-ltx2"
    with pytest.raises(BackendUnavailable, match=str(missing)):
        load_backend("ltx2", "video", {"model": str(missing)})


def test_another_pipeline_is_unavailable_naming_the_supported_ones(tmp_path):
    folder = save_tiny(tiny_ltx, tmp_path / "ltx-video")
    with pytest.raises(BackendUnavailable, match=f"{folder} holds a LTXPipeline; supported: LTX2Pipeline"):
        load_backend("ltx2", "video", {"model": str(folder)})


def test_a_folder_lacking_a_component_is_unavailable(tmp_path):
    index = {"_class_name": "LTX2Pipeline", "audio_vae": ["diffusers", "AutoencoderKLLTX2Audio"]}
    (tmp_path / "model_index.json").write_text(json.dumps(index))
    with pytest.raises(BackendUnavailable, match=f"{tmp_path} lacks the component folder.*audio_vae"):
        load_backend("ltx2", "video", {"model": str(tmp_path)})


def test_without_pyav_it_is_unavailable_naming_the_extra(ltx2_dir, monkeypatch):
    monkeypatch.setitem(sys.modules, "av", None)
    with pytest.raises(BackendUnavailable, match=r"the LTX-2 pipelines need av: pip install 'microdrama\[video\]'"):
        load_backend("ltx2", "video", {"model": str(ltx2_dir)})


def test_backends_lists_it_with_its_licence(monkeypatch):
    from typer.testing import CliRunner

    from microdrama.pipeline.cli import app

    status = next(s for s in backend_statuses() if s.name == "ltx2")
    assert (status.kind, status.available) == ("video", True)
    assert "LTX-2 Community License" in status.reason
    monkeypatch.setenv("COLUMNS", "400")
    listed = CliRunner().invoke(app, ["backends"])
    assert listed.exit_code == 0
    row = next(line for line in listed.output.splitlines() if " ltx2 " in line)
    assert "video" in row and "LTX-2 Community License Agreement" in row
