"""The audit's lip-sync measure: SyncNet (a random-weight model built from syncnet-python's own
class, saved as syncnet_v2.model is, loaded through the audit's path) over the lines of a shot
given the Wav2Lip pass in a real render of the tiny show; the offset search on embeddings with a
known lag; the face crop; the option's checks and the kept checks."""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import needs_lipsync, needs_package
from microdrama.pipeline.core.config import AuditOptions, Settings
from microdrama.pipeline.core.errors import ConfigError
from microdrama.pipeline.core.snapshot import load_snapshot
from microdrama.pipeline.core.store import SeriesFolder
from microdrama.pipeline.edit.timeline import read_timeline, timeline_path
from microdrama.pipeline.render.backends import FaceBox
from microdrama.pipeline.review.audit import Verdict, audit_episode
from microdrama.pipeline.review.sync_audit import (
    CROP_SIZE, GREY, LICENCE, MAX_SHIFT, NO_WEIGHTS, Sync, check_sync, face_crops, judge, offset_search,
)
from tiny_show import approved_show, render, routed

# Without these packages the tests that need them skip; CI installs them, and fails there.
needs_syncnet = needs_package("syncnet_python", "pip install --no-deps syncnet-python==0.2.3 "
                                                "python-speech-features==0.6")
MEASURE = re.compile(r"AV offset ([+-]\d+) frames .* LSE-D (\S+), LSE-C (\S+)$")
SYNCED_LINE = "e01s01l01"  # Anna's line in e01s01k03, the MCU the route gives the pass


@pytest.fixture(scope="module")
def weights(tmp_path_factory) -> Path:
    """A random-weight SyncNet saved as VGG's syncnet_v2.model is: a state dict of the model's
    parameters and BatchNorm statistics (it predates num_batches_tracked)."""
    import torch

    from microdrama.pipeline.review.sync_audit import syncnet_class

    torch.manual_seed(0)
    state = {key: value for key, value in syncnet_class()().state_dict().items()
             if not key.endswith("num_batches_tracked")}
    path = tmp_path_factory.mktemp("syncnet") / "syncnet_v2.model"
    torch.save(state, path)
    return path


@pytest.fixture(scope="module")
def show(tmp_path_factory, wav2lip_checkpoint):
    """The tiny show rendered with the Wav2Lip pass over its MCU shots: (folder, timeline,
    episode, series) of e01."""
    folder = routed(approved_show(tmp_path_factory.mktemp("sync") / "tiny-show"), wav2lip_checkpoint)
    render(folder)
    store = SeriesFolder(folder)
    timeline = read_timeline(timeline_path(store.out_dir, "e01"), store.root)
    snapshot = load_snapshot(store, timeline.snapshot)
    return folder, timeline, snapshot.episode("e01"), snapshot.series


def sync_checks(show, options: AuditOptions, kept_file: Path | None = None):
    folder, timeline, episode, series = show
    return check_sync(timeline, episode, series, folder, options, kept_file)


@pytest.mark.parametrize("lag", [-4, 0, 3])
def test_the_offset_search_finds_a_known_lag(lag):
    """The audio embeddings are the picture's `lag` windows earlier (the picture late by `lag`)."""
    rng = np.random.default_rng(1)
    track = rng.normal(size=(60 + 2 * MAX_SHIFT, 32))
    video = track[MAX_SHIFT: MAX_SHIFT + 60]
    audio = track[MAX_SHIFT + lag: MAX_SHIFT + lag + 60]
    sync = offset_search(video, audio)
    assert sync.offset == lag
    # The same track: no distance, but where a window's partner lies past the line's ends (zeros).
    unpaired = np.linalg.norm(video[:lag] if lag > 0 else video[len(video) + lag:], axis=1)
    assert sync.distance == pytest.approx(unpaired.sum() / len(video))
    assert sync.confidence > 5  # median distance of unrelated windows: about sqrt(2 * 32)


@pytest.mark.parametrize(("offset", "confidence", "verdict"), [
    (1, 6.0, Verdict.PASS), (-1, 6.0, Verdict.PASS), (3, 6.0, Verdict.ERROR), (-2, 6.0, Verdict.ERROR),
    (5, 1.0, Verdict.WARNING),  # SyncNet cannot tell: no verdict on the sync
])
def test_an_offset_syncnet_is_sure_of_beyond_a_frame_is_an_error(offset, confidence, verdict):
    check = judge("e01s01l01", Sync(offset=offset, distance=7.25, confidence=confidence), AuditOptions())
    assert (check.verdict, check.measured, check.threshold) == (verdict, offset, 1)
    assert MEASURE.search(check.message).groups() == (f"{offset:+d}", "7.250", f"{confidence:.3f}")


