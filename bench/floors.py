"""The floors the benchmarks hold microdrama's figures against: what FFmpeg alone takes for the
same work."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from microdrama.pipeline.edit import ffmpeg
from microdrama.pipeline.edit.audio import frames_to_samples, place, read_wav
from microdrama.pipeline.edit.timeline import Timeline

# Dialogue (input 0), the bed of music and ambience (input 1) ducked under it by a compressor keyed
# on the dialogue, and the effects (input 2), summed, normalised in one loudnorm pass.
ONE_PASS = ("[0:a]asplit=2[dialogue][key];[1:a][key]sidechaincompress=threshold=0.02:ratio=10:attack=15:release=350[ducked];"
            f"[dialogue][ducked][2:a]amix=inputs=3:normalize=0:duration=first,"
            f"loudnorm=I={ffmpeg.LOUDNESS_TARGET_LUFS}:TP={ffmpeg.TRUE_PEAK_TARGET_DB}:LRA=11[mix]")


def track(timeline: Timeline, clips, total: int) -> np.ndarray:
    """A mono 48 kHz track of the given clips placed at their start frames."""
    samples = np.zeros(total, dtype=np.float32)
    for clip in clips:
        audio, _ = read_wav(clip.path)
        place(samples, audio, frames_to_samples(clip.start_frame, timeline.fps))
    return samples


def one_audio_pass(timeline: Timeline, work: Path) -> list[str]:
    """FFmpeg's arguments for one pass over an episode's sound: its three tracks mixed, ducked,
    normalised and encoded once, to work/a.m4a. The tracks are written here, before the pass
    (not part of the floor)."""
    total = frames_to_samples(timeline.duration_frames, timeline.fps)
    lanes = {"d.wav": timeline.dialogue, "b.wav": (*timeline.music, *timeline.ambience), "e.wav": timeline.effects}
    for name, clips in lanes.items():
        ffmpeg.write_wav(work / name, track(timeline, clips, total), ffmpeg.AUDIO_RATE)
    return ["-loglevel", "error", *[arg for name in lanes for arg in ("-i", str(work / name))],
            "-filter_complex", ONE_PASS, "-map", "[mix]", "-c:a", "aac", "-b:a", "192k", "-y", str(work / "a.m4a")]
