"""One writer per series: the state/.lock flock, its holder record, and sweeping only dead runs'
temporaries. Every other party here is a real process."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from microdrama.pipeline.core.cache import ArtifactCache
from microdrama.pipeline.core.errors import MicrodramaError, SeriesLocked
from microdrama.pipeline.core.lock import lock_holder, series_lock
from microdrama.pipeline.core.store import atomic_write_text, pid_alive, sweep_atomic_temporaries

HOLD = textwrap.dedent("""
    import sys
    from pathlib import Path
    from microdrama.pipeline.core.lock import series_lock
    with series_lock(Path(sys.argv[1]), sys.argv[2]):
        print("held", flush=True)
        sys.stdin.read()  # hold until the test closes our stdin (or kills us)
""")

TRY = textwrap.dedent("""
    import sys
    from pathlib import Path
    from microdrama.pipeline.core.errors import SeriesLocked
    from microdrama.pipeline.core.lock import series_lock
    try:
        with series_lock(Path(sys.argv[1]), "microdrama plan"):
            print("got it")
    except SeriesLocked as exc:
        print(exc)
        sys.exit(3)
""")

COMMAND = "microdrama render episodes/x --scene e01s02"


@pytest.fixture
def state(tmp_path):
    return tmp_path / "x" / "state"  # not created: series_lock makes it


@pytest.fixture
def holder(state):
    """A process holding the lock until it is released (stdin closed) or killed."""
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(state), COMMAND],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    yield proc
    if proc.poll() is None:
        proc.kill()
    proc.wait()


def release(proc: subprocess.Popen) -> None:
    proc.stdin.close()
    assert proc.wait(timeout=10) == 0


def try_in_another_process(state) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", TRY, str(state)], capture_output=True, text=True, timeout=30)


def test_a_second_writer_is_refused_with_the_holders_pid_and_command(state, holder):
    tried = try_in_another_process(state)
    assert tried.returncode == 3, tried.stderr
    message = tried.stdout.strip()
    assert "\n" not in message
    assert message.startswith(f"{state.parent} is being written by pid {holder.pid} ({COMMAND}, since ")
    assert message.endswith("); wait for it to finish or stop it")

    with pytest.raises(SeriesLocked) as refused:  # this test process is another writer too
        with series_lock(state, "microdrama approve"):
            pytest.fail("the lock was taken twice")
    assert isinstance(refused.value, MicrodramaError)
    assert (refused.value.pid, refused.value.command) == (holder.pid, COMMAND)


def test_the_lock_is_free_after_its_holder_exits(state, holder):
    release(holder)
    assert lock_holder(state) is None
    assert not (state / ".lock.holder").exists()
    tried = try_in_another_process(state)
    assert (tried.returncode, tried.stdout.strip()) == (0, "got it")


def test_the_lock_is_free_after_its_holder_is_killed(state, holder):
    holder.send_signal(signal.SIGKILL)
    assert holder.wait(timeout=10) == -signal.SIGKILL
    assert (state / ".lock.holder").exists()  # the killed holder's record stays behind ...
    assert lock_holder(state) is None  # ... but reads as free
    with series_lock(state, "microdrama render"):  # ... and blocks nobody
        assert lock_holder(state).pid == os.getpid()
        assert lock_holder(state).command == "microdrama render"


def test_a_reader_never_blocks_and_names_the_holder(state, holder):
    start = time.monotonic()
    found = lock_holder(state)
    assert time.monotonic() - start < 1
    assert (found.pid, found.command) == (holder.pid, COMMAND)
    assert len(found.since()) == 8  # HH:MM:SS today
    assert lock_holder(state.parent / "elsewhere") is None  # nothing there, nothing created
    assert not (state.parent / "elsewhere").exists()


def test_nested_acquisition_in_one_process_neither_deadlocks_nor_raises(state):
    with series_lock(state, "microdrama plan"):
        with series_lock(state, "microdrama approve"):
            assert lock_holder(state).command == "microdrama plan"  # the outer holder's record
        tried = try_in_another_process(state)  # the inner exit did not release the lock
        assert tried.returncode == 3, tried.stderr
        assert f"pid {os.getpid()} (microdrama plan" in tried.stdout
    assert lock_holder(state) is None
    assert try_in_another_process(state).returncode == 0


def test_the_lock_is_released_when_the_body_raises(state):
    with pytest.raises(RuntimeError):
        with series_lock(state, "microdrama render"):
            raise RuntimeError("boom")
    assert lock_holder(state) is None
    assert try_in_another_process(state).returncode == 0


def _forked_child(state, report, done) -> None:
    try:
        with series_lock(state, "microdrama child"):
            report.send("got it")
    except SeriesLocked as exc:
        report.send(str(exc))
    done.wait(30)  # outlive the parent's lock


def test_a_forked_child_neither_shares_nor_keeps_the_parents_lock(state):
    fork = multiprocessing.get_context("fork")
    ours, theirs = fork.Pipe()
    done = fork.Event()
    with series_lock(state, "microdrama render"):
        child = fork.Process(target=_forked_child, args=(state, theirs, done))
        child.start()
        assert ours.recv().startswith(f"{state.parent} is being written by pid {os.getpid()}")
    try:
        assert child.is_alive()
        assert try_in_another_process(state).returncode == 0  # the child's inherited descriptor was let go
    finally:
        done.set()
        child.join(10)


@pytest.fixture
def dead_pid() -> int:
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    pid = int(proc.stdout)
    assert not pid_alive(pid)
    return pid


def test_sweeping_removes_only_dead_processes_temporaries(tmp_path, holder, dead_pid):
    cache = ArtifactCache(tmp_path / "cache")
    cache.root.mkdir()
    live = cache.root / f".tmp-{holder.pid}-123-video-abc.mp4"
    mine = cache.root / f".tmp-{os.getpid()}-456-video-def.mp4"
    dead = cache.root / f".tmp-{dead_pid}-789-video-abc.mp4"
    published = cache.root / "video-abc.mp4"
    for path in (live, mine, dead, published):
        path.write_bytes(b"x")
    assert cache.sweep_temporaries() == 1
    assert sorted(p.name for p in cache.root.iterdir()) == sorted(p.name for p in (live, mine, published))


def test_sweeping_atomic_write_temporaries_spares_live_writers(tmp_path, holder, dead_pid):
    tmp_path = tmp_path / "plan"
    atomic_write_text(tmp_path / "e01.yaml", "id: e01\n")
    live = tmp_path / f".e01.yaml.{holder.pid}.ab12_xyz.tmp"
    dead = tmp_path / f".e01.yaml.{dead_pid}.k9d_2mq0.tmp"
    old_style = tmp_path / ".e01.yaml.ab12xyzq.tmp"  # no pid: whose it is is unknown, so it stays
    for path in (live, dead, old_style):
        path.write_text("partial")
    assert sweep_atomic_temporaries(tmp_path) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in (live, old_style)) + ["e01.yaml"]


KILLED_MID_WRITE = textwrap.dedent("""
    import os, sys
    from pathlib import Path
    from microdrama.pipeline.core.store import atomic_write_text
    os.fsync = lambda fd: os._exit(9)  # die with the temporary written but not yet renamed
    atomic_write_text(Path(sys.argv[1]) / "series.yaml", "title: x\\n")
""")


def test_a_killed_writers_atomic_temporary_carries_its_pid_and_is_swept(tmp_path):
    died = subprocess.Popen([sys.executable, "-c", KILLED_MID_WRITE, str(tmp_path)])
    assert died.wait(timeout=30) == 9
    [left] = tmp_path.iterdir()
    assert left.name.startswith(f".series.yaml.{died.pid}.") and left.name.endswith(".tmp")
    assert sweep_atomic_temporaries(tmp_path) == 1
    assert not list(tmp_path.iterdir())
