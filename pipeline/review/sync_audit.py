"""The audit of lip sync in neural video: SyncNet's audio-video offset, LSE-D and LSE-C for each
line seen spoken in a shot drawn by a neural video backend or given a lip-sync pass.

SyncNet's evaluation, as its authors run it: the picture at 25 fps, each frame's face cut out
and scaled to 224x224; the voice at 16 kHz as MFCCs at 100 Hz; one embedding per 5-frame window
of each; the audio slid against the picture by up to 15 frames each way. LSE-D is the least mean
distance over the shifts, LSE-C (the confidence) the median less that least, and the offset the
shift where the least lies. The face is where the shot's framing puts the speaker (the lip-sync
pass's own boxes), so no face detector is needed; a picture that does not follow its framing
gives a low confidence, which is a warning, not an error.

The model class is syncnet-python's (MIT AND Apache-2.0), the weights a local syncnet_v2.model
named by `[audit] syncnet_weights`; without it each such line's check is skipped with the reason.
Nothing is downloaded. A line's check is kept (a JSON file) under the digest of what it measured,
so an unchanged segment is not measured again by the next audit.
"""

from __future__ import annotations

import importlib.metadata
import itertools
import importlib.util
import pickle
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from ..core.cache import artifact_kind
from ..core.config import AuditOptions
from ..core.errors import BackendUnavailable, ConfigError
from ..core.models import Episode, Series
from ..edit import ffmpeg
from ..edit.timeline import LineClip, Timeline, VideoClip
from ..render.backends import FaceBox
from ..render.requests import speaker_faces, video_request
from .audit import (
    Check, Verdict, _check, display_name, file_identity, measured_digest, read_kept_checks, spoken_lines,
    write_kept_checks,
)

if TYPE_CHECKING:
    import torch

KEPT_VERSION = "1"  # bump when the measurement changes
LICENCE = ("SyncNet's weights are VGG's (University of Oxford), for research use only; syncnet-python's code is "
           "MIT AND Apache-2.0")
NO_WEIGHTS = ("no SyncNet weights: set audit.syncnet_weights to a local syncnet_v2.model "
              "(VGG's weights, for research use only)")
INSTALL = "syncnet-python is not installed: pip install --no-deps syncnet-python==0.2.3 python-speech-features==0.6"
FPS = 25  # SyncNet's picture rate
AUDIO_RATE = 16_000
MFCC_PER_FRAME = 4  # 100 Hz MFCCs against 25 fps
WINDOW = 5  # frames per embedding
MAX_SHIFT = 15  # frames the audio is slid each way
CROP_SIZE = 224
CROP_SCALE = 0.4  # SyncNet's margin around the face, in face half-sizes
GREY = 110  # what SyncNet pads the frame with, where the crop leaves it
BATCH = 16  # windows per model call: about 50 MB of picture


@dataclass(frozen=True)
class Sync:
    """SyncNet's measure of one line."""

    offset: int  # frames at 25 fps; positive: the picture is late on the voice
    distance: float  # LSE-D
    confidence: float  # LSE-C


def check_sync(timeline: Timeline, episode: Episode, series: Series, root: Path, options: AuditOptions,
               kept_file: Path | None = None) -> list[Check]:
    """One check per line seen spoken in a shot drawn by a neural video backend or given a
    lip-sync pass; with `kept_file`, the checks whose inputs are unchanged come from there (and
    it is rewritten with this audit's)."""
    kept = read_kept_checks(kept_file) if kept_file else {}
    measured: dict[str, list[Check]] = {}
    checks = []
    for line, clip, scene, shot in spoken_lines(timeline, episode):
        if not drawn_by_a_model(clip):
            continue
        face = speaker_faces(video_request(shot, scene, series, root), {line.speaker}).get(line.speaker)
        if face is None or options.syncnet_weights is None:
            unframed = f"{display_name(series, line.speaker)} is not framed facing the camera in {line.shot_id}"
            reason = NO_WEIGHTS if face is not None else f"{unframed}: no face to measure"
            checks.append(_check("lip-sync", line.line_id, options.sync_max_offset_frames, None, Verdict.SKIPPED,
                                 reason))
            continue
        key = measured_digest(KEPT_VERSION, file_identity(clip.path), file_identity(line.path), timeline.fps,
                              line.start_frame - clip.start_frame, line.duration_frames, clip.duration_frames,
                              timeline.width, timeline.height, face, file_identity(options.syncnet_weights),
                              options.sync_max_offset_frames, options.sync_min_confidence)
        measured[key] = kept.get(key) or [check_line(line, clip, face, timeline, options)]
        checks += measured[key]
    if kept_file and measured.keys() != kept.keys():
        write_kept_checks(kept_file, measured)
    return checks


