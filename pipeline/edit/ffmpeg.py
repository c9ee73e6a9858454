"""Every FFmpeg call of microdrama.

The binary comes from the imageio-ffmpeg wheel (libx264, AAC, ebur128), found
once. Commands are argv lists, never shell strings; a non-zero exit raises FFmpegError with the
argv and the tail of stderr. Seconds appear here, at the edge; callers speak frames. On Linux an
FFmpeg child is killed when microdrama dies (a kill -9 of a render must not leave encoders
running on: they would write into the series folder after the lock is gone).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from ..core.errors import FFmpegError

AUDIO_RATE = 48000
# Every shot segment is encoded with exactly these settings, so that an episode is a stream-copy
# concatenation (the concat demuxer needs one codec, size, rate, time base and pixel format).
# One encoder thread: x264's bitstream is a function of its thread count, and its default count
# is 1.5x the CPUs the process may use (sched_getaffinity), so a cgroup, a taskset, a Ray worker
# or another machine would each give other bytes (and pixels a few levels apart) for the same
# frames. Shots are encoded in parallel anyway (render_concurrency, Ray actors).
H264 = ["-c:v", "libx264", "-threads", "1", "-preset", "veryfast", "-crf", "20", "-pix_fmt", "yuv420p",
        "-profile:v", "high", "-color_primaries", "bt709", "-color_trc", "bt709", "-colorspace", "bt709"]
LOUDNESS_TARGET_LUFS = -16.0
TRUE_PEAK_TARGET_DB = -1.5  # the limiter's: 0.5 dB below the -1 dBTP ceiling leaves room for AAC overshoot
AAC_FRAME = 1024  # samples an AAC packet decodes to
AAC_PRIMING = AAC_FRAME  # samples FFmpeg's AAC encoder puts before the first: one frame


@cache
def _dying_with_parent() -> tuple[str, ...]:
    """The argv prefix that has the kernel SIGKILL a child when microdrama dies: util-linux's
    setpriv sets the parent-death signal and execs the command. Not a preexec_fn: one makes
    subprocess fork() instead of vfork(), and fork() runs OpenBLAS's atfork handler, which
    deadlocks while two other threads are inside numpy products (the audit's threads)."""
    setpriv = shutil.which("setpriv") if sys.platform == "linux" else None
    return (setpriv, "--pdeathsig", "KILL") if setpriv else ()


def _child(argv: list[str]) -> list[str]:
    return [*_dying_with_parent(), *argv]


@cache
def ffmpeg_exe() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def run(args: list[str], stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    argv = [ffmpeg_exe(), "-hide_banner", *(["-nostdin"] if stdin is None else []), *args]
    done = subprocess.run(_child(argv), input=stdin, capture_output=True)
    if done.returncode != 0:
        raise FFmpegError(argv, done.returncode, done.stderr.decode("utf-8", "replace"))
    return done


def seconds(frames: int, fps: int) -> str:
    return f"{frames / fps:.6f}"


# --- video -------------------------------------------------------------------------------------


def encode_frames(frames: Iterable[np.ndarray], path: Path, width: int, height: int, fps: int) -> int:
    """Encode HxWx3 uint8 frames into a silent H.264 segment; returns the number of frames."""
    argv = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "rgb24",
            "-s", f"{width}x{height}", "-r", str(fps), "-i", "-", *H264, "-g", str(fps * 2),
            "-r", str(fps), "-an", "-f", "mp4", str(path)]
    process = subprocess.Popen(_child(argv), stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    count = 0
    try:
        for frame in frames:
            if frame.shape != (height, width, 3) or frame.dtype != np.uint8:
                raise ValueError(f"frame {count} is {frame.shape} {frame.dtype}, expected ({height}, {width}, 3) uint8")
            process.stdin.write(np.ascontiguousarray(frame).tobytes())
            count += 1
    except BrokenPipeError:
        pass
    finally:
        process.stdin.close()
        stderr = process.stderr.read().decode("utf-8", "replace")
        process.wait()
    if process.returncode != 0:
        raise FFmpegError(argv, process.returncode, stderr)
    return count


def read_frames(path: Path, width: int, height: int, fps: int | None = None) -> Iterator[np.ndarray]:
    """Decode a video into HxWx3 uint8 frames, scaled to width x height (and resampled to fps)."""
    vf = f"scale={width}:{height}" + (f",fps={fps}" if fps else "")
    argv = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-i", str(path), "-vf", vf,
            "-f", "rawvideo", "-pix_fmt", "rgb24", "-"]
    process = subprocess.Popen(_child(argv), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    size = width * height * 3
    try:
        while chunk := process.stdout.read(size):
            if len(chunk) < size:
                break
            yield np.frombuffer(chunk, np.uint8).reshape(height, width, 3)
    finally:
        process.stdout.close()
        stderr = process.stderr.read().decode("utf-8", "replace")
        process.wait()
    if process.returncode > 0:  # a negative code is our own early close of the pipe
        raise FFmpegError(argv, process.returncode, stderr)


def read_chosen_frames(path: Path, width: int, height: int, chosen: list[int]) -> dict[int, np.ndarray]:
    """The frames numbered `chosen` (from 0, in file order), scaled as `read_frames` scales; a
    number past the file's end is missing. Every frame is decoded, but only the chosen ones are
    scaled and piped (a third of the CPU of `read_frames` over an episode)."""
    wanted = sorted(set(chosen))
    if not wanted:
        return {}
    done = run(["-loglevel", "error", "-i", str(path), "-vf", f"select={_any_of(wanted)},scale={width}:{height}",
                "-fps_mode", "passthrough", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"])
    return dict(zip(wanted, split_frames(done.stdout, width, height)))


def _any_of(numbers: list[int]) -> str:
    """A select expression true for the frames numbered `numbers` (sorted, not empty): a balanced
    sum, as a long chain overflows FFmpeg's parser."""
    if len(numbers) == 1:
        return f"eq(n\\,{numbers[0]})"
    half = len(numbers) // 2
    return f"({_any_of(numbers[:half])}+{_any_of(numbers[half:])})"


@dataclass(frozen=True)
class Crop:
    """A box of a frame (left, top, right, bottom) as FFmpeg crops it, on the 2x2 blocks that
    share a colour sample, so a mouth's few pixels cost no full-frame conversion; and the slice
    of that crop that is the box itself, as a slice of the whole frame would give it."""

    filter: str
    cut: tuple[slice, slice]
    width: int
    height: int

    @classmethod
    def of(cls, box: tuple[int, int, int, int], width: int, height: int) -> Crop:
        left, top = box[0] // 2 * 2, box[1] // 2 * 2
        right, bottom = min(width, -(-box[2] // 2) * 2), min(height, -(-box[3] // 2) * 2)
        return cls(f"crop={right - left}:{bottom - top}:{left}:{top}",
                   (slice(box[1] - top, box[3] - top), slice(box[0] - left, box[2] - left)), right - left, bottom - top)


@dataclass(frozen=True)
class SegmentRead:
    """What one decode of a video gives: its packets, and the frames and crops asked for."""

    stream: StreamPackets
    chosen: dict[tuple[int, int], dict[int, np.ndarray]]  # by size: the frames asked for, by number
    crops: list[list[np.ndarray]]  # by box: every frame, cut to it


def read_segment(path: Path, width: int, height: int, chosen: dict[tuple[int, int], list[int]],
                 boxes: list[tuple[int, int, int, int]]) -> SegmentRead:
    """Decode a video once for everything the audit measures of it: the frames numbered `chosen`
    at each size, scaled as `read_frames` scales (a number past the file's end is missing), and
    each box (a `Crop`) of every frame at width x height. Its packets come from the same run.
    Each branch scales only what it keeps, so the run costs about one decode however much is
    asked."""
    picks = {size: sorted(set(numbers)) for size, numbers in chosen.items() if numbers}
    crops = [Crop.of(box, width, height) for box in boxes]
    branches = [f"select={_any_of(numbers)},scale={w}:{h}" for (w, h), numbers in picks.items()]
    # the box is cut before the frame leaves YUV: left to itself, FFmpeg converts the whole
    # frame to RGB in the scaler and crops that (1.6 times the CPU of the decode alone)
    branches += [f"scale={width}:{height},format=yuv420p,{crop.filter}" for crop in crops]
    raw = ["-fps_mode", "passthrough", "-f", "rawvideo", "-pix_fmt", "rgb24"]
    with tempfile.TemporaryDirectory(prefix="microdrama-segment-") as folder:
        graph, outputs = [], []
        if branches:
            labels = "".join(f"[b{index}]" for index in range(len(branches)))
            graph = ["-filter_complex", ";".join([f"[0:v:0]split={len(branches)}{labels}" if len(branches) > 1
                                                  else "[0:v:0]null[b0]",
                                                  *(f"[b{index}]{branch}[o{index}]"
                                                    for index, branch in enumerate(branches))])]
            for index in range(len(branches)):
                outputs += ["-map", f"[o{index}]", *raw, f"{folder}/{index}.rgb"]
        run(["-loglevel", "error", "-threads", "1", "-i", str(path), *graph, *outputs,
             "-map", "0:v:0", "-c", "copy", "-f", "framemd5", f"{folder}/packets"])
        stream = _stream_packets(Path(folder, "packets").read_text(encoding="ascii", errors="replace"))
        frames = [_raw_frames(Path(folder, f"{index}.rgb"), *size) for index, size in enumerate(picks)]
        cut = [_raw_frames(Path(folder, f"{len(picks) + index}.rgb"), crop.width, crop.height)
               for index, crop in enumerate(crops)]
    return SegmentRead(stream, {size: dict(zip(numbers, got)) for (size, numbers), got in zip(picks.items(), frames)},
                       [[frame[crop.cut] for frame in got] for crop, got in zip(crops, cut)])


def concat_copy(segments: list[Path], list_file: Path) -> list[str]:
    """Input arguments that read `segments` back to back through the concat demuxer, without
    re-encoding (the caller adds them to its own command). The packets are copied as they are:
    every segment is encoded with the same settings, so one decoder set-up serves them all, and
    the audit can tell a shot's picture unchanged by its packets alone (the demuxer's default
    conversion would write the set-up into each keyframe again)."""
    lines = []
    for segment in segments:
        escaped = str(Path(segment).resolve()).replace("'", r"'\''")
        lines.append(f"file '{escaped}'")
    list_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return ["-f", "concat", "-safe", "0", "-auto_convert", "0", "-i", str(list_file)]


# --- audio -------------------------------------------------------------------------------------


def write_wav(path: Path, samples: np.ndarray, rate: int, out_rate: int = AUDIO_RATE) -> None:
    """Float samples (mono, or frames x channels) to a 32-bit float WAV at `out_rate` (the mix's
    rate), resampled by FFmpeg's high-quality resampler when the rates differ."""
    data = np.asarray(samples, dtype=np.float32)
    channels = 1 if data.ndim == 1 else data.shape[1]
    run(["-loglevel", "error", "-f", "f32le", "-ar", str(rate), "-ac", str(channels), "-i", "-",
         "-af", "aresample=resampler=soxr" if rate != out_rate else "anull", "-ar", str(out_rate),
         "-c:a", "pcm_f32le", "-f", "wav", "-y", str(path)], stdin=data.tobytes())


def read_audio(path: Path, rate: int = AUDIO_RATE, channels: int = 1) -> np.ndarray:
    """Decode any audio (or a video's audio) to float32 at `rate`; shape (n,) or (n, channels)."""
    done = run(["-loglevel", "error", "-i", str(path), "-vn", "-f", "f32le", "-ac", str(channels),
                "-ar", str(rate), "-"])
    data = np.frombuffer(done.stdout, np.float32)
    return data if channels == 1 else data.reshape(-1, channels)


def encode_aac(raws: list[Path]) -> list[list[bytes]]:
    """Each file of mono float samples encoded to AAC (192 kb/s), in one FFmpeg process with an
    encoder apiece: the packets of each, in order, the encoder's priming first. The sound is dual
    mono, at full level in either channel (FFmpeg's own upmix would lower it 3 dB). No perceptual
    noise substitution: its noise comes from the decoder's random generator, which runs through
    the whole stream, so an edited chunk changed the decoded samples of every chunk after it;
    without it a place decodes from the packets there alone, as the audit's kept measurements
    expect (at 192 kb/s it saves no bits)."""
    inputs, outputs = [], []
    for index, raw in enumerate(raws):
        inputs += ["-f", "f32le", "-ar", str(AUDIO_RATE), "-ac", "1", "-i", str(raw)]
        outputs += ["-map", f"{index}:a", "-af", "pan=stereo|c0=c0|c1=c0", "-c:a", "aac", "-b:a", "192k",
                    "-aac_pns", "0", "-f", "adts", "-y",
                    str(raw.with_suffix(".aac"))]
    run(["-loglevel", "error", *inputs, *outputs])
    return [adts_packets(raw.with_suffix(".aac").read_bytes()) for raw in raws]


def adts_packets(data: bytes) -> list[bytes]:
    """The frames of an ADTS stream, each with its 7- or 9-byte header (which holds its length)."""
    packets, at = [], 0
    while at + 7 <= len(data):
        if data[at] != 0xFF or data[at + 1] & 0xF6 != 0xF0:
            raise ValueError(f"not an ADTS frame at byte {at}")
        length = (data[at + 3] & 3) << 11 | data[at + 4] << 3 | data[at + 5] >> 5
        packets.append(data[at: at + length])
        at += length
    return packets


def mux_aac(adts: Path, samples: int, out: Path) -> None:
    """An ADTS stream of `samples` samples (plus the encoder's priming frame) into an .m4a whose
    edit list starts after the priming and whose last packet ends at the last sample, as an
    encoder writing the .m4a itself would: joined chunks start and end where the picture does."""
    packets = len(adts_packets(adts.read_bytes()))
    last = samples + AAC_PRIMING - AAC_FRAME * (packets - 1)
    run(["-loglevel", "error", "-itsoffset", f"-{AAC_PRIMING / AUDIO_RATE:.7f}", "-i", str(adts), "-c:a", "copy",
         "-bsf:a", f"setts=duration=if(eq(N\\,{packets - 1})\\,{last}/({AUDIO_RATE}*TB)\\,DURATION)",
         "-f", "mp4", "-y", str(out)])


def mux_episode(video_args: list[str], audio: Path, subtitles: Path | None, language: str, out: Path) -> None:
    """The concatenated video and the mastered sound, both stream-copied, and soft subtitles,
    into a faststart MP4."""
    args = [*video_args, "-i", str(audio)]
    maps = ["-map", "0:v", "-map", "1:a"]
    if subtitles is not None:
        args += ["-i", str(subtitles)]
        maps += ["-map", "2:s", "-c:s", "mov_text", "-metadata:s:s:0", f"language={_iso639_2(language)}"]
    run(["-loglevel", "error", *args, *maps, "-c:v", "copy", "-c:a", "copy", "-movflags", "+faststart",
         "-y", str(out)])


def _iso639_2(language: str) -> str:
    return {"en": "eng", "zh": "chi", "ja": "jpn", "ko": "kor", "es": "spa", "fr": "fre", "de": "ger",
            "ru": "rus", "ar": "ara", "yue": "chi"}.get(language.split("-")[0], "und")


# --- measuring ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stream:
    kind: str  # video, audio, subtitle
    codec: str
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    sample_rate: int | None = None


@dataclass(frozen=True)
class MediaInfo:
    duration_s: float
    streams: list[Stream]

    def first(self, kind: str) -> Stream | None:
        return next((s for s in self.streams if s.kind == kind), None)


def probe(path: Path) -> MediaInfo:
    """Container duration and streams, read from `ffmpeg -i` (the wheel ships no ffprobe)."""
    done = subprocess.run(_child([ffmpeg_exe(), "-hide_banner", "-i", str(path)]), capture_output=True)
    text = done.stderr.decode("utf-8", "replace")
    duration = re.search(r"Duration: (\d+):(\d+):([\d.]+)", text)
    if not duration:
        raise FFmpegError([ffmpeg_exe(), "-i", str(path)], done.returncode, text)
    h, m, s = duration.groups()
    streams = []
    for kind, codec, rest in re.findall(r"Stream #\d+:\d+.*?: (Video|Audio|Subtitle): (\w+)(.*)", text):
        size = re.search(r", (\d{2,5})x(\d{2,5})", rest)
        fps = re.search(r", ([\d.]+) fps", rest)
        rate = re.search(r", (\d+) Hz", rest)
        streams.append(Stream(kind.lower(), codec, int(size[1]) if size else None, int(size[2]) if size else None,
                              float(fps[1]) if fps else None, int(rate[1]) if rate else None))
    return MediaInfo(int(h) * 3600 + int(m) * 60 + float(s), streams)


def count_frames(path: Path) -> int:
    """Exact number of video frames (demuxed, not decoded)."""
    done = run(["-i", str(path), "-map", "0:v:0", "-c", "copy", "-f", "null", "-"])
    frames = re.findall(r"frame=\s*(\d+)", done.stderr.decode("utf-8", "replace"))
    return int(frames[-1]) if frames else 0


@dataclass(frozen=True)
class Loudness:
    integrated_lufs: float
    true_peak_db: float
    lra: float


def measure_loudness(path: Path) -> Loudness:
    """EBU R128 integrated loudness, loudness range and true peak of a file's audio."""
    done = run(["-i", str(path), "-vn", "-af", "ebur128=peak=true", "-f", "null", "-"])
    text = done.stderr.decode("utf-8", "replace")
    summary = text[text.rindex("Summary:"):]
    integrated = float(re.search(r"I:\s+(-?[\d.]+|-inf) LUFS", summary)[1])
    lra = float(re.search(r"LRA:\s+(-?[\d.]+) LU", summary)[1])
    peak = re.search(r"Peak:\s+(-?[\d.]+|-inf) dBFS", summary)[1]
    return Loudness(integrated, float(peak), lra)


def read_frame(path: Path, frame: int, fps: int, width: int, height: int) -> np.ndarray:
    """One HxWx3 uint8 frame of a video, scaled to width x height. Seeks before decoding (a
    thumbnail should not decode the whole segment); FFmpeg then decodes from the keyframe before
    and drops frames up to the exact time, so the frame is the one asked for."""
    done = run(["-loglevel", "error", "-ss", seconds(frame, fps), "-i", str(path), "-frames:v", "1",
                "-vf", f"scale={width}:{height}", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"])
    size = width * height * 3
    if len(done.stdout) < size:
        raise ValueError(f"{path} has no frame {frame} at {fps} fps")
    return np.frombuffer(done.stdout[:size], np.uint8).reshape(height, width, 3)


# --- the audit ---------------------------------------------------------------------------------


def packet_digests(path: Path, stream: str = "v") -> list[str]:
    """The MD5 of each packet of a file's first video (or, `stream="a"`, audio) stream, in file
    order, demuxed and not decoded: what the file holds for each frame, cheap enough to tell an
    unchanged shot (or mix) of an episode from a changed one."""
    return [packet.digest for packet in packets(path, stream)]


@dataclass(frozen=True)
class Packet:
    start: int  # presentation time, in the stream's time base (an audio stream's: its samples)
    length: int
    digest: str  # MD5 of the packet's bytes


def packets(path: Path, stream: str = "v") -> list[Packet]:
    """Each packet of a file's first video (or audio) stream, in file order: see packet_digests."""
    return stream_packets(path, stream).packets


@dataclass(frozen=True)
class StreamPackets:
    setup: str  # MD5 of the stream's decoder configuration (H.264's parameter sets); "" if none
    packets: list[Packet]

    def digests(self, first: int = 0, count: int | None = None) -> list[str]:
        return [packet.digest for packet in self.packets[first: None if count is None else first + count]]


def stream_packets(path: Path, stream: str = "v") -> StreamPackets:
    """A file's first video (or audio) stream as demuxed: its decoder configuration and packets.
    Two streams with the same configuration and packets decode to the same pictures."""
    done = run(["-loglevel", "error", "-i", str(path), "-map", f"0:{stream}:0", "-c", "copy", "-f", "framemd5", "-"])
    return _stream_packets(done.stdout.decode("ascii", "replace"))


def _stream_packets(framemd5: str) -> StreamPackets:
    setup, found = "", []
    for line in framemd5.splitlines():
        if line.startswith("#extradata"):
            setup = line.rsplit(",", 1)[-1].strip()
        elif line and not line.startswith("#"):
            row = line.split(",")
            found.append(Packet(int(row[2]), int(row[3]), row[5].strip()))
    return StreamPackets(setup, found)


def read_audio_span(path: Path, audio: list[Packet], low: int, high: int, channels: int = 2) -> np.ndarray | None:
    """Samples [low, high) of a file's audio at AUDIO_RATE (`audio`: its packets, timed in
    samples): the same samples, bit for bit, as that stretch of the whole decode, for a fraction
    of its time, where the stream decodes each packet from it and the one before alone (AAC-LC
    without noise substitution, as the master encodes it).

    FFmpeg seeks by milliseconds; a decode from a seek ends at the time asked, and starts at the
    time asked (a file with video: the seek lands on a keyframe before it, and the sound is
    decoded from there and cut) or at an audio packet's start just after it (sound alone). The
    seek is put two packets before `low`, so the decoder has settled by `low` either way, and the
    length says which start it was. None when it says neither (another FFmpeg's rules): decode
    the whole file instead."""
    end = audio[-1].start + audio[-1].length if audio else 0
    low, high = max(0, low), min(high, end)
    if low >= high:
        return np.zeros((0, channels), np.float32)
    ms = AUDIO_RATE // 1000
    seek = max(0, (low - 2 * AAC_FRAME) // ms * ms)
    stop = -(-high // ms) * ms  # past the end only within its last millisecond
    done = run(["-loglevel", "error", *(["-ss", f"{seek / AUDIO_RATE:.3f}"] if seek else []),
                "-t", f"{(stop - seek) / AUDIO_RATE:.3f}", "-i", str(path), "-vn", "-f", "f32le",
                "-ac", str(channels), "-ar", str(AUDIO_RATE), "-"])
    data = np.frombuffer(done.stdout, np.float32).reshape(-1, channels)
    first = min(stop, end) - len(data)
    if first != seek and not (seek <= first <= low and first in {packet.start for packet in audio}):
        return None
    return data[low - first: high - first]


def read_span(path: Path, first_frame: int, count: int, fps: int, width: int, height: int) -> list[np.ndarray]:
    """`count` frames of a video from `first_frame` on, scaled as `read_frames` scales (fewer
    where the file ends first). Seeks as `read_frame` does, and passes frames through as decoded
    (no frame doubled or dropped to keep a rate), so the n-th frame out is frame first_frame + n."""
    done = run(["-loglevel", "error", "-ss", seconds(first_frame, fps), "-i", str(path), "-frames:v", str(count),
                "-fps_mode", "passthrough", "-vf", f"scale={width}:{height}", "-f", "rawvideo", "-pix_fmt", "rgb24",
                "-"])
    return split_frames(done.stdout, width, height)


def read_end_frames(paths: list[Path], width: int, height: int, tail_s: float,
                    per_process: int = 4) -> list[tuple[np.ndarray | None, np.ndarray | None]]:
    """The first and last frame of each video, scaled exactly as `read_frames` scales, so that
    frames from either compare pixel for pixel (None where a video has none). Each video is opened
    twice, the second time `tail_s` before its end, so only its tail is decoded for the last frame.
    Several videos share one FFmpeg process (a process per video costs more in start-up than in
    decoding), but only a few: every open decoder holds its frames (about 30 MB at 720x1280)."""
    return [ends for start in range(0, len(paths), per_process)
            for ends in _end_frames(paths[start: start + per_process], width, height, tail_s)]


def _end_frames(paths: list[Path], width: int, height: int,
                tail_s: float) -> list[tuple[np.ndarray | None, np.ndarray | None]]:
    scaled = ["-vf", f"scale={width}:{height}", "-f", "rawvideo", "-pix_fmt", "rgb24"]
    with tempfile.TemporaryDirectory(prefix="microdrama-frames-") as folder:
        inputs, outputs = [], []
        for index, path in enumerate(paths):
            inputs += ["-threads", "1", "-i", str(path),
                       "-threads", "1", "-sseof", f"-{tail_s:.3f}", "-i", str(path)]
            outputs += ["-map", f"{2 * index}:v:0", "-frames:v", "1", *scaled, f"{folder}/{index}-first.rgb",
                        "-map", f"{2 * index + 1}:v:0", *scaled, f"{folder}/{index}-last.rgb"]
        run(["-loglevel", "error", *inputs, *outputs])
        ends = []
        for index in range(len(paths)):
            first = _raw_frames(Path(folder, f"{index}-first.rgb"), width, height)
            last = _raw_frames(Path(folder, f"{index}-last.rgb"), width, height)
            ends.append((first[0] if first else None, last[-1] if last else None))
        return ends


def _raw_frames(path: Path, width: int, height: int) -> list[np.ndarray]:
    return split_frames(path.read_bytes() if path.is_file() else b"", width, height)


def split_frames(data: bytes, width: int, height: int) -> list[np.ndarray]:
    """Raw rgb24 bytes as HxWx3 frames (a partial frame at the end is dropped)."""
    size = width * height * 3
    return [np.frombuffer(data[start: start + size], np.uint8).reshape(height, width, 3)
            for start in range(0, len(data) - size + 1, size)]