def test_the_face_crop_is_syncnets_square_around_the_face_grey_outside_the_frame():
    frame = np.zeros((100, 80, 3), np.uint8)
    frame[20:40, 30:50] = (255, 0, 0)  # the face box, in red (RGB)
    crop = face_crops([frame], FaceBox(x=30, y=20, width=20, height=20))[0]
    assert crop.shape == (CROP_SIZE, CROP_SIZE, 3)
    # 28 px square from y=20 (a half-size above the centre) to y=48: the face fills its upper left
    # of 20/28 rows, x from 26 to 54; and the channels are in BGR order.
    face = crop[10: 150, 42: 182]
    assert (face[..., 2] > 200).all() and (face[..., 0] < 50).all()
    assert (crop[-20:, -20:] < 30).all()  # below the face: the black frame
    corner = face_crops([frame], FaceBox(x=0, y=0, width=20, height=20))[0]
    assert (corner[:20, :20] == GREY).all()  # left of the frame's edge


@needs_syncnet
@needs_lipsync
def test_each_line_seen_spoken_in_a_lip_synced_shot_gets_syncnets_offset_and_scores(show, weights):
    checks = sync_checks(show, AuditOptions(syncnet_weights=weights))
    # Only e01s01k03 had the pass: the animatic's own shots are the mouth audit's.
    assert [c.where for c in checks] == [SYNCED_LINE]
    check = checks[0]
    assert check.name == "lip-sync" and check.verdict != Verdict.SKIPPED and check.threshold == 1
    offset, distance, confidence = MEASURE.search(check.message).groups()
    assert int(offset) == check.measured and abs(int(offset)) <= MAX_SHIFT
    assert math.isfinite(float(distance)) and float(distance) > 0
    assert math.isfinite(float(confidence)) and float(confidence) >= 0
    # Random weights are not confident of anything: a warning, never an error.
    assert check.verdict == Verdict.WARNING and "not confident" in check.message


@needs_lipsync
def test_without_weights_each_line_is_skipped_with_the_reason_in_the_report(show):
    folder, timeline, episode, series = show
    report = audit_episode(timeline, episode, series, folder / "out" / "e01.mp4", folder / "out" / "e01.srt")
    skipped = [c for c in report.checks if c.name == "lip-sync"]
    assert [(c.where, c.verdict, c.message) for c in skipped] == [(SYNCED_LINE, Verdict.SKIPPED, NO_WEIGHTS)]
    assert "research use only" in NO_WEIGHTS


@needs_syncnet
@needs_lipsync
def test_kept_checks_are_reused_for_an_unchanged_segment(show, weights, tmp_path):
    kept = tmp_path / "e01.sync.json"
    options = AuditOptions(syncnet_weights=weights)
    first = sync_checks(show, options, kept)
    stored = json.loads(kept.read_text(encoding="utf-8"))
    (key, [check]), = stored.items()
    check["message"] = "kept"  # what the next audit finds there, if it does not measure again
    kept.write_text(json.dumps(stored), encoding="utf-8")
    assert [c.message for c in sync_checks(show, options, kept)] == ["kept"]

    segment = next(c.path for c in show[1].video if c.shot_id == "e01s01k03")
    os.utime(segment, ns=(segment.stat().st_atime_ns, segment.stat().st_mtime_ns + 1))  # rendered again
    assert sync_checks(show, options, kept) == first
    assert key not in json.loads(kept.read_text(encoding="utf-8"))


@needs_syncnet
@needs_lipsync
def test_weights_that_are_not_syncnets_are_an_error_naming_the_option_and_the_file(show, tmp_path):
    import torch

    missing, broken, other = tmp_path / "nowhere.model", tmp_path / "broken.model", tmp_path / "other.model"
    broken.write_bytes(b"not a model")
    torch.save({"conv.weight": torch.zeros(1)}, other)
    for path, reason in ((missing, "is not a file"), (broken, "cannot load"), (other, "is not SyncNet's")):
        with pytest.raises(ConfigError, match=f"audit.syncnet_weights: .*{path.name}.*") as error:
            sync_checks(show, AuditOptions(syncnet_weights=path))
        assert reason in str(error.value) and str(path) in str(error.value)


def test_the_series_config_names_the_weights_from_its_folder(tmp_path):
    config = tmp_path / "microdrama.toml"
    config.write_text('[audit]\nsyncnet_weights = "models/syncnet_v2.model"\n', encoding="utf-8")
    assert Settings.load(tmp_path).audit.syncnet_weights == tmp_path / "models" / "syncnet_v2.model"
    config.write_text('[audit]\nclip_outlier_z = 3.0\nsyncnet_weights = ["syncnet_v2.model"]\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="microdrama.toml:3: audit.syncnet_weights: "):
        Settings.load(tmp_path)


def test_the_backends_command_names_the_weights_and_their_research_only_licence(tmp_path):
    weights = tmp_path / "syncnet_v2.model"
    (tmp_path / "microdrama.toml").write_text(f'[audit]\nsyncnet_weights = "{weights.name}"\n', encoding="utf-8")

    def row() -> str:
        shown = subprocess.run([str(Path(sys.executable).with_name("microdrama")), "backends", str(tmp_path)],
                               capture_output=True, text=True, timeout=120, env=os.environ | {"COLUMNS": "400"})
        assert shown.returncode == 0, shown.stderr
        return next(line for line in shown.stdout.splitlines() if "lip sync, measured by the audit" in line)

    missing = row()
    assert str(weights) in missing and "not a file" in missing and LICENCE in missing
    weights.write_bytes(b"weights")
    there = row()
    assert str(weights) in there and "not a file" not in there and LICENCE in there
