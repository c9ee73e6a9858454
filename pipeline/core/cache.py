"""Content-addressed artifacts: cache/<kind>-<key>.<ext>.

A key hashes everything that determines the artifact: the backend's name, version and options
and the request (which carries the shot/line/cue spec and the bible entries it uses). An
unchanged input therefore finds its file and costs no backend work; a changed one gets a new
key. Files are written through a temporary name and renamed, so a killed render never leaves a
file under a real key.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from .paths import check_write
from .store import pid_alive

TEMP_PREFIX = ".tmp-"
_TEMP_NAME = re.compile(rf"{re.escape(TEMP_PREFIX)}(?P<pid>\d+)-\d+-.")


# Request fields holding an absolute path whose content digest travels beside it
# (keyframe_digest, reference_digest, voice_digest): the path is left out of the key, the digest stays.
PATH_FIELDS = frozenset({"keyframe", "reference_clip", "voice_clip", "picture"})
FINGERPRINT_HEAD = 1 << 20  # bytes of each file read to tell one set of weights from another


def artifact_key(backend_name: str, backend_version: str, options: BaseModel | dict, request: BaseModel) -> str:
    """The key of what `request` makes with this backend. Portable: no absolute path enters it,
    so moving the series folder or the models folder finds the same artifacts."""
    options_data = options.model_dump(mode="json") if isinstance(options, BaseModel) else options
    payload = json.dumps(
        {"backend": backend_name, "version": backend_version, "options": _portable_options(options_data),
         "request": _without_paths(request.model_dump(mode="json"))},
        sort_keys=True, ensure_ascii=False, separators=(",", ":"),
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:24]


def _without_paths(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: _without_paths(v) for k, v in data.items() if k not in PATH_FIELDS}
    if isinstance(data, list):
        return [_without_paths(v) for v in data]
    return data


def _portable_options(data: Any) -> Any:
    """Option values that name an existing file or folder (a model folder) stand in the key as a
    fingerprint of its content, not as the path."""
    if isinstance(data, dict):
        return {k: _portable_options(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_portable_options(v) for v in data]
    if isinstance(data, str) and os.path.isabs(data) and os.path.exists(data):
        path = Path(data)
        return "content:" + content_fingerprint(str(path), path.stat().st_mtime_ns)
    return data


@lru_cache(maxsize=64)
def content_fingerprint(path: str, mtime_ns: int) -> str:
    """Names, sizes and the first MiB of every file under `path` (or of the file): weights of the
    same architecture but other training differ there. Cached per process by modification time."""
    root = Path(path)
    files = sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else [root]
    digest = hashlib.sha256()
    for file in files:
        name = str(file.relative_to(root)) if root.is_dir() else file.name
        digest.update(f"{name}\0{file.stat().st_size}\0".encode())
        with file.open("rb") as handle:
            digest.update(handle.read(FINGERPRINT_HEAD))
    return digest.hexdigest()[:16]


def artifact_kind(path: Path) -> str:
    """The kind of artifact a cache file holds, from its name (cache/<kind>-<key>.<ext>): a
    segment named lipsync-… had a lip-sync pass."""
    return path.name.partition("-")[0]


class ArtifactCache:
    def __init__(self, root: Path):
        self.root = Path(root)

    def path(self, kind: str, key: str, ext: str) -> Path:
        return self.root / f"{kind}-{key}.{ext}"

    def get(self, kind: str, key: str, ext: str) -> Path | None:
        path = self.path(kind, key, ext)
        return path if path.is_file() else None

    def produce(self, final: Path, write: Callable[[Path], Any]) -> Path:
        """Return the cached file at `final` (a `path()` of this cache), or call
        `write(temp_path)` and publish the result atomically."""
        if final.is_file():
            return final
        check_write(final, self.root.parent)  # a cache/ linked outside the series folder is refused
        self.root.mkdir(parents=True, exist_ok=True)
        temp = self.root / f"{TEMP_PREFIX}{os.getpid()}-{time.monotonic_ns()}-{final.name}"
        try:
            write(temp)
            os.replace(temp, final)
        finally:
            temp.unlink(missing_ok=True)
        return final

    def sweep_temporaries(self) -> int:
        """Remove temporary files left by dead runs (never a published artifact).

        A temporary is named `.tmp-<pid>-<ns>-<final name>`; it is removed only when no live
        process has that pid, so another run's in-flight files, and this run's, are left alone.
        A temporary whose name carries no pid is left alone too."""
        removed = 0
        for path in self.root.glob(f"{TEMP_PREFIX}*") if self.root.is_dir() else []:
            match = _TEMP_NAME.match(path.name)
            if match and not pid_alive(int(match["pid"])):
                path.unlink(missing_ok=True)
                removed += 1
        return removed
