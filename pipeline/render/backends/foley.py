"""The `foley` backend: sound effects and ambience beds from filtered noise, impulses and
envelopes. No weights, no GPU; the same request and seed give the same samples.

Each kind of the vocabulary (plan/sfx.py) has a recipe. Levels are set per recipe (a bed's RMS,
an effect's peak) so that the mix can place them without measuring: beds sit far under speech,
effects are heard but not shouted. Noise is shaped in the frequency domain (one FFT per layer),
which keeps a minute of rain to a fraction of a second of compute.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from ...core.models import Setting, TimeOfDay
from ...edit.audio import fast_length
from . import Availability, AudioClip, Capabilities, SfxRequest

RATE = 48000


def _db(value: float) -> float:
    return 10 ** (value / 20)


def _filtered(samples: np.ndarray, gain: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """`samples` through the filter whose gain at each frequency (Hz) `gain` gives, in one FFT of
    a fast length: a bed's length often has a large prime factor, and its FFT then took five
    times as long (0.65 s for a 42 s bed)."""
    n = len(samples)
    size = fast_length(n)
    return np.fft.irfft(np.fft.rfft(samples, size) * gain(np.fft.rfftfreq(size, 1 / RATE)), size)[:n]


def _band(rng: np.random.Generator, n: int, low: float, high: float, tilt: float = 0.0) -> np.ndarray:
    """White noise kept between `low` and `high` Hz (soft edges); `tilt` dB per octave above
    `low` darkens it (-3 is pink-ish)."""

    def gain(freqs: np.ndarray) -> np.ndarray:
        f = np.maximum(freqs, 1.0)
        kept = 1 / np.sqrt(1 + (low / f) ** 4) / np.sqrt(1 + (f / high) ** 4)
        return kept * (np.maximum(f, low) / low) ** (tilt / 6.02) if tilt else kept

    out = _filtered(rng.standard_normal(n), gain)
    return out / (np.sqrt(np.mean(out**2)) or 1.0)


def _lfo(rng: np.random.Generator, n: int, rates: tuple[float, ...], depth: float) -> np.ndarray:
    """A slow random swell around 1: sines at `rates` Hz with random phases."""
    t = np.arange(n) / RATE
    wave = sum(np.sin(2 * np.pi * r * t + rng.uniform(0, 2 * np.pi)) for r in rates) / len(rates)
    return 1 + depth * wave


def _decay(n: int, seconds: float) -> np.ndarray:
    return np.exp(-np.arange(n) / (seconds * RATE))


def _tone(n: int, hz: float, seconds: float) -> np.ndarray:
    return np.sin(2 * np.pi * hz * np.arange(n) / RATE) * _decay(n, seconds)


def _add(track: np.ndarray, sound: np.ndarray, at: float) -> None:
    start = int(at * RATE)
    if start < len(track):
        end = min(len(track), start + len(sound))
        track[start:end] += sound[: end - start]


def _rms(samples: np.ndarray, level_db: float) -> np.ndarray:
    rms = np.sqrt(np.mean(samples**2)) or 1.0
    return samples * (_db(level_db) / rms)


def _peak(samples: np.ndarray, level_db: float) -> np.ndarray:
    peak = np.max(np.abs(samples)) or 1.0
    return samples * (_db(level_db) / peak)


def fade_ends(samples: np.ndarray, seconds: float, rate: int = RATE) -> np.ndarray:
    """Linear fades at both ends: a clip that starts or stops mid-wave would click."""
    k = min(len(samples) // 2, int(seconds * rate))
    if k:
        ramp = np.linspace(0, 1, k)
        samples[:k] *= ramp
        samples[-k:] *= ramp[::-1]
    return samples


# --- beds: RMS levels ---------------------------------------------------------------------------


def rain(rng, n, night):
    hiss = _band(rng, n, 500, 9000, tilt=-2)
    drops = np.zeros(n)
    count = int(n / RATE * 220)
    drops[rng.integers(0, n, count)] = rng.uniform(0.2, 1.0, count) * rng.choice((-1, 1), count)
    drops = _filtered(drops, lambda f: f > 1800) * 40
    return _rms((0.75 * hiss + drops) * _lfo(rng, n, (0.07, 0.11), 0.15), -37)


def wind(rng, n, night):
    gusts = _lfo(rng, n, (0.05, 0.09, 0.23), 0.6)
    return _rms(_band(rng, n, 70, 700, tilt=-3) * gusts + 0.15 * _band(rng, n, 900, 1500) * gusts**2, -39)


def city(rng, n, night):
    hum = _band(rng, n, 35, 240, tilt=-3)
    traffic = _band(rng, n, 180, 1600, tilt=-3) * _lfo(rng, n, (0.03, 0.08, 0.13), 0.7 if not night else 0.9)
    return _rms(hum + (0.35 if night else 0.7) * traffic, -42 if night else -39)


def room(rng, n, night):
    return _rms(_band(rng, n, 60, 600, tilt=-2), -44)


def sea(rng, n, night):
    t = np.arange(n) / RATE
    period = rng.uniform(6.5, 9.0)
    swell = (0.5 - 0.5 * np.cos(2 * np.pi * (t / period + rng.uniform()))) ** 2.5
    return _rms(_band(rng, n, 120, 3500, tilt=-2) * (0.15 + swell), -37)


def babble(rng, n, voices=9):
    """People talking, none of them understood: syllable-rate bursts of voice-band noise."""
    mix = np.zeros(n)
    t = np.arange(n) / RATE
    for _ in range(voices):
        rate = rng.uniform(3.5, 5.5)
        syllables = np.maximum(0, np.sin(2 * np.pi * rate * t + rng.uniform(0, 6.3))) ** 2
        phrases = np.maximum(0, _lfo(rng, n, (rng.uniform(0.15, 0.4),), 1.2) - 0.6)
        mix += _band(rng, n, 250, 3200, tilt=-4) * syllables * phrases
    return mix


def market(rng, n, night):
    return _rms(babble(rng, n, 6 if night else 12) + 0.3 * _band(rng, n, 60, 400), -38)


# --- effects: peak levels -----------------------------------------------------------------------


def knock(rng, n, night):
    out = np.zeros(n)
    for k in range(3):
        m = int(0.12 * RATE)
        hit = _tone(m, rng.uniform(160, 200), 0.03) + 0.5 * _tone(m, rng.uniform(380, 440), 0.02)
        hit += 0.4 * _band(rng, m, 800, 5000) * _decay(m, 0.004)
        _add(out, hit, 0.05 + k * rng.uniform(0.2, 0.25))
    return _peak(out, -11)


def door(rng, n, night):
    out = np.zeros(n)
    m = int(0.45 * RATE)
    t = np.arange(m) / RATE
    creak = np.sign(np.sin(2 * np.pi * np.cumsum(280 + 160 * t / 0.45 + 30 * np.sin(40 * t)) / RATE))
    creak = creak * _band(rng, m, 200, 3000) * 0.2 * np.hanning(m)
    _add(out, creak, 0.02)
    s = int(0.5 * RATE)
    slam = _tone(s, 70, 0.12) + 0.6 * _tone(s, 130, 0.08) + 0.5 * _band(rng, s, 100, 4000) * _decay(s, 0.03)
    _add(out, slam, 0.5)
    return _peak(out, -10)


def footsteps(rng, n, night):
    out = np.zeros(n)
    at, pace = 0.05, rng.uniform(0.42, 0.55)
    while at < n / RATE - 0.1:
        m = int(0.15 * RATE)
        step = _band(rng, m, 60, 700) * _decay(m, 0.025) + 0.3 * _band(rng, m, 1500, 6000) * _decay(m, 0.01)
        _add(out, step * rng.uniform(0.7, 1.0), at + rng.uniform(-0.02, 0.02))
        at += pace
    return _peak(out, -14)


def phone(rng, n, night):
    t = np.arange(n) / RATE
    tone = np.sin(2 * np.pi * 440 * t) + np.sin(2 * np.pi * 480 * t)
    cadence = ((t % 3.0) < 0.4) | (((t % 3.0) > 0.6) & ((t % 3.0) < 1.0))
    return _peak(tone * cadence * (0.6 + 0.4 * np.sin(2 * np.pi * 20 * t)), -14)


def glass(rng, n, night):
    out = 0.8 * _band(rng, n, 2000, 12000) * _decay(n, 0.05)
    for hz in rng.uniform(1800, 9000, 7):
        out += 0.3 * _tone(n, hz, rng.uniform(0.15, 0.6))
    return _peak(out, -11)


def car(rng, n, night):
    t = np.arange(n) / RATE
    bell = np.exp(-(((t - n / RATE / 2) / (n / RATE / 5)) ** 2))
    base = 38 * (1.06 - 0.12 * t / (n / RATE))  # the doppler drop as it passes
    phase = 2 * np.pi * np.cumsum(base) / RATE
    engine = sum(np.sin(k * phase) / k for k in range(1, 8))
    return _peak((0.5 * engine + _band(rng, n, 200, 2500, tilt=-3)) * bell, -12)


def thunder(rng, n, night):
    crack = _band(rng, n, 300, 8000) * _decay(n, 0.06)
    rolls = _band(rng, n, 25, 260, tilt=-3) * np.maximum(0, _lfo(rng, n, (0.7, 1.3, 2.1), 0.8)) * _decay(n, 1.3)
    onset = np.minimum(1, np.arange(n) / (0.15 * RATE))
    return _peak(0.4 * crack + rolls * onset, -9)


def static(rng, n, night):
    out = _band(rng, n, 900, 8000) * _lfo(rng, n, (3.1, 7.7, 13.0), 0.5)
    crackles = np.zeros(n)
    count = int(n / RATE * 40)
    crackles[rng.integers(0, n, count)] = rng.uniform(-6, 6, count)
    return _peak(out + _filtered(crackles, lambda f: f > 1200), -16)


def crowd(rng, n, night):
    return _peak(babble(rng, n, 14), -15)


def impact(rng, n, night):
    m = min(n, int(0.8 * RATE))
    out = np.zeros(n)
    hit = _tone(m, 55, 0.15) + 0.5 * _band(rng, m, 80, 5000) * _decay(m, 0.04)
    for hz in rng.uniform(300, 1400, 3):
        hit += 0.15 * _tone(m, hz, 0.25)
    _add(out, hit, 0.03)
    return _peak(out, -10)


def whoosh(rng, n, night):
    """A sound the vocabulary does not know: a swell of air, so its place is still heard."""
    return _peak(_band(rng, n, 300, 4000, tilt=-3) * np.hanning(n), -16)


RECIPES: dict[str, Callable[[np.random.Generator, int, bool], np.ndarray]] = {
    "rain": rain, "wind": wind, "city": city, "room": room, "sea": sea, "market": market,
    "knock": knock, "door": door, "footsteps": footsteps, "phone": phone, "glass": glass, "car": car,
    "thunder": thunder, "static": static, "crowd": crowd, "impact": impact,
}


class FoleySfx:
    """Procedural foley: rain, wind, city hum, room tone, sea, market; knocks, doors, footsteps,
    phone rings, glass, cars, thunder, radio static, crowds, impacts."""

    name = "foley"
    version = "2"
    kind = "sfx"
    capabilities = Capabilities(seed=True)
    extra = None

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid")

        gain_db: float = Field(0.0, ge=-30, le=12, description="Added to every recipe's level.")

    def __init__(self, options: FoleySfx.Options) -> None:
        self.options = options

    @classmethod
    def availability(cls) -> Availability:
        return Availability(available=True)

    def render(self, request: SfxRequest) -> AudioClip:
        n = max(1, round(request.num_frames * RATE / request.fps))
        rng = np.random.default_rng(request.seed)
        recipe = RECIPES.get(request.kind or "", whoosh)
        night = request.time_of_day in (TimeOfDay.NIGHT, TimeOfDay.DAWN)
        samples = recipe(rng, n, night) * _db(self.options.gain_db)
        if request.bed and request.setting == Setting.INT and request.kind in ("rain", "wind", "city"):
            samples = _muffled(samples)  # heard through the walls
        return AudioClip(fade_ends(samples.astype(np.float32), 0.5 if request.bed else 0.01), RATE)


def _muffled(samples: np.ndarray) -> np.ndarray:
    return _filtered(samples, lambda f: 1 / np.sqrt(1 + (f / 900) ** 4)) * 0.6
