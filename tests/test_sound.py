"""The sound stage: effects and ambience from the screenplay's words, the foley backend, their
lanes in the cut and the one audio pass, and the audit that finds them in the mix."""

from __future__ import annotations

import hashlib
import shutil

import numpy as np
import pytest

from conftest import EXAMPLE
from microdrama.pipeline.core.config import AuditOptions
from microdrama.pipeline.core.models import Location, ScriptScene, Shot
from microdrama.pipeline.edit import assemble, ffmpeg
from microdrama.pipeline.edit.audio import read_wav
from microdrama.pipeline.core.store import SeriesFolder
from microdrama.pipeline.edit.timeline import AmbienceClip
from microdrama.pipeline.plan.sfx import effect_labels, place_effects, scene_ambience, sound_kind
from microdrama.pipeline.render.backends import SfxRequest, load_backend
from microdrama.pipeline.render.backends.foley import RECIPES
from microdrama.pipeline.review.audit import audit_episode
from microdrama.pipeline.review.kept_sound import KeptSound
from microdrama.pipeline.review.sound_audit import check_bed, check_masking, check_sound
from tiny_show import RenderedShow, changed, render_tiny_show


# --- the words ---------------------------------------------------------------------------------


@pytest.mark.parametrize("action, sounds", [
    ("ANNA (30s, red coat) knocks twice.", ["knock"]),
    ("Eli pushes through the roof door.", ["door"]),
    ("She slams the door.", ["door"]),  # the door's own slam, not a second impact
    ("Nora stares at the closed bedroom door.", []),  # a door that makes no sound
    ("Eli bursts onto the roof. Thunder rolls.", ["footsteps", "thunder"]),
    ("The radio hisses. Its dial light flickers on by itself.", ["radio static"]),
    ("Her phone rings on the table.", ["phone rings"]),
    ("A glass shatters on the floor.", ["glass breaks"]),
    ("有人敲门。林雨推门进来，脚步声很轻。", ["knock", "door", "footsteps"]),
    ("远处雷声滚滚，手机响了。", ["thunder", "phone rings"]),
    ("A dim hallway. A single door.", []),
])
def test_the_rule_planner_hears_the_sounds_an_action_makes(action, sounds):
    assert effect_labels(action) == sounds


def test_a_sound_starts_where_the_action_mentions_it():
    action = "Eli steps back. A loose sheet of metal slams down where he stood."
    steps, slam = place_effects(effect_labels(action), action, 100)
    assert (steps.sound, slam.sound) == ("footsteps", "impact")
    assert steps.offset_frames == 6 and slam.offset_frames == round(action.index("slams") / len(action) * 100)


def test_an_llm_or_hand_written_sound_is_placed_by_the_same_words():
    action = "The radio, left on the parapet, crackles."
    (static, unknown) = place_effects(["static hiss", "a distant siren"], action, 40)
    assert static.offset_frames == round(action.index("crackles") / len(action) * 40)
    assert unknown.offset_frames == 0 and sound_kind(unknown.sound) is None


def test_a_bare_string_in_a_plan_file_is_a_sound_at_the_shots_start():
    shot = Shot(id="e01s01k01", type="MS", duration_frames=24, seed=1, sfx=["thunder"])
    assert shot.sfx[0].sound == "thunder" and shot.sfx[0].offset_frames == 0


def scene(heading: str, setting: str, *actions: str) -> ScriptScene:
    return ScriptScene(id="e01s01", heading=heading, setting=setting, location="place",
                       beats=[{"kind": "action", "text": a} for a in actions])


@pytest.mark.parametrize("heading, setting, description, actions, beds", [
    ("EXT. APARTMENT ROOFTOP - NIGHT", "EXT", "Rain-slick gravel, the city glowing below.", [], ["rain", "city hum"]),
    ("EXT. APARTMENT ROOFTOP - NIGHT", "EXT", "", ["The antenna mast sways in the wind."], ["wind", "city hum"]),
    ("INT. KITCHEN - NIGHT", "INT", "A narrow kitchen.", [], ["room tone"]),
    ("INT. KITCHEN - NIGHT", "INT", "Rain streams down the window.", [], ["room tone", "rain"]),
    ("EXT. 海边 - 夜", "EXT", "海浪拍打着码头，下着小雨。", [], ["rain", "sea"]),
    ("EXT. NIGHT MARKET - NIGHT", "EXT", "Stalls and vendors shouting.", [], ["market"]),
    ("EXT. FIELD - DAY", "EXT", "An empty field.", [], ["wind"]),
])
def test_a_scene_gets_the_ambience_its_place_describes(heading, setting, description, actions, beds):
    place = Location(id="place", name="PLACE", description=description)
    assert scene_ambience(scene(heading, setting, *actions), place) == beds


# --- the foley backend -------------------------------------------------------------------------


def sound(kind: str, seed: int = 1, bed: bool = False, frames: int = 36) -> np.ndarray:
    foley = load_backend("foley", "sfx")
    request = SfxRequest(target="e01s01k01x1", prompt=kind, kind=kind, bed=bed, setting="EXT",
                         time_of_day="night", num_frames=frames, fps=12, seed=seed)
    clip = foley.render(request)
    assert clip.sample_rate == 48000
    return clip.samples


