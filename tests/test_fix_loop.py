"""The fix loop, proved with a flaky video backend (tests/fixtures/flaky_backend: a distribution of
its own, found through the `microdrama.backends` entry points): its pictures fail the audit's
identity check for the seeds the series' options name and pass for the others."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import FIXTURES
from microdrama.pipeline.app import Project
from microdrama.pipeline.core.config import Settings
from microdrama.pipeline.core.errors import InputError
from microdrama.pipeline.core.ledger import read_ledger
from microdrama.pipeline.core.models import ShotType
from microdrama.pipeline.core.store import SeriesFolder
from microdrama.pipeline.graph.state import RenderRequest
from microdrama.pipeline.render.backends import _entry_points
from microdrama.pipeline.review.audit import AuditReport
from microdrama.pipeline.review.cost import cost_report
from microdrama.pipeline.review.fix_loop import FixReport, take_seed
from tiny_show import rendered_show


E01 = RenderRequest(scenes=["e01s01"])  # the episode e01 (its other scene is stale: rendered too)


@contextmanager
def flaky_installed() -> Iterator[None]:
    """The flaky backend's distribution on sys.path, its entry point seen (they are read once
    per process, so the cache is dropped on the way in and out)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(FIXTURES / "flaky_backend"))
        _entry_points.cache_clear()
        try:
            yield
        finally:
            patch.undo()
            _entry_points.cache_clear()


@pytest.fixture
def flaky() -> Iterator[None]:
    with flaky_installed():
        yield


def identity(folder: Path, shot_id: str) -> list[str]:
    report = AuditReport.model_validate_json((folder / "out" / "e01.audit.json").read_text("utf-8"))
    return [c.verdict for c in report.checks if c.where == shot_id and c.name == "character-identity"]


def flaky_show(folder: Path) -> tuple[Path, str, str]:
    """The tiny show set up for the flaky backend so that shot `fixed` fails at take 1 and passes
    at take 2, and shot `stuck` fails at takes 1-3: black at 1 and 3 (worse), in other colours at
    take 2 (its best); take 4 would pass."""
    rendered_show(folder)
    shots = [s for s in SeriesFolder(folder).load_episode("e01").shots
             if s.characters and s.title_card is None and s.type not in (ShotType.EWS, ShotType.INSERT)]
    fixed, stuck = shots[0], shots[1]
    (folder / "microdrama.toml").write_text(f"""
[backends]
video = "flaky"

[backends.options.flaky]
wrong_palette = [{fixed.seed}, {take_seed(stuck.seed, 2)}]
black = [{stuck.seed}, {take_seed(stuck.seed, 3)}]

[audit]
fix_rounds = 2
""", encoding="utf-8")
    return folder, fixed.id, stuck.id


@dataclass(frozen=True)
class Looped:
    folder: Path
    fixed: str
    stuck: str
    fix: FixReport


@pytest.fixture(scope="module")
def looped(tmp_path_factory: pytest.TempPathFactory) -> Looped:
    """The flaky show rendered once with its [audit] fix_rounds = 2 (each test copies it)."""
    with flaky_installed():
        folder, fixed, stuck = flaky_show(tmp_path_factory.mktemp("looped") / "show")
        with Project(Settings.load(folder)) as project:
            outcome = project.render(E01)
    return Looped(folder, fixed, stuck, outcome.fix)


def test_the_flaky_backend_is_found_through_the_entry_points(flaky: None):
    from microdrama.pipeline.render.backends import backend_class, backend_names

    assert "flaky" in backend_names()
    assert backend_class("flaky").__module__ == "flaky_backend"


