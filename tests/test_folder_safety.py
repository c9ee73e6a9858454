"""A series folder is a boundary: nothing outside it is read as a reference or written through a
symlink, readers work on a read-only folder, and a command on a missing folder creates nothing.

Real files, real symlinks, real permissions. Tests run as root in CI, where permission bits do not
stop writes, so the read-only cases run the CLI without the capabilities that let root ignore
them (setpriv); as any other user, chmod alone makes the folder read-only.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from microdrama.pipeline.app import Project
from microdrama.pipeline.core.cache import ArtifactCache
from microdrama.pipeline.core.config import Settings
from microdrama.pipeline.core.errors import InputError
from microdrama.pipeline.core.store import SeriesFolder, atomic_write_text
from microdrama.pipeline.edit.assemble import master
from microdrama.pipeline.edit.timeline import read_timeline, timeline_path
from microdrama.pipeline.graph.state import RenderRequest
from microdrama.pipeline.render.requests import file_digest, video_request, voice_request
from tiny_show import approved_show, rendered_show

MICRODRAMA = str(Path(sys.executable).with_name("microdrama"))
ROOT_CAPABILITIES = "-dac_override,-dac_read_search,-fowner"  # what lets root write a read-only file


def cli(*args: str, prefix: list[str] = ()) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "MICRODRAMA_DEBUG"}
    return subprocess.run([*prefix, MICRODRAMA, *map(str, args)], capture_output=True, text=True, env=env, timeout=300)


def one_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    return lines[0]


def set_bible(folder: Path, **changes) -> None:
    """Edit series.yaml: `anna_keyframe="x"`, `ben_reference_clip="y"`, `hallway_keyframe="z"`."""
    store = SeriesFolder(folder)
    series = store.load_series()
    for key, value in changes.items():
        entry_id, field = key.split("_", 1)
        entry = series.character(entry_id) or series.location(entry_id)
        target = entry.voice if field == "reference_clip" else entry
        setattr(target, field, value)
    store.save_series(series)


def entry_line(folder: Path, entry_id: str) -> int:
    lines = (folder / "series.yaml").read_text(encoding="utf-8").splitlines()
    return next(n for n, line in enumerate(lines, 1) if line.strip() == f"- id: {entry_id}")


def findings(folder: Path, code: str):
    with Project(Settings.load(folder)) as project:
        return [f for f in project.review().findings if f.code == code]


def picture(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (16, 16), (200, 40, 40)).save(path)
    return path


def listing(folder: Path) -> dict[str, tuple[int, int, int]]:
    """Every entry below `folder` (links not followed) with its mode, size and modification time."""
    found = {}
    for path in [folder, *folder.rglob("*")]:
        info = path.lstat()
        found[str(path.relative_to(folder))] = (info.st_mode, info.st_size, info.st_mtime_ns)
    return found


# --- references: keyframes and voice clips ------------------------------------------------------


def test_an_absolute_keyframe_is_refused_at_review_with_file_line_and_field(tmp_path):
    show = approved_show(tmp_path / "show")
    set_bible(show, anna_keyframe="/etc/hostname")
    [finding] = findings(show, "reference-outside-folder")
    assert (finding.where, finding.severity.value) == ("anna", "error")
    assert finding.message.startswith("keyframe: '/etc/hostname' is an absolute path")

    review = cli("review", show)
    assert review.returncode == 1
    assert f"series.yaml:{entry_line(show, 'anna')}: anna: keyframe: '/etc/hostname'" in review.stdout
    approve = cli("approve", show)
    assert approve.returncode == 1
    assert f"series.yaml:{entry_line(show, 'anna')}: characters[0] (anna): keyframe:" in approve.stderr
    assert "approval refused" in approve.stderr


def test_a_keyframe_climbing_out_with_dotdot_is_refused_and_never_read(tmp_path):
    show = approved_show(tmp_path / "show")
    set_bible(show, hallway_keyframe="../../../../etc/passwd")
    [finding] = findings(show, "reference-outside-folder")
    assert finding.where == "hallway" and "climbs out with '..'" in finding.message
    with pytest.raises(InputError, match=r"series\.yaml: locations \(hallway\)\.keyframe: .*'\.\.'"):
        file_digest(show, "../../../../etc/passwd", "locations (hallway).keyframe")


def test_a_keyframe_symlinked_outside_is_refused_at_review_and_by_the_render(tmp_path):
    show = approved_show(tmp_path / "show")
    keyframe = picture(show / "keyframes" / "anna.png")
    set_bible(show, anna_keyframe="keyframes/anna.png")
    assert findings(show, "reference-outside-folder") == []
    with Project(Settings.load(show)) as project:
        project.approve()

    # Replaced after approval (the bible is unchanged, so review is not asked again): the render
    # still refuses to read it.
    keyframe.unlink()
    keyframe.symlink_to("/etc/hostname")
    [finding] = findings(show, "reference-outside-folder")
    assert finding.where == "anna" and "resolves to /etc/hostname, outside the series folder" in finding.message
    render = cli("render", show, "--scene", "e01s01")
    assert render.returncode == 1
    assert "characters (anna).keyframe: 'keyframes/anna.png' resolves to /etc/hostname" in one_line(render.stderr)
    series, episodes = SeriesFolder(show).load_plan()
    scene = episodes[0].scenes[0]
    shot = next(s for s in scene.shots if any(c.character == "anna" for c in s.characters))
    with pytest.raises(InputError, match="outside the series folder"):
        video_request(shot, scene, series, show)


def test_a_voice_reference_clip_outside_the_folder_is_refused(tmp_path):
    show = approved_show(tmp_path / "show")
    outside = tmp_path / "elsewhere" / "ben.wav"
    outside.parent.mkdir()
    outside.write_bytes(b"RIFF....WAVE")
    set_bible(show, ben_reference_clip="../elsewhere/ben.wav")
    [finding] = findings(show, "reference-outside-folder")
    assert finding.where == "ben" and finding.message.startswith("voice.reference_clip: '../elsewhere/ben.wav'")

    (show / "ben.wav").symlink_to(outside)  # the same file through a link inside the folder
    set_bible(show, ben_reference_clip="ben.wav")
    [finding] = findings(show, "reference-outside-folder")
    assert finding.where == "ben" and f"resolves to {outside}" in finding.message
    series, episodes = SeriesFolder(show).load_plan()
    line = next(l for e in episodes for s in e.shots for l in s.dialogue if l.speaker == "ben")
    with pytest.raises(InputError, match=r"characters \(ben\)\.voice\.reference_clip"):
        voice_request(line, series, show)


def test_a_missing_keyframe_is_a_warning_that_does_not_block_approval(tmp_path):
    show = approved_show(tmp_path / "show")
    set_bible(show, anna_keyframe="keyframes/anna.png")
    [finding] = findings(show, "reference-missing")
    assert (finding.where, finding.severity.value) == ("anna", "warning")
    assert "'keyframes/anna.png' is not a file in the series folder" in finding.message
    with Project(Settings.load(show)) as project:
        project.approve()  # not refused


# --- writes never follow a symlink out of the folder ----------------------------------------------


def link_outside(show: Path, name: str, outside: Path) -> Path:
    """Move the series' `name` folder to `outside` and leave a symlink to it in its place."""
    if (show / name).exists():
        shutil.move(show / name, outside)
    else:
        outside.mkdir()
    (show / name).symlink_to(outside, target_is_directory=True)
    return outside


