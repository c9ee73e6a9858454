"""A synthetic season as a Fountain screenplay: the one generator the benches share.

A season is `episodes` episodes of `scenes` scenes each (a range: each episode draws its count),
`scene_cast` speaking characters per scene drawn from a recurring cast of `cast`, and about
`minutes` of screen time in all. Each scene opens with an action beat that brings its cast in,
then alternates speakers (one line, one shot, about four seconds) with an action beat every
few lines. `speech=False` makes every beat action-only (no voices: a bench of the graph and
its checkpoints rather than of media). The same parameters always give the same screenplay.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

NAMES = ["MARA", "JONAS", "LENA", "OSKAR", "PRIYA", "TEO", "INES", "KAI", "RUTH", "AMIR", "NORA", "FELIX"]
LOOKS = ["grey coat", "red scarf", "denim jacket", "green parka", "white shirt", "black suit", "yellow raincoat",
         "blue overalls", "brown cardigan", "leather jacket", "striped top", "navy blazer"]
PLACES = ["INT. KITCHEN", "EXT. ROOFTOP", "INT. STAIRWELL", "EXT. HARBOUR", "INT. OFFICE", "EXT. MARKET",
          "INT. CAR", "EXT. BRIDGE", "INT. HALLWAY", "EXT. PARK", "INT. BAR", "EXT. STATION"]
TIMES = ["DAY", "NIGHT"]
LINES = [
    "I told you the boat leaves at six tonight.", "You never listen to a word I say, do you?",
    "Then give me one reason to stay here.", "The key was in the drawer this morning.",
    "Nobody saw her leave the building after ten.", "We can still fix this if we move now.",
    "Tell me the truth for once in your life.", "I kept the letter. I read it every night.",
]
SECONDS_PER_SHOT = 4.0  # a line of about forty characters, with its head and tail
LINES_PER_ACTION = 4


@dataclass(frozen=True)
class SeasonShape:
    episodes: int = 12
    scenes: tuple[int, int] = (3, 6)  # per episode, inclusive
    scene_cast: tuple[int, int] = (2, 4)  # speaking characters per scene, inclusive
    cast: int = 8
    minutes: float = 44.0  # of the whole season
    resolution: str = "720x1280"
    fps: int = 24
    speech: bool = True
    seed: int = 7

    @property
    def shots(self) -> int:
        return max(self.episodes, round(self.minutes * 60 / SECONDS_PER_SHOT))


def season_screenplay(shape: SeasonShape, title: str = "Season Bench") -> str:
    """The season's screenplay text (Fountain, one `# Episode` section per episode)."""
    rng = random.Random(shape.seed)
    cast = NAMES[: shape.cast]
    scene_counts = [rng.randint(*shape.scenes) for _ in range(shape.episodes)]
    shots_per_scene = max(2, round(shape.shots / sum(scene_counts)))
    introduced: set[str] = set()
    parts = [f"Title: {title}\nResolution: {shape.resolution}\nFPS: {shape.fps}\n"]
    place = 0
    for number, scenes in enumerate(scene_counts, start=1):
        parts.append(f"# Episode {number}: Part {number}\n")
        for _ in range(scenes):
            people = rng.sample(cast, min(len(cast), rng.randint(*shape.scene_cast)))
            heading = f"{PLACES[place % len(PLACES)]} - {TIMES[place % len(TIMES)]}"
            place += 1
            described = [f"{name} (30s, {LOOKS[NAMES.index(name)]})" if name not in introduced else name.title()
                         for name in people]
            introduced.update(people)
            beats = [f"{', '.join(described)} {'gathers' if len(people) == 1 else 'gather'} near the door."]
            for beat in range(1, shots_per_scene):
                speaker = people[beat % len(people)]
                if not shape.speech or beat % LINES_PER_ACTION == 0:
                    beats.append(f"{speaker.title()} crosses the room, beat {number}.{place}.{beat}.")
                else:
                    beats.append(f"{speaker}\n{rng.choice(LINES)}")
            parts.append(f"{heading}\n\n" + "\n\n".join(beats) + "\n")
    return "\n".join(parts)
