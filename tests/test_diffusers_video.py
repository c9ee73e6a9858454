"""The `diffusers` video backend and the keyframe generator, on tiny random-weight pipelines.

The pipelines (tests/tiny_models.py) are built from configs with a tokenizer made in memory,
saved with `save_pretrained` into a temporary folder, and reached the way a user reaches real
weights: `load_backend("diffusers", "video", {"model": folder})`. Nothing is fetched from the Hub.
The checks are invariants (sizes the family accepts, frame counts, uint8 pixels, the seed
honoured), never golden pixels.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from microdrama.pipeline.render import keyframes
from microdrama.pipeline.render.backends import CharacterRef, LocationRef, VideoRequest, load_backend, register
from microdrama.pipeline.render.backends import torch_device
from microdrama.pipeline.render.backends.torch_device import missing_modules
from microdrama.pipeline.render.backends.diffusers_video import (
    COGVIDEOX, LTX, WAN, DiffusersVideo, DiffusersVideoOptions, conditioning_keyframe, generation_shape,
)
from microdrama.pipeline.render.conform import conform_frames
from microdrama.pipeline.core.errors import BackendUnavailable, ConfigError, RenderError
from microdrama.pipeline.render.keyframes import KeyframeOptions, generate_keyframes
from microdrama.pipeline.core.models import CameraMove, Character, Location, ScreenPosition, Series, ShotType
from tiny_models import save_tiny, tiny_cogvideox, tiny_ltx, tiny_ltx_condition, tiny_stable_diffusion, tiny_wan_i2v

if missing_modules(["torch", "diffusers", "transformers"]) and os.environ.get("MICRODRAMA_REQUIRE_ALL") != "1":
    pytest.skip("needs the video extra: pip install 'microdrama[video]'", allow_module_level=True)

TINY = {"num_inference_steps": 2, "max_frames": 9, "device": "cpu"}  # a few tenths of a second a shot


@pytest.fixture(scope="module", autouse=True)
def offline_and_registered():
    """No Hub access for this module; the backend registered as its entry point would."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HF_HUB_OFFLINE", "1")
        register(DiffusersVideo)
        yield


@pytest.fixture(scope="module")
def ltx_dir(tmp_path_factory) -> Path:
    return save_tiny(tiny_ltx, tmp_path_factory.mktemp("ltx"))


@pytest.fixture(scope="module")
def sd_dir(tmp_path_factory) -> Path:
    return save_tiny(tiny_stable_diffusion, tmp_path_factory.mktemp("sd"))


def request(seed: int = 7, keyframe: str | None = None, location_keyframe: str | None = None,
            **fields) -> VideoRequest:
    characters = [CharacterRef(id="maya", name="MAYA", description="a woman in a red coat",
                               position=ScreenPosition.CENTER, keyframe=keyframe)] if keyframe else []
    base = {
        "shot_id": "e01s01k01", "prompt": "cinematic. close-up. a woman on the roof at night.", "width": 90,
        "height": 160, "fps": 24, "num_frames": 12, "seed": seed, "shot_type": ShotType.CU,
        "move": CameraMove.STATIC, "setting": "EXT", "time_of_day": "night", "characters": characters,
        "location": LocationRef(id="roof", name="ROOF", keyframe=location_keyframe),
    }
    return VideoRequest(**(base | fields))


def backend(folder: Path, **options) -> DiffusersVideo:
    return load_backend("diffusers", "video", {"model": str(folder), "width": 32, **TINY, **options})


# --- text-to-video ------------------------------------------------------------------------------


def test_text_to_video_clip_follows_the_family_rules_and_conforms_to_the_shot(ltx_dir):
    shot = request()
    clip = backend(ltx_dir).render(shot)
    assert (clip.width, clip.height, clip.fps) == (32, 64, LTX.fps)  # 9:16, sides divisible by 32
    assert clip.num_frames == 9  # 8k + 1, capped by max_frames
    frames = list(conform_frames(clip, shot.width, shot.height, shot.fps, shot.num_frames))
    assert len(frames) == shot.num_frames
    assert all(f.shape == (160, 90, 3) and f.dtype == np.uint8 for f in frames)
    assert 0 <= min(f.min() for f in frames) and max(f.max() for f in frames) <= 255
    assert np.ptp(np.stack(frames)) > 0  # not a blank clip


