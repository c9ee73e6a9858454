"""The `animatic` backend itself: its options, and a render that paints a shot once, then streams
its frames."""

from __future__ import annotations

from PIL import Image, ImageFont, features
from pydantic import BaseModel, ConfigDict, Field, field_validator

from ....core.errors import RenderError
from ....core.models import CameraMove
from .. import Availability, Capabilities, Subtitle, VideoFrames, VideoRequest
from .camera import Camera, Overlay, PaintedShot
from .colour import readable_on_dark
from .fonts import CJK_INSTALL_HINT, Fonts, MissingFontError, cjk_font
from .framing import place_figures
from .looks import character_look
from .mouths import plan_mouths
from .scene import paint_scene
from .text import caption, paint_title_card, subtitle_box


class AnimaticVideo:
    """Procedural previs: a stable backdrop per location, a stable figure per character, framing
    by shot type, camera moves, burned-in subtitles, mouths that move with the voice. No weights,
    no GPU; deterministic."""

    name = "animatic"
    version = "4"
    kind = "video"
    capabilities = Capabilities(seed=True, reference_image=False, signature_palette=True)
    extra = None

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid")

        caption: bool = Field(True, description="Show the shot id, framing and move in a corner.")
        name_tags: bool = Field(True, description="Label each figure with the character's name.")
        mouths: bool = Field(True, description="Move the speaking character's mouth with their voice.")
        font: str | None = Field(
            None,
            description="Font file for all text; it must have the glyphs of the series' language. "
            "Default: a CJK system font for CJK text, DejaVu Sans Bold for the rest.",
        )

        @field_validator("font")
        @classmethod
        def _font_loads(cls, value: str | None) -> str | None:
            if value is not None:
                try:
                    ImageFont.truetype(value, 12)
                except OSError:
                    raise ValueError(f"cannot read font file {value}") from None
            return value

    def __init__(self, options: AnimaticVideo.Options) -> None:
        self.options = options

    @classmethod
    def availability(cls) -> Availability:
        if not features.check("freetype2"):
            reason = "Pillow was built without FreeType: pip install --force-reinstall pillow"
            return Availability(available=False, reason=reason)
        if cjk_font() is None:
            reason = f"no CJK font found, so Chinese text fails: {CJK_INSTALL_HINT}"
            return Availability(available=True, reason=reason)
        return Availability(available=True)

    def render(self, request: VideoRequest) -> VideoFrames:
        try:
            shot = self._paint(request)
        except MissingFontError as exc:
            raise RenderError(request.shot_id, self.name, str(exc)) from None
        return VideoFrames(
            frames=shot.frames(),
            width=request.width,
            height=request.height,
            fps=float(request.fps),
            num_frames=request.num_frames,
        )

    def _paint(self, request: VideoRequest) -> PaintedShot:
        """Everything drawn once, before the first frame: the picture and every text layer."""
        fonts = Fonts.find(self.options.font)
        mouths = None
        if request.title_card is not None:
            world, move, focus = paint_title_card(request, fonts), CameraMove.STATIC, (0.5, 0.5)
        else:
            figures = place_figures(request)
            world, move = paint_scene(request, figures, fonts, self.options.name_tags), request.move
            focus = (_clamp(figures[0].x), _clamp(figures[0].y)) if figures else (0.5, 0.45)
            mouths = plan_mouths(request, figures, world) if self.options.mouths else None
        world.flags.writeable = False
        camera = Camera(
            world, Image.fromarray(world), request.width, request.height, move, request.fps,
            request.seed, focus,
        )  # fmt: skip
        cues = request.subtitles if request.burn_subtitles else []
        states = [
            tuple(k for k, cue in enumerate(cues) if cue.start_frame <= i < cue.end_frame)
            for i in range(request.num_frames)
        ]
        overlays = {
            state: self._overlays(request, fonts, [cues[k] for k in state]) for state in set(states)
        }
        return PaintedShot(camera, states, overlays, mouths)

    def _overlays(self, request: VideoRequest, fonts: Fonts, cues: list[Subtitle]) -> list[Overlay]:
        width, height = request.width, request.height
        overlays = []
        if self.options.caption:
            margin = max(2, round(0.015 * min(width, height)))
            overlays.append(Overlay.place(caption(request, fonts), margin, margin, width, height))
        if cues:
            colours = {
                c.name.casefold(): readable_on_dark(character_look(c.id, c.description).top)
                for c in request.characters
            }
            box = subtitle_box(cues, colours, fonts, width, height)
            left, top = (
                round((width - box.width) / 2),
                round(height * (0.9 if height > width else 0.95) - box.height),
            )
            overlays.append(Overlay.place(box, left, top, width, height))
        return overlays


def _clamp(share: float) -> float:
    """A push-in's focus, kept off the frame's edges so that it closes in on the frame's body."""
    return min(max(share, 0.2), 0.8)
