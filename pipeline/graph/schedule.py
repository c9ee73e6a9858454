"""The order in which the render graph starts its branches (LangGraph starts them in the order
of the Sends, up to max_concurrency at a time).

The longest shots start first, so that the run does not end waiting on one long shot that
started last. The scenes' music cues are spread among them: a cue runs on its own backend (on
Ray, its own actors), so that it goes on while the picture backends work, instead of a block of
cues holding every branch while the picture actors idle.
"""

from __future__ import annotations

from langgraph.types import Send


def longest_first(shots: list[tuple[int, Send]], cues: list[Send]) -> list[Send]:
    """`shots`: (duration in frames, its Send). The sort is stable: shots of one length keep
    their plan order."""
    ordered = [send for _, send in sorted(shots, key=lambda item: -item[0])]
    every = max(1, len(ordered) // max(1, len(cues)))
    waiting, out = list(cues), []
    for number, send in enumerate(ordered):
        if number % every == 0 and waiting:
            out.append(waiting.pop(0))
        out.append(send)
    return out + waiting
