"""The ledger, the cost report, the estimate and the budget, on the tiny show."""

from __future__ import annotations

import shutil
from pathlib import Path

from microdrama.pipeline.app import Project
from microdrama.pipeline.core.config import Settings
from microdrama.pipeline.core.ledger import read_ledger
from microdrama.pipeline.graph.state import RenderRequest
from tiny_show import rendered_show

RATES = '[cost]\ndevice_hour_usd = { cpu = 3600.0 }\n'  # a dollar a backend second: easy to read


def test_every_artifact_is_in_the_ledger_and_the_report_prices_it(tmp_path: Path):
    folder = rendered_show(tmp_path / "show")
    (folder / "microdrama.toml").write_text(RATES, encoding="utf-8")
    entries = read_ledger(folder / "state")
    assert {e.kind for e in entries} == {"video", "voice", "music"}
    assert all(e.device == "cpu" and e.wall_s > 0 and e.peak_memory_mb > 0 for e in entries if not e.cached)
    with Project(Settings.load(folder)) as project:
        report = project.cost()
    rendered = sum(e.wall_s for e in entries if not e.cached)
    assert abs(report.series.usd - rendered) < 1e-6  # 1 USD per second at these rates
    assert sum(s.finished_frames for s in report.episodes.values()) > 0
    assert report.per_finished_minute(report.series) > 0
    assert set(report.episodes) == {"e01", "e02"} and all(".k" not in s for s in report.scenes)


def test_a_budget_stops_scheduling_and_a_second_render_completes(tmp_path: Path):
    folder = rendered_show(tmp_path / "show")
    (folder / "microdrama.toml").write_text(RATES, encoding="utf-8")
    shutil.rmtree(folder / "cache")  # nothing cached: the ledger still knows the throughput
    with Project(Settings.load(folder)) as project:
        total = project.estimate().total
        assert total.unmeasured == 0 and total.usd > 0
        first = project.render(RenderRequest(budget_usd=total.usd * 0.6))
        assert first.deferred and all(o.skipped and not o.video for o in first.state.outputs if o.deferred)
        done = [r for r in first.state.renders if not r.deferred]
        assert done and not first.failed and first.spent.usd > 0
        second = project.render(RenderRequest(budget_usd=total.usd * 0.6))
    assert not second.deferred and all(o.video for o in second.state.outputs)
    assert {r.id for r in done} <= {r.id for r in second.state.renders if r.cached}  # nothing redone
