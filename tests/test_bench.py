"""`bench/gpu_backends.py --tiny` times tiny random-weight models of the real generators on the
CPU. It runs here as a user runs it (a subprocess, offline), so the bench cannot rot unnoticed."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import pytest
from conftest import REPO

from microdrama.pipeline.render.backends.coqui import CoquiVoice

REQUIRE_ALL = os.environ.get("MICRODRAMA_REQUIRE_ALL") == "1"  # CI: the video and music extras are installed


def installed(module: str) -> bool:
    return REQUIRE_ALL or importlib.util.find_spec(module) is not None


# The kinds the tiny run can time in this environment (coqui-tts lives in .venv-voice).
EXPECTED_KINDS = {kind for kind, present in [
    ("video", installed("diffusers")), ("image", installed("diffusers")), ("music", installed("transformers")),
    ("voice", CoquiVoice.availability().available),
] if present}


@pytest.fixture(scope="module")
def tiny_run() -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(REPO / "bench" / "gpu_backends.py"), "--tiny"],
        cwd=REPO, env=os.environ | {"HF_HUB_OFFLINE": "1"}, capture_output=True, text=True, timeout=300,
    )


def table_kinds(stdout: str) -> set[str]:
    """The first column of the table's rows (the lines after the header's dashes)."""
    lines = stdout.splitlines()
    rule = next(number for number, line in enumerate(lines) if line.startswith("----"))
    return {line.split()[0] for line in lines[rule + 1 :] if line.strip()}


def test_tiny_run_succeeds(tiny_run: subprocess.CompletedProcess[str]):
    assert tiny_run.returncode == 0, tiny_run.stderr[-3000:]


def test_tiny_run_prints_a_row_for_each_installed_kind(tiny_run: subprocess.CompletedProcess[str]):
    assert table_kinds(tiny_run.stdout) == EXPECTED_KINDS, tiny_run.stdout + tiny_run.stderr[-3000:]


@pytest.mark.skipif("voice" in EXPECTED_KINDS, reason="coqui-tts is importable here: the voice row is timed")
def test_tiny_run_says_why_the_voice_backend_is_skipped(tiny_run: subprocess.CompletedProcess[str]):
    skipped = [line for line in tiny_run.stderr.splitlines() if line.startswith("coqui (voice) skipped: ")]
    assert len(skipped) == 1 and "microdrama[voice]" in skipped[0]
