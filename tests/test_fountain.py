"""The Fountain parser: every element of Fountain 1.1, with source lines, in English and CJK."""

from __future__ import annotations

import pytest

from microdrama.pipeline.ingest import fountain as ft


def elements(text: str) -> list:
    return ft.parse(text).elements


def only(text: str, kind: type):
    found = [e for e in elements(text) if isinstance(e, kind)]
    assert len(found) == 1, found
    return found[0]


def test_title_page_keys_and_indented_continuation():
    doc = ft.parse("Title: _**Night Shift**_\n    Part Two\nAuthor: A. Writer\nLanguage: en\n\nINT. ROOM - DAY\n")
    assert doc.title_page == {"title": "Night Shift\nPart Two", "author": "A. Writer", "language": "en"}
    assert isinstance(doc.elements[0], ft.SceneHeading) and doc.elements[0].line == 6


def test_text_starting_with_a_colon_line_is_not_a_title_page():
    doc = ft.parse("INT. ROOM - DAY\n\nShe reads: nothing.\n")
    assert doc.title_page == {}


@pytest.mark.parametrize("heading", [
    "INT. KITCHEN - NIGHT", "EXT. PARK - DAY", "EST. CITY - DAWN", "INT./EXT. CAR - NIGHT",
    "INT/EXT CAR - NIGHT", "I/E. HOUSE - DAY", "int. lowercase works - day",
])
def test_scene_headings(heading):
    assert only(f"\n{heading}\n\nAction.\n", ft.SceneHeading).text == heading


def test_forced_heading_and_scene_number():
    forced = only("\n.FLASHBACK\n\nAction.\n", ft.SceneHeading)
    assert forced.text == "FLASHBACK" and forced.forced
    assert only("\n.茶馆 - 日\n\n喝茶。\n", ft.SceneHeading).text == "茶馆 - 日"
    numbered = only("\nINT. HOUSE - DAY #1A#\n", ft.SceneHeading)
    assert numbered.text == "INT. HOUSE - DAY" and numbered.scene_number == "1A"
    assert not any(isinstance(e, ft.SceneHeading) for e in elements("\n...and then.\n"))


def test_action_keeps_line_breaks_and_forced_action():
    action = only("INT. A - DAY\n\nShe waits.\nShe waits more.\n", ft.Action)
    assert action.text == "She waits.\nShe waits more." and action.line == 3
    shout = only("INT. A - DAY\n\n!SCREAMS FROM THE HALL\n", ft.Action)
    assert shout.text == "SCREAMS FROM THE HALL" and shout.forced


def test_character_cues_extensions_and_parentheticals():
    text = ("INT. A - DAY\n\nMAYA (V.O.) (CONT'D)\n(quietly)\nWe need to talk.\n(beat)\nNow.\n\n"
            "JOSÉ\n¡Hola!\n\n@mcclane\nYippee.\n\n@林雨（画外音）\n你好，\n妈妈。\n")
    maya, jose, mcclane, lin = [e for e in elements(text) if isinstance(e, ft.Dialogue)]
    assert (maya.cue, maya.extensions, maya.line) == ("MAYA", ("V.O.", "CONT'D"), 3)
    assert [(s.parenthetical, s.text, s.line) for s in maya.speeches] == [
        ("quietly", "We need to talk.", 5), ("beat", "Now.", 7)]
    assert jose.cue == "JOSÉ" and jose.speeches[0].text == "¡Hola!"
    assert mcclane.cue == "mcclane" and mcclane.forced
    assert lin.cue == "林雨" and lin.extensions == ("画外音",)
    assert lin.speeches[0].text == "你好，妈妈。"  # CJK lines join without a space


def test_dual_dialogue_marker():
    first, second = [e for e in elements("INT. A - DAY\n\nBRICK\nScrew retirement.\n\nSTEEL ^\nScrew retirement.\n")
                     if isinstance(e, ft.Dialogue)]
    assert not first.dual and second.dual and second.cue == "STEEL"


def test_transitions_natural_and_forced_and_centered():
    text = "INT. A - DAY\n\nShe leaves.\n\nCUT TO:\n\n> FADE OUT.\n\n>THE END<\n"
    assert [e.text for e in elements(text) if isinstance(e, ft.Transition)] == ["CUT TO:", "FADE OUT."]
    assert only(text, ft.Centered).text == "THE END"


def test_notes_and_boneyard_are_excluded_but_lines_are_kept():
    text = ("INT. A - DAY\n\nShe sits. [[a note\nover two lines]] She stands.\n\n/* cut\nBOB\nGone.\n*/\n\n"
            "MAYA\nHello. [[inline]]\n[[a note on its own line]]\nAgain.\n\nLast line.\n")
    found = elements(text)
    assert "note" not in repr(found) and "Gone" not in repr(found) and "BOB" not in repr(found)
    maya = next(e for e in found if isinstance(e, ft.Dialogue))
    assert maya.speeches[0].text == "Hello. Again."  # a note line does not end the dialogue
    assert found[-1].text == "Last line." and found[-1].line == 16


def test_sections_synopses_page_breaks_lyrics():
    text = "# Episode 1\n\n## Act One\n\n= The setup.\n\nINT. A - DAY\n\n~Happy birthday\n\n===\n"
    kinds = [(type(e).__name__, getattr(e, "text", None), getattr(e, "level", None)) for e in elements(text)]
    assert kinds == [("Section", "Episode 1", 1), ("Section", "Act One", 2), ("Synopsis", "The setup.", None),
                     ("SceneHeading", "INT. A - DAY", None), ("Lyrics", "Happy birthday", None), ("PageBreak", None, None)]


def test_sung_lines_inside_dialogue():
    maya = only("INT. A - DAY\n\nMAYA\n~La la la\n", ft.Dialogue)
    assert maya.speeches[0].text == "La la la" and maya.speeches[0].sung


@pytest.mark.parametrize("markup, plain", [
    ("*italic* and **bold** and ***both*** and _under_", "italic and bold and both and under"),
    (r"not \*emphasis\* here", "not *emphasis* here"),
    ("snake_case_name stays", "snake_case_name stays"),
    ("**粗体**中文", "粗体中文"),
])
def test_emphasis_is_stripped(markup, plain):
    assert ft.strip_markup(markup) == plain


def test_uppercase_action_line_is_action_not_a_cue():
    # An all-caps line with a blank line after it is action (spec), unless it names a speaker.
    found = elements("INT. A - DAY\n\nBANG!\n\nShe ducks.\n")
    assert [e.text for e in found if isinstance(e, ft.Action)] == ["BANG!", "She ducks."]


@pytest.mark.parametrize("text, action", [
    ("INT. A - DAY\n\n@林雨\n\n她走了。\n", "林雨"),
    ("INT. A - DAY\n\nJOHN (V.O.)\n", "JOHN (V.O.)"),
    ("INT. A - DAY\n\nJOHN\nHi.\n\nJOHN\n\nHe leaves.\n", "JOHN"),
])
def test_cue_without_dialogue_is_action(text, action):
    found = elements(text)
    assert action in [e.text for e in found if isinstance(e, ft.Action)]
    # Only the name of someone who speaks elsewhere is flagged (the LLM writer is asked to fix it).
    assert [e.text for e in ft.cues_without_dialogue(found)] == (["JOHN"] if "Hi." in text else [])
