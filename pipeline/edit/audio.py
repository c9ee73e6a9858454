"""WAV files and sample arithmetic for the mix. The render stage writes every voice and music
artifact as 48 kHz float WAV (ffmpeg.write_wav), so reading them back needs no decoder."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import BinaryIO

import numpy as np

from .ffmpeg import AUDIO_RATE


def _chunk_table(wav: BinaryIO) -> dict[bytes, tuple[int, int]]:
    """Where each chunk's payload lies (offset, size), from the chunk headers alone."""
    wav.seek(0, 2)
    length = wav.tell()
    wav.seek(0)
    head = wav.read(12)
    if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        raise ValueError("not a RIFF/WAVE file")
    chunks, offset = {}, 12
    while offset + 8 <= length:
        wav.seek(offset)
        name, size = struct.unpack("<4sI", wav.read(8))
        chunks.setdefault(name, (offset + 8, min(size, length - offset - 8)))
        offset += 8 + size + (size & 1)
    return chunks


def _format(path: Path, wav: BinaryIO, chunks: dict[bytes, tuple[int, int]]) -> tuple[str, int, int]:
    """The sample type (numpy dtype), channel count and rate of a float or 16-bit PCM WAV."""
    if b"fmt " not in chunks or b"data" not in chunks:
        raise ValueError(f"{path}: a WAV without its fmt or data chunk")
    wav.seek(chunks[b"fmt "][0])
    fmt = wav.read(chunks[b"fmt "][1])
    audio_format, channels, rate = struct.unpack("<HHI", fmt[:8])
    bits = struct.unpack("<H", fmt[14:16])[0]
    if audio_format == 0xFFFE:  # WAVE_FORMAT_EXTENSIBLE: the real format is in the sub-format GUID
        audio_format = struct.unpack("<H", fmt[24:26])[0]
    if (audio_format, bits) not in _SAMPLE_TYPES:
        raise ValueError(f"{path}: unsupported WAV format {audio_format}/{bits} bit")
    return _SAMPLE_TYPES[audio_format, bits], channels, rate


_SAMPLE_TYPES = {(3, 32): "<f4", (1, 16): "<i2"}


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    """Mono float32 samples and the rate of a float or 16-bit PCM WAV."""
    with open(path, "rb") as wav:
        chunks = _chunk_table(wav)
        dtype, channels, rate = _format(path, wav, chunks)
        offset, size = chunks[b"data"]
        wav.seek(offset)
        samples = np.frombuffer(wav.read(size), dtype)
    if dtype == "<i2":
        samples = samples.astype(np.float32) / 32768.0
    if channels == 1:  # the mean of one channel, bit for bit, as a copy (a 60 s line: 6 ms, the mean 72 ms)
        return samples.astype(np.float32), rate
    return samples.reshape(-1, channels).mean(axis=1).astype(np.float32), rate


def wav_length(path: Path) -> tuple[int, int]:
    """The samples (per channel) and the rate of a WAV, from its headers."""
    with open(path, "rb") as wav:
        chunks = _chunk_table(wav)
        dtype, channels, rate = _format(path, wav, chunks)
    return chunks[b"data"][1] // (np.dtype(dtype).itemsize * channels), rate


def wav_seconds(path: Path) -> float:
    """The length of a WAV from its headers (status asks it of every cached take)."""
    samples, rate = wav_length(path)
    return samples / rate


def frames_to_samples(frames: int, fps: int, rate: int = AUDIO_RATE) -> int:
    return round(frames * rate / fps)


def place(track: np.ndarray, clip: np.ndarray, start: int) -> None:
    """Add `clip` into `track` from sample `start`, cutting what falls outside the track."""
    if start >= len(track):
        return
    end = min(len(track), start + len(clip))
    track[start:end] += clip[: end - start]


def fast_length(n: int) -> int:
    """The smallest length from `n` up whose only prime factors are 2, 3 and 5: an FFT of an
    episode's length (a large prime factor, often) took seconds where this takes a tenth."""
    best, power5 = 1 << max(0, (n - 1).bit_length()), 1
    while power5 < best:
        power35 = power5
        while power35 < best:
            candidate = power35 << max(0, (-(-n // power35) - 1).bit_length())
            best = min(best, candidate)
            power35 *= 3
        power5 *= 5
    return best
