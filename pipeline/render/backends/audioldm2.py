"""The `audioldm2` sfx backend: AudioLDM 2 text-to-audio through diffusers' AudioLDM2Pipeline,
from a local folder saved with `save_pretrained` (the `microdrama[video]` extra: torch, diffusers,
transformers).

Licence: the AudioLDM 2 weights (cvssp/audioldm2, -large, -music) are CC-BY-NC-SA 4.0, for
non-commercial use only; the diffusers code is Apache-2.0. `microdrama backends` says so.

The prompt is the sound in the plan's words (a bed's says it is an ambience). The model writes
16 kHz audio about as long as asked; it is cut or padded to the request's exact length, faded at
both ends and set to the levels the foley backend uses (a bed's RMS, an effect's peak), so the mix
places either backend's sounds alike. Seeded through a torch generator: the same request gives
the same sound on the same machine.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import ClassVar

import numpy as np
from pydantic import BaseModel, Field

from ...core.errors import BackendUnavailable
from . import AudioClip, Availability, Capabilities, Kind, SfxRequest
from .foley import fade_ends
from .torch_device import (
    DeviceOptions,
    load_pipeline,
    model_index,
    out_of_memory_as_render_error,
    package_availability,
    resolve_placement,
)

LICENCE = "AudioLDM 2 weights are CC-BY-NC-SA 4.0: non-commercial use only"
OUT_OF_MEMORY_HINT = "use dtype = 'float16', offload = 'model', or device = 'cpu'"
BED_RMS_DB = -37.0  # as the foley backend's beds
EFFECT_PEAK_DB = -11.0  # as its effects
FADE_S = 0.02


class AudioLDM2Options(DeviceOptions):
    model: str = Field(description="Folder of an AudioLDM 2 pipeline saved with save_pretrained (a local copy "
                                   "of e.g. cvssp/audioldm2). Nothing is downloaded.")
    num_inference_steps: int = Field(100, ge=1, le=1000, description="Denoising steps.")
    guidance_scale: float = Field(3.5, ge=1.0, le=20.0, description="How closely to follow the text.")
    negative_prompt: str = Field("low quality, music, speech", description="What the sound should not be.")


class AudioLDM2Sfx:
    """AudioLDM 2 (diffusers' AudioLDM2Pipeline) from a local folder; CC-BY-NC-SA weights.
    Loaded on first use, once per process."""

    name: ClassVar[str] = "audioldm2"
    version: ClassVar[str] = "1"
    kind: ClassVar[Kind] = "sfx"
    capabilities: ClassVar[Capabilities] = Capabilities(seed=True)
    Options: ClassVar[type[BaseModel]] = AudioLDM2Options
    extra: ClassVar[str | None] = "video"

    def __init__(self, options: AudioLDM2Options) -> None:
        self.options = options
        self.folder = Path(options.model).expanduser()
        saved = model_index(self.folder, self.name)["_class_name"]
        if saved != "AudioLDM2Pipeline":
            raise BackendUnavailable(self.name, f"{self.folder} holds a {saved}, not an AudioLDM2Pipeline")
        self.placement = resolve_placement(options, self.name)
        self._pipeline = None
        self._lock = threading.Lock()

    @classmethod
    def availability(cls) -> Availability:
        return package_availability(("torch", "diffusers", "transformers"), cls.extra, LICENCE)

    def render(self, request: SfxRequest) -> AudioClip:
        with self._lock:
            pipeline = self._loaded()
            rate = pipeline.vocoder.config.sampling_rate
            count = round(request.num_frames * rate / request.fps)
            prompt = f"{request.prompt}, ambience, background sound" if request.bed else request.prompt
            with out_of_memory_as_render_error(request.target, self.name, OUT_OF_MEMORY_HINT):
                audio = pipeline(
                    prompt=prompt, negative_prompt=self.options.negative_prompt,
                    audio_length_in_s=max(count / rate, 0.1), num_inference_steps=self.options.num_inference_steps,
                    guidance_scale=self.options.guidance_scale, generator=self.placement.generator(request.seed),
                    output_type="np",
                ).audios[0]
        samples = np.zeros(count, np.float32)
        samples[: min(count, len(audio))] = audio[:count]
        return AudioClip(_levelled(fade_ends(samples, FADE_S, rate), request.bed), rate)

    def _loaded(self):
        """The pipeline, loaded on first use; the caller holds the lock."""
        if self._pipeline is None:
            self._pipeline = load_pipeline(self.folder, self.placement)
        return self._pipeline


def _levelled(samples: np.ndarray, bed: bool) -> np.ndarray:
    measure = np.sqrt(np.mean(samples**2)) if bed else np.abs(samples).max()
    if not measure:
        return samples
    return (samples * (10 ** ((BED_RMS_DB if bed else EFFECT_PEAK_DB) / 20) / measure)).astype(np.float32)
