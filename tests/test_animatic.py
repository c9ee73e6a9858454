"""The animatic video backend: invariants of its frames, not golden pixels.

Frames are small (144x256, 9:16) and shots short so that the whole file runs in a few seconds.
Figures are found in a frame by their signature colours, which the animatic paints exactly.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from microdrama.pipeline.render.backends import (
    CharacterRef,
    LocationRef,
    Subtitle,
    VideoRequest,
    animatic,
    load_backend,
)
from microdrama.pipeline.render.backends.animatic import AnimaticVideo, character_look, character_signature
from microdrama.pipeline.core.errors import RenderError

W, H = 144, 256
ROOFTOP = LocationRef(
    id="rooftop", name="APARTMENT ROOFTOP", description="Rain-slick gravel, a rusted antenna mast."
)
KITCHEN = LocationRef(
    id="kitchen",
    name="NORA'S KITCHEN",
    description="A narrow kitchen lit by a single hanging bulb.",
)
NORA = {
    "id": "nora",
    "name": "NORA",
    "description": "late 20s, cropped silver hair, oversized orange work jacket",
}
ELI = {
    "id": "eli",
    "name": "ELI",
    "description": "19, paint-stained grey hoodie, headphones around his neck",
}
ORANGE = character_signature(NORA["id"], NORA["description"])[0]


def request(**changes) -> VideoRequest:
    fields = {
        "shot_id": "e01s01k01",
        "prompt": "",
        "width": W,
        "height": H,
        "fps": 24,
        "num_frames": 6,
        "seed": 3,
        "shot_type": "MS",
        "move": "static",
        "setting": "EXT",
        "time_of_day": "night",
        "location": ROOFTOP,
        "characters": [CharacterRef(**NORA, position="center")],
    }
    return VideoRequest(**(fields | changes))


def frames(req: VideoRequest, **options) -> list[np.ndarray]:
    return list(AnimaticVideo(AnimaticVideo.Options(**options)).render(req).frames)


def first(req: VideoRequest, **options) -> np.ndarray:
    return frames(req, **options)[0]


def mask_of(frame: np.ndarray, colour: tuple[int, int, int]) -> np.ndarray:
    return np.all(frame == np.array(colour, dtype=np.uint8), axis=2)


def bare(req: VideoRequest) -> np.ndarray:
    """The first frame without caption or name tags: only the picture."""
    return first(req, caption=False, name_tags=False)


# --- the protocol -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "move", ["static", "pan-left", "tilt-down", "push-in", "pull-out", "handheld"]
)
def test_frames_have_the_requested_count_shape_and_dtype(move):
    result = AnimaticVideo(AnimaticVideo.Options()).render(request(move=move, num_frames=7))
    got = list(result.frames)
    assert (result.width, result.height, result.num_frames, result.fps) == (W, H, 7, 24.0)
    assert len(got) == 7
    assert all(f.shape == (H, W, 3) and f.dtype == np.uint8 for f in got)


def test_frames_are_streamed_not_listed():
    result = AnimaticVideo(AnimaticVideo.Options()).render(request(num_frames=500))
    assert isinstance(result.frames, Iterator)


def test_odd_sizes_and_16_9_frames_come_out_exactly_as_asked():
    for width, height in ((256, 144), (101, 203)):
        got = frames(request(width=width, height=height, move="pan-right", num_frames=3))
        assert [f.shape for f in got] == [(height, width, 3)] * 3


def test_is_registered_and_loads_through_the_registry():
    backend = load_backend("animatic", "video", {"caption": False})
    assert isinstance(backend, AnimaticVideo)
    assert AnimaticVideo.availability().available
    assert AnimaticVideo.capabilities.seed and not AnimaticVideo.capabilities.reference_image


def test_options_refuse_unknown_keys_and_unreadable_fonts(tmp_path):
    with pytest.raises(ValidationError):
        AnimaticVideo.Options(burn=True)
    with pytest.raises(ValidationError, match="cannot read font"):
        AnimaticVideo.Options(font=str(tmp_path / "missing.ttf"))


def test_the_same_request_gives_identical_frames():
    for move in ("handheld", "push-in"):
        a, b = frames(request(move=move)), frames(request(move=move))
        assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))


def test_handheld_shake_follows_the_seed():
    a, b = frames(request(move="handheld", seed=1)), frames(request(move="handheld", seed=2))
    assert not all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))


# --- locations ----------------------------------------------------------------------------------


def test_different_locations_look_different():
    assert not np.array_equal(bare(request(location=ROOFTOP)), bare(request(location=KITCHEN)))


def test_a_location_has_the_same_backdrop_in_every_shot():
    """Different characters, positions and moves: the sky above the figures is the same."""
    one = bare(request(characters=[CharacterRef(**NORA, position="left")]))
    other = bare(
        request(
            characters=[CharacterRef(**ELI, position="right", facing="left")],
            move="push-in",
            seed=9,
        )
    )
    sky = slice(0, H // 6)
    assert np.array_equal(one[sky], other[sky])


def test_night_is_darker_than_day_outside_and_in():
    for setting, place in (("EXT", ROOFTOP), ("INT", KITCHEN)):
        day = bare(request(setting=setting, location=place, time_of_day="day", characters=[]))
        night = bare(request(setting=setting, location=place, time_of_day="night", characters=[]))
        dusk = bare(request(setting=setting, location=place, time_of_day="dusk", characters=[]))
        assert night.mean() < dusk.mean() < day.mean()


# --- figures ------------------------------------------------------------------------------------


def test_a_figure_grows_from_extreme_wide_to_close_up():
    areas = [mask_of(bare(request(shot_type=t)), ORANGE).sum() for t in ("EWS", "WS", "MS", "CU")]
    assert 0 < areas[0] < areas[1] < areas[2] < areas[3]


def test_an_extreme_close_up_fills_the_frame_with_the_face():
    skin = character_look(NORA["id"], NORA["description"]).skin
    assert mask_of(bare(request(shot_type="ECU")), skin).mean() > 0.3


def test_a_bearded_man_in_hi_vis_is_drawn_with_his_beard_short_hair_and_a_fluorescent_jacket():
    """From a screenplay written blind: 'DEZ OKONJO (58), night watchman, hi-vis jacket, grey beard
    dripping' had been drawn long-haired, shaven and in a hashed brown."""
    from microdrama.pipeline.render.backends.animatic.looks import COLOUR_WORDS

    dez = {"id": "dez", "name": "DEZ", "description": "58-year-old man, grey beard dripping, hi-vis jacket"}
    look = character_look(dez["id"], dez["description"])
    assert (look.beard, look.hair_style, look.top) == (COLOUR_WORDS["grey"], "short", COLOUR_WORDS["fluorescent"])
    shaven = dez | {"description": "58-year-old man, hi-vis jacket"}
    assert character_look(shaven["id"], shaven["description"]).beard is None
    grey = COLOUR_WORDS["grey"]
    bearded, bare_faced = (bare(request(shot_type="CU", characters=[CharacterRef(**d, position="center")]))
                           for d in (dez, shaven))
    assert mask_of(bearded, grey).sum() > 0.02 * W * H and mask_of(bare_faced, grey).sum() == 0


