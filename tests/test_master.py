"""The episode's sound master in chunks (pipeline/edit/master.py): its loudness, its limiter, the
joins of its chunks, and an edit that makes only the chunks it reaches."""

from __future__ import annotations

import numpy as np
import pytest

from microdrama.pipeline.core.cache import ArtifactCache
from microdrama.pipeline.edit import ffmpeg, master
from microdrama.pipeline.edit.timeline import EffectClip, LineClip, MusicClip, Timeline, VideoClip

RATE, FPS = ffmpeg.AUDIO_RATE, 12


def wav(path, samples):
    ffmpeg.write_wav(path, np.asarray(samples, dtype=np.float32), RATE)
    return path


def speech(seconds: float, pitch: float, seed: int) -> np.ndarray:
    """A voice-like take: a pitched buzz in syllables, with a breath of noise."""
    t = np.arange(round(seconds * RATE)) / RATE
    syllables = (np.sin(2 * np.pi * 3.1 * t + seed) > -0.2).astype(float)
    noise = np.random.default_rng(seed).standard_normal(len(t)) * 0.02
    return (np.sin(2 * np.pi * pitch * t) + 0.4 * np.sin(2 * np.pi * 2 * pitch * t)) * syllables * 0.25 + noise


def episode(tmp_path, seconds: float = 30.0, lines: tuple[float, ...] = (2.0, 9.5, 15.5, 24.5)) -> Timeline:
    """A 30 s episode: lines at the given seconds over a music bed, and a knock at 13 s."""
    frames = round(seconds * FPS)
    t = np.arange(round(seconds * RATE)) / RATE
    bed = wav(tmp_path / "bed.wav", 0.2 * np.sin(2 * np.pi * 110 * t) + 0.05 * np.sin(2 * np.pi * 440 * t))
    knock = np.zeros(RATE // 4)
    knock[:2400] = np.sin(2 * np.pi * 900 * np.arange(2400) / RATE) * np.linspace(0.9, 0, 2400)
    dialogue = tuple(LineClip(path=wav(tmp_path / f"line-{i}.wav", speech(2.5, 140 + 30 * i, i)),
                              start_frame=round(at * FPS), duration_frames=30, line_id=f"l{i}", shot_id="s1",
                              speaker="ANA", text=f"line {i}", seconds=2.5, planned_end_frame=frames)
                     for i, at in enumerate(lines))
    return Timeline(episode_id="e01", title="test", snapshot="x", fps=FPS, width=144, height=256, language="en",
                    video=(VideoClip(path=tmp_path / "v.mp4", start_frame=0, duration_frames=frames, shot_id="s1",
                                     scene_id="c1"),),
                    dialogue=dialogue,
                    music=(MusicClip(path=bed, start_frame=0, duration_frames=frames, scene_id="c1"),),
                    effects=(EffectClip(path=wav(tmp_path / "knock.wav", knock), start_frame=13 * FPS,
                                        duration_frames=3, shot_id="s1", sound="knock"),))


@pytest.fixture
def encodes(monkeypatch) -> list[int]:
    """How many chunks each AAC encode made (the real encoder runs)."""
    counts: list[int] = []
    real = ffmpeg.encode_aac

    def counting(raws):
        counts.append(len(raws))
        return real(raws)

    monkeypatch.setattr(ffmpeg, "encode_aac", counting)
    return counts


def make(timeline: Timeline, tmp_path, cache: ArtifactCache, name: str):
    work = tmp_path / name
    work.mkdir()
    return master.master_sound(timeline, tmp_path, cache, work)


def test_the_master_is_at_the_target_loudness_under_the_ceiling_and_as_long_as_the_picture(tmp_path):
    timeline = episode(tmp_path)
    sound = make(timeline, tmp_path, ArtifactCache(tmp_path / "cache"), "a")
    loudness = ffmpeg.measure_loudness(sound)
    assert abs(loudness.integrated_lufs - ffmpeg.LOUDNESS_TARGET_LUFS) <= 0.5
    assert loudness.true_peak_db <= -1.0
    samples = ffmpeg.read_audio(sound, channels=2)
    assert len(samples) == 30 * RATE and np.abs(samples[:, 0] - samples[:, 1]).max() < 0.02  # dual mono, as AAC carries it


def test_the_measured_loudness_is_ffmpegs(tmp_path):
    """The chunks' K-weighted block energies give the integrated loudness FFmpeg's ebur128 gives
    the whole mix (as the stereo master carries it: the mix in both channels)."""
    timeline = episode(tmp_path)
    stems = master.Stems(timeline, tmp_path)
    energies = [e for chunk in master.chunks(stems.total) for e in master.chunk_energies(stems.mix(*chunk.mixed), chunk)]
    mix = stems.mix(0, stems.total)
    stereo = tmp_path / "stereo.wav"
    ffmpeg.write_wav(stereo, np.stack([mix, mix], axis=1), RATE)
    assert master.integrated_loudness(np.asarray(energies)) == pytest.approx(ffmpeg.measure_loudness(stereo).integrated_lufs, abs=0.06)


def test_the_bed_is_down_under_each_line_and_back_up_between_them(tmp_path):
    timeline = episode(tmp_path)
    stems = master.Stems(timeline, tmp_path)
    bed_only = timeline.model_copy(update={"dialogue": (), "effects": ()})
    undone = master.Stems(bed_only, tmp_path).mix(0, stems.total)
    ducked = stems.mix(0, stems.total) - master.Stems(timeline.model_copy(update={"music": ()}), tmp_path).mix(0, stems.total)
    during, between = slice(10 * RATE, 11 * RATE), slice(13 * RATE, 15 * RATE)
    level = lambda part: 20 * np.log10(np.sqrt(np.mean(ducked[part] ** 2)) / np.sqrt(np.mean(undone[part] ** 2)))
    assert level(during) == pytest.approx(master.DUCK_DB, abs=0.01) and level(between) == pytest.approx(0.0, abs=0.01)


def test_the_limiter_holds_every_oversampled_peak_under_the_ceiling_and_leaves_the_rest():
    rng = np.random.default_rng(3)
    x = rng.standard_normal(RATE * 2) * 0.05
    x[RATE: RATE + 480] += np.sin(2 * np.pi * 11900 * np.arange(480) / RATE) * 1.6  # inter-sample overs
    limited = master.limit(x, -1.5)
    assert master.sample_peaks(limited).max() <= 10 ** (-1.4 / 20)  # the gain moves under the interpolation
    untouched = slice(0, RATE - 2 * (master.LIMITER_ATTACK + master.LIMITER_HOLD))
    assert np.array_equal(limited[untouched], x[untouched])
    quiet = x * 0.1
    assert master.limit(quiet, -1.5) is quiet


def test_joined_chunks_decode_like_one_encode(tmp_path):
    """The joins of neighbouring encodes leave no seam: near every join, the decoded master is as
    close to the sound it encodes as one whole encode of the same sound is."""
    timeline = episode(tmp_path, seconds=20.0, lines=(3.0, 8.0, 14.0))
    sound = make(timeline, tmp_path, ArtifactCache(tmp_path / "cache"), "a")
    stems = master.Stems(timeline, tmp_path)
    gain = master.episode_gain_db(master.integrated_loudness(np.asarray(
        [e for c in master.chunks(stems.total) for e in master.chunk_energies(stems.mix(*c.mixed), c)])))
    source = master.limit(stems.mix(0, stems.total) * 10 ** (gain / 20), ffmpeg.TRUE_PEAK_TARGET_DB).astype(np.float32)
    raw = tmp_path / "whole.f32"
    raw.write_bytes(source.tobytes())
    whole = tmp_path / "whole.m4a"
    ffmpeg.mux_aac(_joined(ffmpeg.encode_aac([raw])[0], tmp_path / "whole.aac"), stems.total, whole)
    ours, theirs = ffmpeg.read_audio(sound), ffmpeg.read_audio(whole)
    for join in range(master.CHUNK, stems.total, master.CHUNK):
        near = slice(join - 2048, join + 2048)
        error = lambda decoded: np.sqrt(np.mean((decoded[near] - source[near]) ** 2))
        assert error(ours) <= 1.5 * error(theirs) + 1e-4


def test_a_stretch_of_the_master_decodes_to_the_samples_of_the_whole_decode(tmp_path):
    """A decode from a seek (the audit's, of the stretches an edit reached) gives the samples the
    whole decode gives there, bit for bit, wherever the stretch starts and ends (191 frames: the
    sound ends within a millisecond, where FFmpeg's seeks and ends cannot fall)."""
    sound = make(episode(tmp_path, seconds=191 / FPS, lines=(2.0, 9.5)), tmp_path, ArtifactCache(tmp_path / "cache"), "a")
    whole, audio = ffmpeg.read_audio(sound, channels=2), ffmpeg.packets(sound, "a")
    assert audio[-1].start + audio[-1].length == len(whole)
    rng = np.random.default_rng(7)
    stretches = [(0, 100), (1, 2000), (1023, 1025), (1024, 3000), (3072, 9000), (48000, 96000),
                 (len(whole) - 5000, len(whole)), (len(whole) - 1, len(whole) + 500),
                 *(sorted(rng.integers(0, len(whole), 2)) for _ in range(12))]
    for low, high in stretches:
        assert np.array_equal(ffmpeg.read_audio_span(sound, audio, low, high), whole[low:high]), (low, high)


def _joined(packets, path):
    path.write_bytes(b"".join(packets))
    return path


def test_an_edited_line_makes_only_the_chunks_it_reaches(tmp_path, encodes):
    cache = ArtifactCache(tmp_path / "cache")
    timeline = episode(tmp_path)
    before = make(timeline, tmp_path, cache, "a")
    assert encodes == [len(master.chunks(30 * RATE))]
    line = timeline.dialogue[2]  # at 15.5-18 s: inside the fourth chunk (14.4-19.2 s) and its reach
    edited = timeline.model_copy(update={"dialogue": (*timeline.dialogue[:2], line.model_copy(
        update={"path": wav(tmp_path / "new.wav", speech(2.5, 200, 9))}), *timeline.dialogue[3:])})
    after = make(edited, tmp_path, cache, "b")
    assert encodes[1:] == [1]
    old, new = ffmpeg.packet_digests(before, "a"), ffmpeg.packet_digests(after, "a")
    changed = [q for q, (a, b) in enumerate(zip(old, new)) if a != b]
    assert len(old) == len(new) and changed
    assert changed[0] * master.AAC_FRAME >= 3 * master.CHUNK and changed[-1] * master.AAC_FRAME <= 4 * master.CHUNK + master.AAC_FRAME

    from_scratch = make(edited, tmp_path, ArtifactCache(tmp_path / "fresh"), "c")
    assert ffmpeg.packet_digests(from_scratch, "a") == new  # history makes no difference
    assert make(timeline, tmp_path, cache, "d").read_bytes() == before.read_bytes() and encodes[3:] == []


def test_a_damaged_kept_chunk_is_made_again(tmp_path, encodes):
    """A loudness file cut short and a sound chunk cut short (a full disk, a hand in cache/) are
    made again; the master is the one a clean cache gives."""
    cache = ArtifactCache(tmp_path / "cache")
    timeline = episode(tmp_path)
    before = make(timeline, tmp_path, cache, "a")
    loudness, sound = sorted((tmp_path / "cache").glob("loudness-*"))[2], sorted((tmp_path / "cache").glob("sound-*"))[3]
    loudness.write_text(loudness.read_text()[:40])
    sound.write_bytes(sound.read_bytes()[:500])
    after = make(timeline, tmp_path, cache, "b")
    assert encodes[1:] == [1] and ffmpeg.packet_digests(after, "a") == ffmpeg.packet_digests(before, "a")