def test_the_loop_rerenders_exactly_the_failing_shots_to_its_bound_and_keeps_the_best_take(looped: Looped):
    folder, fixed, stuck, fix = looped.folder, looped.fixed, looped.stuck, looped.fix
    assert fix.rerolled == [[fixed, stuck], [stuck]]  # round 2: only the shot still failing; no round 3
    assert fix.kept == {stuck: 2} and list(fix.unfixed) == [stuck]

    shots = {s.id: s for s in SeriesFolder(folder).load_episode("e01").shots}
    assert shots[fixed].take == 2 and [t.verdict for t in shots[fixed].takes] == ["fail", "pass"]
    takes = shots[stuck].takes
    assert [t.take for t in takes] == [1, 2, 3] and shots[stuck].take == 2
    assert takes[1].score > takes[0].score == takes[2].score
    assert [t.seed for t in takes] == [take_seed(shots[stuck].seed, n) for n in (1, 2, 3)]
    untouched = [s for s in shots.values() if s.id not in (fixed, stuck)]
    assert all(s.takes is None and s.take is None for s in untouched)

    assert set(identity(folder, fixed)) == {"pass"}  # the episode now cuts in the take that passed
    assert "error" in identity(folder, stuck)
    with Project(Settings(series_dir=folder)) as project:
        assert project.approved()  # the recorded takes are what the last render read

    # Every take is in the ledger; those not in the cut count apart from the takes used.
    report = cost_report(SeriesFolder(folder), Settings(series_dir=folder).cost, fps=12)
    assert report.shots[stuck].seconds["takes"] > 0 and report.shots[stuck].seconds["used"] > 0
    videos = [e for e in read_ledger(folder / "state") if e.backend == "flaky" and e.shot == stuck and not e.cached]
    assert sorted(e.seed for e in videos) == sorted(t.seed for t in takes)  # no take rendered twice


def test_a_later_run_goes_on_from_the_recorded_takes_and_a_pinned_take_is_used(looped: Looped, tmp_path: Path,
                                                                                  flaky: None):
    folder, stuck = shutil.copytree(looped.folder, tmp_path / "show"), looped.stuck
    with Project(Settings.load(folder)) as project:
        again = project.render(E01, fix_rounds=1)
        assert again.fix.rerolled == [[stuck]] and not again.fix.unfixed  # take 4 passes
        shot = next(s for s in SeriesFolder(folder).load_episode("e01").shots if s.id == stuck)
        assert [t.take for t in shot.takes] == [1, 2, 3, 4] and shot.take == 4  # takes 1-3 were not redone

        with pytest.raises(InputError, match="has no take 7"):
            project.use_take(stuck, 7)
        project.use_take(stuck, 3)
        pinned = project.render(E01, yes=True, fix_rounds=2)
    assert pinned.fix.rerolled == [] and stuck not in pinned.fix.unfixed  # the loop leaves it alone
    shot = next(s for s in SeriesFolder(folder).load_episode("e01").shots if s.id == stuck)
    assert shot.pinned and shot.picture_seed == take_seed(shot.seed, 3)
    assert set(identity(folder, stuck)) == {"error"}  # take 3 (black) is in the cut, as asked


def test_a_take_that_is_not_recorded_is_an_error_naming_the_field(tmp_path: Path):
    folder = rendered_show(tmp_path / "show")
    path = folder / "plan" / "e01.yaml"
    text = path.read_text("utf-8")
    shot_seed = next(line for line in text.splitlines() if line.startswith("    seed:"))  # the first shot's
    path.write_text(text.replace(shot_seed, f"{shot_seed}\n    take: 4", 1), encoding="utf-8")
    with pytest.raises(InputError) as caught:
        SeriesFolder(folder).load_episode("e01")
    assert "plan/e01.yaml:" in str(caught.value) and "take 4 is not among the shot's takes" in str(caught.value)


def test_failures_a_reroll_cannot_fix_say_what_to_change_and_are_not_rerolled():
    from microdrama.pipeline.review.audit import Check
    from microdrama.pipeline.review.fix_loop import advice, judge

    def check(name: str, where: str, verdict: str) -> Check:
        return Check(name=name, where=where, threshold=None, measured=None, verdict=verdict, message=name)

    report = AuditReport(episode_id="e01", checks=[
        check("character-identity", "e01s01k01", "error"), check("shot-black", "e01s01k01", "pass"),
        check("line-in-shot", "e01s01l01", "error"), check("shot-black", "e01s01k02", "pass"),
    ])
    assert [c.name for c in judge(report, "e01s01k01").failures] == ["character-identity"]
    assert judge(report, "e01s01k01").score == 0.5 and judge(report, "e01s01k02").verdict == "pass"
    assert "shorten the line or lengthen the shot" in advice(report.checks[2])
    assert advice(report.checks[0]) is None  # re-rollable: the loop handles it