def test_screen_position_puts_the_figure_on_that_side():
    for position, side in (("left", -1), ("right", 1)):
        frame = bare(request(shot_type="WS", characters=[CharacterRef(**NORA, position=position)]))
        columns = np.nonzero(mask_of(frame, ORANGE))[1]
        assert np.sign(columns.mean() - W / 2) == side


def test_over_the_shoulder_puts_the_listener_in_the_foreground_on_their_side():
    eli_top = character_signature(ELI["id"], ELI["description"])[0]
    cue = Subtitle(speaker="ELI", text="Who are you talking to?", start_frame=0, end_frame=6)
    for nora_side, side in (("left", -1), ("right", 1)):
        eli_side = "right" if nora_side == "left" else "left"
        cast = [CharacterRef(**NORA, position=nora_side), CharacterRef(**ELI, position=eli_side)]
        frame = bare(request(shot_type="OTS", characters=cast, subtitles=[cue]))
        listener, speaker = np.nonzero(mask_of(frame, ORANGE)), np.nonzero(mask_of(frame, eli_top))
        assert np.sign(listener[1].mean() - W / 2) == side == -np.sign(speaker[1].mean() - W / 2)
        assert listener[0].mean() > speaker[0].mean()  # the shoulder is low in the frame, in front


def test_an_insert_shows_no_figures():
    frame = bare(request(shot_type="INSERT", action="The dial light glows again."))
    assert not mask_of(frame, ORANGE).any()


def test_character_signature_is_stable_and_tells_characters_apart():
    nora = character_signature(NORA["id"], NORA["description"])
    assert nora == character_signature(NORA["id"], NORA["description"])
    assert nora != character_signature(ELI["id"], ELI["description"])
    assert character_signature("a", "") != character_signature("b", "")


