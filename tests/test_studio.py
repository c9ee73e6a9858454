"""The review studio over HTTP (Starlette's TestClient, the real app on a copy of the tiny show):
what it lets in, what it serves, and how edits reach the plan files. `microdrama edit`, the CLI
face of the same edit, is tested here too. The browser test is test_studio_browser.py."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

if os.environ.get("MICRODRAMA_REQUIRE_ALL") != "1":  # CI installs the extras: a missing one fails there
    pytest.importorskip("starlette", reason="the studio extra is not installed")

from starlette.testclient import TestClient  # noqa: E402

from microdrama.pipeline.app import Project  # noqa: E402
from microdrama.pipeline.core.config import Settings  # noqa: E402
from microdrama.pipeline.core.lock import lock_holder  # noqa: E402
from microdrama.pipeline.core.snapshot import plan_digest  # noqa: E402
from microdrama.pipeline.core.store import SeriesFolder  # noqa: E402
from microdrama.pipeline.plan.shot_edit import ShotEdit, file_digest  # noqa: E402
from microdrama.pipeline.web.guard import CSRF_HEADER, TOKEN_COOKIE, Guard  # noqa: E402
from microdrama.pipeline.web.server import create_app  # noqa: E402
from tiny_show import approved_show, rendered_show  # noqa: E402

MICRODRAMA = str(Path(sys.executable).with_name("microdrama"))
SHOT = "e01s01k01"  # 30 frames at 12 fps, no dialogue


@pytest.fixture
def show(tmp_path: Path) -> Path:
    return approved_show(tmp_path / "tiny-show")


def studio(folder: Path, host: str = "127.0.0.1") -> tuple[TestClient, Guard]:
    guard = Guard.for_host(host)
    client = TestClient(create_app(folder, guard), base_url=f"http://{host}:8765")
    client.headers[CSRF_HEADER] = guard.csrf
    return client, guard


def edit_form(folder: Path, **fields: str) -> dict[str, str]:
    return {"file_digest": file_digest(folder / "plan" / "e01.yaml"), **fields}


# --- what it serves ------------------------------------------------------------------------------


def test_the_pages_show_the_plan(show):
    client, _ = studio(show)
    series = client.get("/")
    assert series.status_code == 200 and "Tiny Show" in series.text and "ANNA" in series.text
    board = client.get("/episode/e01")
    assert board.status_code == 200
    assert all(f'id="card-{shot}"' in board.text for shot in ("e01s01k01", "e01s01k04", "e01s02k04"))
    assert "Open up." in board.text and 'data-state="planned"' in board.text
    shot = client.get(f"/shot/{SHOT}")
    assert shot.status_code == 200 and 'name="duration" type="number" step="any" value="2.50"' in shot.text
    assert client.get("/episode/e09").status_code == 404
    assert client.get("/shot/e01s01k99").status_code == 404


@pytest.mark.parametrize("path", [
    "../series.yaml", "..%2f..%2fetc%2fpasswd", "cache/../../outside.txt", "%2fetc%2fpasswd",
    "state/runs.json", "state/checkpoints.sqlite", "plan/../../outside.txt", "link-out/secret.txt",
])
def test_files_are_served_only_from_inside_the_series_folder(show, path):
    (show.parent / "outside.txt").write_text("secret", encoding="utf-8")
    (show / "link-out").symlink_to(show.parent)
    client, _ = studio(show)
    response = client.get(f"/files/{path}")
    assert response.status_code == 404 and "secret" not in response.text
    assert client.get("/files/plan/e01.yaml").status_code == 200


def test_the_revise_button_says_why_it_cannot_run_without_an_llm(show):
    board = studio(show)[0].get("/episode/e01").text
    assert "Revise scene" in board and 'planner = &#34;llm&#34;' in board and "disabled" in board


# --- who may ask -----------------------------------------------------------------------------


def test_a_studio_off_loopback_asks_every_request_for_its_token(show):
    client, guard = studio(show, host="10.1.2.3")
    assert guard.token
    assert client.get("/").status_code == 401
    assert client.get("/?token=wrong").status_code == 401
    entry = client.get(f"/?token={guard.token}", follow_redirects=False)
    assert entry.status_code == 303 and "token" not in entry.headers["location"]
    assert client.cookies.get(TOKEN_COOKIE) == guard.token
    assert client.get("/").status_code == 200  # the cookie from here on
    client.cookies.clear()
    assert client.get("/files/plan/e01.yaml").status_code == 401


def test_a_loopback_studio_answers_only_to_loopback_host_names(show):
    client, guard = studio(show)
    assert guard.token is None
    assert client.get("/", headers={"host": "localhost:8765"}).status_code == 200
    assert client.get("/", headers={"host": "rebound.example:8765"}).status_code == 421


def test_actions_need_the_pages_csrf_token_and_a_same_site_origin(show):
    client, guard = studio(show)
    before = plan_digest(SeriesFolder(show))
    for headers in ({CSRF_HEADER: ""}, {CSRF_HEADER: "forged"},
                    {CSRF_HEADER: guard.csrf, "origin": "http://evil.example"}):
        refused = client.post(f"/shot/{SHOT}", data=edit_form(show, duration="4"), headers=headers)
        assert refused.status_code == 403
    assert plan_digest(SeriesFolder(show)) == before
    saved = client.post(f"/shot/{SHOT}", data=edit_form(show, duration="4"),
                        headers={"origin": "http://127.0.0.1:8765"})
    assert saved.status_code == 200 and "saved" in saved.text


# --- edits -------------------------------------------------------------------------------------


def test_an_edit_is_saved_to_the_plan_file_and_shows_as_edited_since_approval(show):
    client, _ = studio(show)
    saved = client.post(f"/shot/{SHOT}", data=edit_form(show, type="CU", duration="3.5", action="A door."))
    assert saved.status_code == 200 and 'class="saved"' in saved.text
    assert f"/watch?digest={plan_digest(SeriesFolder(show))}" in saved.text  # its own save is no change on disk
    shot = SeriesFolder(show).load_episode("e01").scenes[0].shots[0]
    assert (shot.type.value, shot.duration_frames, shot.action) == ("CU", 42, "A door.")
    assert shot.prompt.startswith("cinematic") and "close-up" in shot.prompt and "A door." in shot.prompt
    assert "edited since approval" in client.get("/episode/e01").text


def test_a_negative_duration_is_an_error_at_its_field_and_nothing_is_saved(show):
    client, _ = studio(show)
    path = show / "plan" / "e01.yaml"
    before = path.read_bytes()
    refused = client.post(f"/shot/{SHOT}", data=edit_form(show, duration="-1"))
    assert refused.status_code == 200 and "hx-trigger" not in refused.headers
    assert 'data-field="duration"' in refused.text and "greater than 0" in refused.text
    assert 'value="-1"' in refused.text  # the form keeps what was typed
    assert path.read_bytes() == before
    preview = client.post(f"/shot/{SHOT}/preview", data={"duration": "-1"})
    assert "greater than 0" in preview.text


def test_the_live_prompt_follows_the_form_and_saves_nothing(show):
    client, _ = studio(show)
    before = (show / "plan" / "e01.yaml").read_bytes()
    preview = client.post(f"/shot/{SHOT}/preview", data={"type": "ECU", "move": "handheld", "action": "Rain."})
    assert "extreme close-up, handheld camera" in preview.text and "Rain." in preview.text
    assert (show / "plan" / "e01.yaml").read_bytes() == before


def test_a_plan_file_changed_on_disk_is_noticed_and_a_stale_form_is_refused(show):
    client, _ = studio(show)
    form = edit_form(show, duration="4")  # the form as it was opened
    seen = plan_digest(SeriesFolder(show))
    assert client.get(f"/watch?digest={seen}").status_code == 204
    path = show / "plan" / "e01.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("action: A dim hallway. A single door.",
                                                             "action: Someone else's edit."), encoding="utf-8")
    noticed = client.get(f"/watch?digest={seen}")
    assert noticed.status_code == 200 and "changed on disk" in noticed.text
    assert noticed.headers["hx-trigger"] == "plan-changed"
    edited = path.read_bytes()
    refused = client.post(f"/shot/{SHOT}", data=form)
    assert "changed on disk" in refused.text and path.read_bytes() == edited
    assert "Someone else&#39;s edit." in client.get(f"/shot/{SHOT}?part=1").text


def test_an_edit_while_a_render_from_the_studio_holds_the_lock_is_refused(tmp_path):
    """The studio renders in a child process: its render holds the series lock against the
    studio's own edits, as a render in a terminal does."""
    show = rendered_show(tmp_path / "tiny-show")
    client, _ = studio(show)
    path = show / "plan" / "e01.yaml"
    before = path.read_bytes()
    started = client.post("/render", data={"target": "e01s01k01", "force": "1"})
    assert started.status_code == 200 and "microdrama render" in started.text and "--force" in started.text
    jobs = client.app.state.jobs
    job = jobs.latest()
    deadline = time.monotonic() + 60
    while lock_holder(show / "state") is None and job.running and time.monotonic() < deadline:
        time.sleep(0.02)
    assert lock_holder(show / "state") is not None, job.message
    refused = client.post(f"/shot/{SHOT}", data=edit_form(show, duration="4"))
    assert "is being written by pid" in refused.text and "microdrama render" in refused.text
    assert path.read_bytes() == before
    assert jobs.wait(job, 120) and job.state == "done", job.message
    assert "e01s01k01" in job.finished
    shown = client.get(f"/jobs/{job.number}")
    assert 'data-state="done"' in shown.text and shown.headers["hx-trigger"] == "plan-changed"


