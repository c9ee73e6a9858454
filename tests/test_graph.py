"""The planning graph through the application layer: review interrupt, approval into a
snapshot, resume after a kill, re-planning."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from microdrama.pipeline.app import Project
from microdrama.pipeline.core.config import Settings
from microdrama.pipeline.core.errors import InputError
from microdrama.pipeline.core.snapshot import current_digest, load_snapshot
from microdrama.pipeline.core.store import SeriesFolder

SOURCES = ["screenplay.fountain"]


def production(folder: Path) -> Project:
    return Project(Settings(series_dir=folder))


def plan_files(folder: Path) -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in sorted((folder / "plan").glob("*.yaml"))}


def test_planning_stops_at_review_with_the_plan_written(example_copy):
    with production(example_copy) as run:
        assert run.plan(SOURCES) == "started"
        snapshot = run._planning_snapshot()
        assert snapshot.next == ("review",) and snapshot.interrupts
        payload = snapshot.interrupts[0].value
        assert payload["episodes"] == ["e01", "e02"]
        # the one finding: the radio's voice has no gender or age in the screenplay to cast from
        assert [(f["severity"], f["code"], f["where"]) for f in payload["findings"]] == [
            ("info", "voice-neutral", "radio-voice")]
    assert set(plan_files(example_copy)) == {"e01.yaml", "e02.yaml"}
    assert (example_copy / "series.yaml").is_file()


def test_approve_finishes_and_a_second_plan_is_a_no_op(example_copy):
    with production(example_copy) as run:
        run.plan(SOURCES)
        approval = run.approve()
        assert not run.pending_review() and run.planning_state().approved == approval.digest
        assert run.approved() and current_digest(run.folder) == approval.digest
        assert run.plan(SOURCES) == "unchanged"


def test_reject_ends_the_run_without_approval(example_copy):
    with production(example_copy) as run:
        run.plan(SOURCES)
        run.reject("too long")
        assert run.planning_state().review.note == "too long" and not run.pending_review()
        assert not run.approved()


KILL_AFTER_PLANNING = textwrap.dedent("""
    import os, sys
    from pathlib import Path
    from microdrama.pipeline.graph import planning as nodes
    # Die the hard way the moment continuity checking starts: planning is done and checkpointed.
    nodes.check_continuity = lambda state, runtime: os._exit(9)
    from microdrama.pipeline.core.config import Settings
    from microdrama.pipeline.app import Project
    Project(Settings(series_dir=Path(sys.argv[1]))).plan(["screenplay.fountain"])