@pytest.mark.parametrize("kind", sorted(RECIPES))
def test_every_kind_is_exactly_as_long_as_asked_and_within_full_scale(kind):
    samples = sound(kind)
    assert samples.dtype == np.float32 and len(samples) == 36 * 4000
    assert 1e-4 < np.sqrt(np.mean(samples**2)) and np.abs(samples).max() < 0.5


def test_the_same_seed_gives_the_same_sound_and_another_seed_another():
    assert np.array_equal(sound("rain", seed=4), sound("rain", seed=4))
    assert not np.array_equal(sound("rain", seed=4), sound("rain", seed=5))


def test_a_bed_lies_far_under_a_line_and_an_effect_stands_out():
    rms_db = lambda s: 20 * np.log10(np.sqrt(np.mean(s**2)))  # noqa: E731
    peak_db = lambda s: 20 * np.log10(np.abs(s).max())  # noqa: E731
    assert rms_db(sound("rain", bed=True)) < -33 and rms_db(sound("room", bed=True)) < -40
    assert -16 < peak_db(sound("door")) < -6


def test_a_sound_outside_the_vocabulary_is_still_heard():
    foley = load_backend("foley", "sfx")
    clip = foley.render(SfxRequest(target="x", prompt="a distant siren", setting="EXT", time_of_day="day",
                                   num_frames=24, fps=12, seed=1))
    assert np.abs(clip.samples).max() > 0.05


# --- the cut, the mix and the audit ------------------------------------------------------------


@pytest.fixture(scope="module")
def show(tmp_path_factory) -> RenderedShow:
    return render_tiny_show(tmp_path_factory.mktemp("sound") / "tiny-show")


def test_the_knock_and_the_door_are_in_the_cut_at_their_frames(show):
    knock = next(c for c in show.timelines["e01"].effects if c.sound == "knock")
    shot = next(s for s in show.episode("e01").shots if s.id == knock.shot_id)
    start = next(c.start_frame for c in show.timelines["e01"].video if c.shot_id == shot.id)
    assert "knocks" in shot.action and knock.start_frame == start + shot.sfx[0].offset_frames
    assert [c.sound for c in show.timelines["e02"].effects] == ["door"]


def test_each_scene_has_its_beds_under_it(show):
    beds = {(c.scene_id, c.sound) for c in show.timelines["e01"].ambience}
    assert beds == {("e01s01", "room tone"), ("e01s02", "city hum")}


@pytest.mark.parametrize("episode_id", ["e01", "e02"])
def test_a_clean_episode_passes_the_sound_checks_at_the_loudness_target(show, episode_id):
    timeline = show.timelines[episode_id]
    report = audit_episode(timeline, show.episode(episode_id), show.series, show.video(episode_id),
                           show.subtitles(episode_id))
    sound_checks = [c for c in report.checks if c.name in ("sfx-present", "ambience-present", "ambience-margin")]
    assert len(sound_checks) == len(timeline.effects) + len(timeline.ambience) + len(timeline.dialogue)
    assert [c for c in sound_checks if c.verdict != "pass"] == []
    assert {c.name: c.verdict for c in report.checks if c.name in ("loudness", "true-peak")} == \
        {"loudness": "pass", "true-peak": "pass"}


def remastered_mix(show: RenderedShow, timeline) -> np.ndarray:
    video, _, _ = assemble.master(timeline, SeriesFolder(show.folder))
    return ffmpeg.read_audio(video)


def test_effects_and_beds_missing_from_the_mix_are_reported_where_planned(show):
    timeline = show.timelines["e01"]
    knock = next(c for c in timeline.effects if c.sound == "knock")
    mix = remastered_mix(show, changed(timeline, effects=(), ambience=()))
    failed = {(c.name, c.where) for c in check_sound(timeline, mix, AuditOptions()) if c.verdict == "error"}
    assert failed == {("sfx-present", knock.shot_id), ("ambience-present", "e01s01"), ("ambience-present", "e01s02")}


def test_an_effect_off_its_frame_is_reported(show):
    timeline = show.timelines["e01"]
    late = tuple(changed(c, start_frame=c.start_frame + 6) for c in timeline.effects)
    mix = remastered_mix(show, changed(timeline, effects=late))
    failed = [c for c in check_sound(timeline, mix, AuditOptions()) if c.verdict == "error"]
    assert {c.name for c in failed} == {"sfx-present"}