# --- errors ------------------------------------------------------------------------------------


def test_an_invalid_plan_file_is_one_line_in_the_page_with_the_traceback_only_in_debug(show, monkeypatch):
    path = show / "plan" / "e01.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("duration_frames: 30", "duration_frames: -5", 1),
                    encoding="utf-8")
    board = studio(show)[0].get("/episode/e01")
    assert "e01.yaml:" in board.text and "duration_frames" in board.text and "Traceback" not in board.text
    refused = studio(show)[0].post(f"/shot/{SHOT}", data=edit_form(show, duration="2"))
    assert "e01.yaml" in refused.text and "Traceback" not in refused.text
    monkeypatch.setenv("MICRODRAMA_DEBUG", "1")
    assert "Traceback" in studio(show)[0].post(f"/shot/{SHOT}", data=edit_form(show, duration="2")).text


def test_approve_from_the_studio_approves_the_edited_plan(show):
    client, _ = studio(show)
    client.post(f"/shot/{SHOT}", data=edit_form(show, duration="3"))
    approved = client.post("/approve")
    assert "approved 2 episode(s)" in approved.text and approved.headers["hx-trigger"] == "plan-changed"
    with Project(Settings.load(show)) as project:
        assert project.approved()
    assert "nothing awaits review" in client.post("/approve").text