""")


def test_a_process_killed_after_planning_resumes_at_review_with_the_same_plan(example_copy, tmp_path):
    died = subprocess.run([sys.executable, "-c", KILL_AFTER_PLANNING, str(example_copy)], capture_output=True)
    assert died.returncode == 9
    planned = plan_files(example_copy)
    assert planned  # collect_plan finished before the kill
    with production(example_copy) as run:
        assert run._planning_snapshot().next == ("check_continuity",)
        assert run.plan(SOURCES) == "resumed"
        assert run._planning_snapshot().next == ("review",)
    assert plan_files(example_copy) == planned

    # The same plan a run that was never killed makes.
    clean = tmp_path / "clean"
    clean.mkdir()
    (clean / "screenplay.fountain").write_bytes((example_copy / "screenplay.fountain").read_bytes())
    with production(clean) as run:
        run.plan(SOURCES)
    assert plan_files(clean) == planned


def test_hand_edits_made_during_review_are_what_gets_approved(example_copy):
    with production(example_copy) as run:
        run.plan(SOURCES)
        path = example_copy / "plan" / "e01.yaml"
        path.write_text(path.read_text(encoding="utf-8").replace("move: pan-right", "move: tilt-down", 1), encoding="utf-8")
        approval = run.approve()
        assert load_snapshot(run.folder, approval.digest).episodes[0].shots[0].move == "tilt-down"


def test_approval_with_a_blocking_error_is_refused_and_review_stays_open(example_copy):
    with production(example_copy) as run:
        run.plan(SOURCES)
        path = example_copy / "plan" / "e02.yaml"
        path.write_text(path.read_text(encoding="utf-8").replace("speaker: nora", "speaker: ghost", 1), encoding="utf-8")
        with pytest.raises(InputError, match="approval refused"):
            run.approve()
        assert run.pending_review() and current_digest(run.folder) is None
        assert "unknown-speaker" in {f.code for f in run.review().findings}


def test_replanning_keeps_unchanged_scenes_and_their_hand_edits(example_copy):
    with production(example_copy) as run:
        run.plan(SOURCES)
        run.approve()
    e01 = example_copy / "plan" / "e01.yaml"
    e01.write_text(e01.read_text(encoding="utf-8").replace("move: pan-right", "move: tilt-up", 1), encoding="utf-8")
    screenplay = example_copy / "screenplay.fountain"
    screenplay.write_text(screenplay.read_text(encoding="utf-8").replace("Not tonight. Please.", "Not tonight."), encoding="utf-8")
    before = SeriesFolder(example_copy).load_episode("e02")
    with production(example_copy) as run:
        assert run.plan(SOURCES) == "started"  # edited sources: a new run, not the old one resumed
    folder = SeriesFolder(example_copy)
    assert folder.load_episode("e01").scenes[0].shots[0].move == "tilt-up"  # hand edit kept
    after = folder.load_episode("e02")
    assert after.scenes[1] == before.scenes[1]  # untouched scene, byte for byte the same plan
    assert after.scenes[0] != before.scenes[0]
    assert any(l.text == "Not tonight." for s in after.scenes[0].shots for l in s.dialogue)


def test_an_invalid_hand_edit_stops_a_replan_instead_of_being_overwritten(example_copy):
    with production(example_copy) as run:
        run.plan(SOURCES)
        path = example_copy / "plan" / "e01.yaml"
        path.write_text(path.read_text(encoding="utf-8").replace("type: EWS", "type: DRONE", 1), encoding="utf-8")
        with pytest.raises(InputError, match="e01.yaml"):
            run.plan(SOURCES, fresh=True)
    assert "DRONE" in path.read_text(encoding="utf-8")


def test_editing_an_approved_plan_makes_it_edited_since_approval_until_approved_again(example_copy):
    with production(example_copy) as run:
        run.plan(SOURCES)
        first = run.approve().digest
        path = example_copy / "plan" / "e01.yaml"
        path.write_text(path.read_text(encoding="utf-8").replace("move: pan-right", "move: tilt-down", 1),
                        encoding="utf-8")
        assert not run.approved()
        second = run.approve().digest  # no review is pending: the files are approved as they stand
        assert second != first and run.approved()
        assert load_snapshot(run.folder, first).episodes[0].shots[0].move != "tilt-down"  # immutable


def test_a_checkpoint_holds_no_copy_of_the_plan(example_copy):
    with production(example_copy) as run:
        run.plan(SOURCES)
        run.approve()
        values = run._planning_snapshot().values
    assert "series" not in values and "episodes" not in values


def test_langgraph_json_names_both_graphs_compiled_without_a_checkpointer():
    import json
    import runpy

    from conftest import REPO

    graphs = json.loads((REPO / "langgraph.json").read_text(encoding="utf-8"))["graphs"]
    nodes = {}
    for name, reference in graphs.items():
        path, attribute = reference.split(":")
        graph = runpy.run_path(str(REPO / path))[attribute]
        assert graph.checkpointer is None  # the platform brings its own
        nodes[name] = set(graph.get_graph().nodes)
    assert {"review", "plan_scene"} <= nodes["planning"] and "render_shot" not in nodes["planning"]
    assert {"render_shot", "assemble", "publish"} <= nodes["render"]


def test_an_edited_screenplay_after_a_killed_planning_run_is_planned_not_the_old_text(example_copy):
    died = subprocess.run([sys.executable, "-c", KILL_AFTER_PLANNING, str(example_copy)], capture_output=True)
    assert died.returncode == 9
    screenplay = example_copy / "screenplay.fountain"
    screenplay.write_text(screenplay.read_text(encoding="utf-8").replace("Not tonight. Please.", "Not tonight."),
                          encoding="utf-8")
    with production(example_copy) as run:
        assert run.plan(SOURCES) == "started"
        assert run.pending_review()
    e02 = SeriesFolder(example_copy).load_episode("e02")
    assert any(l.text == "Not tonight." for s in e02.shots for l in s.dialogue)


def test_checkpoints_revive_the_plan_vocabulary_without_a_blocked_type_warning(caplog):
    """LangGraph refuses (and logs) any type not on the allow-list; a pydantic model still revives
    from the refused enum's value, so only the warning on stderr tells."""
    from microdrama.pipeline.core.models import Finding
    from microdrama.pipeline.core.vocabulary import FindingOrigin, Severity
    from microdrama.pipeline.graph.wiring import checkpoint_serializer

    serializer = checkpoint_serializer()
    finding = Finding(severity=Severity.WARNING, code="x", message="m", where="e01", origin=FindingOrigin.LLM)
    assert serializer.loads_typed(serializer.dumps_typed([finding])) == [finding]
    assert "Blocked" not in caplog.text
