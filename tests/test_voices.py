"""The offline voice backends: Piper (bundled English voice) and espeak-ng, by real synthesis."""

from __future__ import annotations

import functools
import shutil
import threading
from collections.abc import Callable

import numpy as np
import pytest

from conftest import requires
from microdrama.pipeline.render.backends import AudioClip, NoOptions, VoiceRequest, load_backend
from microdrama.pipeline.render.backends import espeak_library
from microdrama.pipeline.render.backends.espeak import EspeakVoice
from microdrama.pipeline.render.backends.piper import PiperVoice, fitting_scale, speed_up
from microdrama.pipeline.render.backends.voice_audio import delivery_peak, trim_silence
from microdrama.pipeline.core.errors import BackendUnavailable, RenderError
from microdrama.pipeline.core.models import VoiceSpec

LINE = "Where were you last night?"
MANDARIN = "你好，妈妈。"


@pytest.fixture(scope="module")
def piper() -> PiperVoice:
    return PiperVoice(NoOptions())


@pytest.fixture(scope="module")
def spoken(piper) -> Callable[..., AudioClip]:
    """Piper's rendering of LINE in a voice, each voice rendered once for the whole module."""
    return functools.cache(lambda **voice: piper.render(request(**voice)))


@pytest.fixture(scope="module")
def espeak() -> EspeakVoice:
    return EspeakVoice(NoOptions())


def request(text: str = LINE, language: str = "en", **voice) -> VoiceRequest:
    return VoiceRequest(
        line_id="e01s02l03", text=text, language=language, voice=VoiceSpec(**voice), speaker="maya"
    )


def rms(clip: AudioClip) -> float:
    return float(np.sqrt(np.mean(np.square(clip.samples))))


