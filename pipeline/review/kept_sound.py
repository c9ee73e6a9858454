"""The audit's sound measurements, kept between audits by what they read: the episode's audio
packets at the place they measure, and the clips they look for.

Each measurement reads one stretch of the decoded sound (a line's search window, an effect's
neighbourhood, a chunk of the loudness grid). The master decodes at a place from its packets
there alone (no noise substitution), so the packets that decode a stretch stand for its samples:
after a one-line edit only the measurements whose stretch the edit reached are made again, and
only the stretches they read are decoded.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np

from ..core.paths import check_write
from ..core.store import atomic_write_text
from ..edit import ffmpeg, master
from ..edit.master import AAC_FRAME
from ..edit.timeline import Clip
from .audit import file_identity, measured_digest

KEPT_VERSION = "4"  # bump when a kept measurement changes (its value or its message)
BLOCKS = "blocks"  # the kept file's key for the block digests (the others are measurements' digests)
T = TypeVar("T")


class EpisodeSound:
    """The episode's decoded sound (samples x 2) and its mix (the channels' mean), decoded whole,
    or, given the audio's packets, block by block as the measurements made again ask for them:
    an audit that finds most measurements kept decodes only the stretches an edit reached."""

    BLOCK = 10 * ffmpeg.AUDIO_RATE

    def __init__(self, video: Path, whole: np.ndarray | None, audio: list[ffmpeg.Packet] | None):
        self.video, self.audio = video, audio
        if whole is None and audio:  # the packets' times give the decode's length (mux_aac sets the last's)
            length = audio[-1].start + audio[-1].length
            self.sound, self.mix = np.zeros((length, 2), np.float32), np.zeros(length, np.float32)
            self._decoded: set[int] | None = set()
        else:
            self.sound = ffmpeg.read_audio(video, channels=2) if whole is None else whole
            self.mix = (self.sound[:, 0] + self.sound[:, 1]) * 0.5  # as fast as a copy: mean(axis=1) took 0.8 s
            self._decoded = None

    def need(self, low: int, high: int) -> None:
        """Make samples [low, high) of `sound` and `mix` the decoded ones (in place: callers hold them)."""
        if self._decoded is None:
            return
        blocks = [b for b in range(max(0, low) // self.BLOCK, -(-min(high, len(self.mix)) // self.BLOCK))
                  if b not in self._decoded]
        for run in _runs(blocks):
            start = run[0] * self.BLOCK
            part = ffmpeg.read_audio_span(self.video, self.audio, start, (run[-1] + 1) * self.BLOCK)
            if part is None:  # this FFmpeg seeks otherwise: decode it all
                self._fill(0, ffmpeg.read_audio(self.video, channels=2)[:len(self.mix)])
                self._decoded = None
                return
            self._fill(start, part)
            self._decoded.update(run)

    def _fill(self, start: int, part: np.ndarray) -> None:
        self.sound[start: start + len(part)] = part
        self.mix[start: start + len(part)] = (part[:, 0] + part[:, 1]) * 0.5


def _runs(blocks: list[int]) -> list[list[int]]:
    """Consecutive numbers together: [1, 2, 5] -> [[1, 2], [5]]."""
    runs: list[list[int]] = []
    for block in blocks:
        if runs and runs[-1][-1] == block - 1:
            runs[-1].append(block)
        else:
            runs.append([block])
    return runs


class KeptSound:
    """Measurements by key, read from and written back to one file (eNN.sound.json), and the
    episode's sound they are made on (`sound`: given `video`). Without a file or the packets, each
    is measured. The file also names each 10 s block of the packets it measured: where the
    episode shares a block with it, it is the master measured before with an edit in it, whose
    packets decode alone (ffmpeg.read_audio_span), and only the stretches measured again are
    decoded; any other file (one a foreign encoder made, say) is decoded whole."""

    def __init__(self, path: Path | None, audio: list[ffmpeg.Packet] | None = None, video: Path | None = None,
                 whole: np.ndarray | None = None):
        known = path is not None and audio is not None
        self.path, self.packets = (path, [packet.digest for packet in audio]) if known else (None, None)
        self._old = _read(self.path) if self.path else {}
        blocks = self._old.pop(BLOCKS, [])
        self._old_blocks = blocks if isinstance(blocks, list) else []  # a damaged file: decode it all
        self.blocks = _block_digests(audio) if known else []
        self._now: dict[str, object] = {}
        local = whole is None and any(old == now for old, now in zip(self._old_blocks, self.blocks))
        self.sound = EpisodeSound(video, whole, audio if local else None) if video else None

    def measure(self, low: int, high: int, parts: tuple, measure: Callable[[], T],
                dump: Callable[[T], object], load: Callable[[object], T]) -> T:
        """The measurement of samples [low, high) that `parts` name (a clip stands for its place
        in the cut and its file: see clip_identity), kept or made now. One of no samples
        (low == high: it reads the clips alone) is kept by its parts alone."""
        if self.path is None:
            self._need(low, high)
            return measure()
        first, last = max(0, low // AAC_FRAME), min(len(self.packets), high // AAC_FRAME + 3)  # overlap and priming
        packets = self.packets[first:last] if high > low else []
        key = measured_digest(KEPT_VERSION, low, high, *map(repr, parts), *packets)
        if key in self._old:
            self._now[key] = self._old[key]
            return load(self._old[key])
        self._need(low, high)
        value = measure()
        self._now[key] = dump(value)
        return value

    def _need(self, low: int, high: int) -> None:
        if self.sound is not None:
            self.sound.need(low, high)

    def save(self) -> None:
        """Keep what this audit measured (only that: measurements of a stretch since changed go)."""
        if self.path is None or (self._now == self._old and self.blocks == self._old_blocks):
            return
        check_write(self.path)  # before the folder is made: state/ may not lead outside the series folder
        self.path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.path, json.dumps({BLOCKS: self.blocks, **self._now}))


def _block_digests(audio: list[ffmpeg.Packet]) -> list[str]:
    """A digest of each EpisodeSound.BLOCK of the packets (by where each starts)."""
    blocks: dict[int, list[str]] = {}
    for packet in audio:
        blocks.setdefault(max(0, packet.start) // EpisodeSound.BLOCK, []).append(packet.digest)
    return [measured_digest(*blocks.get(b, [])) for b in range(max(blocks, default=-1) + 1)]


def _read(path: Path) -> dict[str, object]:
    try:
        kept = json.loads(path.read_text(encoding="utf-8"))
        return kept if isinstance(kept, dict) else {}
    except (OSError, ValueError):
        return {}


def clip_identity(clip: Clip) -> str:
    """A clip as a kept measurement knows it: its place in the cut and its file by name, size and
    time, not by where the series folder lies (a copied or moved folder keeps its measurements)."""
    return f"{clip.model_copy(update={'path': Path(clip.path.name)})!r} {file_identity(clip.path)}"


def loudness(sound: np.ndarray, kept: KeptSound) -> tuple[float, float]:
    """The integrated loudness (LUFS, ITU-R BS.1770) and the true peak (dBTP, 4x oversampled) of
    the decoded sound (samples x channels), chunk by chunk on the master's grid."""
    energies, peak = [], 0.0
    for chunk in master.chunks(len(sound)):
        low, high = chunk.mixed

        def measure(chunk=chunk, low=low, high=high) -> list[float]:
            part = sound[low:high]
            own = slice(chunk.start - low, chunk.end - low)
            blocks = sum(np.asarray(master.chunk_energies(part[:, c], chunk)) for c in range(part.shape[1]))
            return [float(max(master.sample_peaks(part[:, c].astype(np.float64))[own].max(initial=0.0)
                              for c in range(part.shape[1]))), *np.asarray(blocks).tolist()]

        measured = kept.measure(low, high, ("loudness",), measure, list, list)
        peak = max(peak, measured[0])
        energies += measured[1:]
    integrated = master.integrated_loudness(np.asarray(energies), channels=1)
    return integrated, 20 * np.log10(max(peak, 1e-10))
