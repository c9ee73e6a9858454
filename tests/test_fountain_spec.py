"""Fountain 1.1 syntax page, rule by rule (https://fountain.io/syntax): each test names the rule
it checks. Cases written from the spec; screenplain and jouvence were consulted where the spec
leaves room, and the choice is said where they differ."""

from __future__ import annotations

from microdrama.pipeline.ingest import fountain as ft


def kinds(text: str) -> list[tuple[str, str]]:
    return [(type(e).__name__, getattr(e, "text", getattr(e, "cue", ""))) for e in ft.parse(text).elements]


def test_character_rule_a_name_with_an_empty_line_after_it_is_action():
    assert kinds("INT. A - DAY\n\nShe turns to see\n\nKARL\n\nstanding there.\n") == [
        ("SceneHeading", "INT. A - DAY"), ("Action", "She turns to see"), ("Action", "KARL"),
        ("Action", "standing there.")]


def test_character_rule_an_all_caps_line_with_brackets_and_no_dialogue_is_action_not_dropped():
    assert ("Action", "THE END (MAYBE)") in kinds("INT. A - DAY\n\nShe leaves.\n\nTHE END (MAYBE)\n")


def test_character_rule_needs_an_empty_line_before_it():
    # 'SILENCE.' right under a heading is no speaker: action (jouvence and screenplain read the
    # heading itself as a cue here; the heading rule is kept, as a writer means it).
    assert kinds("INT. HOUSE - DAY\nSILENCE.\nThen a scream.\n") == [
        ("SceneHeading", "INT. HOUSE - DAY"), ("Action", "SILENCE.\nThen a scream.")]
    assert not any(k == "Dialogue" for k, _ in kinds("INT. A - DAY\n\nShe runs.\nBOB\nHello.\n"))


def test_scene_heading_rule_two_heading_lines_in_a_row_are_not_headings():
    assert kinds("INT. A - DAY\n\nAction.\n\nEXT. A - DAY\nEXT. B - NIGHT\n\nMore.\n")[2:] == [
        ("Action", "EXT. A - DAY\nEXT. B - NIGHT"), ("Action", "More.")]


def test_forced_scene_heading_rule_a_period_then_a_letter_or_digit():
    assert kinds("INT. A - DAY\n\n. . . and then nothing.\n")[1] == ("Action", ". . . and then nothing.")
    assert kinds("\n.3 AM\n\nAction.\n")[0] == ("SceneHeading", "3 AM")
    assert kinds("\n...and then.\n") == [("Action", "...and then.")]


def test_title_page_rule_a_first_line_transition_is_not_a_key_without_a_value():
    for first in ("FADE IN:", "CUT TO:"):
        doc = ft.parse(f"{first}\n\nINT. A - DAY\n\nAction.\n")
        assert doc.title_page == {} and ("SceneHeading", "INT. A - DAY") in kinds(f"{first}\n\nINT. A - DAY\n")
    # A key whose value is on the indented lines below it is a title page key.
    assert ft.parse("Contact:\n    Me\n    Here\n\nINT. A - DAY\n").title_page == {"contact": "Me\nHere"}


def test_title_page_rule_a_full_width_colon_is_a_key_in_cjk_scripts():
    assert ft.parse("Title：雨夜\nAuthor：林\n\n.茶馆 - 日\n").title_page == {"title": "雨夜", "author": "林"}


def test_parenthetical_rule_a_parenthetical_after_the_last_speech_is_kept():
    eve = ft.parse("INT. A - DAY\n\nEVE\nOh, Adam.\n(kissing him)\n").elements[1]
    assert [s.text for s in eve.speeches] == ["Oh, Adam."] and eve.after == "kissing him"


def test_notes_rule_a_note_cannot_hold_an_empty_line():
    doc = ft.parse("INT. A - DAY\n\nShe waits [[a\n\nb]] here.\n")
    assert doc.notes == 0 and [t for k, t in kinds("INT. A - DAY\n\nShe waits [[a\n\nb]] here.\n")][1:] == [
        "She waits [[a", "b]] here."]


def test_notes_rule_an_unclosed_note_swallows_nothing():
    text = "INT. A - DAY\n\nShe waits. [[unclosed\n\nINT. B - NIGHT\n\nBOB\nHello.\n\nLater [[a note]] on.\n"
    doc = ft.parse(text)
    assert ("SceneHeading", "INT. B - NIGHT") in kinds(text) and ("Dialogue", "BOB") in kinds(text)
    assert doc.notes == 1 and ("Action", "Later  on.") in kinds(text)


def test_boneyard_rule_blocks_are_left_out_and_counted():
    doc = ft.parse("INT. A - DAY\n\n/* gone\n\nBOB\nNo.\n*/\n\nStays.\n/* two */\n")
    assert doc.boneyard == 2 and [type(e).__name__ for e in doc.elements] == ["SceneHeading", "Action"]


def test_centered_text_rule_consecutive_lines_are_one_card():
    assert kinds("INT. A - DAY\n\n> BRICK BRADDOCK <\n> & DICK STEEL IN <\n\n>THE END<\n")[1:] == [
        ("Centered", "BRICK BRADDOCK\n& DICK STEEL IN"), ("Centered", "THE END")]


def test_transition_rule_upper_case_ending_in_to_with_trailing_spaces():
    assert kinds("INT. A - DAY\n\nShe leaves.\n\nCUT TO:   \n\nINT. B - DAY\n")[2] == ("Transition", "CUT TO:")
    assert kinds("INT. A - DAY\n\nShe leaves.\n\nSMASH CUT TO:\n\nINT. B - DAY\n")[2] == ("Transition", "SMASH CUT TO:")


def test_lyrics_rule_sung_lines_keep_their_line_breaks():
    bob = ft.parse("INT. A - DAY\n\nBOB\n~Happy birthday\n~to you\n").elements[1]
    assert bob.speeches[0].text == "Happy birthday\nto you" and bob.speeches[0].sung
