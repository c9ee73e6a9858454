"""The `wav2lip` lipsync backend: Wav2Lip (the `lipsync` package's model class and mel spectrogram)
over a rendered shot, from a local checkpoint (the `microdrama[lipsync]` extra).

    # microdrama.toml: close-ups from Wan, then their speakers' mouths moved to the lines
    [[backends.routes]]
    shot_types = ["CU", "MCU"]
    video = "diffusers"
    options = { model = "/models/wan2.1-i2v-480p" }
    lipsync = "wav2lip"
    lipsync_options = { checkpoint = "/models/wav2lip/wav2lip_gan.pth" }

Licence: the Wav2Lip weights (wav2lip.pth, wav2lip_gan.pth) are for personal, research and
non-commercial use only, by their authors' terms; the `lipsync` package's code is MIT.
`microdrama backends` says so.

For each line seen spoken, each of its frames gets the speaker's face box, the face is cut out
at 96x96, and the model redraws its lower half from the 0.2 s of the take's mel spectrogram that
start at that frame (Wav2Lip's training windows); the result is pasted back. Frames outside the
lines are not touched.

Face boxes: the package finds faces with face-alignment's S3FD detector, which downloads its
weights on first use. Here nothing is downloaded: `face_detector` names a local copy of those
weights (s3fd-619a316812.pth), loaded into face-alignment's own detector class, and the face
nearest the speaker's place in the shot's framing is taken; without it the box is the framing's
itself (the request's `framing`), which fits pictures drawn to the plan's framing, not
necessarily a neural model's.
"""

from __future__ import annotations

import pickle
import threading
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import numpy as np
from pydantic import BaseModel, Field

from ...core.errors import BackendUnavailable, RenderError
from ...edit import ffmpeg
from . import Availability, Capabilities, FaceBox, Kind, LipsyncRequest, VideoFrames, VoicePlacement
from .torch_device import DeviceOptions, package_availability, resolve_placement

if TYPE_CHECKING:
    import torch

LICENCE = ("Wav2Lip weights are for personal, research and non-commercial use only (their authors' terms); "
           "the lipsync package's code is MIT")
REQUIRED_MODULES = ("torch", "lipsync", "cv2", "face_alignment")
FACE_SIZE = 96  # Wav2Lip's input face, square
MEL_RATE = 80  # mel frames per second (16 kHz audio, hop 200)
MEL_WINDOW = 16  # mel frames the model hears per video frame (0.2 s)
AUDIO_RATE = 16_000
SMOOTHING = 5  # frames a detected box is averaged over, as Wav2Lip does


class Wav2LipOptions(DeviceOptions):
    checkpoint: str = Field(description="Local Wav2Lip checkpoint (wav2lip.pth or wav2lip_gan.pth: the original "
                                        "{'state_dict': ...} file or a plain state dict). Never downloaded.")
    face_detector: str | None = Field(
        None, description="Local face-alignment S3FD weights (s3fd-619a316812.pth) to find faces in the picture; "
                          "unset: the faces are where the shot's framing puts them.")
    detector_threshold: float = Field(0.5, ge=0, le=1, description="Least S3FD score of a face.")
    pad_bottom: int = Field(10, ge=0, le=200, description="Pixels added below the face box, for the chin "
                                                         "(Wav2Lip's default pads).")
    batch_size: int = Field(32, ge=1, le=1024, description="Frames per model call.")