def test_render_refuses_an_out_folder_linked_outside_and_writes_nothing_there(tmp_path):
    show = rendered_show(tmp_path / "show")
    outside = link_outside(show, "out", tmp_path / "elsewhere")
    before = listing(outside)
    render = cli("render", show, "--scene", "e01s01", "--force")
    assert render.returncode == 1
    assert f"out/ leads outside the series folder (to {outside})" in one_line(render.stderr)
    assert listing(outside) == before


@pytest.mark.parametrize("name", ["plan", "state", "cache", "out"])
def test_every_writing_command_refuses_a_series_folder_linked_outside(tmp_path, name):
    show = rendered_show(tmp_path / "show")
    outside = link_outside(show, name, tmp_path / "elsewhere")
    before = listing(outside)
    with Project(Settings.load(show)) as project:
        with pytest.raises(InputError, match=f"{name}/ leads outside the series folder"):
            project.render(RenderRequest(scenes=["e01s01"], force=True))
    assert listing(outside) == before


WRITES = {
    "atomic write": ("out", lambda show, timeline: atomic_write_text(show / "out" / "e01.srt", "")),
    "assembly": ("out", lambda show, timeline: master(timeline, SeriesFolder(show))),
    "cache": ("cache", lambda show, timeline: ArtifactCache(show / "cache").produce(
        show / "cache" / f"segment-{'0' * 24}.mp4", lambda temp: temp.write_bytes(b"x"))),
}


