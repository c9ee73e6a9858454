"""The audioldm2 sfx backend on a tiny random-weight AudioLDM 2 pipeline built from configs and
saved like the real one: the real loading and generation code runs, offline."""

from __future__ import annotations

import numpy as np
import pytest

from microdrama.pipeline.core.errors import BackendUnavailable
from microdrama.pipeline.render.backends import SfxRequest, backend_statuses, load_backend
from tiny_audio_models import save_tiny_audioldm2

pytest.importorskip("diffusers")


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return save_tiny_audioldm2(tmp_path_factory.mktemp("audioldm2") / "tiny-audioldm2")


def knock(seed: int = 3, frames: int = 12, bed: bool = False) -> SfxRequest:
    return SfxRequest(target="e01s01k01x1", prompt="knock", kind="knock", bed=bed, setting="INT",
                      time_of_day="night", num_frames=frames, fps=12, seed=seed)


def test_a_sound_is_exactly_as_long_as_asked_at_the_effects_level(model, one_torch_thread):
    backend = load_backend("audioldm2", "sfx", {"model": str(model), "num_inference_steps": 2})
    clip = backend.render(knock(frames=18))
    assert clip.sample_rate == 16000 and clip.samples.dtype == np.float32 and len(clip.samples) == 24000
    assert 20 * np.log10(np.abs(clip.samples).max()) == pytest.approx(-11.0, abs=0.01)
    bed = backend.render(knock(frames=18, bed=True)).samples
    assert 20 * np.log10(np.sqrt(np.mean(bed**2))) == pytest.approx(-37.0, abs=0.01)


def test_the_seed_decides_the_sound(model, one_torch_thread):
    backend = load_backend("audioldm2", "sfx", {"model": str(model), "num_inference_steps": 2})
    assert np.array_equal(backend.render(knock(seed=3)).samples, backend.render(knock(seed=3)).samples)
    assert not np.array_equal(backend.render(knock(seed=3)).samples, backend.render(knock(seed=4)).samples)


def test_a_missing_model_folder_is_unavailable_and_named(tmp_path):
    with pytest.raises(BackendUnavailable, match=str(tmp_path / "nothing")):
        load_backend("audioldm2", "sfx", {"model": str(tmp_path / "nothing")})


def test_backends_lists_it_as_sfx_with_its_non_commercial_licence():
    status = next(s for s in backend_statuses() if s.name == "audioldm2")
    assert status.kind == "sfx" and "CC-BY-NC-SA 4.0" in status.reason and "non-commercial" in status.reason
