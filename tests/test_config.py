"""Run settings: file < environment < flags, all checked at load with file:line:field problems; the
README's and the docstring's configuration examples are valid."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conftest import REPO
from microdrama.pipeline.core import config
from microdrama.pipeline.core.config import AuditOptions, InvalidSettings, Settings
from microdrama.pipeline.render.backends import backend_class, backend_names
from microdrama.pipeline.review import audit
from microdrama.pipeline.core.errors import ConfigError
from microdrama.pipeline.edit import ffmpeg
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


@pytest.mark.parametrize("text, line, where, message", [
    ("[run]\nrender_concurency = 3\n", 2, "run.render_concurency",
     "unknown key; known: allow_failed, continuity_rounds, episode_minutes, executor, planner, ray_address, "
     "ray_artifacts, render_attempts, render_concurrency, subtitles (did you mean render_concurrency?)"),
    ('[run]\nplanner = "magic"\n', 2, "run.planner", "Input should be 'rules' or 'llm' (got 'magic')"),
    ("[run]\nrender_attempts = 'two'\n", 2, "run.render_attempts", "Input should be a valid integer"),
    ("[run]\n\nrender_concurrency = 0\n", 3, "run.render_concurrency", "greater than or equal to 1"),
    ("[run]\ncontinuity_rounds = -1\n", 2, "run.continuity_rounds", "greater than or equal to 0"),
    ('[run]\nsubtitles = "hard"\n', 2, "run.subtitles", "'burned', 'soft', 'both' or 'none'"),
    ('[run]\nallow_failed = "maybe"\n', 2, "run.allow_failed", "valid boolean"),
    ('[runn]\nplanner = "llm"\n', 1, "runn", "unknown key; known tables: run, llm, backends, audit, cost"),
    ('planner = "llm"\n', 1, "planner", "(planner is a [run] setting)"),
    ("run = 3\n", 1, "run", "must be a table ([run]), got an integer"),
    ('[backends]\nvidoe = "animatic"\n', 2, "backends.vidoe",
     "unknown key; known: actors, music, options, routes, sfx, video, voice (did you mean video?)"),
    ('[backends]\nvideo = "synth"\n', 2, "backends.video", "backend 'synth' makes music, not video"),
    ('[backends]\nmusic = "piper"\n', 2, "backends.music", "backend 'piper' makes voice, not music"),
    ('[backends]\nvoice = "nosuch"\n', 2, "backends.voice", "unknown backend 'nosuch'; known voice backends:"),
    ('[backends]\nmusic = "musicgen"\n', 2, "backends.music",
     "backend 'musicgen' needs model: set it in [backends.options.musicgen]"),
    ("[backends.options.nosuch]\nx = 1\n", 1, "backends.options.nosuch", "unknown backend 'nosuch'"),
    ('[backends.options.synth]\nsample_rate = 100\n', 2, "backends.options.synth.sample_rate",
     "greater than or equal to 8000"),
    ('[[backends.routes]]\nshot_types = ["CU"]\n', 1, "backends.routes#1.video", "Field required"),
    ('[[backends.routes]]\nvideo = "animatic"\nshot_types = ["CU", "XX"]\n', 3, "backends.routes#1.shot_types#2",
     "Input should be 'ECU', 'CU'"),
    ('[[backends.routes]]\nvideo = "animatic"\n\n[[backends.routes]]\nvideo = "synth"\n', 5,
     "backends.routes#2.video", "backend 'synth' makes music, not video"),
    ('[[backends.routes]]\nvideo = "animatic"\noptions = { capton = false }\n', 3,
     "backends.routes#1.options.capton", "unknown key; known: "),
    ('[[backends.routes]]\nvideo = "diffusers"\noptions = { model = "/m", mode = "v2v" }\n', 3,
     "backends.routes#1.options.mode", "Input should be 'auto', 't2v' or 'i2v' (got 'v2v')"),
    ("[audit]\nblack_share = 2\n", 2, "audit.black_share", "less than or equal to 1 (got 2)"),
    ('[llm]\nmodle = "m"\n', 2, "llm.modle", "unknown key; known: agents"),
    ('[llm]\nagents = [\n  { agent = "writer", model = "a" },\n  { agent = "w2" },\n]\n', 2,
     "llm.agents#2.model", "Field required"),
    ("[run\n", 1, None, "(column 5)"),
])
def test_bad_settings_are_named_by_file_line_and_field(tmp_path, text, line, where, message):
    with pytest.raises(ConfigError) as caught:
        Settings.load(write(tmp_path, text), environ={})
    place = f"{tmp_path / 'microdrama.toml'}:{line}: " + (f"{where}: " if where else "")
    assert str(caught.value).startswith(place), str(caught.value)
    assert message in str(caught.value)


def test_every_problem_is_reported_at_once_in_line_order(tmp_path):
    write(tmp_path, '[run]\nplanner = "magic"\nrender_attempts = 0\n\n[backends]\nvideo = "sora"\n\n'
                    '[audit]\nblack_lumaa = 0.2\n')
    with pytest.raises(InvalidSettings) as caught:
        Settings.load(tmp_path, environ={"MICRODRAMA_RENDER_CONCURRENCY": "many"})
    lines = str(caught.value).splitlines()
    assert [(p.line, p.field) for p in caught.value.problems] == [
        (2, "run.planner"), (3, "run.render_attempts"), (6, "backends.video"), (9, "audit.black_lumaa"),
        (None, "run.render_concurrency")]
    assert len(lines) == 5 and lines[-1].startswith("environment variable MICRODRAMA_RENDER_CONCURRENCY: ")


def test_a_backend_option_typo_is_rejected_at_load(tmp_path):
    write(tmp_path, '[backends]\nvideo = "animatic"\n\n[backends.options.animatic]\nburn_subtitles = true\n')
    with pytest.raises(ConfigError) as caught:
        Settings.load(tmp_path, environ={})
    known = ", ".join(sorted(backend_class("animatic").Options.model_fields))
    assert str(caught.value).startswith(
        f"{tmp_path / 'microdrama.toml'}:5: backends.options.animatic.burn_subtitles: unknown key; known: {known}")


def test_an_audit_typo_is_rejected_at_load(tmp_path):
    write(tmp_path, '[audit]\nclip_model = "/models/clip"\nblack_lumaa = 0.2\n')
    with pytest.raises(ConfigError) as caught:
        Settings.load(tmp_path, environ={})
    assert str(caught.value).startswith(f"{tmp_path / 'microdrama.toml'}:3: audit.black_lumaa: unknown key; known: ")
    assert "(did you mean black_luma?)" in str(caught.value)


def test_the_audit_table_is_validated_audit_options(tmp_path):
    assert audit.AuditOptions is AuditOptions  # configuration owns the model; the audit's name stays
    assert Settings(series_dir=tmp_path).audit == AuditOptions()
    assert AuditOptions().loudness_target_lufs == ffmpeg.LOUDNESS_TARGET_LUFS  # the audit holds mastering's target
    assert Settings.load(tmp_path, environ={}).audit == AuditOptions()
    loaded = Settings.load(write(tmp_path, "[audit]\nblack_luma = 0.2\n"), environ={}).audit
    assert isinstance(loaded, AuditOptions) and loaded.black_luma == 0.2 and loaded.black_share == 0.99


def test_a_route_to_an_unknown_backend_is_rejected_at_load(tmp_path):
    write(tmp_path, '[[backends.routes]]\nvideo = "animatic"\n\n[[backends.routes]]  # close-ups\n'
                    'shot_types = ["CU"]\nvideo = "sora"\noptions = { quality = "max" }\n')
    with pytest.raises(ConfigError) as caught:
        Settings.load(tmp_path, environ={})
    assert str(caught.value) == (f"{tmp_path / 'microdrama.toml'}:6: backends.routes#2.video: unknown backend "
                                 "'sora'; known video backends: " + ", ".join(video_backends()))


def video_backends() -> list[str]:
    return [name for name in backend_names() if backend_class(name).kind == "video"]


def test_an_environment_variable_with_a_bad_value_is_named(tmp_path):
    write(tmp_path, "[run]\nrender_attempts = 3\n")
    with pytest.raises(ConfigError) as caught:
        Settings.load(tmp_path, environ={"MICRODRAMA_RENDER_ATTEMPTS": "two"})
    assert str(caught.value) == ("environment variable MICRODRAMA_RENDER_ATTEMPTS: run.render_attempts: Input should "
                                 "be a valid integer, unable to parse string as an integer (got 'two')")
    with pytest.raises(ConfigError, match="^environment variable MICRODRAMA_ALLOW_FAILED: run.allow_failed: "):
        Settings.load(tmp_path, environ={"MICRODRAMA_ALLOW_FAILED": "maybe"})
    with pytest.raises(ConfigError, match="^environment variable MICRODRAMA_STRUCTURED_OUTPUT: llm.structured_output"):
        Settings.load(tmp_path, environ={"MICRODRAMA_STRUCTURED_OUTPUT": "xml"})
    settings = Settings.load(tmp_path, environ={"MICRODRAMA_ALLOW_FAILED": "yes", "MICRODRAMA_SUBTITLES": "soft"})
    assert settings.allow_failed is True and settings.subtitles == "soft" and settings.render_attempts == 3


def test_a_bad_file_value_is_reported_even_where_the_environment_overrides_it(tmp_path):
    write(tmp_path, "[run]\nrender_attempts = 'two'\n")
    with pytest.raises(ConfigError, match=r"microdrama.toml:2: run.render_attempts: "):
        Settings.load(tmp_path, environ={"MICRODRAMA_RENDER_ATTEMPTS": "3"})


def test_a_bad_flag_is_named(tmp_path):
    with pytest.raises(ConfigError, match="^flag --render-concurrency: run.render_concurrency: Input should be "
                                          "greater than or equal to 1"):
        Settings.load(tmp_path, environ={}, render_concurrency=0)


def test_an_api_key_in_the_file_is_refused_without_showing_it(tmp_path):
    write(tmp_path, '[llm]\nmodel = "m"\napi_key = "sk-secret-123"\n')
    with pytest.raises(ConfigError) as caught:
        Settings.load(tmp_path, environ={})
    assert str(caught.value).startswith(f"{tmp_path / 'microdrama.toml'}:3: llm.api_key: not allowed here")
    assert "sk-secret-123" not in str(caught.value)


def docstring_example() -> str:
    """The indented TOML block of pipeline/core/config.py's docstring."""
    doc = config.__doc__
    block = doc[doc.index("    # episodes/<slug>/microdrama.toml"):]
    return textwrap.dedent(block)