def test_a_bed_loud_enough_to_mask_the_dialogue_is_reported_at_each_line(show, tmp_path):
    """Also where the clean episode's measurements are kept: the masking checks are kept by the
    line's and the beds' clips (they read the stems), so louder beds are measured again."""
    timeline = show.timelines["e01"]
    loud = []
    for bed in timeline.ambience:
        samples, rate = read_wav(bed.path)
        ffmpeg.write_wav(tmp_path / f"{bed.scene_id}.wav", samples * 100, rate)
        loud.append(changed(bed, path=tmp_path / f"{bed.scene_id}.wav"))
    loud_timeline = changed(timeline, ambience=tuple(loud))
    mix = remastered_mix(show, loud_timeline)
    kept_file = tmp_path / "e01.sound.json"
    shutil.copy(show.folder / "state" / "audit" / "e01.sound.json", kept_file)
    for kept in (None, KeptSound(kept_file, ffmpeg.packets(show.video("e01"), "a"))):
        masked = [c.where for c in check_sound(loud_timeline, mix, AuditOptions(), kept)
                  if c.name == "ambience-margin" and c.verdict == "error"]
        assert masked == [line.line_id for line in timeline.dialogue]


def test_the_masking_check_sums_only_the_beds_under_the_line(show, tmp_path):
    """A line that starts half a take after one bed ends (the first line of a scene: it crashed
    the audit) and half-way into the next: only the second bed's first half second is under it."""
    timeline, rate = show.timelines["e01"], ffmpeg.AUDIO_RATE
    fps = timeline.fps
    t = np.arange(rate) / rate
    ffmpeg.write_wav(tmp_path / "line.wav", (0.1 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), rate)
    line = changed(timeline.dialogue[0], path=tmp_path / "line.wav", start_frame=3 * fps)
    ended = AmbienceClip(path=tmp_path / "ended.wav", start_frame=fps // 2, duration_frames=2 * fps,
                         scene_id="e01s01", sound="rain")  # ends 0.5 s before the line starts
    next_scene = AmbienceClip(path=tmp_path / "next.wav", start_frame=3 * fps + fps // 2, duration_frames=2 * fps,
                              scene_id="e01s02", sound="city hum")
    samples = {ended.path: np.ones(2 * rate, dtype=np.float32),  # loud: heard if it leaked in
               next_scene.path: (0.01 * np.sin(2 * np.pi * 50 * np.arange(2 * rate) / rate)).astype(np.float32)}
    check = check_masking(line, changed(timeline, ambience=(ended, next_scene)), samples.__getitem__,
                          AuditOptions())
    bed_rms = 0.01 / np.sqrt(2) * np.sqrt(0.5)  # the quiet bed's sine over half of the line
    assert check.measured == pytest.approx(20 * np.log10((0.1 / np.sqrt(2)) / bed_rms), abs=0.05)
    assert check.verdict == "pass"


def test_a_bed_is_measured_window_by_window_and_an_edit_measures_again_the_windows_it_reached(
        tmp_path, monkeypatch):
    """A 35 s bed under noise: four windows measured; a click at 30 s reaches the last two
    windows' stretches only; the check kept so is the one measured afresh, and a mix without the
    bed fails."""
    from microdrama.pipeline.review import sound_audit

    rate, rng = ffmpeg.AUDIO_RATE, np.random.default_rng(5)
    bed = (0.1 * rng.standard_normal(35 * rate)).astype(np.float32)
    ffmpeg.write_wav(tmp_path / "bed.wav", bed, rate)
    clip = AmbienceClip(path=tmp_path / "bed.wav", start_frame=24, duration_frames=35 * 24, scene_id="e01s01",
                        sound="rain")
    music = (0.3 * rng.standard_normal(40 * rate)).astype(np.float32)
    mix = music.copy()
    mix[rate: rate + len(bed)] += 0.5 * bed

    def packets(samples: np.ndarray) -> list[ffmpeg.Packet]:
        frame = ffmpeg.AAC_FRAME
        return [ffmpeg.Packet(i, frame, hashlib.md5(samples[i: i + frame].tobytes()).hexdigest())
                for i in range(0, len(samples), frame)]

    windows, real = [], sound_audit.whitened_twice
    monkeypatch.setattr(sound_audit, "whitened_twice", lambda stretch: windows.append(len(stretch)) or real(stretch))
    kept_file = tmp_path / "e01.sound.json"
    fresh = check_bed(clip, mix, 24, AuditOptions(), KeptSound(None, None))
    assert fresh.verdict == "pass" and len(windows) == 4
    kept = KeptSound(kept_file, packets(mix))
    assert check_bed(clip, mix, 24, AuditOptions(), kept) == fresh
    kept.save()
    clicked = mix.copy()
    clicked[31 * rate: 31 * rate + 200] += 0.9
    windows.clear()
    again = check_bed(clip, clicked, 24, AuditOptions(), KeptSound(kept_file, packets(clicked)))
    assert len(windows) == 2 and again == check_bed(clip, clicked, 24, AuditOptions(), KeptSound(None, None))
    assert check_bed(clip, music, 24, AuditOptions(), KeptSound(None, None)).verdict == "error"


def test_the_plan_files_of_the_example_hold_its_rain_city_door_and_footsteps():
    _, episodes = SeriesFolder(EXAMPLE).load_plan()
    rooftop = [s for e in episodes for s in e.scenes if "ROOFTOP" in s.heading]
    assert all({"rain", "city hum"} <= set(s.ambience) for s in rooftop)
    heard = {e.sound for ep in episodes for shot in ep.shots for e in shot.sfx}
    assert {"door", "footsteps", "thunder", "radio static"} <= heard