@pytest.mark.parametrize("write", list(WRITES))
def test_each_write_refuses_a_link_out_even_without_the_lock(tmp_path, write):
    """Defence in depth: the atomic writes, assembly and the cache check for themselves."""
    show = rendered_show(tmp_path / "show")
    timeline = read_timeline(timeline_path(show / "out", "e01"), show)
    name, do = WRITES[write]
    outside = link_outside(show, name, tmp_path / "elsewhere")
    (show / "out" / "e01.mp4").unlink()  # so that assembly masters it again
    before = listing(outside)
    with pytest.raises(InputError, match=f"{name}/ leads outside the series folder"):
        do(show, timeline)
    assert listing(outside) == before


def test_a_lock_file_that_is_a_symlink_is_refused(tmp_path):
    show = approved_show(tmp_path / "show")
    target = tmp_path / "elsewhere.lock"
    (show / "state" / ".lock").unlink()
    (show / "state" / ".lock").symlink_to(target)
    with Project(Settings.load(show)) as project, pytest.raises(InputError, match="is a symbolic link"):
        project.gc()
    assert not target.exists()


# --- read-only and missing folders ------------------------------------------------------------------


@pytest.fixture
def read_only(tmp_path):
    """(a rendered show made read-only, the command prefix that runs the CLI as a process that
    cannot write it)."""
    show = rendered_show(tmp_path / "show")
    if os.geteuid() != 0:
        prefix = []
    elif shutil.which("setpriv"):
        prefix = ["setpriv", "--bounding-set", ROOT_CAPABILITIES, "--inh-caps", ROOT_CAPABILITIES]
    else:
        pytest.skip("running as root without setpriv: no way to run the CLI unable to write a read-only folder")
    for path in [show, *show.rglob("*")]:
        if not path.is_symlink():
            path.chmod(stat.S_IMODE(path.lstat().st_mode) & ~0o222)
    probe = subprocess.run([*prefix, sys.executable, "-c", f"open({str(show / 'probe')!r}, 'w')"],
                           capture_output=True, text=True)
    if probe.returncode == 0:
        (show / "probe").unlink()
        pytest.skip("this process's privileges ignore file permissions and setpriv could not drop them")
    assert "PermissionError" in probe.stderr, probe.stderr
    yield show, prefix
    for path in [show, *show.rglob("*")]:
        if not path.is_symlink():
            path.chmod(stat.S_IMODE(path.lstat().st_mode) | 0o200)


def test_status_review_and_audit_work_on_a_read_only_folder_and_write_nothing(read_only):
    show, prefix = read_only
    before = listing(show)
    status = cli("status", show, prefix=prefix)
    assert status.returncode == 0, status.stderr
    assert "shots: 12 rendered, 0 stale, 0 failed, 0 planned" in status.stdout
    review = cli("review", show, prefix=prefix)
    assert review.returncode == 0, review.stderr
    assert "findings: 0 errors" in review.stdout
    audit = cli("audit", show, prefix=prefix)  # it writes out/eNN.audit.json: it says it cannot
    assert audit.returncode == 1
    assert "the series folder is read-only" in one_line(audit.stderr)
    assert listing(show) == before


