"""A shot segment's bytes are a function of its frames only: not of the machine's CPUs."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ENCODE = textwrap.dedent("""
    import os, sys
    from pathlib import Path
    import numpy as np
    from microdrama.pipeline.edit import ffmpeg
    if sys.argv[2] == "one-cpu":
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    rng = np.random.default_rng(7)
    canvas = rng.integers(0, 255, (340, 200, 3), dtype=np.uint8)
    frames = (np.ascontiguousarray(canvas[i * 3:i * 3 + 256, i * 2:i * 2 + 144]) for i in range(24))
    ffmpeg.encode_frames(frames, Path(sys.argv[1]), 144, 256, 12)
""")


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity") or len(os.sched_getaffinity(0)) < 2,
                    reason="needs a process that may use two CPUs or more")
def test_a_segment_has_the_same_bytes_whatever_cpus_the_encoder_may_use(tmp_path: Path):
    """x264 picks its thread count from the CPUs it may use, and its bitstream follows the
    thread count: a Ray worker in a cgroup or on another machine gave other bytes (3/255 apart)."""
    digests = []
    for cpus in ("all-cpus", "one-cpu"):
        out = tmp_path / f"{cpus}.mp4"
        subprocess.run([sys.executable, "-c", ENCODE, str(out), cpus], check=True)
        digests.append(hashlib.sha256(out.read_bytes()).hexdigest())
    assert digests[0] == digests[1]


def test_an_episode_mix_has_the_same_samples_every_time(tmp_path: Path):
    """The ducking compressor follows how FFmpeg's threads cut its inputs into frames: the same
    dialogue and music gave another mix from one run to the next (up to 0.03 apart)."""
    import numpy as np

    from microdrama.pipeline.edit import ffmpeg

    rate, seconds = ffmpeg.AUDIO_RATE, 8
    t = np.arange(rate * seconds) / rate
    speech = np.sin(2 * np.pi * 220 * t) * (np.sin(2 * np.pi * 0.7 * t) > 0.3) * 0.4
    music = np.sin(2 * np.pi * 110 * t) * 0.3 + np.sin(2 * np.pi * 330 * t) * 0.1
    knocks = np.sin(2 * np.pi * 900 * t) * ((t % 2) < 0.05) * 0.5
    dialogue, score, effects = tmp_path / "dialogue.wav", tmp_path / "music.wav", tmp_path / "effects.wav"
    ffmpeg.write_wav(dialogue, speech, rate)
    ffmpeg.write_wav(score, music, rate)
    ffmpeg.write_wav(effects, knocks, rate)
    graph = ffmpeg._duck_and_mix("anull")
    digests = set()
    for _ in range(4):
        done = ffmpeg.run(["-loglevel", "error", "-i", str(dialogue), "-i", str(dialogue), "-i", str(score),
                           "-i", str(effects), "-filter_complex", graph, "-map", "[mix]", "-c:a", "pcm_f32le", "-f", "md5", "-"])
        digests.add(done.stdout)
    assert len(digests) == 1
