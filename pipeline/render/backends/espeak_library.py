"""libespeak-ng from the `espeakng-loader` wheel, through ctypes: espeak-ng voices (Mandarin
`cmn`, Cantonese `yue` and the rest of its data) after `pip install` alone, no system package.

The library keeps one global synthesizer whose state carries from one utterance to the next (the
same text comes out a few samples different the second time, even reseeded and re-initialized),
while a fresh process always gives the same samples, as the command line does. So each line is
spoken by a child process (`python espeak_library.py VOICE WPM PITCH`, text on stdin), and only
the voice listing runs in this one.
"""

from __future__ import annotations

import ctypes
import functools
import subprocess
import sys
import threading

import numpy as np

AUDIO_OUTPUT_SYNCHRONOUS = 0x02
INITIALIZE_DONT_EXIT = 0x8000
RATE, PITCH = 1, 3  # espeak_PARAMETER
POS_CHARACTER, CHARS_UTF8 = 1, 1
EE_OK = 0
RANDOM_SEED = 1

_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)


class _Voice(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("languages", ctypes.c_void_p), ("identifier", ctypes.c_char_p),
                ("gender", ctypes.c_ubyte), ("age", ctypes.c_ubyte), ("variant", ctypes.c_ubyte),
                ("xx1", ctypes.c_ubyte), ("score", ctypes.c_int), ("spare", ctypes.c_void_p)]


class EspeakError(RuntimeError):
    pass


def available() -> bool:
    import importlib.util

    return importlib.util.find_spec("espeakng_loader") is not None


class Library:
    """The loaded library and its sample rate; use `library()` for the one shared instance."""

    def __init__(self) -> None:
        import espeakng_loader

        self._lib = ctypes.CDLL(espeakng_loader.get_library_path())
        self._lock = threading.Lock()
        self._chunks: list[np.ndarray] = []
        self._callback = _CALLBACK(self._collect)  # kept referenced: the library calls it later
        data = espeakng_loader.get_data_path().encode()
        self.sample_rate = self._lib.espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, data, INITIALIZE_DONT_EXIT)
        if self.sample_rate <= 0:
            raise EspeakError(f"libespeak-ng did not start with the data in {data.decode()}")
        self._lib.espeak_SetSynthCallback(self._callback)
        self._lib.espeak_ListVoices.restype = ctypes.POINTER(ctypes.POINTER(_Voice))
        self._lib.espeak_Synth.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int,
                                           ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p]

    def _collect(self, samples, count: int, _events) -> int:
        if count > 0:
            self._chunks.append(np.ctypeslib.as_array(samples, shape=(count,)).astype(np.float32) / 32768.0)
        return 0  # go on

    def voices(self) -> list[tuple[str, list[tuple[str, int]]]]:
        """(voice file name, [(language tag, priority), ...]) per voice, as `--voices` lists them."""
        with self._lock:
            listing = self._lib.espeak_ListVoices(None)
            voices, index = [], 0
            while listing[index]:
                voice = listing[index].contents
                raw = ctypes.string_at(voice.languages, 256)
                languages, at = [], 0
                while at < len(raw) and raw[at] != 0:
                    priority, end = raw[at], raw.index(b"\0", at + 1)
                    languages.append((raw[at + 1:end].decode(), priority))
                    at = end + 1
                voices.append((voice.identifier.decode().rsplit("/", 1)[-1], languages))
                index += 1
            return voices

    def synthesize(self, text: str, voice: str, words_per_minute: int, pitch: int) -> np.ndarray:
        """Mono float samples at `sample_rate`; EspeakError for an unknown voice."""
        encoded = text.encode()
        with self._lock:
            if self._lib.espeak_SetVoiceByName(voice.encode()) != EE_OK:
                raise EspeakError(f"no espeak-ng voice {voice!r}")
            self._lib.espeak_SetParameter(RATE, words_per_minute, 0)
            self._lib.espeak_SetParameter(PITCH, pitch, 0)
            self._lib.espeak_ng_SetRandSeed(ctypes.c_long(RANDOM_SEED))  # its noise sources: same text, same samples
            self._chunks = []
            status = self._lib.espeak_Synth(encoded, len(encoded) + 1, 0, POS_CHARACTER, 0, CHARS_UTF8, None, None)
            self._lib.espeak_Synchronize()
            chunks, self._chunks = self._chunks, []
        if status != EE_OK:
            raise EspeakError(f"libespeak-ng failed (status {status})")
        return np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)


@functools.cache
def library() -> Library:
    return Library()


def synthesize(text: str, voice: str, words_per_minute: int, pitch: int, timeout_s: float) -> tuple[np.ndarray, int]:
    """(samples, sample rate) spoken by a fresh process; EspeakError with its message on failure."""
    # By path, not `-m`: the child imports numpy and the library, not microdrama.
    argv = [sys.executable, "-I", __file__, voice, str(words_per_minute), str(pitch)]
    try:
        done = subprocess.run(argv, input=text.encode(), capture_output=True, timeout=timeout_s)
    except subprocess.TimeoutExpired as exc:
        raise EspeakError(f"timed out after {timeout_s:g} s") from exc
    if done.returncode != 0:
        raise EspeakError(done.stderr.decode(errors="replace").strip().splitlines()[-1:][0]
                          if done.stderr.strip() else f"exit status {done.returncode}")
    header, _, body = done.stdout.partition(b"\n")
    return np.frombuffer(body, dtype=np.float32).copy(), int(header)


def _speak_once(voice: str, words_per_minute: str, pitch: str) -> int:
    loaded = library()
    try:
        samples = loaded.synthesize(sys.stdin.buffer.read().decode(), voice, int(words_per_minute), int(pitch))
    except EspeakError as exc:
        print(exc, file=sys.stderr)
        return 1
    sys.stdout.buffer.write(f"{loaded.sample_rate}\n".encode() + samples.astype(np.float32).tobytes())
    return 0


if __name__ == "__main__":
    sys.exit(_speak_once(*sys.argv[1:4]))
