"""The bible is faithful: an edit to one character fact reaches exactly the requests and the figure
region it should, and no stale copy of a description reaches a generator."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from microdrama.pipeline.core.models import Episode, Garment, Series
from microdrama.pipeline.core.store import SeriesFolder
from microdrama.pipeline.plan.casting import cast_voices
from microdrama.pipeline.render.backends.animatic import AnimaticVideo, character_look
from microdrama.pipeline.render.requests import video_request, voice_request
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parent.parent / "episodes" / "rooftop-frequencies"


@pytest.fixture(scope="module")
def plan() -> tuple[Series, list[Episode]]:
    return SeriesFolder(EXAMPLE).load_plan()


def requests_json(series: Series, episodes: list[Episode]) -> dict[str, str]:
    """Every generator request of the plan (pictures and voices), as the JSON a backend is sent."""
    found = {}
    for episode in episodes:
        for scene in episode.scenes:
            for shot in scene.shots:
                found[shot.id] = video_request(shot, scene, series, EXAMPLE).model_dump_json()
                for line in shot.dialogue:
                    found[line.id] = voice_request(line, series, EXAMPLE).model_dump_json()
    return found


def edited(series: Series, character_id: str, **fields) -> Series:
    series = series.model_copy(deep=True)
    for name, value in fields.items():
        setattr(series.character(character_id), name, value)
    return series


def test_editing_one_wardrobe_colour_rerenders_only_that_characters_shots_and_figure(plan):
    series, episodes = plan
    red = edited(series, "eli", wardrobe=[Garment(item="hoodie", colour="red", details="paint-stained")])
    before, after = requests_json(series, episodes), requests_json(red, episodes)
    changed = {key for key in before if before[key] != after[key]}
    with_eli = {shot.id for e in episodes for shot in e.shots if any(c.character == "eli" for c in shot.characters)}
    assert changed == with_eli and with_eli

    old, new = (character_look("eli", s.character("eli").appearance) for s in (series, red))
    assert [field for field in old.__dataclass_fields__ if getattr(old, field) != getattr(new, field)] == ["top"]

    shot, scene = next((shot, scene) for e in episodes for scene in e.scenes for shot in scene.shots
                       if {c.character for c in shot.characters} >= {"eli", "nora"})
    painter = AnimaticVideo(AnimaticVideo.Options(caption=False, name_tags=False))
    grey, red_frame = (next(iter(painter.render(video_request(shot, scene, s, EXAMPLE)).frames)) for s in (series, red))
    difference = np.any(grey != red_frame, axis=2)
    was_hoodie = np.all(grey == np.array(old.top, dtype=np.uint8), axis=2)
    assert difference.any() and was_hoodie.any()
    # What changed is Eli's figure: the hoodie's fill, its shading and hood, around the hoodie.
    rows, columns = np.flatnonzero(was_hoodie.any(axis=1)), np.flatnonzero(was_hoodie.any(axis=0))
    margin = (columns[-1] - columns[0]) // 2
    changed_rows, changed_columns = np.flatnonzero(difference.any(axis=1)), np.flatnonzero(difference.any(axis=0))
    assert columns[0] - margin <= changed_columns[0] and changed_columns[-1] <= columns[-1] + margin
    assert rows[0] - 2 * margin <= changed_rows[0] and changed_rows[-1] <= rows[-1] + 2 * margin
    assert (difference & was_hoodie).sum() == was_hoodie.sum()


@pytest.mark.parametrize("field, old, new", [
    ("hair", "cropped silver hair", "long black braids"),
    ("wardrobe", [Garment(item="work jacket", colour="orange", details="oversized")],
     [Garment(item="raincoat", colour="yellow")]),
    ("age", 28, 41),
    ("skin", "", "olive"),
    ("notes", "", "a scar over the left eyebrow"),
])
def test_every_generator_request_holds_the_current_character_fields_only(plan, field, old, new):
    series, episodes = plan
    assert getattr(series.character("nora"), field) == old
    now = edited(series, "nora", **{field: new})
    text = "\n".join(requests_json(now, episodes).values())
    old_text = {"wardrobe": "orange work jacket", "age": "28-year-old"}.get(field, old)
    new_text = {"wardrobe": "yellow raincoat", "age": "41-year-old"}.get(field, new)
    assert new_text in text
    if old_text:
        assert old_text not in text


def test_no_introduction_text_survives_in_an_action(plan):
    series, episodes = plan
    actions = " ".join(shot.action for e in episodes for shot in e.shots)
    for character in series.characters:
        for item in [character.hair, *(g.text() for g in character.wardrobe), *character.accessories]:
            if item:
                assert item not in actions


def test_casting_puts_women_above_men_and_keeps_a_hand_set_voice(plan):
    series, _ = plan
    voices = {c.id: c.voice for c in series.characters}
    assert min(voices["nora"].pitch_hz, voices["mrs-okafor"].pitch_hz) > voices["eli"].pitch_hz
    assert voices["nora"].formant_shift > voices["eli"].formant_shift
    hand_set = series.character("eli").voice.model_copy(update={"pitch_hz": 95.0})
    recast = cast_voices([series.character("eli").model_copy(update={"voice": hand_set})])
    assert recast[0].voice.pitch_hz == 95.0


def _voice(character):
    from microdrama.pipeline.plan.casting import Casting

    return Casting(character.voice.pitch_hz, character.voice.formant_shift, character.voice.speed)


def test_men_of_one_age_are_cast_apart_and_stay_men():
    from microdrama.pipeline.core.models import Character
    from microdrama.pipeline.plan.casting import apart

    men = cast_voices([Character(id=f"m{i}", name=f"M{i}", gender="male", age=40) for i in range(3)])
    for a, b in itertools.combinations(men, 2):
        assert apart(_voice(a), _voice(b)) >= 1.0, (a.voice, b.voice)
    assert all(m.voice.pitch_hz <= 150 and m.voice.formant_shift <= 1.06 for m in men)


def test_a_crowd_of_women_keeps_a_womans_register():
    from microdrama.pipeline.core.models import Character

    women = cast_voices([Character(id=f"w{i}", name=f"W{i}", gender="female", age=30) for i in range(7)])
    assert all(w.voice.pitch_hz >= 160 and w.voice.formant_shift >= 1.08 for w in women)
    assert len({(w.voice.pitch_hz, w.voice.formant_shift) for w in women}) == 7


def test_a_new_voice_keeps_clear_of_a_hand_set_one_and_recasts_nobody():
    from microdrama.pipeline.core.models import Character, VoiceSpec
    from microdrama.pipeline.plan.casting import apart, base_casting

    newcomer = Character(id="bo", name="BO", gender="male", age=40)
    hand_set = VoiceSpec(**vars(base_casting(newcomer)))  # exactly where the table would cast him
    kept, cast = cast_voices([Character(id="al", name="AL", gender="male", age=40, voice=hand_set), newcomer])
    assert kept.voice == hand_set
    assert apart(_voice(kept), _voice(cast)) >= 1.0


def test_a_voice_of_unknown_gender_takes_the_room_left_by_the_others():
    """Cast after the known ones whatever its place in the bible, so it cannot crowd them out of
    their own registers."""
    from microdrama.pipeline.core.models import Character
    from microdrama.pipeline.plan.casting import apart, base_casting

    people = [Character(id="radio", name="RADIO"), Character(id="ann", name="ANN", gender="female", age=30),
              Character(id="bo", name="BO", gender="male", age=30)]
    radio, ann, bo = cast_voices(people)
    assert (ann.voice.pitch_hz, bo.voice.pitch_hz) == (base_casting(ann).pitch_hz, base_casting(bo).pitch_hz)
    assert min(apart(_voice(radio), _voice(ann)), apart(_voice(radio), _voice(bo))) >= 1.0


# --- a screenplay written blind ------------------------------------------------------------------

NIGHT_BUS = Path(__file__).resolve().parent / "fixtures" / "night_bus.fountain"


def test_facts_of_a_screenplay_written_blind():
    from microdrama.pipeline.ingest.screenplay import ingest

    series, screenplay = ingest([NIGHT_BUS])
    darius, june = series.character("darius-okon"), series.character("june-park")
    assert (darius.gender, darius.band, darius.build, darius.face) == ("male", "elder", "stocky", "grey beard")
    assert (june.gender, june.age, june.band, [g.text() for g in june.wardrobe]) == ("female", 16, "teen", ["yellow raincoat"])
    assert darius.voice.pitch_hz < june.voice.pitch_hz and darius.voice.formant_shift < june.voice.formant_shift
    # A prop held in the introduction is that shot's action, never costume.
    assert "oranges" not in june.appearance
    actions = [b.text for e in screenplay.episodes for s in e.scenes for b in s.beats if b.kind == "action"]
    assert any("holding a paper bag of oranges" in a for a in actions) and not any("raincoat" in a for a in actions)
    # 'June' in the action is JUNE PARK: in the scene, and no description of the depot.
    depot = screenplay.episodes[0].scenes[1]
    assert set(depot.characters) == {"june-park", "darius-okon"}
    assert {l.id: (l.description, l.described_at) for l in series.locations} == {
        "city-bus": ("Cracked vinyl seats under green strip lights. Rain streaks the windows.", 8),
        "bus-depot": ("Floodlights buzz over rows of empty buses.", 24),
        "stairwell": ("", None),  # 'June climbs. Her sneakers squeak...' is about June
    }


def test_review_prints_cast_and_places_with_origin_and_warns_of_an_undescribed_place(tmp_path):
    import subprocess
    import sys

    microdrama = str(Path(sys.executable).with_name("microdrama"))
    done = subprocess.run([microdrama, "plan", str(NIGHT_BUS), "--root", str(tmp_path)], env={"COLUMNS": "200", "PATH": ""},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert out.index("cast (series.yaml characters)") < out.index("places (series.yaml") < out.index("e01s01k01")
    assert "16-year-old girl, yellow raincoat" in out and "228 Hz formant x1.2" in out
    assert "night_bus.fountain:24" not in out and "screenplay.fountain:24" in out  # the copy in the folder
    assert "warning series.yaml:" in out and "location 'STAIRWELL' has no description" in out


def test_a_pronoun_whose_referent_is_unambiguous_frames_that_character(plan):
    series, episodes = plan
    reach = next(shot for e in episodes for shot in e.shots if shot.action.startswith("Nora reaches him"))
    sides = {f.character: f.position for f in reach.characters}
    assert set(sides) == {"nora", "eli", "mrs-okafor"}
    # On the scene's axis: where Eli stands in the scene's other shots.
    eli_elsewhere = {f.position for e in episodes for s in e.scenes if reach in s.shots
                     for shot in s.shots for f in shot.characters if f.character == "eli"}
    assert eli_elsewhere == {sides["eli"]}


def test_a_shot_whose_action_names_someone_not_in_frame_is_flagged(plan):
    from microdrama.pipeline.plan.checks import check_plan

    series, episodes = plan
    assert not [f for f in check_plan(series, episodes) if f.code == "named-not-framed"]
    episodes = [e.model_copy(deep=True) for e in episodes]
    reach = next(shot for e in episodes for shot in e.shots if shot.action.startswith("Nora reaches him"))
    reach.characters = [f for f in reach.characters if f.character != "mrs-okafor"]
    flagged = [f for f in check_plan(series, episodes) if f.code == "named-not-framed"]
    assert [(f.where, f.severity) for f in flagged] == [(reach.id, "warning")] and "MRS. OKAFOR" in flagged[0].message


def test_xtts_picks_a_built_in_speaker_of_the_characters_gender():
    from microdrama.pipeline.render.backends.coqui import FEMALE_SPEAKERS, MALE_SPEAKERS, speaker_for

    names = sorted(FEMALE_SPEAKERS | MALE_SPEAKERS)
    for character_id in ("nora", "mrs-okafor", "林雨", "june-park"):
        assert speaker_for(names, character_id, "female") in FEMALE_SPEAKERS
        assert speaker_for(names, character_id, "female") == speaker_for(names, character_id, "female")
    assert {speaker_for(names, c, "male") for c in ("eli", "darius-okon", "ben")} <= MALE_SPEAKERS
    assert speaker_for(["Tiny Speaker"], "nora", "female") == "Tiny Speaker"  # a model without known names


def test_a_voice_request_carries_the_speakers_gender(plan):
    series, episodes = plan
    line = next(l for e in episodes for shot in e.shots for l in shot.dialogue if l.speaker == "nora")
    assert voice_request(line, series, EXAMPLE).gender == "female"


@pytest.mark.parametrize("field, value, traits", [
    ("hair", "long black hair", {"hair", "hair_style"}),
    ("skin", "dark", {"skin"}),
    ("build", "broad", {"build"}),
    ("accessories", ["round glasses"], {"glasses"}),
    ("wardrobe", [Garment(item="work jacket", colour="orange", details="oversized"), Garment(item="jeans")],
     {"bottom"}),
])
def test_each_field_drives_its_own_trait_of_the_figure(plan, field, value, traits):
    series, _ = plan
    nora = series.character("nora")
    old = character_look("nora", nora.appearance)
    new = character_look("nora", nora.model_copy(update={field: value}).appearance)
    assert {name for name in old.__dataclass_fields__ if getattr(old, name) != getattr(new, name)} == traits


HARBOUR = Path(__file__).resolve().parent / "fixtures" / "harbour.fountain"


def test_a_look_written_after_the_parentheses_is_the_bibles_and_leaves_the_action():
    """A second screenplay written blind introduces its people as 'NELL TREVASKIS (34), yellow
    oilskin over a hoodie, hair scraped back, pencil behind one ear, writes in a battered
    logbook.': the items after the age are her look, the last what she does."""
    from microdrama.pipeline.ingest.screenplay import ingest
    from microdrama.pipeline.plan.rules import plan_screenplay

    series, screenplay = ingest([HARBOUR])
    nell, dez = series.character("nell"), series.character("dez")
    assert (nell.gender, nell.age, nell.hair, [g.text() for g in nell.wardrobe]) == \
        ("female", 34, "hair scraped back", ["yellow oilskin over a hoodie"])
    assert (dez.gender, dez.face) == ("male", "grey beard dripping")  # no pronoun says; the beard does
    actions = [b.text for e in screenplay.episodes for s in e.scenes for b in s.beats if b.kind == "action"]
    assert "NELL TREVASKIS, writes in a battered logbook." in actions
    # 'soaked to the skin' is how Rosa is tonight, not her skin: it stays in that shot's action.
    assert series.character("rosa").skin == "" and any("ROSA, soaked to the skin," in a for a in actions)
    for look in ("oilskin", "hair scraped back", "hi-vis", "fisherman's jumper", "dressing gown"):
        assert not any(look in a for a in actions), look
    assert all(location.description for location in series.locations)
    shots = [shot for episode in plan_screenplay(screenplay, series) for shot in episode.shots]
    assert not any("BACK TO SCENE" in shot.action or shot.action.startswith("INSERT") for shot in shots)
    assert any(shot.action.startswith("The photograph: A little girl") for shot in shots)


