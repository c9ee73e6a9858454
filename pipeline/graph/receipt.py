"""The last complete render, and whether it still stands.

A render of the whole approved plan that left nothing failed, deferred or unassembled writes
state/receipt.json: its state (what each shot, cue and episode came to), each episode's shots in
plan order, a fingerprint of the code, the installed packages and the MICRODRAMA_* environment,
and the size and modification time of every file its result rests on, which the caller names: the
plan files, the approval, microdrama.toml, the reference files and model folders that enter the
cache keys, every artifact in the cut, and the episode files with their audits.

The receipt stands while every one of those is as recorded. The same inputs make the same keys
and the same files are there, so a render would find everything cached and every episode
current: a no-change `render` and `status` answer from it without building 720 shots' requests
and keys or importing LangGraph and the plan's models. Anything else (an edit, even one undone; a
touched or deleted file; an upgraded package; another setting) sends the command the long way,
which decides as before. Files are compared the way make compares them, by their stat: a file
rewritten to the same size within the same nanosecond would be missed.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core.layout import SeriesPaths

if TYPE_CHECKING:
    from ..core.config import Settings
    from ..core.snapshot import Snapshot
    from .state import RenderState

RECEIPT_VERSION = 1
ENVIRONMENT_PREFIX = "MICRODRAMA_"


@dataclass(frozen=True)
class Receipt:
    snapshot: str  # the approval rendered
    settings: str  # the digest of the settings that shape results, as the render had them
    state: dict[str, Any]  # the render's RenderState, as JSON
    episodes: dict[str, list[str]]  # each episode's shot ids, in plan order


def receipt_path(paths: SeriesPaths) -> Path:
    return paths.state_dir / "receipt.json"


def _stat(path: Path) -> list[int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return [stat.st_size, stat.st_mtime_ns]


def environment() -> str:
    """The code (this package's sources), the installed packages (each site-packages folder
    changes when a package is installed, upgraded or removed: a new backend or version changes
    routes and keys) and the MICRODRAMA_* variables (settings)."""
    digest = hashlib.sha256(sys.version.encode())
    code = Path(__file__).resolve().parents[1]
    for path in sorted(code.rglob("*.py")):
        digest.update(f"{path.relative_to(code)}\0{_stat(path)}\0".encode())
    for entry in sys.path:
        if Path(entry).name in ("site-packages", "dist-packages") and os.path.isdir(entry):
            digest.update(f"{entry}\0{os.stat(entry).st_mtime_ns}\0".encode())
    for name in sorted(os.environ):
        if name.startswith(ENVIRONMENT_PREFIX):
            digest.update(f"{name}={os.environ[name]}\0".encode())
    return digest.hexdigest()[:24]


def _named_paths(value: Any) -> Iterator[Path]:
    """The existing absolute paths among option values (model folders, weights files)."""
    if isinstance(value, dict):
        for item in value.values():
            yield from _named_paths(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _named_paths(item)
    elif isinstance(value, (str, Path)) and os.path.isabs(value) and os.path.exists(value):
        yield Path(value)


def resting_files(paths: SeriesPaths, settings: Settings, snapshot: Snapshot, state: RenderState) -> list[Path]:
    """Every file a complete render's result rests on (see the module docstring)."""
    from ..core.config import CONFIG_FILE
    from ..core.paths import series_file
    from ..core.snapshot import CURRENT, approved_dir
    from ..edit.assemble import assembly_record

    series = snapshot.series
    references = [series_file(paths.root, path) for path in
                  [*(c.keyframe for c in series.characters), *(c.voice.reference_clip for c in series.characters),
                   *(place.keyframe for place in series.locations)] if path]
    options = [settings.backends.options, [(r.options, r.lipsync_options) for r in settings.backends.routes],
               settings.audit.model_dump()]
    artifacts = [*(r.video for r in state.renders), *(line.path for r in state.renders for line in r.lines),
                 *(e.path for r in state.renders for e in r.effects), *(c.path for c in state.cues),
                 *(bed.path for c in state.cues for bed in c.ambience)]
    outputs = [path for o in state.outputs for path in (o.video, o.subtitles, o.timeline)]
    return [paths.series_path, paths.plan_dir, *(paths.episode_path(e.id) for e in snapshot.episodes),
            approved_dir(paths) / CURRENT, paths.root / CONFIG_FILE, *references, *_named_paths(options),
            *(paths.root / path for path in [*artifacts, *outputs] if path),
            *(paths.out_dir / f"{o.id}.audit.json" for o in state.outputs),
            *(assembly_record(paths, o.id) for o in state.outputs)]


def _name(root: Path, resolved_root: Path, path: Path) -> str:
    """A file inside the series folder by its place in it (a moved or copied folder keeps its
    receipt), any other by its absolute path. Paths come joined to the folder or resolved
    (core/paths.series_file), so neither needs resolving again."""
    for base in (root, resolved_root):
        if path.is_relative_to(base):
            return str(path.relative_to(base))
    return str(path.absolute())


def write_receipt(paths: SeriesPaths, snapshot: str, settings: str, state: dict[str, Any],
                  episodes: dict[str, list[str]], files: Iterable[Path]) -> None:
    """Record a complete render (the caller judged it complete) resting on `files` (a file that is
    not there is recorded as missing, and must stay missing)."""
    from ..core.store import atomic_write_text

    resolved_root = paths.root.resolve()
    stats = {_name(paths.root, resolved_root, Path(path)): _stat(Path(path)) for path in files}
    atomic_write_text(receipt_path(paths), json.dumps(
        {"version": RECEIPT_VERSION, "snapshot": snapshot, "settings": settings, "environment": environment(), "files": stats,
         "episodes": episodes, "state": state}, ensure_ascii=False))


def drop_receipt(paths: SeriesPaths) -> None:
    """Before a render writes anything: a receipt never outlives the files it describes, even
    when the render is killed before it could judge."""
    receipt_path(paths).unlink(missing_ok=True)


def standing_receipt(paths: SeriesPaths) -> Receipt | None:
    """The receipt, if everything it rests on is as recorded; None otherwise (or when there is
    none, or it cannot be read)."""
    try:
        data = json.loads(receipt_path(paths).read_text(encoding="utf-8"))
        if data.get("version") != RECEIPT_VERSION or data["environment"] != environment():
            return None
        for name, stat in data["files"].items():
            path = Path(name) if os.path.isabs(name) else paths.root / name
            if _stat(path) != stat:
                return None
        return Receipt(data["snapshot"], data["settings"], data["state"], data["episodes"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
