"""WAV files and sample arithmetic for the mix. The render stage writes every voice and music
artifact as 48 kHz float WAV (ffmpeg.write_wav), so reading them back needs no decoder."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

from .ffmpeg import AUDIO_RATE


def _chunks(data: bytes) -> dict[bytes, bytes]:
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise ValueError("not a RIFF/WAVE file")
    chunks, offset = {}, 12
    while offset + 8 <= len(data):
        name, size = data[offset: offset + 4], struct.unpack("<I", data[offset + 4: offset + 8])[0]
        chunks.setdefault(name, data[offset + 8: offset + 8 + size])
        offset += 8 + size + (size & 1)
    return chunks


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    """Mono float32 samples and the rate of a float or 16-bit PCM WAV."""
    chunks = _chunks(Path(path).read_bytes())
    fmt, payload = chunks[b"fmt "], chunks[b"data"]
    audio_format, channels, rate = struct.unpack("<HHI", fmt[:8])
    bits = struct.unpack("<H", fmt[14:16])[0]
    if audio_format == 0xFFFE:  # WAVE_FORMAT_EXTENSIBLE: the real format is in the sub-format GUID
        audio_format = struct.unpack("<H", fmt[24:26])[0]
    if audio_format == 3 and bits == 32:
        samples = np.frombuffer(payload, "<f4")
    elif audio_format == 1 and bits == 16:
        samples = np.frombuffer(payload, "<i2").astype(np.float32) / 32768.0
    else:
        raise ValueError(f"{path}: unsupported WAV format {audio_format}/{bits} bit")
    return samples.reshape(-1, channels).mean(axis=1).astype(np.float32), rate


def wav_seconds(path: Path) -> float:
    samples, rate = read_wav(path)
    return len(samples) / rate


def frames_to_samples(frames: int, fps: int, rate: int = AUDIO_RATE) -> int:
    return round(frames * rate / fps)


def place(track: np.ndarray, clip: np.ndarray, start: int) -> None:
    """Add `clip` into `track` from sample `start`, cutting what falls outside the track."""
    if start >= len(track):
        return
    end = min(len(track), start + len(clip))
    track[start:end] += clip[: end - start]
