"""The render farm on a real Ray cluster started on this machine (127.0.0.1): the same artifacts
as a local render, a worker killed mid-render, a driver killed and resumed.

One cluster serves the module (`ray start --head --block`, stopped by its process group); this
process joins it as a driver, and the CLI runs join it by address."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from tiny_show import approved_show, rendered_show, render

if os.environ.get("MICRODRAMA_REQUIRE_ALL") == "1":  # CI installs the ray extra: no skipping there
    import ray
else:
    ray = pytest.importorskip("ray", reason="the ray extra is not installed: pip install 'microdrama[ray]'")



def two_workers(**run: str) -> str:
    """microdrama.toml for a Ray render with two picture actors (and `run` settings)."""
    lines = "".join(f'{key} = "{value}"\n' for key, value in run.items())
    return f'[run]\nexecutor = "ray"\n{lines}\n[backends.actors.animatic]\nactors = 2\n'

WORKER_TITLE = b"ray::BackendWorker.produce"  # Ray's process title while an actor runs a job


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def cluster():
    """A Ray head on 127.0.0.1 with 4 logical CPUs, its files under a short /tmp path (Ray's
    socket paths must stay short); yields its address. Token authentication is off for this
    loopback cluster (the head, this process and the CLI runs it starts share the setting)."""
    patch = pytest.MonkeyPatch()
    patch.setenv("RAY_AUTH_MODE", "disabled")
    temp = tempfile.mkdtemp(prefix="mdray-", dir="/tmp")
    port = _free_port()
    ray_cli = Path(sys.executable).with_name("ray")
    head = subprocess.Popen(
        [str(ray_cli), "start", "--head", "--block", "--node-ip-address", "127.0.0.1", "--port", str(port),
         "--num-cpus", "4", "--num-gpus", "0", "--include-dashboard", "false", "--temp-dir", temp,
         "--disable-usage-stats"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    address = f"127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                ray.init(address=address, logging_level="WARNING", log_to_driver=False)
                break
            except ConnectionError:
                if time.monotonic() > deadline or head.poll() is not None:
                    raise
                time.sleep(1)
        yield address
    finally:
        ray.shutdown()
        os.killpg(head.pid, signal.SIGTERM)
        try:
            head.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(head.pid, signal.SIGKILL)
        patch.undo()


@pytest.fixture(scope="module")
def local_digests() -> dict[str, str]:
    """The tiny show rendered by the local executor: each artifact's digest by file name."""
    folder = rendered_show(Path(tempfile.mkdtemp(prefix="tiny-local-")) / "tiny-show")
    return _digests(folder)


def _digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted((folder / "cache").iterdir()) if not p.name.startswith(".")}


def _verdicts(folder: Path, episode: str) -> list[tuple[str, str, str]]:
    report = json.loads((folder / "out" / f"{episode}.audit.json").read_text(encoding="utf-8"))
    return sorted((c["name"], c["where"], c["verdict"]) for c in report["checks"])


def _mp4_seconds(path: Path) -> float:
    from microdrama.pipeline.edit import ffmpeg

    return ffmpeg.probe(path).duration_s


def test_two_ray_workers_give_the_artifacts_of_a_local_render(cluster, local_digests, tmp_path):
    show = approved_show(tmp_path / "tiny-show")
    # No shared filesystem: the workers return the bytes and this process commits them.
    (show / "microdrama.toml").write_text(two_workers(ray_artifacts="driver"), encoding="utf-8")
    state = render(show, ray_address=cluster)
    assert not [r.id for r in state.renders if r.failed]
    assert _digests(show) == local_digests
    local = rendered_show(tmp_path / "local")
    for episode in ("e01", "e02"):
        mp4 = show / "out" / f"{episode}.mp4"
        assert _mp4_seconds(mp4) == _mp4_seconds(local / "out" / f"{episode}.mp4")
        assert mp4.read_bytes() == (local / "out" / f"{episode}.mp4").read_bytes()
        assert _verdicts(show, episode) == _verdicts(local, episode)


def test_a_worker_writes_into_the_cache_only_where_it_sees_the_runs_probe(tmp_path):
    from microdrama.pipeline.render.executors.ray_farm import BackendWorker

    probe = tmp_path / ".tmp-1-2-ray-probe"
    probe.write_text("token-of-this-run", encoding="utf-8")
    assert BackendWorker("auto", str(probe), "token-of-this-run").shared
    assert not BackendWorker("auto", str(probe), "token-of-another-run").shared
    assert not BackendWorker("auto", str(tmp_path / "elsewhere"), "token-of-this-run").shared
    assert not BackendWorker("driver", str(probe), "token-of-this-run").shared


def test_a_worker_killed_mid_render_loses_nothing(cluster, local_digests, tmp_path):
    show = approved_show(tmp_path / "tiny-show")
    (show / "microdrama.toml").write_text(two_workers(), encoding="utf-8")
    killed: list[int] = []

    def kill_one_busy_worker() -> None:
        deadline = time.monotonic() + 120
        while not killed and time.monotonic() < deadline:
            for pid in _busy_workers():
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
                return
            time.sleep(0.02)

    killer = threading.Thread(target=kill_one_busy_worker)
    killer.start()
    state = render(show, ray_address=cluster)
    killer.join()
    assert killed, "no worker was seen at work"
    assert not [r.id for r in state.renders if r.failed]
    assert not [c.id for c in state.cues if c.failed]
    assert _digests(show) == local_digests  # every artifact whole, none missing
    assert not list((show / "cache").glob(".tmp-*"))  # the killed job's temporary is not left behind


def _busy_workers() -> list[int]:
    busy = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "cmdline").read_bytes().startswith(WORKER_TITLE):
                    busy.append(int(entry.name))
            except OSError:
                continue
    return busy


def test_a_killed_driver_resumes_without_redoing_finished_shots(cluster, local_digests, tmp_path):
    show = approved_show(tmp_path / "tiny-show")
    (show / "microdrama.toml").write_text(two_workers(), encoding="utf-8")
    command = [str(Path(sys.executable).with_name("microdrama")), "render", str(show), "--ray-address", cluster]
    driver = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 180
    while (len(list((show / "cache").glob("video-*.mp4"))) < 2 and driver.poll() is None
           and time.monotonic() < deadline):
        time.sleep(0.05)
    driver.kill()
    driver.wait()
    finished = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in (show / "cache").glob("video-*.mp4")}
    assert finished and len(finished) < sum(1 for name in local_digests if name.startswith("video-"))

    resumed = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "shots " in resumed.stdout and "failed 0" in resumed.stdout  # the progress lines of a piped run
    for name, stamp in finished.items():
        path = show / "cache" / name
        assert (path.stat().st_ino, path.stat().st_mtime_ns) == stamp, f"{name} was made again"
    assert _digests(show) == local_digests
