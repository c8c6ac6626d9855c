"""Rendered JPEG frames for the websocket ``frames`` stream, made on a thread of their own.

Rendering costs milliseconds per frame, so it never runs on the event loop: the newest motion frame per
session waits in a one-slot mailbox (older ones are skipped when the renderer falls behind), and finished
JPEGs are handed back to the loop with ``call_soon_threadsafe``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import numpy as np

from af_plugin.sinks.base import MotionFrame

log = logging.getLogger(__name__)


def encode_jpeg(image: np.ndarray, quality: int = 80) -> bytes:
    """RGB/RGBA uint8 (H, W, C) → JPEG bytes (alpha is dropped: JPEG has none)."""
    import cv2

    rgb = image[..., :3]
    ok, buf = cv2.imencode(".jpg", np.ascontiguousarray(rgb[..., ::-1]), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return buf.tobytes()


def renderer_factory(render_cfg) -> Callable[[], object] | None:
    """A callable making the render engineer's renderer, or None when ``af_plugin.render`` can't make one."""
    try:
        from af_plugin.render import make_renderer
    except ImportError as e:
        log.info("frames stream unavailable: %s", e)
        return None
    return lambda: make_renderer(render_cfg)


class JpegFrameWorker:
    """One thread rendering the newest frame of each session to JPEG; ``deliver`` runs on the caller's loop."""

    def __init__(self, make_renderer: Callable[[], object], deliver: Callable[[MotionFrame, bytes], None],
                 call_soon_threadsafe: Callable, quality: int = 80) -> None:  # fmt: skip
        self._make = make_renderer
        self._deliver = deliver
        self._call = call_soon_threadsafe
        self.quality = quality
        self._latest: dict[str, MotionFrame] = {}
        self._cv = threading.Condition()
        self._stop = False
        self.skipped = 0
        self.rendered = 0
        self.error: str | None = None
        self._thread = threading.Thread(target=self._run, name="af-jpeg-frames", daemon=True)
        self._thread.start()

    def submit(self, frame: MotionFrame) -> None:
        with self._cv:
            if frame.session in self._latest:
                self.skipped += 1
            self._latest[frame.session] = frame
            self._cv.notify()

    def _run(self) -> None:
        try:
            renderer = self._make()
        except Exception as e:  # noqa: BLE001 - report once; the stream stays silent
            self.error = f"renderer failed to start: {e}"
            log.warning("frames stream: %s", self.error)
            return
        while True:
            with self._cv:
                while not self._latest and not self._stop:
                    self._cv.wait()
                if self._stop:
                    return
                _, frame = self._latest.popitem()
            try:
                jpeg = encode_jpeg(renderer.render(frame.values), self.quality)
            except Exception as e:  # noqa: BLE001 - keep rendering later frames
                self.error = str(e)
                log.warning("frames stream: rendering frame %d failed: %s", frame.index, e)
                continue
            self.rendered += 1
            try:
                self._call(self._deliver, frame, jpeg)
            except RuntimeError:  # loop closed
                return

    def close(self) -> None:
        with self._cv:
            self._stop = True
            self._cv.notify()
        self._thread.join(timeout=2)
