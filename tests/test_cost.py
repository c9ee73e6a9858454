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
    assert {e.kind for e in entries} == {"video", "voice", "music", "sfx"}
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


def test_the_estimate_counts_every_artifact_a_render_makes_forced_or_uncached(tmp_path: Path):
    """An uncached render and a --force render make the same artifacts (sound effects and beds
    included, shots without dialogue included), and the estimate counts each of them."""
    from microdrama.pipeline.render.estimate import planned_work

    folder = rendered_show(tmp_path / "show")
    made = [e for e in read_ledger(folder / "state") if not e.cached]
    with Project(Settings.load(folder)) as project:
        series, episodes = project.folder.load_plan()
        forced = planned_work(series, episodes, project.settings, forced=lambda shot_id: True)
        shutil.rmtree(folder / "cache")
        uncached = planned_work(series, episodes, project.settings)
    assert sorted((w.kind, w.target) for w in forced) == sorted((w.kind, w.target) for w in uncached)
    assert sorted((w.kind, w.target) for w in uncached) == sorted((e.kind, e.target) for e in made)


def test_a_bad_cost_table_names_its_line_and_field(tmp_path: Path):
    import pytest

    from microdrama.pipeline.core.errors import ConfigError

    (tmp_path / "microdrama.toml").write_text(
        '[cost]\nbudget_usd = -1\ndevice_hour_usd = { cpu = "cheap" }\n\n[[cost.models]]\nmodel = "m"\nprice = 2\n',
        encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        Settings.load(tmp_path)
    lines = str(caught.value).splitlines()
    assert lines[0].endswith("microdrama.toml:2: cost.budget_usd: Input should be greater than or equal to 0 (got -1)")
    assert "microdrama.toml:3: cost.device_hour_usd.cpu:" in lines[1]
    assert "microdrama.toml:7: cost.models#1.price: unknown key" in lines[2]


def test_the_cost_command_prints_shots_episodes_and_the_cost_per_finished_minute(tmp_path: Path):
    import subprocess
    import sys

    folder = rendered_show(tmp_path / "show")
    (folder / "microdrama.toml").write_text(RATES, encoding="utf-8")
    microdrama = str(Path(sys.executable).parent / "microdrama")
    done = subprocess.run([microdrama, "cost", str(folder)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "e01s01k01" in done.stdout and "per finished minute" in done.stdout
    assert "USD per finished minute" in done.stdout.splitlines()[-1]
    estimate = subprocess.run([microdrama, "cost", str(folder), "--estimate"], capture_output=True, text=True,
                              timeout=120)
    assert estimate.returncode == 0 and "total" in estimate.stdout  # everything cached: 0 artifacts
