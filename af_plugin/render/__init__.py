"""Frames from motion: the stylized 2.5-D avatar and portrait-photo animation.

``make_renderer(render_cfg)`` picks one from the ``[render]`` config section; every renderer has
``render(values (62,)) -> uint8 (H, W, 3) RGB`` or ``(H, W, 4) RGBA`` when the background is transparent,
plus ``width``, ``height`` and ``channels``. ``video.write_video`` turns frames into an mp4.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from af_plugin.errors import ConfigError


class Renderer(Protocol):
    width: int
    height: int
    channels: int

    def render(self, values: np.ndarray) -> np.ndarray: ...


def make_renderer(render_cfg) -> Renderer:
    """A renderer for a ``RenderConfig`` (style, portrait, width, height, background)."""
    style = getattr(render_cfg, "style", "stylized")
    width, height = int(render_cfg.width), int(render_cfg.height)
    background = getattr(render_cfg, "background", None)
    if style == "stylized":
        from af_plugin.render.stylized import StylizedRenderer

        return StylizedRenderer(width, height, background=background)
    if style == "portrait":
        if not getattr(render_cfg, "portrait", None):
            raise ConfigError("render.portrait", "style 'portrait' needs a photo: set render.portrait=PATH")
        from af_plugin.render.portrait import PortraitRenderer

        return PortraitRenderer(render_cfg.portrait, width, height, background=background)
    raise ConfigError("render.style", f"{style!r} is not a renderer; use 'stylized' or 'portrait'")


def __getattr__(name: str):
    """``from af_plugin.render import StylizedRenderer, PortraitRenderer, write_video`` without importing
    OpenCV, SciPy or MediaPipe until one is actually used."""
    if name == "StylizedRenderer":
        from af_plugin.render.stylized import StylizedRenderer

        return StylizedRenderer
    if name == "PortraitRenderer":
        from af_plugin.render.portrait import PortraitRenderer

        return PortraitRenderer
    if name == "write_video":
        from af_plugin.render.video import write_video

        return write_video
    raise AttributeError(f"module 'af_plugin.render' has no attribute {name!r}")


__all__ = ["PortraitRenderer", "Renderer", "StylizedRenderer", "make_renderer", "write_video"]