def test_render_on_a_read_only_folder_says_so_in_one_line(read_only):
    show, prefix = read_only
    render = cli("render", show, "--force", prefix=prefix)
    assert render.returncode == 1
    assert one_line(render.stderr) == (f"error: {show}: the series folder is read-only: cannot write state/.lock "
                                       "(Permission denied); commands that only read it (status, review) still work")


def test_render_on_a_missing_folder_says_so_and_creates_nothing(tmp_path):
    missing = tmp_path / "episodes" / "no-such-show"
    render = cli("render", missing)
    assert render.returncode == 1
    assert f"{missing}: no such series folder" in one_line(render.stderr)
    assert not (tmp_path / "episodes").exists()
    for command in ("approve", "audit", "gc", "review"):
        with Project(Settings(series_dir=missing)) as project, pytest.raises(InputError, match="no such series folder"):
            getattr(project, command)()
    assert not (tmp_path / "episodes").exists()


def test_review_of_an_edited_plan_on_a_read_only_folder_keeps_nothing_and_works(tmp_path):
    show = rendered_show(tmp_path / "show")
    plan = show / "plan" / "e01.yaml"
    plan.write_text(plan.read_text(encoding="utf-8").replace("move: static", "move: tilt-up", 1), encoding="utf-8")
    for path in [show, *show.rglob("*")]:
        path.chmod(stat.S_IMODE(path.lstat().st_mode) & ~0o222)
    try:
        if os.geteuid() == 0 and not shutil.which("setpriv"):
            pytest.skip("running as root without setpriv")
        prefix = ["setpriv", "--bounding-set", ROOT_CAPABILITIES, "--inh-caps", ROOT_CAPABILITIES] \
            if os.geteuid() == 0 else []
        review = cli("review", show, prefix=prefix)
        assert review.returncode == 0, review.stderr
        assert "edited since approval" in review.stdout and "Traceback" not in review.stderr
    finally:
        for path in [show, *show.rglob("*")]:
            path.chmod(stat.S_IMODE(path.lstat().st_mode) | 0o200)


def test_status_on_a_missing_folder_says_so(tmp_path):
    status = cli("status", tmp_path / "nope")
    assert status.returncode == 1 and "no such series folder" in one_line(status.stderr)
    assert not (tmp_path / "nope").exists()


def test_planning_into_a_series_whose_screenplay_is_a_link_replaces_the_link_not_its_target(tmp_path):
    outside = tmp_path / "writing" / "draft.fountain"
    outside.parent.mkdir()
    show = approved_show(tmp_path / "episodes" / "tiny-show")
    outside.write_bytes((show / "screenplay.fountain").read_bytes())
    (show / "screenplay.fountain").unlink()
    (show / "screenplay.fountain").symlink_to(outside)
    other = tmp_path / "other.fountain"
    other.write_text(outside.read_text(encoding="utf-8").replace("Open up.", "Open the door."), encoding="utf-8")
    before = outside.read_bytes()
    done = cli("plan", other, "--slug", "tiny-show", "--root", tmp_path / "episodes")
    assert done.returncode == 0, done.stderr
    assert outside.read_bytes() == before  # the linked file outside is not written
    assert not (show / "screenplay.fountain").is_symlink()
    assert b"Open the door." in (show / "screenplay.fountain").read_bytes()


def test_an_approvals_folder_linked_outside_is_refused(tmp_path):
    show = approved_show(tmp_path / "show")
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    shutil.rmtree(show / "state" / "approved")
    (show / "state" / "approved").symlink_to(outside)
    path = show / "plan" / "e01.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("move: static", "move: tilt-up", 1), encoding="utf-8")
    with Project(Settings(series_dir=show)) as project, pytest.raises(InputError, match="outside the series folder"):
        project.approve()
    assert list(outside.iterdir()) == []
