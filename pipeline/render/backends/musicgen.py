"""The `musicgen` music backend: Meta's MusicGen text-to-music model through transformers, from a
local folder of weights (the `microdrama[music]` extra).

Licence: the MusicGen weights (facebook/musicgen-small, -medium, -large and the stereo variants)
are CC-BY-NC 4.0, for non-commercial use only; the transformers code is Apache-2.0. A user who
selects this backend is told so by `microdrama backends`.

The text prompt is composed from the cue's mood, intensity and tempo plus the request's own prompt.
MusicGen writes 50 token frames a second and was trained on 30 s clips, so a longer cue is made
the way AudioCraft extends a piece: each further window is prompted with the last
`context_seconds` of the music so far and the same text, so the score continues instead of
starting over, and the join is crossfaded. The result is cut to the request's exact sample count,
faded at both ends like the synth's cues (so cues butt against each other), and normalised to a
peak level; it comes out at the model's own sampling rate (32 kHz) and the core resamples.

Sampling draws from torch's global generator, seeded with the request's seed under the same lock
that serialises generation: the same request gives the same music on the same machine, a new seed
new music.
"""

from __future__ import annotations

import json
import math
import threading
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import numpy as np
from pydantic import BaseModel, Field, model_validator

from ...core.errors import BackendUnavailable, RenderError
from ...core.models import Mood
from . import AudioClip, Availability, Capabilities, Kind, MusicRequest
from .synth import cue_samples
from .torch_device import DeviceOptions, out_of_memory_as_render_error, package_availability, resolve_placement

if TYPE_CHECKING:
    from transformers import MusicgenForConditionalGeneration, MusicgenProcessor

LICENCE = "MusicGen weights are CC-BY-NC 4.0: non-commercial use only"
OUT_OF_MEMORY_HINT = "use a smaller model (musicgen-small), dtype = 'float16', or device = 'cpu'"

FADE_SECONDS = 0.5
CROSSFADE_SECONDS = 0.05

MOOD_WORDS: dict[Mood, str] = {
    Mood.NEUTRAL: "understated cinematic underscore, soft piano and strings",
    Mood.TENSE: "tense suspenseful thriller score, low strings, pulsing synth",
    Mood.SAD: "melancholic film score, slow piano and cello",
    Mood.WARM: "warm gentle score, acoustic guitar and strings",
    Mood.ROMANTIC: "romantic tender score, piano and lush strings",
    Mood.MYSTERIOUS: "mysterious dark ambient score, celesta and airy pads",
    Mood.JOYFUL: "joyful upbeat score, bright pizzicato strings and light percussion",
    Mood.ANGRY: "aggressive intense score, heavy drums and distorted bass",
}


def describe(request: MusicRequest) -> str:
    """The text prompt: what the cue should sound like, in the words MusicGen was trained on."""
    if request.intensity < 0.35:
        energy = "sparse and quiet"
    elif request.intensity < 0.7:
        energy = "steady"
    else:
        energy = "full and driving"
    text = f"{MOOD_WORDS[request.mood]}, {energy}, {request.tempo_bpm} bpm, instrumental"
    return f"{text}. {request.prompt}" if request.prompt else text


class MusicGenOptions(DeviceOptions):
    model: str = Field(
        description="Folder of a MusicGen checkpoint as transformers saves it (config.json, the "
        "weights, and the processor's tokenizer and feature extractor files), e.g. a local copy "
        "of facebook/musicgen-small. Nothing is downloaded."
    )
    guidance_scale: float = Field(
        3.0, ge=1.0, le=10.0, description="Classifier-free guidance: how closely to follow the text."
    )
    window_seconds: float = Field(
        30.0, gt=0.0, le=60.0,
        description="Longest stretch generated in one call; the models were trained on 30 s.",
    )
    context_seconds: float = Field(
        10.0, gt=0.0,
        description="Music so far that prompts each further window of a longer cue.",
    )
    peak_dbfs: float = Field(-6.0, ge=-40.0, le=0.0, description="Peak level of a cue.")

    @model_validator(mode="after")
    def _consistent(self) -> MusicGenOptions:
        if self.context_seconds >= self.window_seconds:
            raise ValueError("context_seconds must be shorter than window_seconds")
        if self.offload != "none":
            raise ValueError("offload is for diffusers pipelines; MusicGen runs whole on one device")
        return self


def model_folder(path: str, backend: str) -> Path:
    """The checkpoint folder, checked before anything heavy is imported."""
    folder = Path(path).expanduser()
    config = folder / "config.json"
    try:
        model_type = json.loads(config.read_text(encoding="utf-8")).get("model_type")
    except FileNotFoundError:
        raise BackendUnavailable(
            backend, f"no MusicGen model at {folder} (no config.json there); set `model` to a local "
            f"copy of e.g. facebook/musicgen-small; {LICENCE}"
        ) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BackendUnavailable(backend, f"cannot read {config}: {exc}") from None
    if model_type != "musicgen":
        raise BackendUnavailable(backend, f"{folder} holds a {model_type!r} model, not 'musicgen'")
    return folder


