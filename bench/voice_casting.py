"""Do the cast voices of the bundled example fit who speaks? Measured, not assumed.

Voices each character's own lines of episodes/rooftop-frequencies with the bundled Piper voice and
the voice cast in its series.yaml, and prints per character: gender, age band, the cast pitch and
formant shift, the measured median F0 (Praat's pitch tracker) and the spectral centroid of the
speech. It checks what the casting promises: every adult woman measures above every adult man,
and every pair of characters differs measurably (at least a semitone of F0 or 5% of centroid).

Then a stand-in for a listener: can a line be told to be its speaker's from its sound alone?
Every character speaks every line of the example (so the words cannot give the speaker away), each
clip described by its median F0 and its mean log mel spectrum (8 bands to 8 kHz, level removed:
the formants); each clip is given to the voice whose other clips are nearest (leave one out; each
feature scaled by its spread within a voice, so what stays put within a voice weighs most). This
measures whether the voices are separable, not whether a person hears different people. With
--encoder the same clips also go through a speaker encoder trained to tell real people apart
(Resemblyzer's GE2E, weights in its wheel): nearer to how a listener hears identity, since it
leans on the vocal tract more than on pitch.

    python bench/voice_casting.py            # the example (about a minute on a free core)
    python bench/voice_casting.py --compare  # also: Praat "Change gender" against WORLD (pyworld)
    python bench/voice_casting.py --encoder  # also: a speaker encoder's verdict (pip install resemblyzer)
"""

from __future__ import annotations

import argparse
import itertools
import math
import sys
import time
from pathlib import Path

import numpy as np

from microdrama.pipeline.core.models import AgeBand, Gender, VoiceSpec
from microdrama.pipeline.core.store import SeriesFolder
from microdrama.pipeline.render.backends import NoOptions, VoiceRequest
from microdrama.pipeline.render.backends.piper import PiperVoice
from microdrama.pipeline.render.backends.voice_transform import median_f0, transform

EXAMPLE = Path(__file__).resolve().parent.parent / "episodes" / "rooftop-frequencies"
LINES_PER_CHARACTER = 3
MIN_SEMITONES, MIN_CENTROID = 1.0, 0.05
CHILDREN = {AgeBand.CHILD, AgeBand.TEEN}