def test_a_sentence_introducing_several_people_keeps_every_name_in_the_action():
    """'JONAS (30s, red scarf), KAI (30s, blue overalls), MARA (30s, grey coat) gather near the
    door.': the commas between introductions are not a look after JONAS's parentheses (the
    season bench's screenplay became 'JONASKAIMARA gather near the door.' and 'TEO, Ines gather
    near the door.')."""
    from microdrama.pipeline.ingest.facts import trailing_look, without_introductions

    names = {"JONAS", "KAI", "MARA", "TEO", "LENA", "INES", "NELL"}

    def is_name(item: str) -> bool:
        return item.strip().upper() in names

    text = "JONAS (30s, red scarf), KAI (30s, blue overalls), MARA (30s, grey coat) gather near the door."
    assert trailing_look(text, text.index(")") + 1, is_name) == ([], text.index(")") + 1)
    assert without_introductions(text, is_name, is_name) == "JONAS, KAI, MARA gather near the door."
    # One introduction, then people already met: their names are not TEO's look.
    teo = "TEO (30s, black suit), Lena, Kai, Ines gather near the door."
    assert without_introductions(teo, is_name, is_name) == "TEO, Lena, Kai, Ines gather near the door."
    nell = "NELL (34), yellow oilskin, hair scraped back, writes."
    assert without_introductions(nell, is_name, is_name) == "NELL, writes."