def median_pitch(clip: AudioClip) -> float:
    """Median fundamental frequency (Hz) of the voiced 40 ms frames, by autocorrelation."""
    size = round(0.04 * clip.sample_rate)
    frames = [clip.samples[i : i + size] for i in range(0, len(clip.samples) - size, size // 2)]
    loudest = max(np.sqrt(np.mean(f**2)) for f in frames)
    shortest, longest = round(clip.sample_rate / 400), round(clip.sample_rate / 60)
    pitches = []
    for frame in frames:
        if np.sqrt(np.mean(frame**2)) < 0.2 * loudest:
            continue
        frame = frame - frame.mean()
        correlation = np.correlate(frame, frame, "full")[size - 1 :] / np.arange(size, 0, -1)
        lag = shortest + int(np.argmax(correlation[shortest:longest]))
        if correlation[lag] > 0.5 * correlation[0]:
            pitches.append(clip.sample_rate / lag)
    return float(np.median(pitches))


def assert_speech(clip: AudioClip) -> None:
    assert clip.samples.dtype == np.float32 and clip.samples.ndim == 1
    assert np.abs(clip.samples).max() <= 1.0
    assert rms(clip) > 0.02


# --- Piper -------------------------------------------------------------------------------------


def test_piper_speaks_an_english_line_of_plausible_length(spoken):
    clip = spoken()
    assert_speech(clip)
    assert clip.sample_rate == 22050
    assert 0.9 < clip.seconds < 3.0


def test_piper_gives_identical_samples_for_the_same_request(piper):
    first = piper.render(request("Not now.", speed=1.08, pitch=3.0))
    again = piper.render(request("Not now.", speed=1.08, pitch=3.0))
    assert np.array_equal(first.samples, again.samples)


def test_piper_speed_sets_duration_and_pitch_leaves_it(spoken):
    plain = spoken().seconds
    # the speech, not its trailing pause, is what the speed shortens (counting the pause: 6 % off)
    assert spoken(speed=1.3).seconds / plain == pytest.approx(1 / 1.3, rel=0.03)
    assert spoken(pitch=5.0).seconds / plain == pytest.approx(1.0, rel=0.06)


def test_piper_pitch_up_measures_higher_and_down_lower(spoken):
    plain = median_pitch(spoken())
    assert median_pitch(spoken(pitch=5.0)) > plain * 1.2
    assert median_pitch(spoken(pitch=-5.0)) < plain / 1.15  # near the tracker's floor: it reads a little high


def test_piper_loads_its_voice_and_its_widths_once_for_renders_in_two_threads(monkeypatch):
    import onnxruntime

    loads = []
    session = onnxruntime.InferenceSession
    monkeypatch.setattr(onnxruntime, "InferenceSession", lambda *args, **kw: loads.append(1) or session(*args, **kw))
    backend = PiperVoice(NoOptions())
    start = threading.Barrier(2)
    clips: list[AudioClip] = []

    def render() -> None:
        start.wait()
        clips.append(backend.render(request("Hi.", speed=0.9)))

    threads = [threading.Thread(target=render) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(loads) == 2  # the voice model and its phoneme-width part
    assert len(clips) == 2 and np.array_equal(clips[0].samples, clips[1].samples)


def test_piper_speaks_a_stretched_line_in_one_synthesis_of_the_fitting_length(piper, monkeypatch):
    """The scale comes from the phoneme widths: one synthesis, its speech (the take as trimmed)
    within 2.5 % of the wanted length, the trim's own 10 ms steps included (the search it replaced
    tried up to four scales)."""
    line = request("Nobody saw her leave the building after ten.")
    speech = lambda samples: len(trim_silence(samples, piper._loaded().config.sample_rate))
    plain = speech(piper._stretched(line, 1.0))
    scales = []
    synthesize = piper._synthesize
    monkeypatch.setattr(piper, "_synthesize", lambda r, length_scale: scales.append(length_scale) or synthesize(r, length_scale))
    for stretch in (0.8, 1.07, 1.25):
        scales.clear()
        assert speech(piper._stretched(line, stretch)) == pytest.approx(plain * stretch, rel=0.025)
        assert len(scales) == 1 and scales[0] != stretch  # not proportional: pauses do not stretch


def test_fitting_scale_reaches_the_target_where_the_length_steps():
    widths = np.array([0.4, 2.5, 3.2, 0.6], dtype=np.float32)  # ceil: 1 + 3 + 4 + 1 = 9 frames
    scale = fitting_scale(widths, 2.0)  # 18 frames wanted
    assert np.ceil(widths * np.float32(scale)).sum() == 18
    assert fitting_scale(widths, 1.0) <= 1.0 and np.ceil(widths * np.float32(fitting_scale(widths, 1.0))).sum() == 9


def test_piper_speaks_english_only():
    assert PiperVoice.speaks("en") and PiperVoice.speaks("en-US")
    assert not PiperVoice.speaks("zh")


def test_piper_failure_is_a_render_error_naming_the_line(piper):
    with pytest.raises(RenderError) as caught:
        piper.render(request("..."))
    assert caught.value.target == "e01s02l03" and caught.value.backend == "piper"


def test_pitch_resampling_scales_frequency_and_length():
    rate = 22050
    tone = np.sin(2 * np.pi * 200 * np.arange(rate) / rate).astype(np.float32)
    raised = speed_up(tone, 1.5)
    assert len(raised) == round(rate / 1.5)
    assert np.argmax(np.abs(np.fft.rfft(raised))) == pytest.approx(300 * len(raised) / rate, abs=1)


def test_whispered_lines_are_quieter_and_shouted_louder():
    assert delivery_peak("whispering") < delivery_peak(None) < delivery_peak("shouting")
    assert delivery_peak("低声") < delivery_peak("wryly")


# --- cast voices: pitch and formants (voice_transform.py) --------------------------------------


def centroid(clip: AudioClip) -> float:
    power = np.abs(np.fft.rfft(clip.samples)) ** 2
    return float((power * np.fft.rfftfreq(len(clip.samples), 1 / clip.sample_rate)).sum() / power.sum())


WOMAN, MAN = {"pitch_hz": 210.0, "formant_shift": 1.18}, {"pitch_hz": 112.0, "formant_shift": 1.0}


def test_piper_cast_voice_lands_on_its_pitch_and_a_womans_formants_sit_higher(spoken):
    woman, man = spoken(**WOMAN), spoken(**MAN)
    assert median_pitch(woman) == pytest.approx(210, rel=0.08)
    assert median_pitch(man) == pytest.approx(112, rel=0.08)
    assert centroid(woman) > centroid(man) * 1.1  # the vocal tract moved, not the pitch alone
    assert woman.seconds == pytest.approx(man.seconds, rel=0.06)


def test_a_cast_pitch_changes_nothing_voiced_where_nothing_is_voiced():
    """transform() gives Praat a cast pitch without tracking the clip's own: on a clip with no
    voiced frame that must be what no pitch at all gives (only the tract moves)."""
    from microdrama.pipeline.render.backends.voice_transform import median_f0, transform

    hiss = np.random.default_rng(5).standard_normal(22050).astype(np.float32) * 0.05
    assert median_f0(hiss, 22050) is None
    assert np.array_equal(transform(hiss, 22050, pitch_hz=210.0, formant_shift=1.18),
                          transform(hiss, 22050, formant_shift=1.18))


# --- espeak-ng ---------------------------------------------------------------------------------


def test_espeak_speaks_mandarin_from_the_wheel_without_a_system_binary(monkeypatch):
    """`pip install` alone: espeakng-loader's library and data, no apt package."""
    monkeypatch.setattr(shutil, "which", lambda name: None)
    assert EspeakVoice.availability().available
    assert EspeakVoice.speaks("zh") and EspeakVoice.speaks("zh-CN") and EspeakVoice.speaks("yue")
    clip = EspeakVoice(NoOptions()).render(request(MANDARIN, language="zh"))
    assert_speech(clip)
    assert 0.8 < clip.seconds < 4.0


def test_espeak_cast_woman_measures_above_cast_man_in_mandarin(espeak):
    woman = espeak.render(request(MANDARIN, language="zh", **WOMAN))
    man = espeak.render(request(MANDARIN, language="zh", **MAN))
    assert median_pitch(woman) > median_pitch(man) * 1.5


@requires("espeak-ng")
def test_espeak_falls_back_to_the_system_binary(monkeypatch):
    monkeypatch.setattr(espeak_library, "available", lambda: False)
    clip = EspeakVoice(NoOptions()).render(request(MANDARIN, language="zh"))
    assert_speech(clip)


def test_espeak_does_not_claim_unknown_languages():
    assert not EspeakVoice.speaks("xx")


def test_espeak_gives_identical_samples_for_the_same_request(espeak):
    first = espeak.render(request(MANDARIN, language="zh", voice="+f3", pitch=2.0))
    again = espeak.render(request(MANDARIN, language="zh", voice="+f3", pitch=2.0))
    assert np.array_equal(first.samples, again.samples)


def test_espeak_speed_and_pitch_follow_the_voice_spec(espeak):
    plain = espeak.render(request())
    assert espeak.render(request(speed=1.5)).seconds < plain.seconds * 0.8
    assert median_pitch(espeak.render(request(pitch=5.0))) > median_pitch(plain) * 1.15


def test_espeak_whispered_line_is_quieter(espeak):
    whispered = espeak.render(request(MANDARIN, language="zh").model_copy(update={"parenthetical": "whispering"}))
    plain = espeak.render(request(MANDARIN, language="zh"))
    assert np.abs(whispered.samples).max() < np.abs(plain.samples).max()


def test_espeak_failure_is_a_render_error_naming_the_line(espeak):
    with pytest.raises(RenderError) as caught:
        espeak.render(request(MANDARIN, language="zh", voice="nosuchvoice"))
    assert caught.value.target == "e01s02l03" and "nosuchvoice" in caught.value.reason


def test_espeak_without_wheel_or_binary_says_how_to_install_it(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setattr(espeak_library, "available", lambda: False)
    availability = EspeakVoice.availability()
    assert not availability.available
    assert availability.reason == "espeak-ng not found: pip install espeakng-loader (or apt-get install espeak-ng)"
    assert not EspeakVoice.speaks("zh")
    with pytest.raises(BackendUnavailable, match="pip install espeakng-loader"):
        load_backend("espeak", "voice")
