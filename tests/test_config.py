"""Run settings: file < environment < flags; the README's configuration examples are valid."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import REPO
from microdrama.pipeline.render.backends import backend_class
from microdrama.pipeline.core.config import Settings
from microdrama.pipeline.core.errors import ConfigError
from microdrama.pipeline.core.models import CameraMove, Shot, ShotType
from microdrama.pipeline.render.renderer import video_backend


def write(folder: Path, text: str) -> Path:
    (folder / "microdrama.toml").write_text(text, encoding="utf-8")
    return folder


def test_file_then_environment_then_flags(tmp_path):
    write(tmp_path, '[run]\nrender_concurrency = 3\nplanner = "llm"\n')
    assert Settings.load(tmp_path, environ={}).render_concurrency == 3
    assert Settings.load(tmp_path, environ={"MICRODRAMA_RENDER_CONCURRENCY": "5"}).render_concurrency == 5
    assert Settings.load(tmp_path, environ={"MICRODRAMA_RENDER_CONCURRENCY": "5"}, render_concurrency=1).render_concurrency == 1
    assert Settings.load(tmp_path, environ={}).planner == "llm"


@pytest.mark.parametrize("text, message", [
    ("[run]\nrender_concurency = 3\n", "unknown [run] settings ['render_concurency']"),
    ('[run]\nplanner = "magic"\n', "planner must be 'rules' or 'llm'"),
    ("[run]\nrender_attempts = 'two'\n", "render_attempts must be an integer"),
    ('[backends]\nvidoe = "animatic"\n', "unknown [backends] settings"),
    ('[[backends.routes]]\nshot_types = ["CU"]\n', "needs `video`"),
    ("[run\n", "microdrama.toml"),
])
def test_bad_settings_are_named(tmp_path, text, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        Settings.load(write(tmp_path, text), environ={})


def test_the_readme_configuration_examples_load(tmp_path):
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```toml\n(.*?)```", readme, re.S)
    assert len(blocks) >= 2
    for block in blocks:
        Settings.load(write(tmp_path, block), environ={})


def test_a_route_whose_model_is_missing_falls_back_to_the_animatic_and_says_why(tmp_path):
    write(tmp_path, '[[backends.routes]]\nshot_types = ["CU"]\nvideo = "diffusers"\n'
                    f'options = {{ model = "{tmp_path / "no-such-model"}" }}\n')
    settings = Settings.load(tmp_path, environ={})
    close_up = Shot(id="e01s01k01", type=ShotType.CU, move=CameraMove.STATIC, duration_frames=24, seed=1)
    loaded, note = video_backend(close_up, settings)
    assert loaded.instance.name == "animatic"
    availability = backend_class("diffusers").availability()
    assert "no-such-model" in note or not availability.available
    wide = close_up.model_copy(update={"type": ShotType.WS})
    assert video_backend(wide, settings) == (video_backend(wide, settings)[0], "")
