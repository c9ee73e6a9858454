"""How close `microdrama cost --estimate` comes to what a render then takes, on the bundled example.

    python bench/estimate_accuracy.py [--series episodes/rooftop-frequencies]

In a private copy of the series (fresh cache and ledger):
1. episode e01 is rendered: the ledger learns each backend's throughput here;
2. the estimate for the rest (e02) is printed, e02 is rendered, and its actual backend time;
3. the cache is dropped, the estimate for the whole series is printed, everything is rendered
   again, and its actual time.
Each line gives estimate, actual and actual/estimate (the goal: within 0.7-1.3). Backend seconds
are summed over parallel branches; assembly and audit are not in either figure. On a shared
machine the load changes between renders: compare ratios of one run only.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from microdrama.pipeline.app import Project
from microdrama.pipeline.core.config import Settings
from microdrama.pipeline.graph.state import RenderRequest


def render(folder: Path, request: RenderRequest, label: str) -> None:
    with Project(Settings.load(folder)) as project:
        outcome = project.render(request)
    estimate, actual = outcome.forecast.total, outcome.spent
    ratio = actual.seconds / estimate.seconds if estimate.seconds else float("nan")
    unmeasured = f" ({estimate.unmeasured} of {estimate.items} unmeasured)" if estimate.unmeasured else ""
    print(f"{label:<34} estimate {estimate.seconds:7.1f} s{unmeasured}   actual {actual.seconds:7.1f} s   "
          f"actual/estimate {ratio:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--series", type=Path, default=Path("episodes/rooftop-frequencies"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        folder = Path(work) / args.series.name
        shutil.copytree(args.series, folder, ignore=shutil.ignore_patterns("cache", "out", "state"))
        with Project(Settings.load(folder)) as project:
            project.plan(["screenplay.fountain"])
            project.approve()
        render(folder, RenderRequest(scenes=["e01s01"]), "e01 (nothing measured yet)")
        render(folder, RenderRequest(), "e02, from e01's throughput")
        shutil.rmtree(folder / "cache")
        render(folder, RenderRequest(), "the whole series, from the ledger")


if __name__ == "__main__":
    main()
