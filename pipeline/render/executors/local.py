"""The default executor: a job runs on the render branch's own thread, in this process."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ...core.cache import ArtifactCache

if TYPE_CHECKING:
    from ..renderer import ArtifactJob


class LocalExecutor:
    def produce(self, job: ArtifactJob, final: Path, cache: ArtifactCache) -> Path:
        return cache.produce(final, job.make)

    def close(self) -> None:
        pass