def test_a_plan_awaiting_review_can_be_rejected_from_the_board(tmp_path):
    from conftest import FIXTURES

    show = tmp_path / "tiny-show"
    show.mkdir()
    (show / "screenplay.fountain").write_bytes((FIXTURES / "tiny_show.fountain").read_bytes())
    with Project(Settings.load(show)) as project:
        project.plan(["screenplay.fountain"])
    client, _ = studio(show)
    board = client.get("/episode/e01").text
    assert "awaiting review" in board and "Reject" in board and "Approve plan" in board
    rejected = client.post("/reject", data={"note": "too many inserts"})
    assert "rejected" in rejected.text and rejected.headers["hx-trigger"] == "plan-changed"
    with Project(Settings.load(show)) as project:
        assert not project.pending_review()
    assert "nothing awaits review" in client.post("/reject", data={"note": ""}).text


# --- the CLI face of the same edit ---------------------------------------------------------------


def test_edit_shot_validates_like_a_hand_edit(show):
    with Project(Settings.load(show)) as project:
        with pytest.raises(Exception, match=r"e01.yaml:\d+: scenes\[0\] \(e01s01\).shots\[0\] \(e01s01k01\)"
                                            r".duration_frames: Input should be greater than 0"):
            project.edit_shot(SHOT, ShotEdit(duration_frames=0))
        with pytest.raises(Exception, match="no line e01s01l09"):
            project.edit_shot(SHOT, ShotEdit(lines={"e01s01l09": "hi"}))
        shot = project.edit_shot("e01s01k03", ShotEdit(lines={"e01s01l01": "Open the door."}))
    assert shot.dialogue[0].text == "Open the door."
    assert SeriesFolder(show).load_episode("e01").scenes[0].shots[2].dialogue[0].text == "Open the door."


