"""The Ray executor: backend calls run on Ray actors, a pool of them per backend.

Each actor loads its backend once (a neural model's weights load on its first call and stay in
the actor's memory) and takes one job at a time; `[backends.actors.<name>]` gives a backend its
number of actors and what each holds (GPUs, CPUs, memory). A render branch waits in its
backend's queue for an idle actor, so an actor never idles while jobs for it wait, and the
lighter kinds (voices, music on CPU actors) go on while the picture actors work.

Requests and results stay small: a job is a backend name, its options and a request; the result
is nothing (shared filesystem: the worker wrote the artifact into the series folder's cache,
through a temporary and a rename) or the bytes of the finished artifact (no shared filesystem:
this process commits them into the cache). `ray_artifacts = "auto"` decides per actor: a worker
that sees this run's probe file in the cache folder writes there itself.

Faults: an actor whose process dies is restarted and its job retried, at most RESTARTS times;
a backend's own error is the job's RenderError, as in a local run.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...core.cache import TEMP_PREFIX, ArtifactCache
from ...core.config import ActorResources, Settings
from ...core.errors import ConfigError, MicrodramaError, RenderError
from ...core.store import SeriesFolder

if TYPE_CHECKING:
    from ..renderer import ArtifactJob

try:
    import ray
    from ray.exceptions import RayActorError
except ImportError:  # the `ray` extra is not installed
    ray = None

RESTARTS = 3  # a worker killed mid-job: its actor is restarted and the job retried, this often
WAIT_S = 0.5  # how often a waiting branch looks whether the render was cancelled


class RenderCancelled(MicrodramaError):
    """The render stopped (Ctrl-C, an error elsewhere) while this job was on a Ray actor."""


class BackendWorker:
    """A Ray actor: one backend, loaded once in its process, one job at a time."""

    def __init__(self, mode: str, probe: str, token: str):
        self.shared = mode == "shared" or (mode == "auto" and _reads(Path(probe), token))

    def produce(self, job: ArtifactJob, final: str) -> tuple[str, Any]:
        """("shared", None) once the artifact is at `final`, ("bytes", data), or ("error",
        (target, backend, reason)) for the backend's own failure."""
        try:
            if self.shared:
                path = Path(final)
                ArtifactCache(path.parent).produce(path, job.make)
                return "shared", None
            with tempfile.TemporaryDirectory(prefix="microdrama-") as folder:
                temp = Path(folder) / Path(final).name
                job.make(temp)
                return "bytes", temp.read_bytes()
        except RenderError as exc:
            return "error", (exc.target, exc.backend, exc.reason)


def _reads(path: Path, token: str) -> bool:
    try:
        return path.read_text(encoding="utf-8") == token
    except OSError:
        return False


class _Pool:
    """A backend's actors; a branch takes an idle one and gives it back."""

    def __init__(self, actors: list[Any], closed: threading.Event):
        self.actors = actors
        self._closed = closed
        self._idle: queue.Queue = queue.Queue()
        for actor in actors:
            self._idle.put(actor)

    @contextmanager
    def actor(self) -> Iterator[Any]:
        while True:
            if self._closed.is_set():
                raise RenderCancelled("cancelled while waiting for a Ray actor")
            try:
                actor = self._idle.get(timeout=WAIT_S)
                break
            except queue.Empty:
                continue
        try:
            yield actor
        finally:
            self._idle.put(actor)


