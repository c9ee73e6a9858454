"""The ledger: one JSON line per artifact a render asked for (state/ledger.jsonl).

Each entry says what made it (backend, version, model, device), what it cost (wall seconds, GPU
seconds where a GPU did the work, the process's peak memory), whether the cache already had it,
and, for a call that failed, why. A cache hit inside a shot that had something to render is an
entry too (it costs nothing); a shot or scene cue the cache holds whole when a run starts is not
(the run's state marks it cached), so a render with nothing to do adds nothing. `microdrama cost` prices the entries and `--estimate` learns throughput from them.

Appends are single lines under a lock, so parallel render branches never interleave an entry.
"""

from __future__ import annotations

import json
import resource
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError

LEDGER_FILE = "ledger.jsonl"
_append_lock = threading.Lock()


class LedgerEntry(BaseModel):
    """One artifact asked for by a render."""

    at: float = Field(description="Unix time the work ended.")
    kind: str = Field(description="video, voice or music.")
    target: str = Field(description="Shot, line or scene (music cue) id.")
    shot: str = Field(description="The shot the artifact belongs to; a music cue: its scene.")
    artifact: str = Field(description="Cache file, relative to the series folder.")
    backend: str
    version: str
    model: str = Field(description="Model folder name, or the backend's own name for one without weights.")
    device: str = Field(description="'cpu', or the GPU's name.")
    frames: int = Field(description="Length of what was made, in frames of the series.")
    fps: int
    seed: int | None = None
    cached: bool = Field(description="The cache had it: nothing was rendered.")
    wall_s: float = 0.0
    gpu_s: float = Field(0.0, description="Wall seconds on a GPU (0 on the CPU).")
    peak_memory_mb: float = Field(0.0, description="Peak GPU memory of the call on a GPU; on the CPU, the "
                                                   "process's peak resident memory (a high-water mark).")
    error: str | None = Field(None, description="Why the call failed, for a failed attempt.")

    @property
    def seconds(self) -> float:
        return self.frames / self.fps


def ledger_path(state_dir: Path) -> Path:
    return state_dir / LEDGER_FILE


def append_entry(state_dir: Path, entry: LedgerEntry) -> None:
    line = entry.model_dump_json() + "\n"
    with _append_lock:
        state_dir.mkdir(parents=True, exist_ok=True)
        with ledger_path(state_dir).open("a", encoding="utf-8") as file:
            file.write(line)


def read_ledger(state_dir: Path) -> list[LedgerEntry]:
    """Every entry; a line cut short by a kill (the last one) or written by another version is
    passed over: the ledger is an account, not a source of truth."""
    path = ledger_path(state_dir)
    if not path.is_file():
        return []
    entries = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            entries.append(LedgerEntry.model_validate_json(line))
        except ValidationError:
            continue
    return entries


# --- measuring one call ------------------------------------------------------------------------


@dataclass
class Measured:
    wall_s: float = 0.0
    gpu_s: float = 0.0
    peak_memory_mb: float = 0.0


def device_of(instance: Any) -> str:
    """Where a backend instance computes: its resolved placement, else its `device` option (auto:
    CUDA where torch sees one, as torch_device resolves it), else the CPU (the embedded
    backends). A CUDA device is named by its GPU, as rates are."""
    torch = sys.modules.get("torch")  # a backend on a GPU has imported it; nothing here imports it
    cuda = torch is not None and torch.cuda.is_available()
    placement = getattr(instance, "placement", None)
    device = str(getattr(placement, "device", None) or getattr(getattr(instance, "options", None), "device", "cpu"))
    if device == "auto":
        device = "cuda" if cuda else "cpu"
    if device.startswith("cuda") and cuda:
        return torch.cuda.get_device_name(torch.device(device))
    return device


def model_of(instance: Any) -> str:
    """The model folder's (or checkpoint's) name for a backend with weights; the backend's name
    for one without."""
    options = getattr(instance, "options", None)
    folder = (getattr(options, "model", None) or getattr(options, "model_dir", None)
              or getattr(options, "checkpoint", None))
    return Path(str(folder)).name if folder else instance.name


@contextmanager
def measuring(device: str) -> Iterator[Measured]:
    """Wall time of the block, and its GPU seconds and peak GPU memory on a GPU (torch's counters,
    reset first); on the CPU the process's peak resident memory."""
    on_gpu = device != "cpu" and "torch" in sys.modules and sys.modules["torch"].cuda.is_available()
    if on_gpu:
        sys.modules["torch"].cuda.reset_peak_memory_stats()
    measured, started = Measured(), time.perf_counter()
    try:
        yield measured
    finally:
        measured.wall_s = time.perf_counter() - started
        if on_gpu:
            measured.gpu_s = measured.wall_s
            measured.peak_memory_mb = sys.modules["torch"].cuda.max_memory_allocated() / 2**20
        else:
            measured.peak_memory_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
