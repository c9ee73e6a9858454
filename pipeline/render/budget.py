"""A render's budget: which shots and music cues the render may start, given `budget_usd`.

The plan is walked in screen order, each shot's and cue's uncached work priced at the measured
throughput (render/estimate.py). While the running projection stays within the budget the work is
scheduled; from the first item that would pass it, no new uncached work is (cached work still is:
it costs nothing). What is scheduled is finished; what is left stays for the next render, which
finds the finished work in the cache. Work whose throughput was never measured is projected at
what is known of it (a paid API's per-clip and per-second rates; nothing for device time).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..core.config import Settings
from ..core.ledger import read_ledger
from ..core.snapshot import Snapshot
from .estimate import Throughput, Work, cue_work, price, shot_work
from .renderer import Renderer


@dataclass(frozen=True)
class BudgetPlan:
    limit_usd: float
    projected_usd: float  # of the work scheduled
    left: dict[str, float]  # shot or scene (cue) id -> its projected cost, not scheduled

    def reason(self, place: str) -> str:
        return (f"left by the budget ({self.limit_usd:.4g} USD; {self.projected_usd:.4g} scheduled, this would "
                f"add {self.left[place]:.4g})")


def plan_budget(snapshot: Snapshot, episodes: list[str], settings: Settings, limit_usd: float) -> BudgetPlan:
    renderer = Renderer(settings)
    throughput = Throughput.measured(read_ledger(renderer.folder.state_dir))

    def projected(work: list[Work]) -> float:
        return sum(price(item, throughput, settings.cost)[1] for item in work)

    spent, left, stopped = 0.0, {}, False
    for episode_id in episodes:
        for scene in snapshot.episode(episode_id).scenes:
            items = [(scene.id, cue_work(renderer, scene, snapshot.series))]
            items += [(shot.id, shot_work(renderer, shot, scene, snapshot.series)) for shot in scene.shots]
            for place, work in items:
                if not work:
                    continue
                cost = projected(work)
                if stopped or spent + cost > limit_usd:
                    stopped = True
                    left[place] = cost
                else:
                    spent += cost
    return BudgetPlan(limit_usd, spent, left)