def test_same_seed_gives_the_same_frames_and_another_seed_differs(ltx_dir):
    video = backend(ltx_dir)
    first, again, other = (np.stack(video.render(request(seed=s)).frames) for s in (7, 7, 8))
    assert np.array_equal(first, again)
    assert not np.array_equal(first, other)


def test_cogvideox_text_to_video(tmp_path):
    clip = backend(save_tiny(tiny_cogvideox, tmp_path / "cog"), width=16).render(request())
    assert (clip.width, clip.height, clip.fps, clip.num_frames) == (16, 32, COGVIDEOX.fps, 9)
    assert clip.frames[0].dtype == np.uint8


# --- image-to-video -----------------------------------------------------------------------------


def test_a_character_keyframe_makes_ltx_animate_it(ltx_dir, keyframe_pngs):
    video = backend(ltx_dir)  # saved as LTXPipeline; mode auto turns to LTXImageToVideoPipeline
    one, one_again, two = (np.stack(video.render(request(keyframe=k)).frames)
                           for k in (keyframe_pngs[0], keyframe_pngs[0], keyframe_pngs[1]))
    assert one.shape == (9, 64, 32, 3)
    assert np.array_equal(one, one_again)
    assert not np.array_equal(one, two)
    assert not np.array_equal(one, np.stack(video.render(request()).frames))  # no keyframe: text-to-video


def test_ltx_condition_starts_from_the_location_keyframe_when_no_character_is_framed(tmp_path, keyframe_pngs):
    video = backend(save_tiny(tiny_ltx_condition, tmp_path / "ltx-condition"), mode="i2v")
    clip = video.render(request(location_keyframe=keyframe_pngs[0]))
    other = video.render(request(location_keyframe=keyframe_pngs[1]))
    assert clip.num_frames == 9 and clip.frames[0].shape == (64, 32, 3)
    assert not np.array_equal(np.stack(clip.frames), np.stack(other.frames))


def test_wan_image_to_video(tmp_path, keyframe_pngs):
    pytest.importorskip("ftfy", reason="the Wan pipelines clean prompts with ftfy (part of the video extra)")
    video = backend(save_tiny(tiny_wan_i2v, tmp_path / "wan"), width=16)
    clip = video.render(request(keyframe=keyframe_pngs[0]))
    assert (clip.width, clip.height, clip.fps, clip.num_frames) == (16, 32, WAN.fps, 9)  # 16 px steps, 4k + 1
    assert clip.frames[0].dtype == np.uint8
    with pytest.raises(RenderError, match="keyframe"):
        video.render(request())  # image-to-video weights cannot start from nothing


def test_mode_i2v_fails_a_shot_without_any_keyframe(ltx_dir):
    with pytest.raises(RenderError, match="no character or location in this shot has one"):
        backend(ltx_dir, mode="i2v").render(request())


def test_an_unreadable_keyframe_fails_the_shot_naming_the_file(ltx_dir, tmp_path):
    broken = tmp_path / "broken.png"
    broken.write_text("not an image")
    with pytest.raises(RenderError, match="broken.png"):
        backend(ltx_dir).render(request(keyframe=str(broken)))


def test_the_first_framed_character_with_a_keyframe_is_the_conditioning_image():
    shot = request(keyframe="/refs/maya.png", location_keyframe="/refs/roof.png")
    assert conditioning_keyframe(shot) == "/refs/maya.png"
    assert conditioning_keyframe(shot.model_copy(update={"characters": []})) == "/refs/roof.png"
    assert conditioning_keyframe(request()) is None


# --- threads ------------------------------------------------------------------------------------


