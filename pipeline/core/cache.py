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
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel

TEMP_PREFIX = ".tmp-"


def artifact_key(backend_name: str, backend_version: str, options: BaseModel | dict, request: BaseModel) -> str:
    options_data = options.model_dump(mode="json") if isinstance(options, BaseModel) else options
    payload = json.dumps(
        {"backend": backend_name, "version": backend_version, "options": options_data,
         "request": request.model_dump(mode="json")},
        sort_keys=True, ensure_ascii=False, separators=(",", ":"),
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:24]


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
        self.root.mkdir(parents=True, exist_ok=True)
        temp = self.root / f"{TEMP_PREFIX}{os.getpid()}-{time.monotonic_ns()}-{final.name}"
        try:
            write(temp)
            os.replace(temp, final)
        finally:
            temp.unlink(missing_ok=True)
        return final

    def sweep_temporaries(self, older_than_s: float = 0.0) -> int:
        """Remove temporary files left by killed runs (never a published artifact)."""
        removed = 0
        now = time.time()
        for path in self.root.glob(f"{TEMP_PREFIX}*") if self.root.is_dir() else []:
            if now - path.stat().st_mtime >= older_than_s:
                path.unlink(missing_ok=True)
                removed += 1
        return removed