def test_microdrama_edit_previews_then_changes_a_shot(show):
    def run(*args: str) -> subprocess.CompletedProcess:
        env = {k: v for k, v in os.environ.items() if k != "MICRODRAMA_DEBUG"}
        return subprocess.run([MICRODRAMA, "edit", str(show), "--shot", SHOT, *args], capture_output=True,
                              text=True, timeout=60, env=env)

    dry = run("--type", "ECU", "--dry-run")
    assert dry.returncode == 0 and "extreme close-up" in dry.stdout
    assert SeriesFolder(show).load_episode("e01").scenes[0].shots[0].type.value == "WS"
    done = run("--type", "CU", "--duration", "2", "--frame", "anna:right:left")
    assert done.returncode == 0, done.stderr
    shot = SeriesFolder(show).load_episode("e01").scenes[0].shots[0]
    assert (shot.type.value, shot.duration_frames) == ("CU", 24)
    assert [(f.character, f.position.value, f.facing.value) for f in shot.characters] == [("anna", "right", "left")]


def test_revise_a_scene_with_a_note_runs_the_llm_planner_as_a_job(tmp_path, monkeypatch):
    """With an endpoint (a fake OpenAI-compatible server on 127.0.0.1), the revise button runs
    `microdrama revise` as a job; only that scene is re-planned, and the plan awaits review."""
    from openai_server import FakeOpenAIServer
    from test_llm_graph import SCREENPLAY, Writers

    show = tmp_path / "radio"
    show.mkdir()
    (show / "screenplay.fountain").write_text("Title: Radio\n\n" + SCREENPLAY, encoding="utf-8")
    (show / "microdrama.toml").write_text('[run]\nplanner = "llm"\ncontinuity_rounds = 0\n', encoding="utf-8")
    with FakeOpenAIServer(responder=Writers()) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        monkeypatch.setenv("MICRODRAMA_MODEL", "fake-model")
        with Project(Settings.load(show)) as project:
            project.plan(["screenplay.fountain"])
        scene_one = SeriesFolder(show).load_episode("e01").scenes[0]
        client, _ = studio(show)
        assert "Revise scene" in client.get("/episode/e01").text and "disabled" not in client.get("/episode/e01").text
        assert "say what to change" in client.post("/revise", data={"scene": "e01s02", "note": " "}).text
        started = client.post("/revise", data={"scene": "e01s02", "note": "open on the radio"})
        assert "microdrama revise" in started.text and "--note" in started.text
        job = client.app.state.jobs.latest()
        assert client.app.state.jobs.wait(job, 120) and job.state == "done", job.message
    episode = SeriesFolder(show).load_episode("e01")
    assert (episode.scenes[1].shots[0].type.value, episode.scenes[1].shots[0].action) == ("INSERT", "The radio glows.")
    assert episode.scenes[0] == scene_one
    assert "awaiting review" in client.get("/episode/e01").text


def test_a_studio_render_with_nothing_changed_says_so(tmp_path):
    """The receipt answers the studio's render of the whole plan too, and the job says so."""
    show = rendered_show(tmp_path / "tiny-show")
    client, _ = studio(show)
    client.post("/render", data={"target": ""})
    jobs = client.app.state.jobs
    job = jobs.latest()
    assert jobs.wait(job, 120) and job.state == "done", job.message
    assert "nothing changed since the last complete render; e01, e02 current" in job.message