def drawn_by_a_model(clip: VideoClip) -> bool:
    """A segment whose mouths a model drew: a neural video backend's, or one given a lip-sync pass
    (which may follow the animatic)."""
    return clip.backend != "animatic" or artifact_kind(clip.path) == "lipsync"


def check_line(line: LineClip, clip: VideoClip, face: FaceBox, timeline: Timeline, options: AuditOptions) -> Check:
    """SyncNet over the line's part of its shot's segment and its own voice take."""
    name, threshold = "lip-sync", options.sync_max_offset_frames
    start_s = (line.start_frame - clip.start_frame) / timeline.fps
    length_s = min(line.duration_frames, clip.duration_frames - (line.start_frame - clip.start_frame)) / timeline.fps
    first, count = round(start_s * FPS), round(length_s * FPS)
    frames = list(itertools.islice(ffmpeg.read_frames(clip.path, timeline.width, timeline.height, FPS),
                                   first, first + count))  # decoding stops at the line's end
    audio = ffmpeg.read_audio(line.path, AUDIO_RATE)[: count * AUDIO_RATE // FPS]
    heard = min(len(frames), len(audio) * FPS // AUDIO_RATE)
    if heard <= WINDOW:
        return _check(name, line.line_id, threshold, None, Verdict.SKIPPED,
                      f"the line's {heard} frames at {FPS} fps are too few for SyncNet's {WINDOW}-frame windows")
    sync = measure(load_syncnet(options.syncnet_weights, file_identity(options.syncnet_weights)),
                   face_crops(frames[:heard], face), voice_features(audio))
    return judge(line.line_id, sync, options)


def judge(line_id: str, sync: Sync, options: AuditOptions) -> Check:
    """An offset SyncNet is confident of, beyond the limit, is an error; a low confidence says only
    that SyncNet could not tell (a face not where the framing puts it, a mouth too small)."""
    name, threshold = "lip-sync", options.sync_max_offset_frames
    summary = (f"AV offset {sync.offset:+d} frames at {FPS} fps ({sync.offset * 1000 // FPS:+d} ms; positive: the "
               f"picture is late), LSE-D {sync.distance:.3f}, LSE-C {sync.confidence:.3f}")
    if sync.confidence < options.sync_min_confidence:
        return _check(name, line_id, threshold, sync.offset, Verdict.WARNING,
                      f"SyncNet is not confident of the sync (LSE-C under {options.sync_min_confidence:g}): {summary}")
    if abs(sync.offset) > threshold:
        return _check(name, line_id, threshold, sync.offset, Verdict.ERROR, f"the mouth is off the voice: {summary}")
    return _check(name, line_id, threshold, sync.offset, Verdict.PASS, summary)


def face_crops(frames: list[np.ndarray], face: FaceBox) -> np.ndarray:
    """SyncNet's crop of each frame around a face: a square 2.8 half-sizes of the face wide, from a
    half-size above its centre down past the chin, grey where it leaves the frame; (n, 224, 224, 3)
    uint8 in BGR, the channel order the weights were trained on."""
    half = max(face.width, face.height) / 2
    pad = int(half * (1 + 2 * CROP_SCALE))
    cx, cy = face.x + face.width / 2 + pad, face.y + face.height / 2 + pad
    top, bottom = int(cy - half), int(cy + half * (1 + 2 * CROP_SCALE))
    left, right = int(cx - half * (1 + CROP_SCALE)), int(cx + half * (1 + CROP_SCALE))
    crops = []
    for frame in frames:
        padded = np.pad(frame, ((pad, pad), (pad, pad), (0, 0)), constant_values=GREY)
        crop = Image.fromarray(np.ascontiguousarray(padded[top:bottom, left:right, ::-1]))
        crops.append(np.asarray(crop.resize((CROP_SIZE, CROP_SIZE), Image.BILINEAR)))
    return np.stack(crops)


def voice_features(audio: np.ndarray) -> np.ndarray:
    """The voice's MFCCs as SyncNet hears them: python_speech_features' defaults (13 coefficients,
    100 Hz) on 16-bit sample values; (13, steps)."""
    import python_speech_features

    return python_speech_features.mfcc(audio.astype(np.float64) * 32768, AUDIO_RATE).T


def measure(model: torch.nn.Module, crops: np.ndarray, mfcc: np.ndarray) -> Sync:
    """Embed each 5-frame window of the picture (`crops`, one a frame) and its 20 MFCC steps of
    voice (`mfcc`: at least 4 a frame, less the last), and search the offset between them."""
    import torch

    windows = len(crops) - WINDOW  # as SyncNet counts them: the last frame starts none
    picture = torch.from_numpy(crops).permute(3, 0, 1, 2).float()  # channels, frames, height, width
    voice = torch.from_numpy(mfcc).float()[None]
    video, audio = [], []
    with torch.inference_mode():
        for first in range(0, windows, BATCH):
            starts = range(first, min(windows, first + BATCH))
            video.append(model.forward_lip(torch.stack([picture[:, i:i + WINDOW] for i in starts])))
            audio.append(model.forward_aud(torch.stack(
                [voice[:, :, i * MFCC_PER_FRAME:(i + WINDOW) * MFCC_PER_FRAME] for i in starts])))
    return offset_search(torch.cat(video).numpy(), torch.cat(audio).numpy())


def offset_search(video: np.ndarray, audio: np.ndarray, max_shift: int = MAX_SHIFT) -> Sync:
    """SyncNet's search over embeddings (one row per window): for each shift of the audio against
    the picture, the mean distance of every picture window to the audio window that far from it
    (zeros past the line's ends, as SyncNet pads). Shift k pairs picture window i with audio
    window i + k - max_shift, so a picture late by L frames is closest at k = max_shift - L."""
    padded = np.pad(audio, ((max_shift, max_shift), (0, 0)))
    mean = np.array([np.linalg.norm(video - padded[k:k + len(video)], axis=1).mean()
                     for k in range(2 * max_shift + 1)])
    best = int(np.argmin(mean))
    return Sync(offset=max_shift - best, distance=float(mean[best]), confidence=float(np.median(mean) - mean[best]))


def syncnet_status(options: AuditOptions) -> str:
    """What `microdrama backends` says of the audit's lip-sync measure: whether it runs, and the
    weights' licence."""
    if options.syncnet_weights is None:
        return f"skipped: {NO_WEIGHTS}"
    if not options.syncnet_weights.is_file():
        return f"no: the weights are not a file (nothing is downloaded); {LICENCE}"
    installed = all(importlib.util.find_spec(name) for name in ("syncnet_python", "python_speech_features"))
    return f"{'' if installed else INSTALL + '; '}{LICENCE}"


def syncnet_class() -> type:
    """syncnet-python's model class, `S`, from its SyncNetModel.py file (which imports only torch):
    the package's __init__ imports its whole pipeline (opencv-contrib-python, scenedetect, pandas),
    which is not installed beside the lipsync extra's opencv-python."""
    try:
        file = importlib.metadata.distribution("syncnet-python").locate_file("syncnet_python/SyncNetModel.py")
    except importlib.metadata.PackageNotFoundError:
        file = None
    if file is None or importlib.util.find_spec("python_speech_features") is None:  # the MFCCs
        raise BackendUnavailable("audit syncnet_weights", INSTALL)
    spec = importlib.util.spec_from_file_location("microdrama_syncnet_model", str(file))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.S


def missing_weights(weights: Path) -> str:
    return (f"audit.syncnet_weights: {weights} is not a file; set it to a local copy of SyncNet's syncnet_v2.model "
            "(nothing is downloaded)")


@lru_cache(maxsize=2)
def load_syncnet(weights: Path, identity: str) -> torch.nn.Module:
    """SyncNet with the weights of a local syncnet_v2.model (a state dict), loaded once per
    process and file version (`identity`). The published file predates BatchNorm's
    num_batches_tracked, so only those may be missing."""
    import torch

    if not weights.is_file():
        raise ConfigError(missing_weights(weights))
    model = syncnet_class()()
    try:
        state = torch.load(weights, map_location="cpu", weights_only=True)
        missing, unexpected = model.load_state_dict(state, strict=False)
    except (OSError, RuntimeError, pickle.UnpicklingError, AttributeError, TypeError) as exc:
        raise ConfigError(f"audit.syncnet_weights: cannot load {weights} as SyncNet's weights: {exc}") from exc
    wrong = unexpected + [key for key in missing if not key.endswith("num_batches_tracked")]
    if wrong:
        raise ConfigError(f"audit.syncnet_weights: {weights} is not SyncNet's syncnet_v2.model (it lacks or adds "
                          f"{', '.join(wrong[:3])})")
    return model.eval()
