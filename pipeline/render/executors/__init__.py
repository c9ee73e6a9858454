"""Where a render's backend calls run. The render graph decides what to render (the cache is
checked first, in the render's own process); an executor only runs the ArtifactJobs that remain.

    local   in this process, on the render graph's branch threads (the default)
    ray     on Ray actors, long-lived per backend, with resources per backend (ray_farm.py,
            the `ray` extra; Ray is imported only when a render asks for it)

`produce(job, final, cache)` returns `final` once the artifact is there (published atomically:
a killed worker leaves a temporary, never a file under a real key), or raises the job's
RenderError.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from ...core.cache import ArtifactCache
from ...core.config import Settings

if TYPE_CHECKING:
    from ..renderer import ArtifactJob


class Executor(Protocol):
    def produce(self, job: ArtifactJob, final: Path, cache: ArtifactCache) -> Path: ...

    def close(self) -> None: ...


@contextmanager
def executor_for(settings: Settings) -> Iterator[Settings]:
    """The settings with their executor open for one render (`open_executor`), and, on Ray,
    enough render branches in flight to keep every actor busy; closed afterwards (outstanding
    Ray work is cancelled, on an error or Ctrl-C too)."""
    if settings.executor == "local":
        yield settings
        return
    from .ray_farm import RayFarm

    farm = RayFarm(settings)
    try:
        yield replace(settings, open_executor=farm,
                      render_concurrency=max(settings.render_concurrency, farm.branches))
    finally:
        farm.close()
