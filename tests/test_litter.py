"""No litter, true counts: a killed run's work folders are swept, FFmpeg dies with microdrama,
a resumed render counts what it did, and status notices an episode file that was changed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from microdrama.pipeline.app import Project
from microdrama.pipeline.core.config import Settings
from microdrama.pipeline.core.store import SeriesFolder
from microdrama.pipeline.review.status import series_status
from test_app import MICRODRAMA, kill_render_of


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def test_ffmpeg_starts_while_other_threads_multiply_with_numpy():
    """The audit decodes video in one thread while others run numpy products; a fork that runs
    OpenBLAS's atfork handler then (a preexec_fn does) hung the whole render for good."""
    script = textwrap.dedent("""
        import threading
        import numpy as np
        from microdrama.pipeline.edit import ffmpeg
        def products():
            a = np.random.default_rng(0).standard_normal(2_000_000)
            while True:
                float(np.dot(a, a))
        for _ in range(2):
            threading.Thread(target=products, daemon=True).start()
        def spawns():
            for _ in range(300):
                ffmpeg.run(["-version"])
            print("started 300")
        spawning = threading.Thread(target=spawns)
        spawning.start()
        spawning.join()
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=90)
    assert done.stdout.strip() == "started 300", done.stderr


def test_a_killed_assemblys_work_folder_is_swept_by_the_next_command_and_a_live_ones_kept(rendered):
    dead = rendered / "out" / f".assemble-{dead_pid()}-abc123"
    live = rendered / "out" / f".assemble-{os.getpid()}-def456"
    for folder in (dead, live):
        folder.mkdir()
        (folder / "dialogue.wav").write_bytes(b"x" * 1000)
    with Project(Settings(series_dir=rendered)) as project:
        project.audit("e01")  # any command that writes
    assert not dead.exists() and live.is_dir()


@pytest.mark.skipif(sys.platform != "linux", reason="parent-death signals are a Linux facility")
def test_ffmpeg_dies_with_microdrama_when_it_is_killed(tmp_path):
    script = textwrap.dedent("""
        from microdrama.pipeline.edit import ffmpeg
        ffmpeg.run(["-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30", "-t", "600", "-f", "null", "-"])
    """)
    parent = subprocess.Popen([sys.executable, "-c", script])
    try:
        deadline = time.monotonic() + 30
        while not (encoders := children_of(parent.pid)) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert encoders, "ffmpeg did not start"
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait()
        deadline = time.monotonic() + 5
        while any(Path(f"/proc/{pid}").exists() and "Z" not in Path(f"/proc/{pid}/stat").read_text().split()[2]
                  for pid in encoders) and time.monotonic() < deadline:
            time.sleep(0.1)
        survivors = [pid for pid in encoders if Path(f"/proc/{pid}").exists()
                     and Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"]
        assert survivors == []
    finally:
        parent.kill()
        for pid in children_of(parent.pid):
            os.kill(pid, signal.SIGKILL)


def test_a_resumed_render_counts_what_it_rendered_not_what_the_killed_run_did(rendered):
    kill_render_of(rendered, "e01s02")
    done = subprocess.run([MICRODRAMA, "render", str(rendered), "--scene", "e01s02", "--force"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    counts = next(line for line in done.stdout.splitlines() if line.startswith("shots:"))
    # The killed run finished one of the scene's four forced shots: this run renders three, and
    # every shot of the episode is counted once, by whoever did it (the cache or the killed run).
    numbers = [int(word) for word in counts.replace(",", " ").split() if word.isdigit()]
    assert numbers[0] == 3 and sum(numbers) == 8, counts


def test_status_notices_an_episode_file_that_was_truncated(rendered):
    mp4 = rendered / "out" / "e01.mp4"
    mp4.write_bytes(mp4.read_bytes()[: mp4.stat().st_size // 2])
    settings = Settings.load(rendered)
    series, episodes = SeriesFolder(rendered).load_plan()
    with Project(settings) as project:
        report = series_status(settings, series, episodes, project.last_render())
    assert report.damaged_episodes == ["e01"] and "e01" in report.stale_episodes
    done = subprocess.run([MICRODRAMA, "status", str(rendered)], capture_output=True, text=True, timeout=120)
    assert "out/e01.mp4 is not the file assembly wrote" in done.stdout


KILL_AT_PUBLISH = textwrap.dedent("""
    import os, sys
    from pathlib import Path
    from microdrama.pipeline.graph import render
    render.publish_episode = lambda *args: os._exit(9)  # every shot is rendered and assembled by now
    from microdrama.pipeline.app import Project
    from microdrama.pipeline.core.config import Settings
    from microdrama.pipeline.graph.state import RenderRequest
    with Project(Settings(series_dir=Path(sys.argv[1]))) as project:
        project.render(RenderRequest())
""")


def test_a_render_resumed_after_everything_was_rendered_says_it_rendered_nothing(tmp_path):
    from tiny_show import approved_show

    show = approved_show(tmp_path / "show")
    died = subprocess.run([sys.executable, "-c", KILL_AT_PUBLISH, str(show)], capture_output=True, text=True)
    assert died.returncode == 9, died.stderr
    done = subprocess.run([MICRODRAMA, "render", str(show)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    counts = next(line for line in done.stdout.splitlines() if line.startswith("shots:"))
    assert counts.startswith("shots: 0 rendered, 0 from cache, ") and "interrupted run" in counts, counts
    assert (show / "out" / "e01.audit.json").is_file()
