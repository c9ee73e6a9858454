"""The fast plan loader reads the same data as the round-trip loader, and leaves to it every file
it would read differently (so errors keep their lines)."""

from __future__ import annotations

import math

import pytest
from conftest import EXAMPLE
from ruamel.yaml import YAML

from microdrama.pipeline.core import fast_yaml
from microdrama.pipeline.core.errors import InputError
from microdrama.pipeline.core.models import Episode
from microdrama.pipeline.core.store import parse_model

# Plain scalars on which YAML 1.1 (PyYAML's default) and 1.2 (ruamel) disagree, and neighbours.
SCALARS = ["yes", "no", "on", "off", "No", "y", "True", "FALSE", "010", "08", "00", "0", "-0", "0o10", "0x1F",
           "-0x1f", "0b11", "1_000", "1:30", "12:30:00", "1e3", "1e", "e3", "0.1e+3", ".5", "+.5", "1.", ".inf",
           "-.inf", ".nan", "~", "null", "", "2024-01-01", "'010'", '"yes"', "a b"]


def same(expected, got) -> bool:
    if isinstance(expected, float) and math.isnan(expected):
        return isinstance(got, float) and math.isnan(got)
    return expected == got and isinstance(expected, type(got))  # ruamel's scalars subclass int, float...


@pytest.mark.parametrize("scalar", SCALARS)
def test_a_plain_scalar_reads_as_yaml_1_2_does(scalar):
    text = f"value: {scalar}\n"
    assert same(YAML(typ="rt").load(text)["value"], fast_yaml.load(text)["value"])


def test_the_example_plan_reads_the_same_as_round_trip():
    files = [EXAMPLE / "series.yaml", *sorted((EXAMPLE / "plan").glob("e*.yaml"))]
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert fast_yaml.load(text) == YAML(typ="rt").load(text), path


@pytest.mark.parametrize("text", ["a: 1\na: 2\n", "base: &b {x: 1}\nother:\n  <<: *b\n", "a: [1\n"])
def test_repeated_keys_merges_and_broken_yaml_are_left_to_the_round_trip_loader(text):
    with pytest.raises(fast_yaml.NotFast):
        fast_yaml.load(text)


def test_an_invalid_plan_file_still_names_its_line(tmp_path):
    text = (EXAMPLE / "plan" / "e01.yaml").read_text(encoding="utf-8")
    lines = text.splitlines()
    number = next(i for i, line in enumerate(lines) if line.strip().startswith("duration_frames:"))
    lines[number] = lines[number].split(":")[0] + ": 010x"
    with pytest.raises(InputError) as error:
        parse_model("\n".join(lines) + "\n", Episode, "plan/e01.yaml")
    assert f"plan/e01.yaml:{number + 1}" in str(error.value) and "duration_frames" in str(error.value)


def test_a_repeated_key_is_an_error_with_its_line():
    text = (EXAMPLE / "plan" / "e01.yaml").read_text(encoding="utf-8")
    with pytest.raises(InputError) as error:
        parse_model(text + "id: e01\n", Episode, "plan/e01.yaml")
    assert f"plan/e01.yaml:{text.count(chr(10)) + 1}" in str(error.value)



def ruamel_dump(data) -> str:
    """What the plan files were written with before: ruamel's pure-Python safe dumper."""
    import io

    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style, yaml.allow_unicode, yaml.width = False, True, 4096
    yaml.sort_base_mapping_type_on_output = False
    buffer = io.StringIO()
    yaml.dump(data, buffer)
    return buffer.getvalue()


# Strings whose quoting the two emitters could choose differently: apostrophes with and without a
# reason to quote, line breaks, leading and trailing spaces, indicators, non-ASCII.
WRITTEN = [*SCALARS, "it's", "Nora's radio: on", "'quoted'", "say \"hi\"", "two\nlines", "ends with a break\n",
           " lead", "trail ", "a: b", "- x", "#x", "x #y", "@x", "%x", "!x", "&x", "*x", "|", ">", "?", "[x]", "{x}",
           "x,y", "la rue 14°", "中文台词", "émoji 🎬", "a\u00a0b", "tab\tx", "\\", "...", "---", "=", "<<",
           " ".join(["word"] * 1200)]


@pytest.mark.parametrize("text", WRITTEN)
def test_the_plan_writer_writes_what_ruamel_wrote_and_reads_back(text):
    from microdrama.pipeline.core.store import dump_yaml_data

    data = {"id": "e01", "value": text, "list": [text, {"id": text, "n": [1, 2.5, None, True]}]}
    written = dump_yaml_data(data)
    assert written == ruamel_dump(data)
    assert fast_yaml.load(written) == data


@pytest.mark.parametrize("text", ["émoji 🎬", " ".join(["word"] * 1200)])
def test_what_libyaml_would_write_otherwise_is_left_to_ruamel(text):
    with pytest.raises(fast_yaml.NotFast):
        fast_yaml.dump({"value": text})


def test_the_example_plan_is_written_back_byte_for_byte():
    from microdrama.pipeline.core.store import dump_yaml_data

    for path in [EXAMPLE / "series.yaml", *sorted((EXAMPLE / "plan").glob("e*.yaml"))]:
        text = path.read_text(encoding="utf-8")
        assert dump_yaml_data(fast_yaml.load(text)) == text, path