def centroid(samples: np.ndarray, rate: int) -> float:
    """Power-weighted mean frequency of the speech frames (25 ms Hann windows, silence dropped)."""
    size = int(rate * 0.025)
    frames = np.lib.stride_tricks.sliding_window_view(samples, size)[:: size // 2] * np.hanning(size)
    power = np.abs(np.fft.rfft(frames, axis=1)) ** 2
    loud = power.sum(axis=1) > power.sum(axis=1).max() * 1e-3
    freqs = np.fft.rfftfreq(size, 1 / rate)
    return float((power[loud] * freqs).sum() / power[loud].sum())


def measure(backend: PiperVoice, voice: VoiceSpec, texts: list[str], speaker: str) -> tuple[float, float, float]:
    """(median F0, centroid, seconds spent) over the lines, concatenated."""
    started = time.perf_counter()
    clips = [backend.render(VoiceRequest(line_id=f"e01s01l{i:02d}", text=text, language="en", voice=voice,
                                         speaker=speaker)) for i, text in enumerate(texts, 1)]
    spent = time.perf_counter() - started
    samples, rate = np.concatenate([c.samples for c in clips]), clips[0].sample_rate
    return median_f0(samples, rate) or 0.0, centroid(samples, rate), spent


def mel_profile(samples: np.ndarray, rate: int, bands: int = 8, top_hz: float = 8000.0) -> np.ndarray:
    """Mean log energy of the speech frames in `bands` mel bands up to `top_hz`, less its mean
    (so loudness does not count): the shape of the voice's spectrum."""
    size = int(rate * 0.025)
    frames = np.lib.stride_tricks.sliding_window_view(samples, size)[:: size // 2] * np.hanning(size)
    power = np.abs(np.fft.rfft(frames, axis=1)) ** 2
    power = power[power.sum(axis=1) > power.sum(axis=1).max() * 1e-3]
    mel = lambda hz: 2595 * np.log10(1 + hz / 700)  # noqa: E731
    edges = 700 * (10 ** (np.linspace(0, mel(top_hz), bands + 2) / 2595) - 1)
    freqs = np.fft.rfftfreq(size, 1 / rate)
    weights = np.array([np.clip(np.minimum((freqs - lo) / (mid - lo), (hi - freqs) / (hi - mid)), 0, None)
                        for lo, mid, hi in zip(edges, edges[1:], edges[2:])])
    profile = np.log(power @ weights.T + 1e-10).mean(axis=0)
    return profile - profile.mean()


def identify(backend: PiperVoice, series, lines: dict[str, list[str]], encoder: bool) -> None:
    """Leave-one-out speaker identification: every voice speaks every line."""
    texts = [text for character in series.characters for text in lines[character.id]]
    clips = {character.id: [backend.render(VoiceRequest(line_id=f"e01s01l{i:02d}", text=text, language="en",
                                                        voice=character.voice, speaker=character.id))
                            for i, text in enumerate(texts, 1)] for character in series.characters}
    names = list(clips)
    voice = np.array([n for n in names for _ in texts])
    features = np.array([np.concatenate([[12 * math.log2(median_f0(c.samples, c.sample_rate) or 1.0)],
                                         mel_profile(c.samples, c.sample_rate)]) for n in names for c in clips[n]])
    tables = [("pitch and spectrum", features), ("spectrum alone, no pitch", features[:, 1:])]
    if encoder:
        tables.append(("a trained speaker encoder, Resemblyzer", speaker_embeddings(clips, names)))
    for label, x in tables:
        confusion = _leave_one_out(x, voice, names, scaled=not label.startswith("a trained"))
        right = sum(confusion[n, n] for n in names)
        print(f"\nspeaker identification from the sound alone ({label}; {len(names)} voices x {len(texts)} "
              f"lines, leave one out): {right}/{len(voice)} right ({right / len(voice):.0%})")
        print("  spoken by \\ heard as " + " ".join(f"{n[:11]:>11}" for n in names))
        for a in names:
            print(f"  {a:20} " + " ".join(f"{confusion[a, b]:>11}" for b in names))
    if encoder:
        x = tables[-1][1]
        print("\nencoder similarity (mean cosine; diagonal: one voice's different lines, so a pair whose "
              "similarity nears the diagonal sounds like one speaker)")
        print("  " + " " * 20 + " ".join(f"{n[:11]:>11}" for n in names))
        for a in names:
            row = []
            for b in names:
                pairs = x[voice == a] @ x[voice == b].T
                row.append(pairs[~np.eye(len(pairs), dtype=bool)].mean() if a == b else pairs.mean())
            print(f"  {a:20} " + " ".join(f"{value:>11.3f}" for value in row))


def speaker_embeddings(clips: dict[str, list], names: list[str]) -> np.ndarray:
    """One unit-length Resemblyzer (GE2E) embedding per clip. Its weights ship inside the wheel
    (Apache-2.0): `pip install resemblyzer 'setuptools<81'` (webrtcvad imports pkg_resources)."""
    from resemblyzer import VoiceEncoder, preprocess_wav

    model = VoiceEncoder(device="cpu", verbose=False)
    return np.array([model.embed_utterance(preprocess_wav(c.samples, source_sr=c.sample_rate))
                     for n in names for c in clips[n]])


def _leave_one_out(x: np.ndarray, voice: np.ndarray, names: list[str], scaled: bool) -> dict[tuple[str, str], int]:
    """Nearest voice centroid for each clip, without the clip; with `scaled`, features divided by
    their spread within a voice (so what stays put within a voice weighs most)."""
    if scaled:
        x = x / (np.sqrt(np.mean([x[voice == n].var(axis=0) for n in names], axis=0)) + 1e-9)
    confusion = {(a, b): 0 for a in names for b in names}
    for i, speaker in enumerate(voice):
        others = np.arange(len(voice)) != i
        centres = {n: x[others & (voice == n)].mean(axis=0) for n in names}
        guess = min(centres, key=lambda n: np.linalg.norm(x[i] - centres[n]))
        confusion[speaker, guess] += 1
    return confusion


def world_transform(samples: np.ndarray, rate: int, pitch_hz: float, formant_shift: float) -> np.ndarray:
    """The same change through WORLD analysis-resynthesis: F0 scaled, envelope warped."""
    import pyworld

    x = samples.astype(np.float64)
    f0, envelope, aperiodicity = pyworld.wav2world(x, rate)
    voiced = f0[f0 > 0]
    f0 = f0 * (pitch_hz / np.median(voiced))
    bins = np.arange(envelope.shape[1])
    warped = np.array([np.interp(bins / formant_shift, bins, row) for row in envelope])
    return pyworld.synthesize(f0, warped, aperiodicity, rate).astype(np.float32)


def compare(backend: PiperVoice, text: str) -> None:
    base = backend.render(VoiceRequest(line_id="e01s01l01", text=text, language="en", voice=VoiceSpec(), speaker="x"))
    samples, rate = base.samples, base.sample_rate
    print(f"\nPraat 'Change gender' vs WORLD on one {len(samples) / rate:.1f} s line "
          f"(base median {median_f0(samples, rate):.0f} Hz) -> 202 Hz, formant x1.16:")
    for name, change in [("praat", lambda: transform(samples, rate, 202.0, 0.0, 1.16)),
                         ("world", lambda: world_transform(samples, rate, 202.0, 1.16))]:
        try:
            started = time.perf_counter()
            out = change()[: len(samples)]
            out = np.pad(out, (0, len(samples) - len(out)))
            spent = time.perf_counter() - started
        except ImportError as exc:
            print(f"  {name}: skipped ({exc})")
            continue
        # High-band energy (4-8 kHz) against the base: breath and fricatives kept, or smoothed away.
        spectrum = lambda s: np.abs(np.fft.rfft(s)) ** 2  # noqa: E731
        freqs = np.fft.rfftfreq(len(samples), 1 / rate)
        band = lambda s: spectrum(s)[(freqs > 4000) & (freqs < 8000)].sum() / spectrum(s).sum()  # noqa: E731
        print(f"  {name}: {spent:.2f} s ({spent / (len(samples) / rate):.2f}x real time), "
              f"F0 {median_f0(out, rate):.0f} Hz, centroid {centroid(out, rate):.0f} Hz, "
              f"4-8 kHz share {band(out) / band(samples):.2f}x the base's")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compare", action="store_true", help="also compare Praat with WORLD (pyworld)")
    parser.add_argument("--encoder", action="store_true",
                        help="also identify speakers by a trained speaker encoder (pip install resemblyzer)")
    args = parser.parse_args()
    folder = SeriesFolder(EXAMPLE)
    series = folder.load_series()
    episodes = [folder.load_episode(e.id) for e in series.episodes]
    lines = {c.id: [l.text for ep in episodes for shot in ep.shots for l in shot.dialogue if l.speaker == c.id]
             for c in series.characters}
    backend = PiperVoice(NoOptions())
    print("character     gender     age band     cast Hz  formant  speed | median F0  centroid   time")
    rows = {}
    for character in series.characters:
        texts = lines[character.id][:LINES_PER_CHARACTER] or ["Can you hear me?"]
        f0, centre, spent = measure(backend, character.voice, texts, character.id)
        rows[character.id] = (character, f0, centre)
        voice = character.voice
        print(f"{character.id:13} {(character.gender or '-'):10} {(character.band or '-'):12} "
              f"{voice.pitch_hz or 0:7.0f}  {voice.formant_shift:7.3f}  {voice.speed:5.2f} | "
              f"{f0:6.0f} Hz  {centre:6.0f} Hz  {spent:5.1f} s")
    women = [f0 for c, f0, _ in rows.values() if c.gender == Gender.FEMALE and c.band not in CHILDREN]
    men = [f0 for c, f0, _ in rows.values() if c.gender == Gender.MALE and c.band not in CHILDREN]
    ok = not (women and men) or min(women) > max(men)
    print(f"\nlowest adult woman {min(women, default=0):.0f} Hz > highest adult man {max(men, default=0):.0f} Hz: "
          f"{'yes' if ok else 'NO'}")
    for (a, fa, ca), (b, fb, cb) in itertools.combinations(rows.values(), 2):
        semitones, spread = abs(12 * math.log2(fa / fb)), abs(ca / cb - 1)
        apart = semitones >= MIN_SEMITONES or spread >= MIN_CENTROID
        ok &= apart
        print(f"  {a.id} / {b.id}: {semitones:4.1f} semitones, centroid {spread:5.1%} "
              f"{'apart' if apart else 'TOO CLOSE'}")
    identify(backend, series, lines, args.encoder)
    if args.compare:
        compare(backend, "That antenna was my husband's. He said it hears tomorrow.")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
