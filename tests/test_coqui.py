"""The `coqui` voice backend on a tiny random-weight XTTS saved to disk the way XTTS-v2 ships:
the real coqui-tts loading, cloning and synthesis code, offline. The speech is noise; the tests
check the contract (languages, voices, the seed honoured, clear errors), not how it sounds.

coqui-tts needs torch 2.9 with torchaudio 2.9 (torchaudio does not load beside the main
environment's torch), so this file runs in its own environment (.venv-voice) and skips where
coqui-tts cannot be imported.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("TTS")

from tiny_audio_models import XTTS_SPEAKER, save_tiny_xtts, write_reference_clip  # noqa: E402

from microdrama.pipeline.render.backends import VoiceRequest, load_backend, register  # noqa: E402
from microdrama.pipeline.render.backends.coqui import CoquiVoice, xtts_language  # noqa: E402
from microdrama.pipeline.render.backends.voice_audio import NORMAL_PEAK  # noqa: E402
from microdrama.pipeline.core.errors import BackendUnavailable, RenderError  # noqa: E402
from microdrama.pipeline.core.models import VoiceSpec  # noqa: E402

SR = 24000  # XTTS's output rate


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_xtts(tmp_path_factory.mktemp("xtts-tiny"))


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_reference_clip(tmp_path_factory.mktemp("series") / "lin.wav")


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(autouse=True)
def _registered() -> None:
    register(CoquiVoice)


@pytest.fixture(scope="module")
def coqui(model_dir: Path):
    """One loaded backend for the module, as the renderer keeps one per process."""
    register(CoquiVoice)
    return load_backend("coqui", "voice", {"model_dir": str(model_dir), "device": "cpu"})


def request(**overrides) -> VoiceRequest:
    fields = dict(line_id="e01s01l01", text="你好，我们明天见。", language="zh-CN",
                  voice=VoiceSpec(), speaker="lin", seed=5)
    return VoiceRequest(**(fields | overrides))


@pytest.mark.parametrize(("language", "text"), [
    ("zh-CN", "你好，我们明天见。"),
    ("zh", "屋顶上的风很大。"),
    ("en", "See you on the roof tomorrow."),
    ("es", "Nos vemos mañana."),
])
def test_clones_the_reference_clip_in_each_language(coqui, reference: Path, language: str, text: str):
    clip = coqui.render(request(language=language, text=text, voice=VoiceSpec(reference_clip=str(reference))))
    assert clip.sample_rate == SR
    assert clip.samples.dtype == np.float32 and np.isfinite(clip.samples).all()
    assert 0.05 < clip.seconds < 3.0
    assert np.abs(clip.samples).max() == pytest.approx(NORMAL_PEAK, rel=1e-3)


def test_the_reference_clip_shapes_the_voice(coqui, reference: Path, tmp_path: Path):
    other = write_reference_clip(tmp_path / "mei.wav", pitch_hz=230.0)
    lin = coqui.render(request(voice=VoiceSpec(reference_clip=str(reference)))).samples
    mei = coqui.render(request(voice=VoiceSpec(reference_clip=str(other)))).samples
    assert lin.shape != mei.shape or not np.array_equal(lin, mei)


def test_speaks_a_built_in_speaker_by_name(coqui):
    clip = coqui.render(request(voice=VoiceSpec(voice=XTTS_SPEAKER)))
    assert clip.seconds > 0.05


def test_a_character_without_a_voice_gets_a_built_in_speaker(coqui):
    assert coqui.render(request(voice=VoiceSpec())).seconds > 0.05


def test_an_unknown_speaker_names_the_ones_there_are(coqui):
    with pytest.raises(RenderError, match=f"no built-in speaker 'Nobody'.*{XTTS_SPEAKER}"):
        coqui.render(request(voice=VoiceSpec(voice="Nobody")))


def test_same_seed_gives_the_same_line(coqui, reference: Path):
    voice = VoiceSpec(reference_clip=str(reference))
    first = coqui.render(request(voice=voice, seed=9)).samples
    assert np.array_equal(first, coqui.render(request(voice=voice, seed=9)).samples)


def test_different_seeds_give_different_lines(coqui, reference: Path):
    voice = VoiceSpec(reference_clip=str(reference))
    first = coqui.render(request(voice=voice, seed=9)).samples
    second = coqui.render(request(voice=voice, seed=10)).samples
    assert first.shape != second.shape or not np.array_equal(first, second)


def test_faster_speech_is_shorter(coqui, reference: Path):
    normal = coqui.render(request(voice=VoiceSpec(reference_clip=str(reference)))).seconds
    fast = coqui.render(request(voice=VoiceSpec(reference_clip=str(reference), speed=2.0))).seconds
    assert fast == pytest.approx(normal / 2, rel=0.15)


def test_pitch_keeps_the_length(coqui, reference: Path):
    normal = coqui.render(request(voice=VoiceSpec(reference_clip=str(reference)))).seconds
    higher = coqui.render(request(voice=VoiceSpec(reference_clip=str(reference), pitch=4))).seconds
    assert higher == pytest.approx(normal, rel=0.1)


def test_a_relative_reference_clip_is_refused(coqui):
    with pytest.raises(RenderError, match="not an absolute path"):
        coqui.render(request(voice=VoiceSpec(reference_clip="voices/lin.wav")))


def test_a_missing_reference_clip_is_a_render_error(coqui, tmp_path: Path):
    with pytest.raises(RenderError, match="not found"):
        coqui.render(request(voice=VoiceSpec(reference_clip=str(tmp_path / "gone.wav"))))


def test_cantonese_is_not_spoken(coqui):
    assert not CoquiVoice.speaks("yue") and not CoquiVoice.speaks("zh-HK")
    with pytest.raises(RenderError, match="does not speak 'zh-HK'"):
        coqui.render(request(language="zh-HK"))


def test_language_tags_map_to_xtts_codes():
    languages = ["en", "zh-cn", "pt"]
    assert [xtts_language(tag, languages) for tag in ("zh", "zh-Hans-CN", "cmn", "en-US", "pt-BR", "sw")] == [
        "zh-cn", "zh-cn", "zh-cn", "en", "pt", None]
    assert CoquiVoice.speaks("zh-CN") and CoquiVoice.speaks("ja") and not CoquiVoice.speaks("sw")


def test_missing_model_folder_is_a_clear_error(tmp_path: Path):
    with pytest.raises(BackendUnavailable, match="no XTTS model at .*xtts-v2.*model.pth"):
        load_backend("coqui", "voice", {"model_dir": str(tmp_path / "xtts-v2")})


def test_unavailable_without_coqui_tts_names_the_extra(monkeypatch: pytest.MonkeyPatch, model_dir: Path):
    monkeypatch.setitem(sys.modules, "TTS", None)
    availability = CoquiVoice.availability()
    assert not availability.available
    assert "microdrama[voice]" in availability.reason and "torch 2.9" in availability.reason
    with pytest.raises(BackendUnavailable, match="microdrama\\[voice\\]"):
        load_backend("coqui", "voice", {"model_dir": str(model_dir)})


def test_availability_states_the_non_commercial_licence():
    assert "non-commercial" in CoquiVoice.availability().reason