def fade_ends(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """Raised-cosine fades at both ends (at most a quarter of the cue each)."""
    length = min(int(FADE_SECONDS * sample_rate), len(samples) // 4)
    if length:
        ramp = (0.5 - 0.5 * np.cos(np.linspace(0.0, np.pi, length))).astype(np.float32)
        samples[:length] *= ramp
        samples[-length:] *= ramp[::-1]
    return samples


def join(music: np.ndarray, continuation: np.ndarray, overlap: int, crossfade: int) -> np.ndarray:
    """Append a continuation whose first `overlap` samples re-decode the tail of `music` (its
    audio prompt), crossfading over the last `crossfade` samples of that overlap. Both arrays are
    (channels, samples)."""
    crossfade = min(crossfade, overlap)
    ramp = np.linspace(0.0, 1.0, crossfade, dtype=np.float32)
    blend = music[:, -crossfade:] * (1.0 - ramp) + continuation[:, overlap - crossfade : overlap] * ramp
    return np.concatenate([music[:, :-crossfade], blend, continuation[:, overlap:]], axis=1)


class MusicGenMusic:
    """MusicGen (transformers' MusicgenForConditionalGeneration) from a local folder; CC-BY-NC
    weights. Loaded on first use, once per process."""

    name: ClassVar[str] = "musicgen"
    version: ClassVar[str] = "1"
    kind: ClassVar[Kind] = "music"
    capabilities: ClassVar[Capabilities] = Capabilities(seed=True)
    Options: ClassVar[type[BaseModel]] = MusicGenOptions
    extra: ClassVar[str | None] = "music"

    def __init__(self, options: MusicGenOptions) -> None:
        self.options = options
        self.folder = model_folder(options.model, self.name)
        self._model: MusicgenForConditionalGeneration | None = None
        self._processor: MusicgenProcessor | None = None
        self._lock = threading.Lock()

    @classmethod
    def availability(cls) -> Availability:
        return package_availability(("torch", "transformers"), cls.extra, LICENCE)

    def render(self, request: MusicRequest) -> AudioClip:
        import torch

        with self._lock:
            model = self._loaded()
            sample_rate = model.config.audio_encoder.sampling_rate
            count = cue_samples(request.num_frames, request.fps, sample_rate)
            torch.manual_seed(request.seed)
            with out_of_memory_as_render_error(request.cue_id, self.name, OUT_OF_MEMORY_HINT):
                music = self._generate(describe(request), count, request.cue_id)
        mono = music.mean(axis=0)[:count].astype(np.float32)
        return AudioClip(self._level(fade_ends(mono, sample_rate)), sample_rate)

    def _generate(self, text: str, count: int, cue_id: str) -> np.ndarray:
        """At least `count` samples, as (channels, samples): one window, then continuations."""
        config = self._model.config.audio_encoder
        hop = math.prod(config.upsampling_ratios)  # samples per token frame
        needed = math.ceil(count / hop)
        context = max(1, round(self.options.context_seconds * config.frame_rate))
        window = max(context + 1, round(self.options.window_seconds * config.frame_rate))
        crossfade = round(CROSSFADE_SECONDS * config.sampling_rate)
        music = self._window(text, None, min(needed, window))
        while music.shape[1] < count:
            frames = min(needed - music.shape[1] // hop, window - context)
            continuation = self._window(text, music[:, -context * hop :], frames)
            if continuation.shape[1] <= context * hop:
                raise RenderError(cue_id, self.name, "the model stopped generating before the cue's end")
            music = join(music, continuation, context * hop, crossfade)
        return music

    def _window(self, text: str, prompt: np.ndarray | None, frames: int) -> np.ndarray:
        """`frames` new token frames of music, after the decoded `prompt` if there is one."""
        import torch

        prompt_audio = {}
        if prompt is not None:
            # A batch of one clip: mono as (samples,), stereo as (2, samples).
            prompt_audio = {"audio": [prompt[0] if len(prompt) == 1 else prompt],
                            "sampling_rate": self._model.config.audio_encoder.sampling_rate}
        inputs = self._processor(text=[text], padding=True, return_tensors="pt", **prompt_audio)
        device, dtype = self._model.device, self._model.dtype
        inputs = {
            key: value.to(device, dtype) if value.is_floating_point() else value.to(device)
            for key, value in inputs.items()
        }
        # Codebook k of a channel runs k frames behind the first, so the last frame is complete
        # only (codebooks per channel - 1) steps after it starts.
        decoder = self._model.decoder.config
        delay = decoder.num_codebooks // decoder.audio_channels - 1
        with torch.inference_mode():
            audio_values = self._model.generate(
                **inputs, do_sample=True, guidance_scale=self.options.guidance_scale,
                max_new_tokens=frames + delay,
            )
        return audio_values[0].float().cpu().numpy()

    def _level(self, samples: np.ndarray) -> np.ndarray:
        loudest = float(np.abs(samples).max())
        if loudest == 0.0:
            return samples
        return (samples * (10 ** (self.options.peak_dbfs / 20) / loudest)).astype(np.float32)

    def _loaded(self) -> MusicgenForConditionalGeneration:
        """The model (and its processor), loaded on first use; the caller holds the lock."""
        if self._model is None:
            from transformers import AutoProcessor, MusicgenForConditionalGeneration

            placement = resolve_placement(self.options, self.name)
            model = MusicgenForConditionalGeneration.from_pretrained(
                self.folder, local_files_only=True, dtype=placement.dtype
            )
            self._processor = AutoProcessor.from_pretrained(self.folder, local_files_only=True)
            self._model = model.to(placement.device).eval()
        return self._model
