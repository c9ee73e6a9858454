"""The `synth` music backend: invariants of its cues, not golden samples.

Cues here are a few seconds long so the whole file runs in a few seconds; the speed of a long cue
is measured by bench/synth_speed.py, not asserted.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest
from pydantic import ValidationError

from microdrama.pipeline.render.backends import MusicRequest, load_backend
from microdrama.pipeline.render.backends.synth import MODES, SynthMusic, cue_samples, plan_music
from microdrama.pipeline.core.models import Mood

SR = 48000


def request(**overrides) -> MusicRequest:
    fields = dict(cue_id="e01s01", mood=Mood.NEUTRAL, tempo_bpm=96, intensity=0.5,
                  num_frames=4 * 24, fps=24, seed=11)
    return MusicRequest(**(fields | overrides))


def render(**overrides) -> np.ndarray:
    """Samples for a request; cached (requests are frozen), so tests must not modify them."""
    return _render(request(**overrides))


@cache
def _render(music_request: MusicRequest) -> np.ndarray:
    return SynthMusic(SynthMusic.Options()).render(music_request).samples


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x.astype(np.float64) ** 2)))


def spectral_centroid(x: np.ndarray) -> float:
    power = np.abs(np.fft.rfft(x)) ** 2
    return float((power * np.fft.rfftfreq(len(x), 1 / SR)).sum() / power.sum())


def estimated_tempo(x: np.ndarray, hop: int = 480) -> float:
    """Tempo from the autocorrelation of onset strength (the rise of log energy per 10 ms),
    scored at the first four multiples of each candidate beat so one strong lag cannot win."""
    frames = x[: len(x) // hop * hop].reshape(-1, hop).astype(np.float64)
    onsets = np.maximum(np.diff(np.log(np.mean(frames**2, axis=1) + 1e-9)), 0.0)
    onsets -= onsets.mean()
    autocorrelation = np.correlate(onsets, onsets, "full")[len(onsets) - 1 :]
    candidates = np.arange(50.0, 200.0, 0.5)
    lags = 60 * (SR / hop) / candidates
    score = np.mean([autocorrelation[np.round(k * lags).astype(int)] for k in (1, 2, 3, 4)], axis=0)
    return float(candidates[np.argmax(score)])


# --- the backend contract ----------------------------------------------------------------------


def test_is_registered_as_the_synth_music_backend():
    backend = load_backend("synth", "music")
    assert isinstance(backend, SynthMusic)
    assert SynthMusic.capabilities.seed
    assert SynthMusic.availability().available


def test_options_reject_unknown_keys():
    with pytest.raises(ValidationError):
        SynthMusic.Options.model_validate({"sample_rate": 48000, "reverb": 0.5})


def test_returns_mono_float32_within_full_scale():
    clip = SynthMusic(SynthMusic.Options()).render(request())
    assert clip.sample_rate == SR
    assert clip.samples.ndim == 1 and clip.samples.dtype == np.float32
    assert np.isfinite(clip.samples).all()


@pytest.mark.parametrize(
    "num_frames, fps", [(1, 24), (25, 24), (31, 30), (250, 25), (7, 60), (101, 23), (480, 24)]
)
def test_length_is_exactly_num_frames_over_fps(num_frames, fps):
    samples = render(num_frames=num_frames, fps=fps)
    assert len(samples) == round(num_frames / fps * SR) == cue_samples(num_frames, fps, SR)


def test_length_follows_the_sample_rate_option():
    clip = SynthMusic(SynthMusic.Options(sample_rate=44100)).render(request(num_frames=31, fps=30))
    assert clip.sample_rate == 44100
    assert len(clip.samples) == round(31 / 30 * 44100)


# --- determinism -------------------------------------------------------------------------------


def test_same_request_gives_identical_samples():
    first = render(mood=Mood.JOYFUL, intensity=0.9)
    again = SynthMusic(SynthMusic.Options()).render(request(mood=Mood.JOYFUL, intensity=0.9))
    np.testing.assert_array_equal(first, again.samples)


def test_another_seed_gives_other_music():
    assert not np.allclose(render(seed=1), render(seed=2), atol=1e-3)


def test_seeds_vary_key_and_voicings():
    plans = [plan_music(request(seed=seed)) for seed in range(12)]
    assert len({plan.key for plan in plans}) > 3
    assert len({plan.progression for plan in plans}) > 6


def test_a_longer_cue_opens_with_the_same_music():
    """Same notes from the start; only the level (set by the whole cue's peak) and the fade-out
    may differ."""
    short = render(num_frames=3 * 24, seed=5, mood=Mood.WARM)
    long = render(num_frames=6 * 24, seed=5, mood=Mood.WARM)
    prefix = slice(0, len(short) - SR // 2)
    correlation = np.corrcoef(short[prefix], long[prefix])[0, 1]
    assert correlation > 0.999


# --- level and edges ---------------------------------------------------------------------------


@pytest.mark.parametrize("mood", list(Mood))
def test_peaks_below_full_scale_and_is_not_silent(mood):
    samples = render(mood=mood)
    assert np.abs(samples).max() <= 10 ** (-6 / 20) + 1e-6
    assert rms(samples) > 0.02


def test_full_intensity_peaks_at_the_option_level():
    samples = SynthMusic(SynthMusic.Options(peak_dbfs=-9.0)).render(request(intensity=1.0)).samples
    assert np.abs(samples).max() == pytest.approx(10 ** (-9 / 20), rel=1e-3)


@pytest.mark.parametrize("mood", [Mood.ANGRY, Mood.SAD])
def test_fades_in_and_out(mood):
    samples = render(mood=mood, intensity=0.9)
    edge = SR // 20  # 50 ms
    middle = rms(samples[len(samples) // 2 - SR // 2 : len(samples) // 2 + SR // 2])
    assert rms(samples[:edge]) < 0.1 * middle
    assert rms(samples[-edge:]) < 0.1 * middle


# --- what the moods choose ---------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(6))
def test_sad_is_minor_and_joyful_major(seed):
    assert plan_music(request(mood=Mood.SAD, seed=seed)).minor
    assert not plan_music(request(mood=Mood.JOYFUL, seed=seed)).minor


def test_mysterious_avoids_plain_major_and_minor_triads():
    plan = plan_music(request(mood=Mood.MYSTERIOUS))
    for chord in plan.progression:
        classes = {(pitch - chord.bass) % 12 for pitch in chord.pitches}
        assert not ({0, 4, 7} <= classes or {0, 3, 7} <= classes)


@pytest.mark.parametrize("mood", [Mood.NEUTRAL, Mood.SAD, Mood.WARM, Mood.ROMANTIC, Mood.JOYFUL])
def test_chords_stay_in_the_key(mood):
    plan = plan_music(request(mood=mood))
    for chord in plan.progression:
        assert {pitch % 12 for pitch in chord.pitches} <= set(plan.scale)
        assert chord.bass % 12 in plan.scale


def test_tense_keeps_the_requested_tempo_with_a_low_ostinato():
    plan = plan_music(request(mood=Mood.TENSE, tempo_bpm=133))
    assert plan.tempo_bpm == 133
    assert plan.beat_seconds == pytest.approx(60 / 133)
    assert {"ostinato", "drone"} <= set(plan.instruments)
    assert plan.mode in {"phrygian", "harmonic minor", "aeolian"}


def test_mood_changes_the_plan():
    plans = {mood: plan_music(request(mood=mood)) for mood in Mood}
    assert len({(plan.mode, plan.instruments) for plan in plans.values()}) == len(Mood)
    assert all(plan.mode in MODES for plan in plans.values())


def test_intensity_grows_the_band():
    calm = plan_music(request(mood=Mood.JOYFUL, intensity=0.1))
    intense = plan_music(request(mood=Mood.JOYFUL, intensity=0.9))
    assert set(calm.instruments) < set(intense.instruments)
    assert {"kick", "snare", "hats"} <= set(intense.instruments) - set(calm.instruments)


@pytest.mark.parametrize("mood", list(Mood))
def test_higher_intensity_sounds_louder(mood):
    calm = render(mood=mood, intensity=0.1)
    intense = render(mood=mood, intensity=0.9)
    assert rms(intense) > 1.05 * rms(calm)


@pytest.mark.parametrize("mood", [mood for mood in Mood if mood != Mood.MYSTERIOUS])
def test_higher_intensity_sounds_brighter(mood):
    """Not asserted for mysterious: its heartbeat pulse adds weight below as bells add shine."""
    calm = render(mood=mood, intensity=0.1)
    intense = render(mood=mood, intensity=0.9)
    assert spectral_centroid(intense) > 1.1 * spectral_centroid(calm)


@pytest.mark.parametrize("mood, tempo", [(Mood.ANGRY, 84), (Mood.ANGRY, 140), (Mood.JOYFUL, 96)])
def test_onsets_follow_the_tempo(mood, tempo):
    """Within 4%, allowing the half or double tempo that any beat tracker may lock to."""
    samples = render(mood=mood, tempo_bpm=tempo, intensity=0.8, num_frames=10 * 24)
    estimate = estimated_tempo(samples)
    assert any(abs(estimate - tempo * k) < 0.04 * tempo * k for k in (0.5, 1, 2))
