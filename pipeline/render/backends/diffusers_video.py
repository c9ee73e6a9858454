"""The `diffusers` video backend: a local LTX-Video, Wan or CogVideoX pipeline folder, usually on a GPU.

    # microdrama.toml: close-ups from Wan image-to-video, the rest stays on the default backend
    [[backends.routes]]
    shot_types = ["CU", "MCU"]
    video = "diffusers"
    options = { model = "/models/Wan2.1-I2V-14B-480P-Diffusers", offload = "model" }

The folder is one saved with `save_pretrained` (what `hf download <repo> --local-dir` gives); its
`model_index.json` names the pipeline class, which says the family (frame and size rules, trained
frame rate) and what the weights can do: LTX weights do text- and image-to-video, Wan and
CogVideoX ship separate text-to-video and image-to-video checkpoints.

The model makes its own clip: the request's aspect ratio at the family's trained pixel count
(or the `width`/`height` options), rounded to the sizes the model accepts, at its trained frame
rate, as many frames as the shot needs up to `max_frames`. The core's conform step then
cover-crops it to the series' size, resamples it to the series' frame rate and holds the last
frame when the shot is longer than the clip.

Identity: IP-Adapter does not reach the DiT video pipelines (LTX, Wan, CogVideoX and HunyuanVideo
take no `ip_adapter_image`), so a character's look reaches the picture only as the first frame of
image-to-video: the first framed character's keyframe (else the location's), cover-resized to
the generation size. `pipeline/render/keyframes.py` makes those keyframes.

One pipeline per backend instance, loaded on the first render (listing or routing a backend costs
no weights); renders may come from several threads, and one lock serializes loading and the GPU
calls.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import numpy as np
from pydantic import Field, field_validator

from ..conform import cover_resize
from ...core.errors import BackendUnavailable, RenderError
from . import Availability, Capabilities, VideoFrames, VideoRequest
from .torch_device import (
    DeviceOptions, load_pipeline, missing_modules, model_index, out_of_memory_as_render_error, package_availability,
    resolve_placement,
)

if TYPE_CHECKING:
    from diffusers import DiffusionPipeline
    from PIL import Image

REQUIRED_MODULES = ("torch", "diffusers", "transformers")
DEFAULT_NEGATIVE = "worst quality, low quality, blurry, jittery, distorted, deformed, watermark, subtitles"


@dataclass(frozen=True)
class Family:
    """What a model family accepts and was trained at."""

    name: str
    frame_step: int  # frame counts are frame_step * k + 1 (the VAE's temporal compression)
    size_multiple: int  # height and width must divide by this (VAE compression x patch size)
    fps: int
    native_area: int  # pixels per frame at the trained resolution
    max_frames: int  # default cap on frames per call (about five seconds)
    fps_argument: str | None = None  # the call argument that takes the frame rate, if any
    fp32_components: tuple[str, ...] = ()  # components the model card keeps in float32
    requires: tuple[str, ...] = ()  # modules the pipeline imports only when called


LTX = Family("LTX-Video", frame_step=8, size_multiple=32, fps=24, native_area=704 * 512, max_frames=121,
             fps_argument="frame_rate")
WAN = Family("Wan", frame_step=4, size_multiple=16, fps=16, native_area=832 * 480, max_frames=81,
             fp32_components=("vae", "image_encoder"), requires=("ftfy",))
# CogVideoX's VAE compresses time 4x, but decodes an even number of latent frames to 4n frames:
# only 8k + 1 frames (49 for 1.0, 81 and 161 for 1.5) come back as asked.
COGVIDEOX = Family("CogVideoX", frame_step=8, size_multiple=16, fps=8, native_area=720 * 480, max_frames=49)


@dataclass(frozen=True)
class Weights:
    """What the weights saved under one pipeline class can do, and through which class."""

    family: Family
    t2v: str | None  # pipeline class for text-to-video, None when the weights cannot do it
    i2v: str | None  # pipeline class for image-to-video


_LTX_WEIGHTS = Weights(LTX, t2v="LTXPipeline", i2v="LTXImageToVideoPipeline")
WEIGHTS = {
    "LTXPipeline": _LTX_WEIGHTS,
    "LTXImageToVideoPipeline": _LTX_WEIGHTS,
    "LTXConditionPipeline": Weights(LTX, t2v="LTXConditionPipeline", i2v="LTXConditionPipeline"),
    "WanPipeline": Weights(WAN, t2v="WanPipeline", i2v=None),
    "WanImageToVideoPipeline": Weights(WAN, t2v=None, i2v="WanImageToVideoPipeline"),
    "CogVideoXPipeline": Weights(COGVIDEOX, t2v="CogVideoXPipeline", i2v=None),
    "CogVideoXImageToVideoPipeline": Weights(COGVIDEOX, t2v=None, i2v="CogVideoXImageToVideoPipeline"),
}

# Call arguments the backend sets itself; `call_kwargs` may not override them.
OWN_ARGUMENTS = frozenset({"prompt", "negative_prompt", "image", "height", "width", "num_frames", "frame_rate",
                           "generator", "output_type", "num_inference_steps", "guidance_scale", "return_dict"})


class DiffusersVideoOptions(DeviceOptions):
    model: str = Field(description="Local folder of a diffusers video pipeline, saved with save_pretrained "
                                   "(e.g. `hf download Lightricks/LTX-Video --local-dir /models/ltx`); "
                                   "never downloaded.")
    mode: Literal["auto", "t2v", "i2v"] = Field(
        "auto", description="auto: image-to-video when the shot has a keyframe and the weights can, else "
                            "text-to-video; t2v or i2v force one (i2v fails shots without a keyframe).")
    num_inference_steps: int | None = Field(None, ge=1, description="Denoising steps; null: the pipeline's "
                                                                    "default (50), distilled models need fewer.")
    guidance_scale: float | None = Field(None, ge=0, description="Classifier-free guidance; null: the "
                                                                 "pipeline's default (1.0 for distilled LTX).")
    negative_prompt: str = Field(DEFAULT_NEGATIVE, description="What to steer away from, before the shot's own.")
    width: int | None = Field(None, ge=16, description="Generation width; null: from height, or the model's "
                                                       "trained pixel count, at the shot's aspect ratio.")
    height: int | None = Field(None, ge=16, description="Generation height; null: as for width.")
    max_frames: int | None = Field(None, ge=1, description="Most frames per call (a longer shot holds the last "
                                                          "frame); null: about five seconds.")
    fps: int | None = Field(None, ge=1, le=120, description="Frame rate the model was trained at; null: the "
                                                           "family's (LTX 24, Wan 16, CogVideoX 8; set 24 for "
                                                           "Wan 2.2 TI2V-5B, 16 for CogVideoX 1.5).")
    vae_tiling: bool = Field(False, description="Decode in tiles: less memory at large sizes, slightly slower.")
    call_kwargs: dict[str, bool | int | float | str] = Field(
        default_factory=dict, description="More pipeline arguments, e.g. {decode_timestep = 0.03, "
                                          "decode_noise_scale = 0.025} for LTX 0.9.1+, {guidance_scale_2 = 3.0} "
                                          "for Wan 2.2.")

    @field_validator("call_kwargs")
    @classmethod
    def _not_own_arguments(cls, value: dict[str, Any]) -> dict[str, Any]:
        taken = sorted(OWN_ARGUMENTS & set(value))
        if taken:
            raise ValueError(f"{', '.join(taken)} are set by the backend; use its own options instead")
        return value


@dataclass(frozen=True)
class Shape:
    """The clip the model is asked for."""

    width: int
    height: int
    num_frames: int
    fps: int


def snap(value: float, multiple: int) -> int:
    return max(multiple, round(value / multiple) * multiple)


def generation_size(aspect: float, family: Family, width: int | None, height: int | None) -> tuple[int, int]:
    """Width and height at `aspect` (width / height), from the options or the trained pixel count,
    rounded to the sizes the family accepts."""
    if width is None and height is None:
        width = math.sqrt(family.native_area * aspect)
    if width is None:
        width = height * aspect
    if height is None:
        height = width / aspect
    return snap(width, family.size_multiple), snap(height, family.size_multiple)


def generation_frames(wanted: int, frame_step: int, cap: int) -> int:
    """The smallest count of the form frame_step * k + 1 that covers `wanted` frames, without
    going over `cap` (then the largest one under it)."""
    frames = frame_step * math.ceil((min(wanted, cap) - 1) / frame_step) + 1
    return frames if frames <= cap else frames - frame_step


def generation_shape(request: VideoRequest, family: Family, options: DiffusersVideoOptions) -> Shape:
    fps = options.fps or family.fps
    width, height = generation_size(request.width / request.height, family, options.width, options.height)
    wanted = math.ceil(request.num_frames * fps / request.fps)
    return Shape(width, height, generation_frames(wanted, family.frame_step, options.max_frames or family.max_frames),
                 fps)


def conditioning_keyframe(request: VideoRequest) -> str | None:
    """The first framed character's keyframe, else the location's."""
    return next((c.keyframe for c in request.characters if c.keyframe), None) or request.location.keyframe


def conditioning_image(path: str, width: int, height: int, shot_id: str, backend: str) -> Image.Image:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            pixels = np.asarray(image.convert("RGB"))
    except (OSError, UnidentifiedImageError) as exc:
        raise RenderError(shot_id, backend, f"cannot read keyframe {path}: {exc}") from exc
    return Image.fromarray(cover_resize(pixels, width, height))


def to_uint8(frames: np.ndarray, shot_id: str, backend: str) -> np.ndarray:
    """Frames as `output_type="np"` gives them (floats in [0, 1]) to uint8."""
    if not np.isfinite(frames).all():
        raise RenderError(shot_id, backend, "the model produced NaN pixels (half precision on the CPU does "
                                            "this): set dtype = 'float32' or use a GPU")
    return (np.clip(frames, 0.0, 1.0) * 255.0).round().astype(np.uint8)


class DiffusersVideo:
    """Text- or image-to-video with a local diffusers pipeline."""

    name = "diffusers"
    version = "1"
    kind = "video"
    capabilities = Capabilities(seed=True, reference_image=True)
    Options = DiffusersVideoOptions
    extra = "video"
    supported: ClassVar[dict[str, Weights]] = WEIGHTS  # by the saved pipeline class

    def __init__(self, options: DiffusersVideoOptions) -> None:
        """Checks everything that can be checked without loading weights: the folder, the pipeline
        class, the mode, the device. Weights load on the first render."""
        self.options = options
        self.folder = Path(options.model).expanduser()
        saved_class = model_index(self.folder, self.name)["_class_name"]
        if saved_class not in self.supported:
            raise BackendUnavailable(self.name, f"{self.folder} holds a {saved_class}; supported: "
                                                f"{', '.join(self.supported)}")
        self.weights = self.supported[saved_class]
        self._check_mode(saved_class)
        missing = missing_modules(self.weights.family.requires)
        if missing:
            raise BackendUnavailable(self.name, f"the {self.weights.family.name} pipelines need {', '.join(missing)}: "
                                                f"pip install 'microdrama[{self.extra}]'")
        self.placement = resolve_placement(options, self.name)
        self._lock = threading.Lock()
        self._pipelines: dict[str, DiffusionPipeline] = {}  # by class name, all sharing one set of weights

    @classmethod
    def availability(cls) -> Availability:
        return package_availability(REQUIRED_MODULES, cls.extra)

    def _check_mode(self, saved_class: str) -> None:
        if self.options.mode == "t2v" and self.weights.t2v is None:
            raise BackendUnavailable(self.name, f"{self.folder} ({saved_class}) is image-to-video only; "
                                                f"use mode 'auto' or 'i2v'")
        if self.options.mode == "i2v" and self.weights.i2v is None:
            raise BackendUnavailable(self.name, f"{self.folder} ({saved_class}) is text-to-video only; "
                                                f"use mode 'auto' or 't2v'")

    def render(self, request: VideoRequest) -> VideoFrames:
        shape = generation_shape(request, self.weights.family, self.options)
        pipeline_class, keyframe = self._task(request)
        arguments = self._arguments(request, shape)
        if keyframe:
            arguments["image"] = conditioning_image(keyframe, shape.width, shape.height, request.shot_id, self.name)
        with self._lock:
            pipeline = self._pipeline(pipeline_class, request.shot_id)
            arguments["generator"] = self.placement.generator(request.seed)
            video = self._generate(pipeline, arguments, request.shot_id)
        frames = list(to_uint8(video, request.shot_id, self.name))
        height, width = frames[0].shape[:2]
        return VideoFrames(frames=frames, width=width, height=height, fps=shape.fps, num_frames=len(frames))

    def _task(self, request: VideoRequest) -> tuple[str, str | None]:
        """The pipeline class for this shot, and the keyframe it starts from (None: text-to-video)."""
        keyframe = conditioning_keyframe(request)
        if not self._image_to_video(keyframe):
            return self.weights.t2v, None
        if keyframe is None:
            raise RenderError(request.shot_id, self.name, f"{self.folder.name} animates a keyframe, and no character "
                                                          f"or location in this shot has one: generate keyframes "
                                                          f"(pipeline/render/keyframes.py) or route the shot elsewhere")
        return self.weights.i2v, keyframe

    def _image_to_video(self, keyframe: str | None) -> bool:
        if self.options.mode != "auto":
            return self.options.mode == "i2v"
        if self.weights.t2v is None:  # image-to-video weights: every shot must start from a keyframe
            return True
        return keyframe is not None and self.weights.i2v is not None

    def _arguments(self, request: VideoRequest, shape: Shape) -> dict[str, Any]:
        negative = ", ".join(p for p in (self.options.negative_prompt, request.negative_prompt) if p)
        arguments: dict[str, Any] = {
            "prompt": request.prompt, "negative_prompt": negative, "width": shape.width, "height": shape.height,
            "num_frames": shape.num_frames, "output_type": "np",
        }
        if self.options.num_inference_steps is not None:
            arguments["num_inference_steps"] = self.options.num_inference_steps
        if self.options.guidance_scale is not None:
            arguments["guidance_scale"] = self.options.guidance_scale
        if self.weights.family.fps_argument:
            arguments[self.weights.family.fps_argument] = shape.fps
        return arguments | self.options.call_kwargs

    def _pipeline(self, class_name: str, shot_id: str) -> DiffusionPipeline:
        """The pipeline of `class_name`, loading the weights once; called under the lock."""
        if not self._pipelines:
            try:
                loaded = load_pipeline(self.folder, self.placement, self.weights.family.fp32_components)
            except (OSError, ValueError, ImportError) as exc:
                raise RenderError(shot_id, self.name, f"cannot load {self.folder}: {exc}") from exc
            if self.options.vae_tiling:
                loaded.vae.enable_tiling()
            self._pipelines[type(loaded).__name__] = loaded
        if class_name not in self._pipelines:
            self._pipelines[class_name] = sibling_pipeline(next(iter(self._pipelines.values())), class_name)
        return self._pipelines[class_name]

    def _generate(self, pipeline: DiffusionPipeline, arguments: dict[str, Any], shot_id: str) -> np.ndarray:
        hint = (f"{arguments['width']}x{arguments['height']}, {arguments['num_frames']} frames is too much: set "
                f"offload = 'model', vae_tiling = true, or lower height/width/max_frames")
        with out_of_memory_as_render_error(shot_id, self.name, hint):
            return pipeline(**arguments).frames[0]


def sibling_pipeline(loaded: DiffusionPipeline, class_name: str) -> DiffusionPipeline:
    """Another pipeline class over the same weights (LTX text- and image-to-video share them).

    Built from the components, not with `from_pipe`: that casts every shared weight to its `dtype`
    argument (float32 unless given). The components keep their device or offload hooks."""
    import diffusers

    sibling = getattr(diffusers, class_name)(**loaded.components)
    sibling.set_progress_bar_config(disable=True)
    return sibling