class RayFarm:
    """Connects to the cluster (`ray_address`; unset: a Ray started here for the run) and makes
    each backend's actors on its first job."""

    def __init__(self, settings: Settings):
        if ray is None:
            raise ConfigError("executor = \"ray\" needs Ray: pip install 'microdrama[ray]'")
        self.settings = settings
        self._started = not ray.is_initialized()
        if self._started:
            try:
                ray.init(address=settings.ray_address, include_dashboard=False, log_to_driver=False,
                         logging_level=logging.WARNING)
            except ConnectionError as exc:
                raise ConfigError(f"ray_address {settings.ray_address!r}: no Ray cluster there ({exc}); "
                                  "start one with `ray start --head`, or leave ray_address unset") from None
        cache_dir = SeriesFolder(settings.series_dir).cache_dir.absolute()
        self.token = uuid.uuid4().hex
        # Named as a cache temporary: a killed run's probe is swept with its other temporaries.
        self.probe = cache_dir / f"{TEMP_PREFIX}{os.getpid()}-{time.monotonic_ns()}-ray-probe"
        if settings.ray_artifacts == "auto":
            cache_dir.mkdir(parents=True, exist_ok=True)
            self.probe.write_text(self.token, encoding="utf-8")
        self._pools: dict[tuple[str, str, str], _Pool] = {}
        self._lock = threading.Lock()
        self._closed = threading.Event()

    @property
    def branches(self) -> int:
        """Render branches worth running at once: one per actor of each configured backend, and
        two more, so that voices and music go on while every picture actor is busy."""
        named = {self.settings.backends.video, self.settings.backends.music,
                 *(route.video for route in self.settings.backends.routes)}
        configured = {**{name: ActorResources() for name in named}, **self.settings.actors}
        return sum(r.actors for r in configured.values()) + 2

    def produce(self, job: ArtifactJob, final: Path, cache: ArtifactCache) -> Path:
        with self._pool(job).actor() as actor:
            kind, value = self._result(actor.produce.remote(job, str(final.absolute())), job)
        if kind == "error":
            raise RenderError(*value)
        if kind == "bytes":
            return cache.produce(final, lambda temp: temp.write_bytes(value))
        if not final.is_file():
            raise RenderError(job.target, job.backend, f"its Ray worker wrote {final} on a filesystem this "
                              "machine does not see; set ray_artifacts = \"driver\" under [run]")
        return final

    def _result(self, ref: Any, job: ArtifactJob) -> tuple[str, Any]:
        while not ray.wait([ref], timeout=WAIT_S)[0]:
            if self._closed.is_set():
                raise RenderCancelled(f"{job.target}: cancelled")
        try:
            return ray.get(ref)
        except RayActorError as exc:
            if self._closed.is_set():
                raise RenderCancelled(f"{job.target}: cancelled") from None
            raise RenderError(job.target, job.backend, f"its Ray worker died {RESTARTS + 1} times "
                              f"({type(exc).__name__})") from None

    def _pool(self, job: ArtifactJob) -> _Pool:
        key = (job.backend, job.kind, json.dumps(job.options, sort_keys=True))
        with self._lock:
            if self._closed.is_set():
                raise RenderCancelled(f"{job.target}: cancelled")
            if key not in self._pools:
                resources = self.settings.actors.get(job.backend, ActorResources())
                # Only what is set is passed: an actor given any resource also holds a CPU by
                # default, where a bare one holds none once placed (Ray's defaults for actors).
                options: dict[str, Any] = {"max_restarts": RESTARTS, "max_task_retries": RESTARTS}
                if resources.num_gpus:
                    options["num_gpus"] = resources.num_gpus
                if resources.num_cpus is not None:
                    options["num_cpus"] = resources.num_cpus
                if resources.memory_mb is not None:
                    options["memory"] = resources.memory_mb * 2**20
                worker = ray.remote(BackendWorker).options(**options)
                self._pools[key] = _Pool([worker.remote(self.settings.ray_artifacts, str(self.probe), self.token)
                                          for _ in range(resources.actors)], self._closed)
            return self._pools[key]

    def close(self) -> None:
        """Stop the actors (a job still on one is cancelled with it) and a Ray started here."""
        self._closed.set()
        with self._lock:
            for pool in self._pools.values():
                for actor in pool.actors:
                    ray.kill(actor, no_restart=True)
            self._pools.clear()
        self.probe.unlink(missing_ok=True)
        if self._started:
            ray.shutdown()
