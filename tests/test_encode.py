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
