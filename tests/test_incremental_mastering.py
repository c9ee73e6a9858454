"""Assembly costs what an edit changes: a picture-only change re-muxes the episode with the sound
it has; a change to the lines re-mixes it. Episodes are assembled and audited in parallel."""

from __future__ import annotations

import threading

import pytest

from microdrama.pipeline.core.store import SeriesFolder
from microdrama.pipeline.edit import assemble, ffmpeg
from microdrama.pipeline.edit.timeline import read_timeline, timeline_path
from microdrama.pipeline.graph import render as render_graph
from tiny_show import render


@pytest.fixture
def mixes(monkeypatch) -> list[str]:
    """The episodes whose sound was mixed (the real mix runs)."""
    mixed: list[str] = []
    real = assemble.master_sound

    def counting(timeline, root, cache, work_dir):
        mixed.append(timeline.episode_id)
        return real(timeline, root, cache, work_dir)

    monkeypatch.setattr(assemble, "master_sound", counting)
    return mixed


def e01(folder):
    return read_timeline(timeline_path(folder / "out", "e01"), folder)


def test_a_picture_only_change_remuxes_with_the_existing_mix(rendered, mixes):
    timeline = e01(rendered)
    sound = rendered / "state" / "assembled" / "e01.m4a"
    before = sound.read_bytes()
    first, second = timeline.video[0], timeline.video[1]
    swapped = timeline.model_copy(update={"video": (first.model_copy(update={"path": second.path}), *timeline.video[1:])})
    mp4, _, mastered = assemble.master(swapped, SeriesFolder(rendered))
    assert mastered and mixes == [] and sound.read_bytes() == before
    info = ffmpeg.probe(mp4)
    assert info.first("video") and info.first("audio").codec == "aac"


def test_a_changed_line_is_mixed_again(rendered, mixes):
    timeline = e01(rendered)
    line = timeline.dialogue[0]
    moved = timeline.model_copy(update={"dialogue": (line.model_copy(update={"start_frame": line.start_frame + 1}),
                                                     *timeline.dialogue[1:])})
    _, _, mastered = assemble.master(moved, SeriesFolder(rendered))
    assert mastered and len(mixes) == 1


def test_an_unchanged_episode_is_neither_mixed_nor_muxed(rendered, mixes):
    assert assemble.master(e01(rendered), SeriesFolder(rendered))[2] is False and mixes == []


def test_episodes_are_assembled_and_audited_side_by_side(rendered, monkeypatch):
    """Both episodes of the tiny show must be in assembly (then in publishing) at once: a serial
    run leaves the first one waiting at the barrier until it times out."""
    for name in ("assemble_episode", "publish_episode"):
        barrier, real = threading.Barrier(2, timeout=60), getattr(render_graph, name)

        def together(*args, _barrier=barrier, _real=real, **kwargs):
            _barrier.wait()
            return _real(*args, **kwargs)

        monkeypatch.setattr(render_graph, name, together)
    (rendered / "out" / "e01.audit.json").unlink()  # publishing runs for episodes without an audit
    (rendered / "out" / "e02.audit.json").unlink()
    state = render(rendered, render_concurrency=2)
    assert [o.id for o in state.outputs] == ["e01", "e02"] and len(state.audits) == 2


def test_an_edit_of_one_episode_masters_and_audits_that_episode_only(rendered, mixes):
    """A new approval changes every timeline's snapshot digest, not the other episodes' cuts."""
    plan = rendered / "plan" / "e02.yaml"
    plan.write_text(plan.read_text(encoding="utf-8").replace("move: pull-out", "move: tilt-up", 1), encoding="utf-8")
    audit = rendered / "out" / "e01.audit.json"
    audited = audit.read_bytes()
    state = render(rendered, yes=True)
    assert {o.id: o.mastered for o in state.outputs} == {"e01": False, "e02": True}
    assert [a.id for a in state.audits] == ["e02"] and audit.read_bytes() == audited
    assert e01(rendered).snapshot == read_timeline(timeline_path(rendered / "out", "e02"), rendered).snapshot
