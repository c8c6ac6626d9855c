"""The stylized 2.5-D avatar, rasterized with OpenCV (anti-aliased, sub-pixel precise, one CPU core).

The look lives in ``spec.py`` and the shapes come from ``face_geometry.build_scene``; this module only
paints them. With a transparent background it paints onto RGBA: OpenCV's anti-aliasing then blends colour
*and* alpha toward zero at the edges (premultiplied), which ``render`` converts back to straight alpha.
"""

from __future__ import annotations

import copy

import cv2
import numpy as np

from af_plugin.errors import ConfigError
from af_plugin.render.colors import parse_color
from af_plugin.render.face_geometry import Shape, build_scene
from af_plugin.render.spec import default_spec

_SHIFT = 4  # OpenCV fixed-point bits: coordinates are drawn with 1/16-pixel precision
_ONE = 1 << _SHIFT


class StylizedRenderer:
    """``render(values) -> (H, W, 3) RGB`` or ``(H, W, 4)`` RGBA when the background is transparent."""

    def __init__(
        self,
        width: int = 512,
        height: int = 512,
        background: str | None = None,
        colors: dict[str, str] | None = None,
        spec: dict | None = None,
    ):
        if width < 16 or height < 16:
            raise ConfigError("render.width/height", f"{width}x{height} is too small; use at least 16x16")
        self.spec = copy.deepcopy(spec) if spec is not None else default_spec()
        for key, value in (colors or {}).items():
            if key not in self.spec["colors"]:
                raise ConfigError(f"colors.{key}", f"unknown colour name; known: {', '.join(self.spec['colors'])}")
            parse_color(value, f"colors.{key}")
            self.spec["colors"][key] = value
        if background is not None:
            self.spec["colors"]["background"] = background
        self.width, self.height = int(width), int(height)
        bg = parse_color(self.spec["colors"]["background"], "render.background")
        self.transparent = bg is None
        self.channels = 4 if self.transparent else 3
        self._palette = {}
        for k, v in self.spec["colors"].items():
            rgb = parse_color(v, f"colors.{k}")
            if rgb is not None:
                self._palette[k] = rgb + (255,) if self.transparent else rgb
        self._blank = np.zeros((self.height, self.width, self.channels), np.uint8)
        if not self.transparent:
            self._blank[:] = bg

    def scene(self, values: np.ndarray) -> list[Shape]:
        return build_scene(values, self.spec, self.width, self.height)

    def render(self, values: np.ndarray) -> np.ndarray:
        img = self._blank.copy()
        for shape in self.scene(values):
            pts = np.round(shape.points * _ONE).astype(np.int32)
            color = self._palette[shape.color]
            if shape.kind == "fill":
                cv2.fillPoly(img, [pts], color, cv2.LINE_AA, _SHIFT)
            else:
                thickness = max(1, int(round(shape.width)))
                cv2.polylines(img, [pts], shape.closed, color, thickness, cv2.LINE_AA, _SHIFT)
        if self.transparent:
            _unpremultiply(img)
        return img


def _unpremultiply(img: np.ndarray) -> None:
    """Edge pixels hold colour·α over black; divide by α so the RGBA is straight (not premultiplied)."""
    alpha = img[..., 3]
    edge = (alpha > 0) & (alpha < 255)
    if edge.any():
        a = alpha[edge].astype(np.float32)[:, None] / 255.0
        img[..., :3][edge] = np.clip(img[..., :3][edge] / a, 0, 255).astype(np.uint8)
