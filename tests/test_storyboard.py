"""The storyboard page: one card per shot with its keyframe and what was found there, checked as
HTML and as a real headless Chromium renders it from disk."""

from __future__ import annotations

import base64
import io
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import requires
from microdrama.pipeline.edit import ffmpeg
from microdrama.pipeline.core.models import Episode, Finding
from microdrama.pipeline.review.storyboard import write_storyboard
from microdrama.pipeline.review.thumbnails import thumbnail_size
from microdrama.pipeline.review.audit import AuditReport, Check
from tiny_show import RenderedShow, render_tiny_show, changed


@pytest.fixture(scope="module")
def show(tmp_path_factory) -> RenderedShow:
    return render_tiny_show(tmp_path_factory.mktemp("storyboard") / "tiny-show")


def findings_for(episode: Episode) -> list[Finding]:
    """One continuity finding at each kind of place, plus one about another episode."""
    line = next(line for shot in episode.shots for line in shot.dialogue)
    return [
        Finding(severity="error", code="speaker-absent", message="BEN speaks but is not in the scene", where=line.id),
        Finding(severity="warning", code="axis-jump", message="screen direction flips", where=episode.scenes[1].id),
        Finding(severity="info", code="pacing", message="a long episode", where=episode.id),
        Finding(severity="error", code="elsewhere", message="not this episode", where="e09s01k01"),
    ]


def audit_for(episode: Episode) -> AuditReport:
    shot = episode.shots[0]
    return AuditReport(episode_id=episode.id, checks=[
        Check(name="frame-count", where=shot.id, threshold=0, measured=3, verdict="error", message="3 frames short"),
        Check(name="clip-score", where=shot.id, threshold=0.2, measured=0.25, verdict="pass", message="matches"),
        Check(name="loudness", where=episode.id, threshold=-16.0, measured=-19.5, verdict="warning", message="quiet"),
        Check(name="identity", where=episode.shots[1].id, threshold=None, measured=None, verdict="skipped",
              message="no face model"),
    ])


class Page(HTMLParser):
    """What a test needs of a storyboard page: each shot card (attributes, thumbnail sources, text)
    and every note with the place that shows it (a shot, a scene or the episode header)."""

    def __init__(self, html: str):
        super().__init__()
        self.cards: list[dict] = []
        self.notes: list[tuple[str, dict]] = []
        self.html_attrs: dict = {}
        self._scene = self._place = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        classes = (attrs.get("class") or "").split()
        if tag == "html":
            self.html_attrs = attrs
        elif tag == "header" and "episode" in classes:
            self._place = attrs["data-episode"]
        elif tag == "section" and "scene" in classes:
            self._scene = self._place = attrs["data-scene"]
        elif tag == "article" and "shot" in classes:
            self.cards.append({"attrs": attrs, "thumbs": [], "text": ""})
            self._place = attrs["data-shot"]
        elif tag == "img" and self.cards and self._place == self.cards[-1]["attrs"]["data-shot"]:
            self.cards[-1]["thumbs"].append(attrs["src"])
        elif tag == "li" and "note" in classes:
            self.notes.append((self._place, attrs))

    def handle_endtag(self, tag):
        if tag == "article":
            self._place = self._scene
        elif tag in ("section", "header"):
            self._place = None

    def handle_data(self, data):
        if self.cards and self._place == self.cards[-1]["attrs"]["data-shot"]:
            self.cards[-1]["text"] += data

    def notes_at(self, place: str) -> list[str]:
        return [attrs["data-code"] for where, attrs in self.notes if where == place]


def decode_jpeg(src: str) -> Image.Image:
    prefix = "data:image/jpeg;base64,"
    assert src.startswith(prefix)
    image = Image.open(io.BytesIO(base64.b64decode(src[len(prefix):])))
    image.load()
    assert image.format == "JPEG"
    return image


def assert_cards_follow_the_plan(page: Page, show: RenderedShow, episode: Episode) -> None:
    assert [c["attrs"]["data-shot"] for c in page.cards] == [s.id for s in episode.shots]
    assert [c["attrs"]["data-type"] for c in page.cards] == [str(s.type) for s in episode.shots]
    for card in page.cards:
        [src] = card["thumbs"]
        image = decode_jpeg(src)
        assert image.size == thumbnail_size(show.series.width, show.series.height)
        assert np.asarray(image).std() > 5  # a picture, not a flat fill
    spoken = next(shot for shot in episode.shots if shot.dialogue)  # the finding is on its first line
    card = next(c for c in page.cards if c["attrs"]["data-shot"] == spoken.id)
    assert spoken.dialogue[0].text in card["text"] and page.notes_at(spoken.id) == ["speaker-absent"]
    shot = episode.shots[0]
    assert page.notes_at(shot.id) == ["frame-count"]  # a passing check is not shown
    assert page.notes_at(episode.shots[1].id) == ["identity"]
    assert page.notes_at(episode.scenes[1].id) == ["axis-jump"]
    assert sorted(page.notes_at(episode.id)) == ["loudness", "pacing"]
    assert "elsewhere" not in {attrs["data-code"] for _, attrs in page.notes}


