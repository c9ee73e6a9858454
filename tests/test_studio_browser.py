"""The review studio in a real browser: Playwright driving the system Chromium (Debian's
`chromium`; no browser is downloaded) against the studio served by uvicorn on 127.0.0.1, over a
copy of the rendered tiny show. One server and one browser for the module; the steps run in
order, as a film maker would: board, edit, a refused value, approve, render a scene, play.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from pathlib import Path

import pytest

from conftest import requires

if os.environ.get("MICRODRAMA_REQUIRE_ALL") != "1":  # CI installs the extras: a missing one fails there
    pytest.importorskip("starlette", reason="the studio extra is not installed")
    pytest.importorskip("playwright.sync_api", reason="playwright (the test extra) is not installed")

from playwright import sync_api  # noqa: E402

from microdrama.pipeline.core.store import SeriesFolder  # noqa: E402
from microdrama.pipeline.edit.timeline import read_timeline, timeline_path  # noqa: E402
from microdrama.pipeline.web.guard import Guard  # noqa: E402
from microdrama.pipeline.web.server import create_app  # noqa: E402
from tiny_show import rendered_show  # noqa: E402

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOTS = os.environ.get("MICRODRAMA_STUDIO_SCREENSHOTS")  # a folder: save the pages as PNGs
pytestmark = requires("chromium")


@pytest.fixture(scope="module")
def show(tmp_path_factory) -> Path:
    return rendered_show(tmp_path_factory.mktemp("studio") / "tiny-show")


@pytest.fixture(scope="module")
def studio(show):
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(create_app(show, Guard.for_host("127.0.0.1")), host="127.0.0.1",
                                           port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def page(studio):
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        tab = browser.new_page(viewport={"width": 1200, "height": 900})
        tab.set_default_timeout(20_000)
        yield tab
        browser.close()


def screenshot(page, name: str) -> None:
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SCREENSHOTS) / f"{name}.png"), full_page=True)


def card_state(page, shot_id: str) -> str:
    return page.get_attribute(f"#card-{shot_id}", "data-state")


def test_1_the_board_shows_every_shot_as_a_rendered_card(page, studio):
    page.goto(f"{studio}/episode/e01")
    assert page.locator(".card").count() == 8
    assert {card_state(page, f"e01s01k0{n}") for n in range(1, 5)} == {"rendered"}
    assert page.locator("#card-e01s01k03 video").count() == 1  # the segment, played on hover
    assert "Open up." in page.inner_text("#card-e01s01k03")
    screenshot(page, "studio-board")


def test_2_a_negative_duration_is_refused_at_its_field(page, studio, show):
    before = (show / "plan" / "e01.yaml").read_bytes()
    page.goto(f"{studio}/shot/e01s01k01")
    page.fill("input[name=duration]", "-1")
    page.locator("#shot-form #prompt .field-error").wait_for()  # the live prompt, beside the form
    page.click("button[type=submit]")
    error = page.locator('.field-error[data-field="duration"]')
    error.wait_for()
    assert "greater than 0" in error.inner_text()
    assert (show / "plan" / "e01.yaml").read_bytes() == before


def test_3_an_edited_duration_is_saved_and_its_card_turns_stale(page, studio, show):
    page.select_option("select[name=move]", "handheld")
    page.fill("input[name=duration]", "3")
    page.wait_for_function("(document.querySelector('#shot-form #prompt-text') || {}).innerText"
                           "?.includes('handheld camera')")
    page.click("button[type=submit]")
    page.locator(".saved").wait_for()
    shot = SeriesFolder(show).load_episode("e01").scenes[0].shots[0]
    assert (shot.duration_frames, shot.move.value) == (36, "handheld")
    screenshot(page, "studio-shot")
    page.goto(f"{studio}/episode/e01")
    assert card_state(page, "e01s01k01") == "stale"
    assert "edited since approval" in page.inner_text("#review")
    assert "would render 1 of 4 shots" in page.inner_text("#scene-e01s01")


def test_4_approve_then_render_the_scene_and_watch_its_cards_turn_rendered(page, studio):
    page.click("#review button:has-text('Approve plan')")
    page.locator("#flash .flash.ok").wait_for()
    page.wait_for_function("document.querySelector('#review').innerText.includes('approved')")
    page.click("#scene-e01s01 button.render-scene")
    page.locator("#job").wait_for()
    assert "microdrama render" in page.inner_text("#job")
    page.wait_for_selector('#job[data-state="done"]', timeout=120_000)
    page.wait_for_function("document.querySelector('#card-e01s01k01').dataset.state === 'rendered'")
    assert {card_state(page, f"e01s01k0{n}") for n in range(1, 5)} == {"rendered"}
    assert "all shots rendered" in page.inner_text("#scene-e01s01")


def test_5_the_episode_plays_and_a_marker_jumps_to_its_shot(page, studio, show):
    page.goto(f"{studio}/episode/e01/play")
    page.wait_for_function("document.querySelector('#episode').readyState >= 1")
    duration = page.evaluate("document.querySelector('#episode').duration")
    cut = read_timeline(timeline_path(show / "out", "e01"), show)  # the cut as assembled
    assert duration == pytest.approx(cut.duration_frames / cut.fps, abs=0.2)
    page.evaluate("document.querySelector('#episode').muted = true")
    page.click(".marker[data-shot='e01s02k01']")
    page.wait_for_function("document.querySelector('#episode').currentTime > 0")
    start = float(page.get_attribute(".marker[data-shot='e01s02k01']", "data-time"))
    assert page.evaluate("document.querySelector('#episode').currentTime") >= start - 0.05
    page.wait_for_function(f"document.querySelector('#episode').currentTime > {start + 0.3}")
    assert page.evaluate("document.querySelector('#episode').paused") is False
