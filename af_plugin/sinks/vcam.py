"""The avatar as a webcam (Zoom, Meet, Teams, OBS): motion → renderer → pyvirtualcam.

pyvirtualcam picks the OS backend (Linux v4l2loopback; Windows OBS Virtual Camera or Unity Capture; macOS
OBS). When none works the sink fails once, at open, with the fix for this OS.
"""

from __future__ import annotations

import logging
import sys

import numpy as np

from af_plugin.constants import FPS
from af_plugin.errors import DeviceError
from af_plugin.sinks.base import MotionFrame, Sink, register_sink

log = logging.getLogger(__name__)


def setup_hint(platform: str = sys.platform) -> str:
    """What to install or start so a virtual camera exists, for this OS."""
    if platform.startswith("linux"):
        return (
            "install and load v4l2loopback: `sudo apt install v4l2loopback-dkms && "
            'sudo modprobe v4l2loopback devices=1 exclusive_caps=1 card_label="Avatar"` '
            "(exclusive_caps=1 lets browsers/Zoom see it), then run again"
        )
    if platform == "win32":
        return (
            "install OBS Studio (28+) and start its Virtual Camera once (Tools > Start Virtual Camera, then stop "
            "it), or install Unity Capture (github.com/schellingb/UnityCapture) and use backend 'unitycapture'"
        )
    if platform == "darwin":
        return "install OBS Studio (28+), start its Virtual Camera once from OBS (and reboot if macOS asks), then run again"
    return f"pyvirtualcam has no virtual camera backend for {platform}"


class VirtualCameraSink(Sink):
    """Renders every frame and sends it to a virtual camera at ``render.width`` × ``render.height``, 25 fps."""

    name = "vcam"

    def __init__(self, render_cfg=None, *, device: str | None = None, backend: str | None = None) -> None:
        from af_plugin.config import RenderConfig

        self.render_cfg = render_cfg or RenderConfig()
        self.device, self.backend = device, backend
        self._cam = None
        self._renderer = None
        self.frames_sent = 0

    @property
    def camera_name(self) -> str | None:
        return self._cam.device if self._cam is not None else None

    def open(self) -> None:
        import pyvirtualcam

        from af_plugin.render import make_renderer

        self._renderer = make_renderer(self.render_cfg)
        try:
            self._cam = pyvirtualcam.Camera(
                int(self.render_cfg.width), int(self.render_cfg.height), FPS,
                fmt=pyvirtualcam.PixelFormat.RGB, device=self.device, backend=self.backend,
            )  # fmt: skip
        except (RuntimeError, KeyError, ValueError) as e:
            reasons = str(e).strip() or "no backend is available on this OS"
            raise DeviceError(f"no virtual camera ({reasons.splitlines()[0]}). Fix: {setup_hint()}") from None
        log.info("virtual camera: %s", self._cam.device)

    def send(self, frame: MotionFrame) -> None:
        if self._cam is None:
            return
        image = self._renderer.render(frame.values)
        if image.shape[2] == 4:  # cameras carry no alpha: composite over black
            a = image[..., 3:4].astype(np.uint16)
            image = ((image[..., :3].astype(np.uint16) * a + 127) // 255).astype(np.uint8)
        self._cam.send(np.ascontiguousarray(image))
        self.frames_sent += 1

    def close(self) -> None:
        cam, self._cam = self._cam, None
        if cam is not None:
            cam.close()


register_sink("vcam", VirtualCameraSink)