def test_the_docstring_example_loads(tmp_path):
    settings = Settings.load(write(tmp_path, docstring_example()), environ={})
    assert settings.subtitles == "burned" and settings.render_concurrency == 2
    assert settings.backends.options_for("animatic") == {"caption": False}
    assert settings.audit.clip_model == "/models/clip-vit-base-patch32"
    assert settings.llm.model_for("writer") == "gpt-4.1"
    (route,) = settings.backends.routes
    assert route.video == "diffusers" and route.shot_types == ("CU", "MCU") and route.matches("CU")
    assert not route.matches("WS") and route.options == {"model": "/models/wan2.1-i2v-480p", "mode": "i2v"}


def test_loading_every_backend_s_options_imports_no_heavy_package(tmp_path):
    write(tmp_path, docstring_example() + '\n[backends.options.coqui]\nmodel_dir = "/models/xtts"\n'
                    '[backends.options.musicgen]\nmodel = "/models/musicgen-small"\n')
    script = ("import sys; from pathlib import Path; from microdrama.pipeline.core.config import Settings; "
              f"Settings.load(Path({str(tmp_path)!r}), environ={{}}); "
              "print(sorted(m for m in ('torch', 'diffusers', 'transformers', 'TTS') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_keys_are_placed_on_their_lines():
    text = ('top = 1\n'
            '[a]\n'
            'b.c = """\n'
            'not = "a key"\n'
            '"""\n'
            'list = [\n'
            '  { inner = 1 },  # ] not the end\n'
            ']\n'
            '"quoted.key" = 2\n'
            "[[r]]\n"
            "x = 1\n"
            "[[r]]\n"
            "[r.sub]\n"
            "y = 'it''s'\n")
    lines = config._KeyLines(text)
    assert lines.line(("top",)) == 1 and lines.line(("a",)) == 2
    assert lines.line(("a", "b")) == 3 and lines.line(("a", "b", "c")) == 3
    assert lines.line(("a", "not")) == 2  # inside a string: falls back to its table
    assert lines.line(("a", "list", 0, "inner")) == 6
    assert lines.line(("a", "quoted.key")) == 9
    assert lines.line(("r", 0, "x")) == 11 and lines.line(("r", 1)) == 12
    assert lines.line(("r", 1, "sub", "y")) == 14 and lines.line(("r", 1, "nothing")) == 12
    assert lines.line(("elsewhere",)) is None


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


def test_episode_minutes_is_a_run_setting_checked_at_load(tmp_path):
    assert Settings.load(write(tmp_path, "[run]\nepisode_minutes = 3\n"), environ={}).episode_minutes == 3
    with pytest.raises(ConfigError, match="run.episode_minutes: Input should be less than or equal to 15"):
        Settings.load(write(tmp_path, "[run]\nepisode_minutes = 90\n"), environ={})