def test_renders_from_two_threads_share_one_loaded_pipeline(ltx_dir, monkeypatch):
    loads = []
    real_load = torch_device.load_pipeline

    def counting_load(*args, **kwargs):
        loads.append(args[0])
        return real_load(*args, **kwargs)

    monkeypatch.setattr("microdrama.pipeline.render.backends.diffusers_video.load_pipeline", counting_load)
    video = backend(ltx_dir)
    results: dict[int, np.ndarray] = {}
    threads = [threading.Thread(target=lambda s=s: results.update({s: np.stack(video.render(request(seed=s)).frames)}))
               for s in (7, 8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(loads) == 1
    assert np.array_equal(results[7], np.stack(video.render(request(seed=7)).frames))


# --- sizes and lengths --------------------------------------------------------------------------


@pytest.mark.parametrize(("family", "resolution", "num_frames", "expected"), [
    (LTX, (720, 1280), 120, (448, 800, 121, 24)),  # 5 s at 24 fps: 8k + 1 frames, sides of 32
    (LTX, (720, 1280), 600, (448, 800, 121, 24)),  # 25 s: capped; conform holds the last frame
    (WAN, (1280, 720), 120, (848, 480, 81, 16)),  # 5 s at 16 fps: 4k + 1 frames, sides of 16
    (WAN, (1280, 720), 12, (848, 480, 9, 16)),  # half a second still covers the shot
    (COGVIDEOX, (720, 1280), 240, (448, 784, 49, 8)),
])
def test_generation_keeps_the_aspect_ratio_at_the_native_size(family, resolution, num_frames, expected):
    shot = request(width=resolution[0], height=resolution[1], num_frames=num_frames)
    shape = generation_shape(shot, family, DiffusersVideoOptions(model="/models/x"))
    assert (shape.width, shape.height, shape.num_frames, shape.fps) == expected


def test_generation_size_and_length_options():
    options = DiffusersVideoOptions(model="/models/x", height=720, max_frames=60, fps=24)
    shape = generation_shape(request(width=1280, height=720, num_frames=240), WAN, options)
    assert (shape.width, shape.height, shape.num_frames, shape.fps) == (1280, 720, 57, 24)


# --- configuration and availability ------------------------------------------------------------


def test_a_missing_model_folder_is_unavailable_naming_the_path(tmp_path):
    missing = tmp_path / "no-such-model"
    with pytest.raises(BackendUnavailable, match=str(missing)):
        load_backend("diffusers", "video", {"model": str(missing)})


@pytest.mark.parametrize(("index", "folders", "reason"), [
    (None, [], "no model_index.json"),
    ({"_class_name": "MochiPipeline"}, [], "supported: LTXPipeline"),
    ({"_class_name": "LTXPipeline", "vae": ["diffusers", "AutoencoderKLLTXVideo"]}, [], "lacks the component"),
    ({"_class_name": "WanPipeline"}, [], "text-to-video only"),
])
def test_an_unusable_model_folder_is_unavailable_saying_why(tmp_path, index, folders, reason):
    if index is not None:
        (tmp_path / "model_index.json").write_text(json.dumps(index))
    with pytest.raises(BackendUnavailable, match=reason):
        load_backend("diffusers", "video", {"model": str(tmp_path), "mode": "i2v"})


def test_wan_without_ftfy_is_unavailable(tmp_path, monkeypatch):
    (tmp_path / "model_index.json").write_text(json.dumps({"_class_name": "WanImageToVideoPipeline"}))
    monkeypatch.setitem(sys.modules, "ftfy", None)
    with pytest.raises(BackendUnavailable, match=r"need ftfy: pip install 'microdrama\[video\]'"):
        load_backend("diffusers", "video", {"model": str(tmp_path)})


def test_availability_names_the_extra_when_diffusers_is_missing(monkeypatch):
    assert DiffusersVideo.availability().available
    monkeypatch.setitem(sys.modules, "diffusers", None)
    availability = DiffusersVideo.availability()
    assert not availability.available
    assert "diffusers" in availability.reason and "pip install 'microdrama[video]'" in availability.reason


@pytest.mark.parametrize(("options", "problem"), [
    ({}, "model"),
    ({"model": "/m", "call_kwargs": {"num_frames": 161}}, "num_frames are set by the backend"),
    ({"model": "/m", "steps": 4}, "steps"),
    ({"model": "/m", "device": "gpu"}, "device"),
])
def test_bad_options_are_config_errors(options, problem):
    with pytest.raises(ConfigError, match=problem):
        load_backend("diffusers", "video", options)


def test_offload_without_a_gpu_is_unavailable(ltx_dir):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    with pytest.raises(BackendUnavailable, match="offload"):
        load_backend("diffusers", "video", {"model": str(ltx_dir), "offload": "model", "device": "auto"})
    with pytest.raises(BackendUnavailable, match="'cuda' asked for"):
        load_backend("diffusers", "video", {"model": str(ltx_dir), "device": "cuda"})


# --- keyframes ----------------------------------------------------------------------------------


def series(maya: str = "a woman in a red coat, short black hair") -> Series:
    return Series(
        slug="rooftops", title="Rooftops", resolution="720x1280",
        characters=[Character(id="maya", name="MAYA", description=maya),
                    Character(id="leo", name="LEO", description="a tall man in a grey suit")],
        locations=[Location(id="roof", name="ROOF", description="a flat city roof with antennas")],
    )


def keyframe_options(sd_dir: Path) -> KeyframeOptions:
    return KeyframeOptions(model=str(sd_dir), width=32, height=32, num_inference_steps=2, device="cpu")


def test_keyframes_are_made_per_character_and_location(sd_dir, tmp_path):
    made = generate_keyframes(series(), tmp_path, keyframe_options(sd_dir))
    paths = [c.keyframe for c in made.characters] + [loc.keyframe for loc in made.locations]
    assert [Path(p).parent.name for p in paths] == ["keyframes"] * 3
    assert [Path(p).name.split("-")[:2] for p in paths] == [["character", "maya"], ["character", "leo"],
                                                             ["location", "roof"]]
    for path in paths:
        with Image.open(tmp_path / path) as image:
            assert image.size == (32, 32)
    assert len({(tmp_path / p).read_bytes() for p in paths}) == 3


def test_keyframes_are_the_same_on_every_run(sd_dir, tmp_path):
    first = generate_keyframes(series(), tmp_path / "a", keyframe_options(sd_dir))
    second = generate_keyframes(series(), tmp_path / "b", keyframe_options(sd_dir))
    assert first == second
    for character in first.characters:
        assert (tmp_path / "a" / character.keyframe).read_bytes() == (tmp_path / "b" / character.keyframe).read_bytes()


def test_a_rerun_makes_nothing_and_loads_no_model(sd_dir, tmp_path, monkeypatch):
    made = generate_keyframes(series(), tmp_path, keyframe_options(sd_dir))
    monkeypatch.setattr(keyframes, "load_image_pipeline", lambda options: pytest.fail("the model was loaded"))
    assert generate_keyframes(made, tmp_path, keyframe_options(sd_dir)) == made


def test_a_description_edit_makes_a_new_file_for_that_character_only(sd_dir, tmp_path):
    before = generate_keyframes(series(), tmp_path, keyframe_options(sd_dir))
    edited = series(maya="a woman in a yellow raincoat, long grey hair")
    after = generate_keyframes(edited.model_copy(update={"characters": [
        c.model_copy(update={"keyframe": b.keyframe}) for c, b in zip(edited.characters, before.characters)]}),
        tmp_path, keyframe_options(sd_dir))
    assert after.characters[0].keyframe != before.characters[0].keyframe
    assert (tmp_path / after.characters[0].keyframe).is_file()
    assert (tmp_path / before.characters[0].keyframe).is_file()  # the old one is left in place
    assert after.characters[1] == before.characters[1]
    assert after.locations == before.locations


def test_a_keyframe_the_user_chose_is_kept(sd_dir, tmp_path):
    own = series()
    own = own.model_copy(update={"characters": [own.characters[0].model_copy(update={"keyframe": "refs/maya.jpg"}),
                                                own.characters[1]]})
    made = generate_keyframes(own, tmp_path, keyframe_options(sd_dir))
    assert made.characters[0].keyframe == "refs/maya.jpg"
    assert made.characters[1].keyframe.startswith("keyframes/character-leo-")


def test_keyframes_from_a_missing_model_folder_are_unavailable(tmp_path):
    with pytest.raises(BackendUnavailable, match="does not exist"):
        generate_keyframes(series(), tmp_path, KeyframeOptions(model=str(tmp_path / "none")))


def test_a_generated_keyframe_drives_image_to_video(sd_dir, ltx_dir, tmp_path):
    made = generate_keyframes(series(), tmp_path, keyframe_options(sd_dir))
    keyframe = str((tmp_path / made.characters[0].keyframe).resolve())  # as the renderer resolves it
    clip = backend(ltx_dir, mode="i2v").render(request(keyframe=keyframe))
    assert clip.num_frames == 9
