"""The episode's sound master, made in chunks, so that an edit makes again only the chunks it
touches (a one-line edit re-made 275 s of sound, two loudness passes and an AAC encode: about
28 s of CPU, where the line is 3 s of it).

The episode's sound is cut on a fixed grid of 4.8 s chunks (225 AAC frames, 48 loudness blocks of
100 ms). Each chunk's sound is a function of the clips under it and of the episode's one gain:

  mix      the dialogue, the bed (music and ambience) and the sound effects, placed at their
           frames. The bed dips under each line by the timeline, which knows where the lines
           are: it is down when a line starts, where a compressor keyed on the voice ducks
           after hearing it (and its state ran the length of the episode).
  measure  its K-weighted energy per 100 ms (ITU-R BS.1770), kept by the chunk's key
  gain     one linear gain for the episode, from the gated loudness of every chunk's energies,
           on a 0.25 dB grid: an edit seldom moves it, and when it does every chunk is encoded again
  limit    a look-ahead limiter on the 4x-oversampled peak, at the true-peak target
  encode   AAC, with 10 frames of the neighbours' sound either side, of which the chunk's own
           225 packets are kept. Packets of neighbouring encodes join without a seam: each
           encoder saw the same samples around the join (a decode of the joined stream differs
           from a decode of one whole encode about 40 dB under the signal, as two encodes do).

The episode's AAC stream is the chunks' packets in order, muxed with the encoder's priming and
its last packet's length, so it starts and ends where the picture does.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..core.cache import ArtifactCache
from . import ffmpeg
from .audio import fast_length, frames_to_samples, read_wav, wav_length
from .timeline import Clip, Timeline

MASTER_VERSION = "4"  # bump when the mix, the gain, the limiter or the encode change
AAC_FRAME = ffmpeg.AAC_FRAME
CHUNK = 225 * AAC_FRAME  # 4.8 s at 48 kHz: whole AAC frames and whole 100 ms loudness blocks
ENCODER_ROLL = 10 * AAC_FRAME  # the neighbours' sound each chunk's encoder sees either side
LIMITER_REACH = 2048  # samples either side the limiter's gain at a sample depends on
SUBBLOCK = ffmpeg.AUDIO_RATE // 10  # 100 ms: four make a 400 ms gating block, 75 % overlapped
GAIN_STEP_DB = 0.25
DUCK_DB = -12.0  # the bed under a line
DUCK_ATTACK_S, DUCK_RELEASE_S = 0.08, 0.4  # down before the line starts; up after it ends


@dataclass(frozen=True)
class Chunk:
    index: int
    start: int  # its own samples: [start, end)
    end: int
    total: int  # the episode's samples

    @property
    def encoded(self) -> tuple[int, int]:
        """The samples its encoder sees: its own and the roll either side."""
        return max(0, self.start - ENCODER_ROLL), min(self.total, self.end + ENCODER_ROLL)

    @property
    def mixed(self) -> tuple[int, int]:
        """The samples mixed for it: what its encoder sees and what the limiter looks at there.
        The K-filter's memory (milliseconds) is inside this too."""
        low, high = self.encoded
        return max(0, low - LIMITER_REACH), min(self.total, high + LIMITER_REACH)

    @property
    def last(self) -> bool:
        return self.end == self.total

    def kept_packets(self, encoded: int) -> slice:
        """Which of its encode's `encoded` packets are its own. Packet q of the episode's stream
        decodes samples [(q - 1) * 1024, q * 1024) (packet 0 is the encoder's priming); a chunk
        keeps q from start/1024 + 1 to end/1024 + 1, the first chunk packet 0 too and the last
        chunk the encoder's flush."""
        offset = self.encoded[0] // AAC_FRAME  # the encode's packet i is the stream's q = offset + i
        return slice(self._first_q - offset, encoded if self.last else self.end // AAC_FRAME + 1 - offset)

    @property
    def _first_q(self) -> int:
        return 0 if self.index == 0 else self.start // AAC_FRAME + 1

    @property
    def packets(self) -> int:
        """How many packets are its own (the last chunk's run to the encoder's flush, one packet
        past the last sample's)."""
        end_q = -(-self.total // AAC_FRAME) + 1 if self.last else self.end // AAC_FRAME + 1
        return end_q - self._first_q

    @property
    def blocks(self) -> int:
        """Its whole 100 ms loudness blocks."""
        return (self.end - self.start) // SUBBLOCK


def chunks(total: int) -> list[Chunk]:
    return [Chunk(i, start, min(total, start + CHUNK), total) for i, start in enumerate(range(0, max(total, 1), CHUNK))]


@dataclass(frozen=True)
class Placed:
    lane: str  # dialogue, bed or effects
    clip: Clip
    start: int  # its samples in the episode: [start, end)
    end: int
    reach: tuple[int, int]  # the samples of the mix it changes (a line: the bed's dip around it too)
    name: str  # its file, by its place in the series folder (artifact paths are content hashes)


class Stems:
    """The episode's clips as samples: what a chunk's mix is made of, each file read once, and
    only for a chunk that is mixed (a chunk's key needs the files' lengths alone)."""

    def __init__(self, timeline: Timeline, root: Path):
        self.total = frames_to_samples(timeline.duration_frames, timeline.fps)
        lanes = {"dialogue": timeline.dialogue, "bed": (*timeline.music, *timeline.ambience), "effects": timeline.effects}
        attack, release = round(DUCK_ATTACK_S * ffmpeg.AUDIO_RATE), round(DUCK_RELEASE_S * ffmpeg.AUDIO_RATE)
        self.placed = []
        for lane, clips in lanes.items():
            for clip in clips:
                start = frames_to_samples(clip.start_frame, timeline.fps)
                end = min(self.total, start + wav_length(clip.path)[0])
                reach = (start - attack, end + release) if lane == "dialogue" else (start, end)
                self.placed.append(Placed(lane, clip, start, end, reach, _relative(clip.path, Path(root))))
        self._audio: dict[Path, np.ndarray] = {}

    def audio(self, clip: Clip) -> np.ndarray:
        if clip.path not in self._audio:
            samples, rate = read_wav(clip.path)
            if rate != ffmpeg.AUDIO_RATE:
                raise ValueError(f"{clip.path}: {rate} Hz, expected {ffmpeg.AUDIO_RATE}")
            self._audio[clip.path] = samples
        return self._audio[clip.path]

    def under(self, low: int, high: int) -> list[Placed]:
        return [placed for placed in self.placed if placed.reach[0] < high and placed.reach[1] > low]

    def key(self, chunk: Chunk) -> str:
        """Everything the chunk's sound is made of: its place and the clips that reach its mix."""
        clips = [(placed.lane, placed.name, placed.start) for placed in self.under(*chunk.mixed)]
        payload = json.dumps([MASTER_VERSION, chunk.start, chunk.end, chunk.mixed, clips])
        return hashlib.sha256(payload.encode()).hexdigest()[:24]

    def mix(self, low: int, high: int) -> np.ndarray:
        """Samples [low, high) of the episode's mix, before its gain."""
        lanes = {lane: np.zeros(high - low) for lane in ("dialogue", "bed", "effects")}
        duck_db = np.zeros(high - low)
        for placed in self.under(low, high):
            a, b = max(low, placed.start), min(high, placed.end)
            if a < b:
                lanes[placed.lane][a - low: b - low] += self.audio(placed.clip)[a - placed.start: b - placed.start]
            if placed.lane == "dialogue":
                (first, last), (a, b) = placed.reach, (max(low, placed.reach[0]), min(high, placed.reach[1]))
                dip = np.interp(np.arange(a, b), [first, placed.start, placed.end, last], [0.0, DUCK_DB, DUCK_DB, 0.0])
                np.minimum(duck_db[a - low: b - low], dip, out=duck_db[a - low: b - low])
        mixed = lanes["dialogue"] + lanes["bed"] * 10 ** (duck_db / 20) + lanes["effects"]
        return mixed.astype(np.float32)  # as kept between measuring and encoding: one chunk, one sound


def _relative(path: Path, root: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)


# --- loudness (ITU-R BS.1770) ------------------------------------------------------------------

_K_FILTER = (((1.53512485958697, -2.69169618940638, 1.19839281085285), (1.0, -1.69065929318241, 0.73248077421585)),
             ((1.0, -2.0, 1.0), (1.0, -1.99004745483398, 0.99007225036621)))  # at 48 kHz
_K_TAIL = ffmpeg.AUDIO_RATE // 4  # the K-filter rings for milliseconds; a quarter second of zeros holds it


def k_weighted(samples: np.ndarray) -> np.ndarray:
    """The K-filter (a high shelf and a high-pass) applied through its frequency response."""
    n = fast_length(len(samples) + _K_TAIL)
    z = np.exp(-1j * np.pi * np.fft.rfftfreq(n) * 2)
    response = np.ones_like(z)
    for b, a in _K_FILTER:
        response *= (b[0] + b[1] * z + b[2] * z * z) / (a[0] + a[1] * z + a[2] * z * z)
    return np.fft.irfft(np.fft.rfft(samples, n) * response, n)[: len(samples)]


def chunk_energies(mix: np.ndarray, chunk: Chunk) -> list[float]:
    """The sum of squares of the K-weighted mix in each whole 100 ms block of the chunk."""
    low = chunk.mixed[0]
    weighted = k_weighted(mix)[chunk.start - low: chunk.end - low]
    whole = len(weighted) // SUBBLOCK * SUBBLOCK
    return (weighted[:whole].reshape(-1, SUBBLOCK) ** 2).sum(axis=1).tolist()


def integrated_loudness(energies: np.ndarray, channels: int = 2) -> float:
    """Gated integrated loudness (LUFS) from 100 ms block energies of the mono mix, as heard from
    `channels` copies of it (the master is dual mono, the mix at full level in either channel):
    400 ms blocks every 100 ms, an absolute gate at -70 LUFS and a relative gate 10 LU under the
    absolutely gated loudness."""
    if len(energies) < 4:
        return float("-inf")
    blocks = np.convolve(energies, np.ones(4), "valid") / (4 * SUBBLOCK) * channels
    loudness = -0.691 + 10 * np.log10(np.maximum(blocks, 1e-30))
    gated = blocks[loudness > -70]
    if not len(gated):
        return float("-inf")
    relative = -0.691 + 10 * np.log10(gated.mean()) - 10
    return float(-0.691 + 10 * np.log10(blocks[(loudness > -70) & (loudness > relative)].mean()))


def episode_gain_db(loudness: float) -> float:
    """The gain that brings the mix to the target, on the grid."""
    if not np.isfinite(loudness):
        return 0.0
    return round((ffmpeg.LOUDNESS_TARGET_LUFS - loudness) / GAIN_STEP_DB) * GAIN_STEP_DB


# --- the limiter -------------------------------------------------------------------------------

_OVERSAMPLED = [np.sinc(np.arange(-5, 7) - phase / 4) * np.kaiser(12, 6.0) for phase in (1, 2, 3)]
LIMITER_ATTACK, LIMITER_HOLD = 240, 960  # 5 ms ramps, 20 ms held after a peak


def sample_peaks(x: np.ndarray) -> np.ndarray:
    """Each sample's peak with the three points between it and the next (4x oversampling)."""
    peak = np.abs(x)
    for taps in _OVERSAMPLED:
        between = np.convolve(x, taps[::-1], "full")[6: 6 + len(x)]  # the value at n + phase / 4
        np.maximum(peak, np.abs(between), out=peak)
    return peak


def _sliding_min(values: np.ndarray, before: int, after: int) -> np.ndarray:
    """The least of values[n - before: n + after + 1] for each n (van Herk / Gil-Werman)."""
    width = before + after + 1
    size = -(-(len(values) + before + after) // width) * width
    padded = np.ones(size)
    padded[before: before + len(values)] = values
    blocks = padded.reshape(-1, width)
    prefix = np.minimum.accumulate(blocks, axis=1).ravel()
    suffix = np.minimum.accumulate(blocks[:, ::-1], axis=1)[:, ::-1].ravel()
    index = np.arange(len(values))
    return np.minimum(suffix[index], prefix[np.minimum(index + width - 1, size - 1)])


def limit(x: np.ndarray, ceiling_db: float) -> np.ndarray:
    """x under the ceiling: a gain that reaches each over-peak's need by the peak (it looks
    ahead), holds, and rises again, never above what any sample within its reach needs."""
    need = np.minimum(1.0, 10 ** (ceiling_db / 20) / np.maximum(sample_peaks(x), 1e-12))
    if need.min() >= 1.0:
        return x
    held = _sliding_min(need, LIMITER_ATTACK + LIMITER_HOLD, LIMITER_ATTACK)
    window = 2 * LIMITER_ATTACK + 1
    summed = np.cumsum(np.concatenate([np.ones(LIMITER_ATTACK + 1), held, np.ones(LIMITER_ATTACK)]))
    gain = (summed[window:] - summed[:-window])[: len(x)] / window
    return x * gain


# --- the master --------------------------------------------------------------------------------


def master_sound(timeline: Timeline, root: Path, cache: ArtifactCache, work_dir: Path) -> Path:
    """The episode's mastered sound (an .m4a in `work_dir`), from the chunks kept in the cache
    and the ones this makes."""
    stems = Stems(timeline, root)
    grid = chunks(stems.total)
    keys = [stems.key(chunk) for chunk in grid]
    mixes: dict[int, np.ndarray] = {}
    for chunk, key in zip(grid, keys):
        if not _intact(cache.path("loudness", key, "json"), chunk.blocks, lambda data: len(json.loads(data))):
            mixes[chunk.index] = stems.mix(*chunk.mixed)
            measured = json.dumps(chunk_energies(mixes[chunk.index], chunk))
            cache.produce(cache.path("loudness", key, "json"), lambda path, measured=measured: path.write_text(measured))
    gain = _gain_db(cache, keys)
    sounds = [_sound(cache, key, gain) for key in keys]
    todo = [chunk for chunk, sound in zip(grid, sounds)
            if not _intact(sound, chunk.packets, lambda data: len(ffmpeg.adts_packets(data)))]
    for batch in (todo[i: i + 16] for i in range(0, len(todo), 16)):
        raws = []
        for chunk in batch:
            mixed = mixes.pop(chunk.index, None)
            mixed = stems.mix(*chunk.mixed) if mixed is None else mixed
            limited = limit(mixed * 10 ** (gain / 20), ffmpeg.TRUE_PEAK_TARGET_DB)
            low, high = chunk.encoded
            raws.append(work_dir / f"chunk-{chunk.index}.f32")
            raws[-1].write_bytes(limited[low - chunk.mixed[0]: high - chunk.mixed[0]].astype(np.float32).tobytes())
        encoded = ffmpeg.encode_aac(raws)
        for chunk, packets, raw in zip(batch, encoded, raws):
            own = b"".join(packets[chunk.kept_packets(len(packets))])
            cache.produce(sounds[chunk.index], lambda path, own=own: path.write_bytes(own))
            raw.unlink()
    stream = work_dir / "sound.aac"
    stream.write_bytes(b"".join(sound.read_bytes() for sound in sounds))
    out = work_dir / "sound.m4a"
    ffmpeg.mux_aac(stream, stems.total, out)
    return out


def master_files(timeline: Timeline, root: Path, cache: ArtifactCache) -> list[Path]:
    """The cache files the episode's master is made of (what `gc` keeps)."""
    keys = [Stems(timeline, root).key(chunk) for chunk in chunks(frames_to_samples(timeline.duration_frames, timeline.fps))]
    loudness = [cache.path("loudness", key, "json") for key in keys]
    if not all(path.is_file() for path in loudness):
        return [path for path in loudness if path.is_file()]
    gain = _gain_db(cache, keys)
    return [*loudness, *(_sound(cache, key, gain) for key in keys)]


def _intact(path: Path, expected: int, count) -> bool:
    """Does the kept file hold what it should (`count` of its bytes is `expected`)? One damaged
    or cut short is removed, to be made again: it would crash the master or shorten its sound."""
    try:
        if count(path.read_bytes()) == expected:
            return True
    except FileNotFoundError:
        return False
    except (OSError, ValueError, TypeError):
        pass
    path.unlink(missing_ok=True)
    return False


def _gain_db(cache: ArtifactCache, keys: list[str]) -> float:
    energies = [e for key in keys for e in json.loads(cache.path("loudness", key, "json").read_text())]
    return episode_gain_db(integrated_loudness(np.asarray(energies)))


def _sound(cache: ArtifactCache, key: str, gain_db: float) -> Path:
    return cache.path("sound", f"{key}{gain_db:+.2f}", "aac")
