"""How fast the offline voices really speak, against the planner's estimate (pipeline/plan/timing.py).

The planner gives every line `speech_seconds(text, language, speed)` of screen time before any
audio exists, so that estimate must be an upper bound: a voiced line longer than its slot is cut
or overlaps the next one. This script voices varied lines (short, long, questions, numbers) with
each offline backend, at speed 1.0 and at voice variants a casting can give, and prints per
backend and language: the measured characters per second, how many renders overran the estimate
and by how much, and the largest READING_CPS that keeps the estimate an upper bound.

    python bench/voice_rate.py            # all backends (a few minutes, mostly Piper)
    python bench/voice_rate.py --quick    # speed 1.0 only
    python bench/voice_rate.py --worst 5  # and the five lines that overran most, per backend
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import dataclass
from unittest import mock

from microdrama.pipeline.plan import timing
from microdrama.pipeline.render.backends import NoOptions, VoiceRequest
from microdrama.pipeline.render.backends.espeak import EspeakVoice
from microdrama.pipeline.render.backends.piper import PiperVoice
from microdrama.pipeline.core.models import VoiceSpec

# Speeds and pitches a cast voice can take (pipeline/plan/casting.py: 0.93 to 1.08, a few semitones).
VOICE_VARIANTS = [(1.0, 0.0), (0.93, -2.0), (1.08, 3.0), (0.96, -4.0), (1.04, 5.0)]

ENGLISH = [
    "Hi.",
    "No.",
    "Wait!",
    "Are you sure?",
    "Where were you last night?",
    "I told you already, the money is gone.",
    "You can't just walk away from this. Not now.",
    "Meet me at 7:45 on the roof of building 12, and bring the tapes.",
    "It cost us $300, three weeks, and every favor I had left.",
    "Why would she lie to me? Why would anyone?",
    "Everything we built together, every single night on that roof, meant nothing to you.",
    "Okay... okay. Let me think.",
    "The last broadcast went out on March 3rd, 1999, at exactly 2:15 in the morning.",
    "Do you hear that? Listen. There it is again.",
    "Mom, it's me. Pick up, please.",
    "If you're hearing this, I'm already gone, and the frequency is yours now.",
    "Fifty-two thousand listeners, and not one of them called back.",
    "What? No! Absolutely not!",
    "I'm sorry. I should have told you sooner, but I was scared of what you'd say.",
    "Room 404, third floor. Knock twice.",
]

CHINESE = [
    "好。",
    "走！",
    "你好，妈妈。",
    "你确定吗？",
    "你昨天晚上去哪儿了？",
    "我已经告诉过你了，钱没了。",
    "我们明天早上八点半在楼顶见面。",
    "这台收音机是1999年买的，已经用了二十多年。",
    "他一共欠了我3000块钱，还有两个月的房租。",
    "为什么？你为什么不早点告诉我？",
    "等一下……你听，那个声音又来了。",
    "我们一起在这个屋顶上度过的每一个夜晚，对你来说都不算什么吗？",
    "别走！求你了，别走。",
    "三楼，404号房间，敲两下门。",
    "如果你听到这段录音，说明我已经离开了，这个频率从此属于你。",
]


@dataclass(frozen=True)
class Suite:
    backend: type
    language: str  # as the series declares it; picks the READING_CPS entry
    lines: list[str]


SUITES = [
    Suite(PiperVoice, "en", ENGLISH),
    Suite(EspeakVoice, "en", ENGLISH),
    Suite(EspeakVoice, "zh", CHINESE),
    Suite(EspeakVoice, "yue", CHINESE),
]

TARGET_FIT = 0.95  # share of renders that must fit their estimate
MAX_OVERRUN = 1.15  # and none may run longer than this times its estimate


@dataclass(frozen=True)
class Render:
    text: str
    speed: float
    pitch: float
    seconds: float


def voice_lines(suite: Suite, variants: list[tuple[float, float]]) -> list[Render]:
    backend = suite.backend(NoOptions())
    renders = []
    for number, text in enumerate(suite.lines, start=1):
        for speed, pitch in variants:
            request = VoiceRequest(
                line_id=f"e01s01l{number:02d}", text=text, language=suite.language,
                voice=VoiceSpec(speed=speed, pitch=pitch), speaker="bench",
            )  # fmt: skip
            renders.append(Render(text, speed, pitch, backend.render(request).seconds))
    return renders


def estimate(render: Render, language: str, cps: float | None = None) -> float:
    """The planner's slot for a render: timing.speech_seconds itself, with another reading speed
    put in its table while trying one."""
    table = {} if cps is None else {language.split("-")[0]: cps}
    with mock.patch.dict(timing.READING_CPS, table):
        return timing.speech_seconds(render.text, language, render.speed)


def fit_and_overrun(renders: list[Render], language: str, cps: float | None = None) -> tuple[float, float]:
    """Share of renders within their estimate, and the largest actual/estimate ratio."""
    ratios = [r.seconds / estimate(r, language, cps) for r in renders]
    return sum(ratio <= 1.0 for ratio in ratios) / len(ratios), max(ratios)


def recommended_cps(renders: list[Render], language: str) -> float:
    """The fastest reading speed (0.1 steps) that keeps the estimate an upper bound for
    TARGET_FIT of the renders and no render over MAX_OVERRUN times its estimate."""
    cps = 30.0
    while cps > 0.5:
        fit, overrun = fit_and_overrun(renders, language, cps)
        if fit >= TARGET_FIT and overrun <= MAX_OVERRUN:
            return cps
        cps = round(cps - 0.1, 1)
    return cps


def measured_cps(renders: list[Render]) -> tuple[float, float]:
    """Characters per second at the voice's own speed: over all lines, and the median line."""
    plain = [r for r in renders if r.speed == 1.0 and r.pitch == 0.0]
    total = sum(timing.spoken_length(r.text) for r in plain) / sum(r.seconds for r in plain)
    median = statistics.median(timing.spoken_length(r.text) / r.seconds for r in plain)
    return total, median