def write_e01(show: RenderedShow, out_dir: Path) -> Path:
    episode = show.episodes[0]
    return write_storyboard(show.timelines[episode.id], episode, show.series, findings_for(episode),
                            audit_for(episode), out_dir)


def test_the_page_has_a_card_per_shot_with_its_keyframe_and_findings(show, tmp_path):
    path = write_e01(show, tmp_path)
    assert path == tmp_path / "e01.storyboard.html"
    html = path.read_text(encoding="utf-8")
    page = Page(html)
    assert_cards_follow_the_plan(page, show, show.episodes[0])
    assert page.html_attrs["lang"] == "en"
    assert 'class="count" data-source="continuity">continuity: 1 error, 1 warning, 1 info<' in html
    assert 'data-source="audit">audit: 1 error, 1 warning, 1 skipped<' in html


def test_the_page_fetches_nothing(show, tmp_path):
    html = write_e01(show, tmp_path).read_text(encoding="utf-8")
    assert "<script" not in html and "<link" not in html and "url(" not in html
    assert "http://" not in html and "https://" not in html
    assert all(src.startswith("data:") for card in Page(html).cards for src in card["thumbs"])


def test_dialogue_shows_speaker_names_and_marks_off_screen_lines(show, tmp_path):
    html = write_e01(show, tmp_path).read_text(encoding="utf-8")
    ben_os = next(line for shot in show.episodes[0].shots for line in shot.dialogue if line.off_screen)
    assert (f'<p class="line vo" data-line="{ben_os.id}"><b class="speaker">BEN</b> '
            '<span class="ext">(O.S.)</span>') in html


def test_a_shot_without_a_picture_gets_a_placeholder_card(show, tmp_path):
    episode = show.episodes[1]
    timeline = show.timelines[episode.id]
    lost = episode.shots[1].id
    video = tuple(changed(c, path=Path(), slate="failed in a test") if c.shot_id == lost else c for c in timeline.video)
    path = write_storyboard(changed(timeline, video=video), episode, show.series, [], None, tmp_path)
    page = Page(path.read_text(encoding="utf-8"))
    card = next(c for c in page.cards if c["attrs"]["data-shot"] == lost)
    assert card["thumbs"] == [] and "failed" in card["attrs"]["class"].split()
    assert len(page.cards) == len(episode.shots) and "no picture" in card["text"]


def test_chinese_text_and_a_landscape_frame(show, tmp_path):
    episode = show.episodes[1].model_copy(deep=True)
    episode.shots[2].dialogue[0].text = "安娜？你回来了。"
    series = show.series.model_copy(deep=True, update={"language": "zh"})
    series.characters[1].name = "本"
    segment = tmp_path / "wide.mp4"
    ffmpeg.encode_frames((np.full((72, 128, 3), (40 * k) % 255, np.uint8) for k in range(6)), segment, 128, 72, 12)
    landscape = changed(show.timelines[episode.id], width=1280, height=720, language="zh",
                                    video=tuple(changed(c, path=segment, duration_frames=6)
                                                for c in show.timelines[episode.id].video))
    html = write_storyboard(landscape, episode, series, [], None, tmp_path).read_text(encoding="utf-8")
    assert "安娜？你回来了。" in html and '<b class="speaker">本</b>' in html and 'lang="zh"' in html
    assert '<body class="landscape"' in html
    assert decode_jpeg(Page(html).cards[0]["thumbs"][0]).size == (320, 180)


def test_thumbnails_keep_the_frame_aspect_and_never_upscale():
    assert thumbnail_size(720, 1280) == (180, 320)
    assert thumbnail_size(1920, 1080) == (320, 180)
    assert thumbnail_size(144, 256) == (144, 256)


# --- in a real browser -------------------------------------------------------------------------


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Headless Chromium, isolated and offline. --no-sandbox: its sandbox refuses to run as root,
    as CI containers do."""
    argv = [shutil.which("chromium"), "--headless", "--no-sandbox", "--disable-gpu",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--no-first-run", f"--user-data-dir={tmp_path / 'chromium-profile'}", *args]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done


@requires("chromium")
def test_chromium_renders_every_card_with_its_thumbnail_and_findings(show, tmp_path):
    path = write_e01(show, tmp_path)
    dom = chromium(tmp_path, "--dump-dom", path.as_uri()).stdout
    page = Page(dom)
    assert_cards_follow_the_plan(page, show, show.episodes[0])
    assert page.html_attrs["lang"] == "en"


@requires("chromium")
def test_chromium_screenshot_of_the_page_is_not_blank(show, tmp_path):
    path = write_e01(show, tmp_path)
    screenshot = tmp_path / "storyboard.png"
    chromium(tmp_path, f"--screenshot={screenshot}", "--window-size=1000,1200", "--hide-scrollbars", path.as_uri())
    pixels = np.asarray(Image.open(screenshot).convert("RGB"))
    assert pixels.shape == (1200, 1000, 3)
    colours = len(np.unique(pixels.reshape(-1, 3), axis=0))
    assert pixels.std() > 20 and colours > 500  # text, cards and thumbnails, not an empty page