class Wav2LipSync:
    """Wav2Lip over a rendered shot's speakers; weights load on the first render, once per process."""

    name: ClassVar[str] = "wav2lip"
    version: ClassVar[str] = "1"
    kind: ClassVar[Kind] = "lipsync"
    capabilities: ClassVar[Capabilities] = Capabilities(seed=True)
    Options: ClassVar[type[BaseModel]] = Wav2LipOptions
    extra: ClassVar[str | None] = "lipsync"

    def __init__(self, options: Wav2LipOptions) -> None:
        """Checks the files and the device; loads nothing."""
        self.options = options
        self.checkpoint = _local_file(options.checkpoint, "checkpoint", self.name)
        self.detector_file = (_local_file(options.face_detector, "face_detector", self.name)
                              if options.face_detector else None)
        self.placement = resolve_placement(options, self.name)
        self._lock = threading.Lock()
        self._model: torch.nn.Module | None = None
        self._detector = None

    @classmethod
    def availability(cls) -> Availability:
        return package_availability(REQUIRED_MODULES, cls.extra, LICENCE)

    def render(self, request: LipsyncRequest) -> VideoFrames:
        frames = list(ffmpeg.read_frames(Path(request.picture), request.width, request.height))
        if len(frames) != request.num_frames:
            raise RenderError(request.shot_id, self.name, f"{request.picture} has {len(frames)} frames, "
                                                          f"expected {request.num_frames}")
        with self._lock:
            model = self._loaded_model(request.shot_id)
            for voice in request.voices:
                span = range(voice.start_frame, min(voice.end_frame, request.num_frames))
                if not span:  # a line that starts after the shot's last frame
                    continue
                boxes = self._boxes(frames, span, request.framing.get(voice.speaker), voice, request.shot_id)
                self._sync(model, frames, span, boxes, mel_chunks(voice, len(span), request.fps))
        return VideoFrames(frames=frames, width=request.width, height=request.height, fps=request.fps,
                           num_frames=len(frames))

    def _sync(self, model: torch.nn.Module, frames: list[np.ndarray], span: range, boxes: list[tuple[int, ...]],
              mels: np.ndarray) -> None:
        """Redraw the mouth of frames[span] in place, batch by batch."""
        import cv2
        import torch

        size = self.options.batch_size
        for first in range(0, len(span), size):
            indices, batch_boxes = span[first:first + size], boxes[first:first + size]
            faces = np.stack([cv2.resize(np.ascontiguousarray(frames[i][y1:y2, x1:x2, ::-1]), (FACE_SIZE, FACE_SIZE))
                              for i, (x1, y1, x2, y2) in zip(indices, batch_boxes, strict=True)])
            masked = faces.copy()
            masked[:, FACE_SIZE // 2:] = 0  # the model sees the upper face and redraws the lower half
            pictures = np.concatenate((masked, faces), axis=3).transpose(0, 3, 1, 2) / 255.0
            audio = mels[first:first + size][:, np.newaxis]
            with torch.no_grad():
                out = model(torch.from_numpy(audio).to(self.placement.device, self.placement.dtype),
                            torch.from_numpy(pictures).to(self.placement.device, self.placement.dtype))
            drawn = (out.float().clamp(0, 1).cpu().numpy().transpose(0, 2, 3, 1) * 255.0).round().astype(np.uint8)
            for i, (x1, y1, x2, y2), face in zip(indices, batch_boxes, drawn, strict=True):
                frame = frames[i].copy()
                frame[y1:y2, x1:x2] = cv2.resize(face, (x2 - x1, y2 - y1))[..., ::-1]
                frames[i] = frame

    def _boxes(self, frames: list[np.ndarray], span: range, hint: FaceBox | None, voice: VoicePlacement,
               shot_id: str) -> list[tuple[int, int, int, int]]:
        """The speaker's face in each frame of the span, as (x1, y1, x2, y2) with the chin pad."""
        height, width = frames[0].shape[:2]
        if self.detector_file is None:
            if hint is None:
                raise RenderError(shot_id, self.name, f"line {voice.line_id}: {voice.speaker} is not framed in the "
                                                      f"shot, so there is no face to sync; set face_detector to "
                                                      f"find faces in the picture")
            found = [(hint.x, hint.y, hint.x + hint.width, hint.y + hint.height)] * len(span)
        else:
            found = self._detected(frames, span, hint, voice, shot_id)
        pad = self.options.pad_bottom
        return [(x1, y1, x2, min(height, y2 + pad)) for x1, y1, x2, y2 in _clipped(found, width, height)]

    def _detected(self, frames: list[np.ndarray], span: range, hint: FaceBox | None, voice: VoicePlacement,
                  shot_id: str) -> list[tuple[float, ...]]:
        """S3FD's face in each frame (the one nearest the framing's, when there are several); a
        frame without one takes the nearest frame's; the boxes are averaged over a few frames."""
        detector = self._loaded_detector(shot_id)
        found: list[tuple[float, ...] | None] = []
        for i in span:
            faces = [face[:4] for face in detector.detect_from_image(frames[i])]
            found.append(tuple(_nearest(faces, hint)) if faces else None)
        have = [k for k, box in enumerate(found) if box is not None]
        if not have:
            raise RenderError(shot_id, self.name, f"line {voice.line_id}: no face found in frames {span.start}-"
                                                  f"{span.stop - 1} by {self.detector_file}")
        filled = np.array([found[min(have, key=lambda k: abs(k - j))] for j in range(len(found))], dtype=float)
        return [tuple(filled[j:j + SMOOTHING].mean(axis=0)) for j in range(len(filled))]

    def _loaded_model(self, shot_id: str) -> torch.nn.Module:
        """The Wav2Lip model with the checkpoint's weights; called under the lock."""
        if self._model is None:
            import torch
            from lipsync.models import Wav2Lip

            try:
                saved = torch.load(self.checkpoint, map_location="cpu", weights_only=True)
                state = saved.get("state_dict", saved)  # the original checkpoints wrap it (and DataParallel's prefix)
                model = Wav2Lip()
                model.load_state_dict({key.removeprefix("module."): value for key, value in state.items()})
            except (OSError, RuntimeError, pickle.UnpicklingError, AttributeError) as exc:
                raise RenderError(shot_id, self.name, f"cannot load the Wav2Lip checkpoint {self.checkpoint}: "
                                                      f"{exc}") from exc
            self._model = model.to(self.placement.device, self.placement.dtype).eval()
        return self._model

    def _loaded_detector(self, shot_id: str):
        """face-alignment's S3FD detector with the local weights; called under the lock."""
        if self._detector is None:
            from face_alignment.detection.sfd.sfd_detector import SFDDetector

            try:
                self._detector = SFDDetector(self.placement.device, path_to_detector=str(self.detector_file),
                                             filter_threshold=self.options.detector_threshold)
            except (OSError, RuntimeError, KeyError) as exc:
                raise RenderError(shot_id, self.name, f"cannot load the face detector {self.detector_file}: "
                                                      f"{exc}") from exc
        return self._detector


def mel_chunks(voice: VoicePlacement, count: int, fps: int) -> np.ndarray:
    """The take's mel spectrogram around each of the line's `count` frames: (count, 80, 16),
    float32; past the take's end, its last window (silence pads a take shorter than a window)."""
    from lipsync.audio import melspectrogram

    mel = melspectrogram(ffmpeg.read_audio(Path(voice.voice_clip), AUDIO_RATE)).astype(np.float32)
    if mel.shape[1] < MEL_WINDOW:
        mel = np.pad(mel, ((0, 0), (0, MEL_WINDOW - mel.shape[1])), constant_values=mel.min())
    starts = [min(int(k * MEL_RATE / fps), mel.shape[1] - MEL_WINDOW) for k in range(count)]
    return np.stack([mel[:, start:start + MEL_WINDOW] for start in starts])


def _nearest(faces: list[np.ndarray], hint: FaceBox | None) -> np.ndarray:
    """The face whose centre is nearest the framing's, else the first (S3FD's most certain)."""
    if hint is None:
        return faces[0]
    centre = np.array([hint.x + hint.width / 2, hint.y + hint.height / 2])
    return min(faces, key=lambda f: float(np.hypot(*((f[:2] + f[2:4]) / 2 - centre))))


def _clipped(boxes: list[tuple[float, ...]], width: int, height: int) -> list[tuple[int, int, int, int]]:
    """Whole-pixel boxes inside the frame, at least two pixels each way."""
    clipped = []
    for x1, y1, x2, y2 in boxes:
        left, top = min(max(0, int(x1)), width - 2), min(max(0, int(y1)), height - 2)
        clipped.append((left, top, max(left + 2, min(width, int(x2))), max(top + 2, min(height, int(y2)))))
    return clipped


def _local_file(path: str, option: str, backend: str) -> Path:
    file = Path(path).expanduser()
    if not file.is_file():
        raise BackendUnavailable(backend, f"{option} {file} is not a file; set {option} to a local copy "
                                          f"(nothing is downloaded)")
    return file