def test_character_signature_honours_colour_words():
    top, hair, _ = character_signature(NORA["id"], NORA["description"])
    assert top[0] > top[1] > top[2]  # orange jacket
    assert min(hair) > 180  # silver hair
    top, hair, _ = character_signature("林雨", "二十多岁，黑色长发，红色连衣裙")
    assert top[0] > 150 > top[1] and max(hair) < 60
    scarf = character_signature("okafor", "60s, floral yellow headscarf")[1]
    assert scarf == animatic.COLOUR_WORDS["yellow"]


# --- camera -------------------------------------------------------------------------------------


def test_a_pan_moves_the_picture_and_a_static_shot_does_not():
    panned = frames(request(move="pan-right"))
    still = frames(request(move="static"))
    assert not np.array_equal(panned[0], panned[-1])
    assert all(np.array_equal(still[0], f) for f in still)


def test_a_push_in_starts_on_the_static_framing_and_closes_in():
    pushed = frames(request(move="push-in"), caption=False)
    assert np.array_equal(pushed[0], first(request(), caption=False))
    area = [mask_of(f, ORANGE).sum() for f in (pushed[0], pushed[-1])]
    assert area[1] > area[0]


# --- text ---------------------------------------------------------------------------------------


def test_subtitles_show_only_within_their_frames():
    cue = Subtitle(speaker="NORA", text="Who is this?", start_frame=2, end_frame=4)
    got = frames(request(subtitles=[cue]))
    assert np.array_equal(got[0], got[1]) and np.array_equal(got[0], got[4])
    assert np.array_equal(got[2], got[3]) and not np.array_equal(got[0], got[2])
    assert np.array_equal(got[0], first(request()))


def test_subtitles_are_not_burned_when_the_request_says_so():
    cue = Subtitle(speaker="NORA", text="Who is this?", start_frame=0, end_frame=6)
    assert np.array_equal(first(request(subtitles=[cue], burn_subtitles=False)), first(request()))


def test_a_chinese_subtitle_renders_real_glyphs():
    fonts = animatic.Fonts.find(None)
    assert fonts.cjk is not None, "the noto-cjk-sans-otc wheel is a dependency"
    font = fonts.get("你好", 32)
    hello, goodbye = np.asarray(font.getmask("你好世界")), np.asarray(font.getmask("再见朋友"))
    assert hello.any() and goodbye.any()
    assert not np.array_equal(hello, goodbye)  # missing glyphs would all be the same box
    cue = Subtitle(
        speaker="林雨",
        text="你昨天晚上去哪儿了？我等了你整整一个晚上。",
        start_frame=0,
        end_frame=6,
    )
    assert not np.array_equal(first(request(subtitles=[cue])), first(request()))


def test_chinese_text_without_a_cjk_font_is_a_render_error_naming_the_package(monkeypatch):
    monkeypatch.setattr(animatic.fonts, "cjk_font", lambda: None)  # where Fonts looks it up
    cue = Subtitle(speaker="林雨", text="你好", start_frame=0, end_frame=2)
    with pytest.raises(RenderError, match="fonts-wqy-zenhei"):
        AnimaticVideo(AnimaticVideo.Options()).render(request(subtitles=[cue]))
    english = Subtitle(speaker="NORA", text="Hello", start_frame=0, end_frame=2)
    assert len(frames(request(subtitles=[english]))) == 6


def test_chinese_is_drawn_by_the_bundled_noto_font_whatever_the_system_has():
    """The wheel's font comes first, so a fresh machine without apt draws Chinese, and every
    machine draws it with the same glyphs."""
    path, face = animatic.cjk_font()
    assert Path(path).name == "NotoSansCJK-Regular.ttc"
    assert animatic.Fonts.find(None).get("你好", 20).getname() == ("Noto Sans CJK SC", "Regular")


def test_long_lines_wrap_within_the_frame():
    font = animatic.Fonts.find(None).get("x", 20)
    for text in ("Everything we built together, every single night on that roof, meant nothing.",
                 "我们明天早上八点半在楼顶见面，你一定要来，不然就来不及了。"):  # fmt: skip
        lines = animatic.wrap_text(text, font, 120)
        assert len(lines) > 1 and all(
            font.getlength(line.rstrip("，。.,")) <= 120 for line in lines
        )
        assert "".join(lines).replace(" ", "") == text.replace(" ", "")
    assert not animatic.wrap_text("了不起，好。", font, 40)[1].startswith("，")


def test_a_title_card_replaces_the_picture_and_holds_still():
    card = frames(request(title_card="TO BE CONTINUED", move="pan-left"), caption=False)
    assert all(np.array_equal(card[0], f) for f in card)
    assert not mask_of(card[0], ORANGE).any()
    middle = card[0][H // 3 : 2 * H // 3]
    assert (middle.max(axis=2) > 200).any()  # light letters
    assert card[0].mean() < 60  # on a dark card
