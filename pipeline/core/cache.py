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
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from .lock import pid_alive

TEMP_PREFIX = ".tmp-"
_TEMP_NAME = re.compile(rf"{re.escape(TEMP_PREFIX)}(?P<pid>\d+)-\d+-.")


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
