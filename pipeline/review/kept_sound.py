"""The audit's sound measurements, kept between audits by what they read: the episode's audio
packets at the place they measure, and the clips they look for.

Each measurement reads one stretch of the decoded sound (a line's search window, an effect's
neighbourhood, a chunk of the loudness grid). The master decodes at a place from its packets
there alone (no noise substitution), so the packets that decode a stretch stand for its samples:
after a one-line edit only the measurements whose stretch the edit reached are made again.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np

from ..core.paths import check_write
from ..core.store import atomic_write_text
from ..edit import master
from ..edit.master import AAC_FRAME
from ..edit.timeline import Clip
from .audit import file_identity, measured_digest

KEPT_VERSION = "2"  # bump when a kept measurement changes
T = TypeVar("T")


class KeptSound:
    """Measurements by key, read from and written back to one file (eNN.sound.json); without a
    file or the packets, each is measured."""

    def __init__(self, path: Path | None, packets: list[str] | None):
        self.path, self.packets = (path, packets) if path is not None and packets is not None else (None, None)
        self._old = _read(self.path) if self.path else {}
        self._now: dict[str, object] = {}

    def measure(self, low: int, high: int, parts: tuple, measure: Callable[[], T],
                dump: Callable[[T], object], load: Callable[[object], T]) -> T:
        """The measurement of samples [low, high) that `parts` name (a clip stands for its place
        in the cut and its file: see clip_identity), kept or made now."""
        if self.path is None:
            return measure()
        first, last = max(0, low // AAC_FRAME), min(len(self.packets), high // AAC_FRAME + 3)  # overlap and priming
        key = measured_digest(KEPT_VERSION, low, high, *map(repr, parts), *self.packets[first:last])
        if key in self._old:
            self._now[key] = self._old[key]
            return load(self._old[key])
        value = measure()
        self._now[key] = dump(value)
        return value

    def save(self) -> None:
        """Keep what this audit measured (only that: measurements of a stretch since changed go)."""
        if self.path is None or self._now == self._old:
            return
        check_write(self.path)  # before the folder is made: state/ may not lead outside the series folder
        self.path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.path, json.dumps(self._now))


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
