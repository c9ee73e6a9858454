"""Shared test setup.

- Real LLM endpoints are unreachable from tests: the OpenAI environment is cleared for every test.
- A test that logs at ERROR fails (an error log is a bug report nobody reads).
- `requires(tool)` skips a test whose system tool is missing, except in CI, where
  MICRODRAMA_REQUIRE_ALL=1 makes the missing tool a failure: CI installs every tool.
  `needs_package(module, install)` does the same for a Python package of an extra; in CI the
  test runs without it, and fails.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
from pathlib import Path

from collections import Counter

import pytest

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "episodes" / "rooftop-frequencies"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def requires(tool: str) -> pytest.MarkDecorator:
    missing = shutil.which(tool) is None
    if missing and os.environ.get("MICRODRAMA_REQUIRE_ALL") == "1":
        raise RuntimeError(f"{tool} is required in CI (MICRODRAMA_REQUIRE_ALL=1) but not installed")
    return pytest.mark.skipif(missing, reason=f"{tool} is not installed")


def needs_package(module: str, install: str) -> pytest.MarkDecorator:
    return pytest.mark.skipif(importlib.util.find_spec(module) is None
                              and os.environ.get("MICRODRAMA_REQUIRE_ALL") != "1",
                              reason=f"the {module} package is not installed: {install}")


needs_lipsync = needs_package("lipsync", "pip install 'microdrama[lipsync]'")


@pytest.fixture(autouse=True)
def _offline_llm(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "MICRODRAMA_MODEL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(autouse=True)
def _no_error_logs(caplog: pytest.LogCaptureFixture):
    yield
    errors = [r for r in caplog.get_records("call") if r.levelno >= logging.ERROR]
    if errors:
        pytest.fail("logged at ERROR: " + "; ".join(r.getMessage() for r in errors))


@pytest.fixture
def one_torch_thread():
    """A tiny model's steps are microseconds of work: with several threads, synchronising them
    costs 10 to 100 times more (measured on a busy 2-core machine)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def example_copy(tmp_path: Path) -> Path:
    """A private copy of the bundled example series folder (screenplay only)."""
    target = tmp_path / "rooftop-frequencies"
    target.mkdir()
    shutil.copy(EXAMPLE / "screenplay.fountain", target / "screenplay.fountain")
    return target


@pytest.fixture
def rendered(tmp_path: Path) -> Path:
    """A copy of the tiny show, rendered (list it before `calls`: the first use renders it)."""
    from tiny_show import rendered_show

    return rendered_show(tmp_path / "tiny-show")


@pytest.fixture
def calls(monkeypatch) -> Counter:
    """Counts real backend calls per backend kind and target id (the embedded backends)."""
    from microdrama.pipeline.render.backends.animatic import AnimaticVideo
    from microdrama.pipeline.render.backends.piper import PiperVoice
    from microdrama.pipeline.render.backends.synth import SynthMusic

    counter: Counter = Counter()

    def spy(cls, kind, target):
        original = cls.render

        def render(self, request):
            counter[kind] += 1
            counter[f"{kind}:{getattr(request, target)}"] += 1
            return original(self, request)

        monkeypatch.setattr(cls, "render", render)

    spy(AnimaticVideo, "video", "shot_id")
    spy(PiperVoice, "voice", "line_id")
    spy(SynthMusic, "music", "cue_id")
    return counter


@pytest.fixture(scope="module")
def wav2lip_checkpoint(tmp_path_factory) -> Path:
    """A random-weight Wav2Lip saved as the `lipsync` package saves its weights (a state dict)."""
    import torch
    from lipsync.models import Wav2Lip

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("wav2lip") / "wav2lip.pth"
    torch.save(Wav2Lip().state_dict(), path)
    return path


@pytest.fixture(scope="module")
def keyframe_pngs(tmp_path_factory) -> tuple[str, str]:
    """Two different reference images, not of the generation size (the video backends cover-resize)."""
    import numpy as np
    from PIL import Image

    folder = tmp_path_factory.mktemp("keyframes")
    paths = []
    for seed in (1, 2):
        path = folder / f"ref{seed}.png"
        pixels = np.random.default_rng(seed).integers(0, 256, size=(120, 80, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(path)
        paths.append(str(path))
    return paths[0], paths[1]