def report(suite: Suite, renders: list[Render], elapsed: float) -> str:
    language = suite.language
    current = timing.READING_CPS.get(language.split("-")[0], timing.DEFAULT_CPS)
    fit, overrun = fit_and_overrun(renders, language)
    total, median = measured_cps(renders)
    best = recommended_cps(renders, language)
    best_fit, best_overrun = fit_and_overrun(renders, language, best)
    return (
        f"{suite.backend.name:7} {language:4} {len(renders):4} {elapsed:6.1f}s "
        f"{total:6.2f} {median:6.2f} | {current:5.1f} {1 - fit:6.1%} {overrun:5.2f} "
        f"| {best:5.1f} {1 - best_fit:6.1%} {best_overrun:5.2f}"
    )


def worst(renders: list[Render], language: str, count: int) -> list[str]:
    """The renders that ran longest past their current estimate, to see which texts overrun."""
    ranked = sorted(renders, key=lambda r: r.seconds / estimate(r, language), reverse=True)
    return [
        f"    {r.seconds / estimate(r, language):4.2f}x  {r.seconds:5.2f}s  speed {r.speed:4.2f} "
        f"pitch {r.pitch:+5.1f}  {r.text}"
        for r in ranked[:count]
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="speed 1.0 and pitch 0 only")
    parser.add_argument("--worst", type=int, default=0, help="also list the N worst overruns")
    args = parser.parse_args()
    variants = [(1.0, 0.0)] if args.quick else VOICE_VARIANTS
    print(f"variants (speed, pitch): {variants}")
    print(f"recommended = fastest READING_CPS with >= {TARGET_FIT:.0%} of renders within the "
          f"estimate and none over {MAX_OVERRUN:.2f}x it")
    print("backend lang  renders  time | cps: all median | current: cps  over  max | "
          "recommended: cps  over  max")
    for suite in SUITES:
        if not suite.backend.availability().available:
            print(f"{suite.backend.name:7} {suite.language:4} skipped: "
                  f"{suite.backend.availability().reason}")
            continue
        started = time.perf_counter()
        renders = voice_lines(suite, variants)
        print(report(suite, renders, time.perf_counter() - started), flush=True)
        print("\n".join(worst(renders, suite.language, args.worst)), end="\n" if args.worst else "")


if __name__ == "__main__":
    main()
