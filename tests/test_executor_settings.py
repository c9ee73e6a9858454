"""The executor settings: [run] executor / ray_address / ray_artifacts and [backends.actors],
checked when the settings load, each problem at its line."""

from __future__ import annotations

from pathlib import Path

import pytest

from microdrama.pipeline.core.config import ActorResources, InvalidSettings, Settings


def test_executor_settings_load_from_the_file_and_flags(tmp_path: Path):
    (tmp_path / "microdrama.toml").write_text(
        '[run]\nexecutor = "ray"\nray_artifacts = "driver"\n\n'
        '[backends.actors.animatic]\nactors = 3\nnum_gpus = 0.5\nmemory_mb = 2000\n', encoding="utf-8")
    settings = Settings.load(tmp_path, environ={}, ray_address="ray://head:10001")
    assert (settings.executor, settings.ray_address, settings.ray_artifacts) == ("ray", "ray://head:10001", "driver")
    assert settings.actors == {"animatic": ActorResources(actors=3, num_gpus=0.5, memory_mb=2000)}
    assert Settings.load(tmp_path, environ={}, executor="local").executor == "local"


def test_bad_executor_settings_are_named_with_their_line(tmp_path: Path):
    (tmp_path / "microdrama.toml").write_text(
        '[run]\nexecutor = "rey"\n\n[backends.actors.animatic]\nactors = 0\n\n'
        '[backends.actors.nosuch]\nactors = 2\n\n[backends.actors.synth]\nnum_gpu = 1\n', encoding="utf-8")
    with pytest.raises(InvalidSettings) as caught:
        Settings.load(tmp_path, environ={})
    lines = str(caught.value).splitlines()
    path = tmp_path / "microdrama.toml"
    assert lines[0].startswith(f"{path}:2: run.executor: Input should be 'local' or 'ray'")
    assert lines[1].startswith(f"{path}:5: backends.actors.animatic.actors: Input should be greater than or equal to 1")
    assert lines[2].startswith(f"{path}:7: backends.actors.nosuch: unknown backend 'nosuch'")
    assert lines[3].startswith(f"{path}:11: backends.actors.synth.num_gpu: unknown key") and "num_gpus" in lines[3]


def test_a_flag_naming_an_unknown_executor_is_named(tmp_path: Path):
    with pytest.raises(InvalidSettings, match="flag --executor"):
        Settings.load(tmp_path, environ={}, executor="slurm")
