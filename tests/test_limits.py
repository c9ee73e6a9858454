"""The bounds of core/limits.py, through the real entry points: a hand edit of a plan file over a
bound is refused by `microdrama review` with one line naming the file, line and field (exit 1,
no traceback), and a screenplay that cannot be planned within them is refused by
`microdrama plan`, naming the screenplay's file and line, before anything is written. Before the
limits, `duration_frames: 1000000000` passed review with 0 findings and then rendered until the
disk was full; a 1 MB string was copied into every plan file and prompt that held it."""

from __future__ import annotations

import ast
import copy
import io
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from pydantic import ValidationError
from ruamel.yaml import YAML

from conftest import REPO
from microdrama.agents.llm import strict_json_schema
from microdrama.agents.shot_planner import ShotList
from microdrama.pipeline.core import limits
from microdrama.pipeline.core.models import (
    Character,
    FramedCharacter,
    Location,
    MusicCue,
    Scene,
    ScreenPosition,
    Series,
    Setting,
    Shot,
    ShotType,
)
from microdrama.pipeline.plan.shot_prompt import compose_prompt
from tiny_show import approved_show

MICRODRAMA = str(Path(sys.executable).with_name("microdrama"))
EPISODE = "plan/e01.yaml"
SERIES = "series.yaml"


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([MICRODRAMA, *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.width = 4096
    return yaml


def edit(folder: Path, file: str, change: Callable[[dict], None]) -> None:
    path = folder / file
    data = _yaml().load(path.read_text(encoding="utf-8"))
    change(data)
    buffer = io.StringIO()
    _yaml().dump(data, buffer)
    path.write_text(buffer.getvalue(), encoding="utf-8")


def line_of(folder: Path, file: str, loc: tuple) -> int:
    """1-based line of the last key (or list item) along `loc` in the edited file."""
    node, line = _yaml().load((folder / file).read_text(encoding="utf-8")), None
    for key in loc:
        line = (node.lc.item(key) if isinstance(key, int) else node.lc.key(key))[0] + 1
        node = node[key]
    return line


def put(loc: tuple, value) -> Callable[[dict], None]:
    def change(data: dict) -> None:
        node = data
        for key in loc[:-1]:
            node = node[key]
        node[loc[-1]] = value
    return change


def _copies(item: dict, count: int, ids: str | None = None) -> list[dict]:
    made = [copy.deepcopy(item) for _ in range(count)]
    for number, one in enumerate(made, start=1):
        if ids:
            one["id"] = ids.format(number)
    return made


def shots_in_first_scene(count: int, **fields) -> Callable[[dict], None]:
    def change(data: dict) -> None:
        shots = _copies(data["scenes"][0]["shots"][0], count, "e01s01k{:02d}")
        for shot in shots:
            shot.update(fields)
        data["scenes"][0]["shots"] = shots
    return change


def many_scenes(count: int, shots_each: int) -> Callable[[dict], None]:
    def change(data: dict) -> None:
        scene = data["scenes"][0]
        scene["shots"] = _copies(scene["shots"][0], shots_each)
        data["scenes"] = _copies(scene, count, "e01s{:02d}")
    return change


def lines_in_shots(shots: int, lines_each: int) -> Callable[[dict], None]:
    def change(data: dict) -> None:
        speaking = data["scenes"][0]["shots"][2]  # the tiny show's first shot with a line
        speaking["dialogue"] = _copies(speaking["dialogue"][0], lines_each, "e01s01l{:02d}")
        data["scenes"][0]["shots"] = _copies(speaking, shots, "e01s01k{:02d}")
    return change


def cast(count: int) -> Callable[[dict], None]:
    def change(data: dict) -> None:
        data["characters"] = _copies(data["characters"][0], count, "anna-{}")
    return change


def outlines(count: int) -> Callable[[dict], None]:
    def change(data: dict) -> None:
        data["episodes"] = _copies(data["episodes"][0], count, "e{:02d}")
    return change


SHOT = ("scenes", 0, "shots", 0)
SHOT2 = ("scenes", 0, "shots", 1)
SHOT4 = ("scenes", 0, "shots", 3)
LINE = ("scenes", 0, "shots", 2, "dialogue", 0)
SHOT_FIELD = "scenes[0] (e01s01).shots[0] (e01s01k01)"
SHOT2_FIELD = "scenes[0] (e01s01).shots[1] (e01s01k02)"
LINE_FIELD = "scenes[0] (e01s01).shots[2] (e01s01k03).dialogue[0] (e01s01l01)"
ANNA = ("characters", 0)
BEN = ("characters", 1)

# (file, where the bad value is, the field the error names, the edit)
# Counts and totals: each edit rebuilds part of the file, so each is reviewed on its own.
COUNTS = {
    "episode duration": (EPISODE, ("scenes",), "scenes",
                         shots_in_first_scene(limits.MAX_EPISODE_FRAMES // limits.MAX_SHOT_FRAMES + 1,
                                              duration_frames=limits.MAX_SHOT_FRAMES)),
    "scenes per episode": (EPISODE, ("scenes",), "scenes", many_scenes(limits.MAX_SCENES_PER_EPISODE + 1, 1)),
    "shots per scene": (EPISODE, ("scenes", 0, "shots"), "scenes[0] (e01s01).shots",
                        shots_in_first_scene(limits.MAX_SHOTS_PER_SCENE + 1)),
    "shots per episode": (EPISODE, ("scenes",), "scenes",
                          many_scenes(limits.MAX_SHOTS_PER_EPISODE // limits.MAX_SHOTS_PER_SCENE + 1,
                                      limits.MAX_SHOTS_PER_SCENE)),
    "lines per shot": (EPISODE, ("scenes", 0, "shots", 0, "dialogue"), f"{SHOT_FIELD}.dialogue",
                       lines_in_shots(1, limits.MAX_LINES_PER_SHOT + 1)),
    "lines per episode": (EPISODE, ("scenes",), "scenes",
                          lines_in_shots(limits.MAX_LINES_PER_EPISODE // limits.MAX_LINES_PER_SHOT + 1,
                                         limits.MAX_LINES_PER_SHOT)),
    "characters in the bible": (SERIES, ("characters",), "characters", cast(limits.MAX_BIBLE_ENTRIES + 1)),
    "locations in the bible": (SERIES, ("locations",), "locations",
                               lambda data: data.__setitem__("locations", _copies(
                                   data["locations"][0], limits.MAX_BIBLE_ENTRIES + 1, "place-{}"))),
    "episodes in the bible": (SERIES, ("episodes",), "episodes", outlines(limits.MAX_EPISODES + 1)),
}

# One value each, in fields of their own: all of them go into one edit, reviewed once, and every
# one must be reported at its own line (review reports every problem of the plan at once).
FIELDS = {
    "shot duration": (EPISODE, SHOT + ("duration_frames",), f"{SHOT_FIELD}.duration_frames",
                      put(SHOT + ("duration_frames",), limits.MAX_SHOT_FRAMES + 1)),
    "line duration": (EPISODE, LINE + ("duration_frames",), f"{LINE_FIELD}.duration_frames",
                      put(LINE + ("duration_frames",), limits.MAX_SHOT_FRAMES + 1)),
    "line offset": (EPISODE, LINE + ("offset_frames",), f"{LINE_FIELD}.offset_frames",
                    put(LINE + ("offset_frames",), limits.MAX_SHOT_FRAMES + 1)),
    "characters in a scene": (EPISODE, ("scenes", 0, "characters"), "scenes[0] (e01s01).characters",
                              put(("scenes", 0, "characters"),
                                  [f"c{n}" for n in range(limits.MAX_CHARACTERS_PER_SCENE + 1)])),
    "characters in a shot": (EPISODE, SHOT2 + ("characters",), f"{SHOT2_FIELD}.characters",
                             put(SHOT2 + ("characters",),
                                 [{"character": f"c{n}", "position": "left"}
                                  for n in range(limits.MAX_CHARACTERS_PER_SCENE + 1)])),
    "sound effects": (EPISODE, SHOT2 + ("sfx",), f"{SHOT2_FIELD}.sfx",
                      put(SHOT2 + ("sfx",), ["knock"] * (limits.MAX_SFX_PER_SHOT + 1))),
    "aliases": (SERIES, BEN + ("aliases",), "characters[1] (ben).aliases",
                put(BEN + ("aliases",), [f"BEN {n}" for n in range(limits.MAX_ALIASES + 1)])),
    "dialogue text": (EPISODE, LINE + ("text",), f"{LINE_FIELD}.text",
                      put(LINE + ("text",), "x" * (limits.MAX_LINE_CHARS + 1))),
    "parenthetical": (EPISODE, LINE + ("parenthetical",), f"{LINE_FIELD}.parenthetical",
                      put(LINE + ("parenthetical",), "x" * (limits.MAX_LABEL_CHARS + 1))),
    "shot action": (EPISODE, SHOT + ("action",), f"{SHOT_FIELD}.action",
                    put(SHOT + ("action",), "x" * (limits.MAX_DESCRIPTION_CHARS + 1))),
    "shot prompt": (EPISODE, SHOT + ("prompt",), f"{SHOT_FIELD}.prompt",
                    put(SHOT + ("prompt",), "x" * (limits.MAX_PROMPT_CHARS + 1))),
    "title card": (EPISODE, SHOT + ("title_card",), f"{SHOT_FIELD}.title_card",
                   put(SHOT + ("title_card",), "x" * (limits.MAX_LABEL_CHARS + 1))),
    "sound effect name": (EPISODE, SHOT + ("sfx", 0, "sound"), f"{SHOT_FIELD}.sfx[0].sound",
                          put(SHOT + ("sfx",), [{"sound": "x" * (limits.MAX_LABEL_CHARS + 1)}])),
    "scene heading": (EPISODE, ("scenes", 0, "heading"), "scenes[0] (e01s01).heading",
                      put(("scenes", 0, "heading"), "INT. " + "X" * limits.MAX_LABEL_CHARS)),
    "scene summary": (EPISODE, ("scenes", 0, "summary"), "scenes[0] (e01s01).summary",
                      put(("scenes", 0, "summary"), "x" * (limits.MAX_DESCRIPTION_CHARS + 1))),
    "episode title": (EPISODE, ("title",), "title", put(("title",), "x" * (limits.MAX_LABEL_CHARS + 1))),
    "shot id": (EPISODE, SHOT4 + ("id",), f"scenes[0] (e01s01).shots[3] (e01s01k{'1' * limits.MAX_ID_CHARS}).id",
                put(SHOT4 + ("id",), "e01s01k" + "1" * limits.MAX_ID_CHARS)),
    "source line": (EPISODE, LINE + ("source_line",), f"{LINE_FIELD}.source_line",
                    put(LINE + ("source_line",), limits.MAX_SCREENPLAY_BYTES + 1)),
    "character name": (SERIES, ANNA + ("name",), "characters[0] (anna).name",
                       put(ANNA + ("name",), "A" * (limits.MAX_NAME_CHARS + 1))),
    "character description": (SERIES, ANNA + ("description",), "characters[0] (anna).description",
                              put(ANNA + ("description",), "x" * (limits.MAX_DESCRIPTION_CHARS + 1))),
    "keyframe path": (SERIES, ANNA + ("keyframe",), "characters[0] (anna).keyframe",
                      put(ANNA + ("keyframe",), "k/" * (limits.MAX_PATH_CHARS // 2 + 1))),
    "voice backend": (SERIES, ANNA + ("voice", "backend"), "characters[0] (anna).voice.backend",
                      put(ANNA + ("voice", "backend"), "x" * (limits.MAX_LABEL_CHARS + 1))),
    "visual style": (SERIES, ("visual_style",), "visual_style",
                     put(("visual_style",), "x" * (limits.MAX_DESCRIPTION_CHARS + 1))),
    "language": (SERIES, ("language",), "language",
                 put(("language",), "en" + "-x" * limits.MAX_LABEL_CHARS)),
}

# Bounds the models had before core/limits.py held them, kept here so that the move changes
# nothing (these passed before the limits too).
HELD_BEFORE = {
    "fps": (SERIES, ("fps",), "fps", put(("fps",), limits.MAX_FPS + 1)),
    "frame side": (SERIES, ("resolution",), "resolution",
                   put(("resolution",), f"{limits.MAX_FRAME_SIDE}x{limits.MAX_FRAME_SIDE + 2}")),
    "voice speed": (SERIES, ANNA + ("voice", "speed"), "characters[0] (anna).voice.speed",
                    put(ANNA + ("voice", "speed"), limits.MAX_VOICE_SPEED + 0.5)),
    "voice pitch": (SERIES, ANNA + ("voice", "pitch"), "characters[0] (anna).voice.pitch",
                    put(ANNA + ("voice", "pitch"), limits.MAX_VOICE_PITCH + 1)),
    "tempo": (EPISODE, ("scenes", 0, "music", "tempo_bpm"), "scenes[0] (e01s01).music.tempo_bpm",
              put(("scenes", 0, "music", "tempo_bpm"), limits.MAX_TEMPO_BPM + 1)),
    "seed": (EPISODE, SHOT + ("seed",), f"{SHOT_FIELD}.seed", put(SHOT + ("seed",), limits.MAX_SEED + 1)),
    "bible id": (SERIES, BEN + ("id",), f"characters[1] ({'b' * (limits.MAX_BIBLE_ID_CHARS + 1)}).id",
                 put(BEN + ("id",), "b" * (limits.MAX_BIBLE_ID_CHARS + 1))),
}


def _review(folder: Path) -> str:
    done = cli("review", str(folder), cwd=folder.parent)
    assert done.returncode == 1, done.stdout[-2000:] + done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    return done.stderr


def _where(folder: Path, file: str, loc: tuple, field: str) -> str:
    return f"{file}:{line_of(folder, file, loc)}: {field}:"


def _refused_together(folder: Path, cases: dict) -> str:
    for file, _loc, _field, change in cases.values():
        edit(folder, file, change)
    stderr = _review(folder)
    unreported = {name: _where(folder, *case[:3]) for name, case in cases.items()
                  if _where(folder, *case[:3]) not in stderr}
    assert not unreported, (unreported, stderr[-3000:])
    return stderr


@pytest.mark.parametrize("bound", sorted(COUNTS))
def test_a_plan_edit_over_a_count_is_refused_at_review_naming_file_line_and_field(tmp_path, bound):
    folder = approved_show(tmp_path / "show")
    _refused_together(folder, {bound: COUNTS[bound]})


def test_every_value_over_its_bound_is_refused_at_review_each_at_its_file_line_and_field(tmp_path):
    _refused_together(approved_show(tmp_path / "show"), FIELDS)


@pytest.mark.parametrize("bound", ["fps below", "the others"])
def test_the_bounds_held_before_the_limits_module_still_hold(tmp_path, bound):
    cases = ({"fps": (SERIES, ("fps",), "fps", put(("fps",), limits.MIN_FPS - 1))} if bound == "fps below"
             else HELD_BEFORE)
    _refused_together(approved_show(tmp_path / "show"), cases)


def test_a_billion_frame_shot_is_an_error_at_review_not_a_runaway_render(tmp_path):
    folder = approved_show(tmp_path / "show")
    case = (EPISODE, SHOT + ("duration_frames",), f"{SHOT_FIELD}.duration_frames",
            put(SHOT + ("duration_frames",), 1_000_000_000))
    stderr = _refused_together(folder, {"shot": case})
    assert str(limits.MAX_SHOT_FRAMES) in stderr
    done = cli("render", str(folder), "--yes", cwd=folder.parent)
    assert done.returncode == 1 and "duration_frames" in done.stderr and not (folder / "out").exists()


def test_an_episode_over_its_length_names_the_shot_that_crosses_it(tmp_path):
    folder = approved_show(tmp_path / "show")
    stderr = _refused_together(folder, {"episode": COUNTS["episode duration"]})
    count = limits.MAX_EPISODE_FRAMES // limits.MAX_SHOT_FRAMES + 1
    assert f"e01s01k{count:02d}" in stderr and str(limits.MAX_EPISODE_FRAMES) in stderr


# --- screenplays -------------------------------------------------------------------------------

LINE_TEXT = "This is a fairly ordinary line of dialogue that goes on for a while, and a bit more."


def _two_hours() -> str:
    """40 scenes of 18 lines: two and a half hours of talk, each scene and shot within bounds."""
    scenes = []
    for number in range(40):
        speeches = "\n".join(f"{'ANNA' if i % 2 == 0 else 'BEN'}\n{LINE_TEXT} {LINE_TEXT}\n" for i in range(18))
        scenes.append(f"INT. ROOM {number} - DAY\n\nANNA (30s) and BEN (40s) sit.\n\n{speeches}")
    return "Title: Long\n\n# Episode 1: Talk\n\n" + "\n".join(scenes)


# (screenplay text, the line the error names, the field it names, words of the message)
SCREENPLAYS = {
    "a 100 KB speech": ("Title: T\n\nINT. ROOM - DAY\n\nANNA (30s) sits.\n\nANNA\n" + "word " * 20_000 + "\n",
                        8, "e01s01l01.text", f"at most {limits.MAX_LINE_CHARS} characters"),
    "an episode of two hours of dialogue": (_two_hours(), 3, "e01.scenes", "minutes"),
    "a Chinese speech too long for one shot": (
        "Title: 长\nLanguage: zh\n\n内景 房间 - 日\n\n@林雨\n" + "我" * 500 + "\n",
        7, "e01s01k02.duration_frames", f"at most {limits.MAX_SHOT_FRAMES} frames"),
    "a monologue too long for one shot": (
        "Title: T\n\nINT. ROOM - DAY\n\nANNA (30s) sits.\n\n"
        + "\n".join(f"ANNA\n{LINE_TEXT * 3}\n" for _ in range(12)),
        8, "e01s01k03.offset_frames", "split it"),
    "too many scenes": ("Title: T\n\n" + "\n".join(f"INT. ROOM {i} - DAY\n\nA room.\n"
                                                  for i in range(limits.MAX_SCENES_PER_EPISODE + 1)),
                        1, "e01.scenes", f"at most {limits.MAX_SCENES_PER_EPISODE}"),
    "too many shots in a scene": (
        "Title: T\n\nINT. ROOM - DAY\n\n" + "\n".join(f"{'ANNA' if i % 2 else 'BEN'}\nHi.\n"
                                                     for i in range(limits.MAX_SHOTS_PER_SCENE + 1)),
        3, "e01s01.shots", f"at most {limits.MAX_SHOTS_PER_SCENE}"),
    "a crowd in one scene": ("Title: T\n\nINT. HALL - DAY\n\n" + "\n".join(
        f"P{i}\nHello.\n" for i in range(limits.MAX_CHARACTERS_PER_SCENE + 1)),
        3, "e01s01.characters", f"at most {limits.MAX_CHARACTERS_PER_SCENE}"),
    "a cue too long for a name": ("Title: T\n\nINT. HALL - DAY\n\n" + "A" * (limits.MAX_NAME_CHARS + 1) + "\nHello.\n",
                                  5, "e01s01.cue.name", f"at most {limits.MAX_NAME_CHARS} characters"),
    "an action paragraph too long": ("Title: T\n\nINT. HALL - DAY\n\n"
                                     + "word " * (limits.MAX_DESCRIPTION_CHARS // 4) + "\n",
                                     5, "e01s01.action.text", f"at most {limits.MAX_DESCRIPTION_CHARS} characters"),
    "a card too long to read": ("Title: T\n\nINT. HALL - DAY\n\nA room.\n\n>"
                                + "END " * (limits.MAX_LABEL_CHARS // 3) + "<\n",
                                7, "e01s01.card", f"at most {limits.MAX_LABEL_CHARS} characters"),
}


@pytest.mark.parametrize("case", sorted(SCREENPLAYS))
def test_a_screenplay_over_a_bound_is_refused_at_plan_naming_its_file_and_line(tmp_path, case):
    text, line, field, words = SCREENPLAYS[case]
    screenplay = tmp_path / "big.fountain"
    screenplay.write_text(text, encoding="utf-8")
    done = cli("plan", str(screenplay), "--root", "shows", cwd=tmp_path)
    assert done.returncode == 1, done.stdout[-2000:]
    assert "Traceback" not in done.stderr
    assert f"big.fountain:{line}: {field}:" in done.stderr and words in done.stderr, done.stderr[-3000:]
    assert not (tmp_path / "shows").exists()


# --- the bounds themselves ---------------------------------------------------------------------


def test_a_shout_in_capitals_is_no_alias_and_no_character(tmp_path):
    """Capitals longer than a name can be are not taken for a cue spelling: a screenplay with an
    all-capitals action line still plans."""
    shout = "ANNA " + "SCREAMS AT THE TOP OF HER LUNGS " * 5
    screenplay = tmp_path / "shout.fountain"
    screenplay.write_text(f"Title: Shout\n\nINT. HALL - DAY\n\n{shout.strip()} (30s, red coat).\n\nANNA\nHelp!\n",
                          encoding="utf-8")
    done = cli("plan", str(screenplay), "--root", "shows", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    series = Series.model_validate(YAML(typ="safe").load((tmp_path / "shows" / "shout" / "series.yaml").read_text()))
    assert all(len(alias) <= limits.MAX_NAME_CHARS for c in series.characters for alias in c.aliases)


def test_the_longest_prompt_the_bible_allows_is_composed_and_accepted():
    """The prompt bound is the longest composition the other bounds allow: a prompt composed from
    a bible at every bound is never refused (names that lengthen when case-mapped included)."""
    long = "x" * limits.MAX_DESCRIPTION_CHARS
    name = "İ" * limits.MAX_NAME_CHARS  # one character, two once lower-cased
    people = [Character(id=f"c{n}", name=name, description=long) for n in range(limits.MAX_CHARACTERS_PER_SCENE)]
    series = Series(slug="s", title="S", visual_style=long, characters=people,
                    locations=[Location(id="place", name=name, description=long)])
    shot = Shot(id="e01s01k01", type=ShotType.WS, duration_frames=24, seed=1, action=long,
                title_card="y" * limits.MAX_LABEL_CHARS,
                characters=[FramedCharacter(character=c.id, position=ScreenPosition.CENTER) for c in people])
    scene = Scene(id="e01s01", heading="INT. PLACE", setting=Setting.INT, location="place", shots=[shot],
                  characters=[c.id for c in people], music=MusicCue(seed=1))
    shot.prompt = compose_prompt(shot, scene, series)
    assert 0.9 * limits.MAX_PROMPT_CHARS < len(shot.prompt) <= limits.MAX_PROMPT_CHARS
    with pytest.raises(ValidationError, match="prompt"):
        shot.prompt = "x" * (limits.MAX_PROMPT_CHARS + 1)


def test_the_llm_shot_planner_is_told_the_bounds_in_its_schema():
    draft = strict_json_schema(ShotList)["$defs"]["ShotDesign"]["properties"]
    assert draft["characters"]["maxItems"] == limits.MAX_CHARACTERS_PER_SCENE
    assert draft["action"]["maxLength"] == limits.MAX_DESCRIPTION_CHARS


def test_every_limit_is_used():
    """No dead limits: each constant of core/limits.py is read by the code it bounds."""
    constants = [node.targets[0].id for node in ast.parse(Path(limits.__file__).read_text(encoding="utf-8")).body
                 if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
                 and node.targets[0].id.isupper()]
    used: set[str] = set()
    for path in [*(REPO / "pipeline").rglob("*.py"), *(REPO / "agents").rglob("*.py")]:
        if path.resolve() == Path(limits.__file__).resolve():
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "limits":
                used.add(node.attr)
            elif isinstance(node, ast.alias) and node.name.isupper():
                used.add(node.name)
    assert constants and sorted(set(constants) - used) == []
