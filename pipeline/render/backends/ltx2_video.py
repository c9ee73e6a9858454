"""The `ltx2` video backend: a local LTX-2 folder through diffusers' LTX2Pipeline (text-to-video)
and LTX2ImageToVideoPipeline (image-to-video), usually on a GPU.

    # microdrama.toml
    [[backends.routes]]
    video = "ltx2"
    options = { model = "/models/LTX-2", offload = "model" }

Everything but the weights table is the `diffusers` backend's (diffusers_video.py): the folder
saved with `save_pretrained`, the generation shape (sides of 32, 8k + 1 frames, 24 fps), the
first framed character's keyframe as the first frame, one lock, the load on the first render.
It is its own backend for the licence.

Licence: the LTX-2 weights (Lightricks/LTX-2, LTX-2.3; LTX-2.5 under the LTX-2.x version) are
under the LTX-2 Community License Agreement, not an open-source licence: free of charge for
entities below USD 10M annual revenue, a commercial licence from Lightricks above, with use
restrictions of its own; the diffusers code is Apache-2.0. `microdrama backends` says so.

Sound: LTX-2 generates picture and sound together (one transformer with a video and an audio
stream that attend to each other; the audio VAE and vocoder turn the audio latents into a
waveform). This backend keeps the picture and drops the waveform, because the shot's dialogue,
score and effects are rendered separately and mixed by assembly. The request's voice takes
(`VideoRequest.voices`) do not reach the model: the installed diffusers' LTX2Pipeline and
LTX2ImageToVideoPipeline take no audio to condition on (their `audio_latents` are the starting
noise of the audio stream, denoised from the first step like the video), so lips do not follow
the takes. The audio is still generated and decoded on every call (the pipelines return both).
Only LTX2DFRPipeline, LTX-2.5's distilled multi-stage pass, can hold given audio latents clean
(`freeze_audio`) while the video denoises; it needs LTX-2.5 DFR weights, and diffusers has no
waveform-to-mel front end for the audio VAE's encoder, so the takes cannot be encoded here.

Image-to-video re-encodes the keyframe as H.264 at the CRF LTX-2 was trained with (the
pipeline's default), which needs PyAV (`av`, in the `video` extra).
"""

from __future__ import annotations

from typing import ClassVar

from . import Availability
from .diffusers_video import REQUIRED_MODULES, DiffusersVideo, Family, Weights
from .torch_device import package_availability

LICENCE = ("LTX-2 weights are under the LTX-2 Community License Agreement: free use below USD 10M annual "
           "revenue, a commercial licence from Lightricks above")

LTX2 = Family("LTX-2", frame_step=8, size_multiple=32, fps=24, native_area=768 * 512, max_frames=121,
              fps_argument="frame_rate", requires=("av",))
_LTX2_WEIGHTS = Weights(LTX2, t2v="LTX2Pipeline", i2v="LTX2ImageToVideoPipeline")


class LTX2Video(DiffusersVideo):
    """Text- or image-to-video with a local LTX-2 pipeline; the picture only (see the module docstring)."""

    name = "ltx2"
    version = "1"
    supported: ClassVar[dict[str, Weights]] = {"LTX2Pipeline": _LTX2_WEIGHTS,
                                               "LTX2ImageToVideoPipeline": _LTX2_WEIGHTS}

    @classmethod
    def availability(cls) -> Availability:
        return package_availability(REQUIRED_MODULES, cls.extra, LICENCE)
