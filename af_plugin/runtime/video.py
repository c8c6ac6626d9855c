"""User-motion inputs: a webcam or a video file, face-tracked on a thread of their own.

Tracking (MediaPipe) costs tens of milliseconds a frame, so it never runs on the clock: a camera thread keeps
the newest tracked pose, a file thread tracks ahead into a short queue. The engine reads one value per tick;
None means no face / no frame yet, and the model then runs without the user-motion condition.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from pathlib import Path

import numpy as np

from af_plugin.constants import FPS
from af_plugin.errors import DeviceError, MotionFormatError

log = logging.getLogger(__name__)

NO_CAMERA_FIX = (
    "Fixes: plug in a webcam and check it with `v4l2-ctl --list-devices` (Linux) or the system camera settings; "
    "make sure no other app holds it and your user may open it (Linux: the 'video' group); pick another with "
    "cam:INDEX; or pass a video file with --user-video FILE"
)


def _make_tracker():
    try:
        from af_plugin.perception.tracking import LiveFaceTracking
    except ImportError as e:
        raise DeviceError(f"face tracking is not available in this install ({e}); run without --user-video") from None
    return LiveFaceTracking()


class VideoInput:
    kind = "video"
    describe = "video"

    def start(self) -> None: ...

    def read_frame(self) -> np.ndarray | None:
        raise NotImplementedError

    @property
    def finished(self) -> bool:
        return False

    @property
    def alive(self) -> bool:
        return True

    def close(self) -> None: ...


class VideoFileInput(VideoInput):
    """Frames of a video file at 25 fps (nearest source frame), tracked ahead by a worker thread."""

    kind = "file"

    def __init__(self, path: str | Path, *, loop: bool = False, realtime: bool = True, ahead: int = 50) -> None:
        self.path, self.loop, self.realtime = Path(path), loop, realtime
        self.describe = f"file {self.path} (face-tracked)"
        self._q: queue.Queue = queue.Queue(ahead)
        self._stop = threading.Event()
        self._eof = False
        self._done = False
        self.lagged = 0
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        import cv2

        if not self.path.exists():
            raise MotionFormatError("video file does not exist", self.path)
        cap = cv2.VideoCapture(str(self.path))
        ok = cap.isOpened() and cap.read()[0]
        cap.release()
        if not ok:
            raise MotionFormatError("cannot read video frames (not a video, or a codec OpenCV lacks)", self.path)
        tracker = _make_tracker()
        self._thread = threading.Thread(target=self._run, args=(tracker,), name="af-video-file", daemon=True)
        self._thread.start()

    def _frames(self):
        import cv2

        while True:
            cap = cv2.VideoCapture(str(self.path))
            fps = cap.get(cv2.CAP_PROP_FPS) or FPS
            src_i, out_i, frame = -1, 0, None
            while True:
                want = int(round(out_i * fps / FPS))  # the source frame nearest to output frame out_i
                while src_i < want:
                    ok, frame = cap.read()
                    if not ok:
                        frame = None
                        break
                    src_i += 1
                if frame is None:
                    break
                yield frame
                out_i += 1
            cap.release()
            if not self.loop or self._stop.is_set():
                return

    def _run(self, tracker) -> None:
        for frame in self._frames():
            values = tracker.process(frame)
            item = None if values is None else np.asarray(values, dtype=np.float32)
            while not self._stop.is_set():
                try:
                    self._q.put(item, timeout=0.2)
                    break
                except queue.Full:
                    continue
            if self._stop.is_set():
                return
        self._eof = True

    def read_frame(self) -> np.ndarray | None:
        if self._done:
            return None
        try:
            if self.realtime:
                return self._q.get_nowait()
            while True:  # as fast as possible: wait for the tracker, but notice the end of the file
                try:
                    return self._q.get(timeout=0.1)
                except queue.Empty:
                    if self._eof and self._q.empty():
                        raise
        except queue.Empty:
            if self._eof and self._q.empty():
                self._done = True
            else:
                self.lagged += 1
            return None

    @property
    def finished(self) -> bool:
        return self._done

    def close(self) -> None:
        """Stop and join the tracker thread (a thread killed inside MediaPipe at exit aborts the process)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None


class CameraInput(VideoInput):
    """A webcam through OpenCV. The newest tracked pose is used while fresh; a camera that vanishes is
    reopened every ``retry_s`` and the avatar runs without user motion meanwhile."""

    kind = "camera"

    def __init__(self, index: int = 0, *, fresh_s: float = 0.25, retry_s: float = 1.0, opener=None) -> None:
        self.index = index
        self.describe = f"camera {index} (face-tracked)"
        self.fresh_s, self.retry_s = fresh_s, retry_s
        self._opener = opener  # callable(index) -> object with read() -> (ok, bgr) and release()
        self._latest: tuple[float, np.ndarray | None] = (0.0, None)
        self._alive = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.reopens = 0

    def _open(self):
        if self._opener is not None:
            return self._opener(self.index)
        import cv2

        quiet = hasattr(cv2, "setLogLevel") and hasattr(cv2, "getLogLevel")
        level = cv2.getLogLevel() if quiet else None
        if quiet:
            cv2.setLogLevel(0)  # silent: our message says it once, with the fix
        try:
            cap = cv2.VideoCapture(self.index)
        finally:
            if quiet:
                cv2.setLogLevel(level)
        if not cap.isOpened():
            cap.release()
            raise DeviceError(f"no camera at index {self.index}. {NO_CAMERA_FIX}")
        return cap

    def start(self) -> None:
        cap = self._open()
        tracker = _make_tracker()
        self._alive = True
        self._thread = threading.Thread(target=self._run, args=(cap, tracker), name="af-camera", daemon=True)
        self._thread.start()

    def _run(self, cap, tracker) -> None:
        while not self._stop.is_set():
            ok, frame = cap.read() if cap is not None else (False, None)
            if not ok:
                if self._alive:
                    log.warning("camera %s stopped delivering frames; the avatar runs without user motion", self.index)
                self._alive = False
                if cap is not None:
                    cap.release()
                cap = None
                if self._stop.wait(self.retry_s):
                    break
                try:
                    cap = self._open()
                    self._alive = True
                    self.reopens += 1
                    log.warning("camera %s is back", self.index)
                except Exception:  # noqa: BLE001 - keep trying
                    cap = None
                continue
            values = tracker.process(frame)
            self._latest = (time.perf_counter(), None if values is None else np.asarray(values, np.float32))
        if cap is not None:
            cap.release()

    @property
    def alive(self) -> bool:
        return self._alive

    def read_frame(self) -> np.ndarray | None:
        t, values = self._latest
        return values if time.perf_counter() - t <= self.fresh_s else None

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None


def make_video_input(spec: str | None, *, loop: bool = False, realtime: bool = True) -> VideoInput | None:
    """``FILE``, ``cam`` or ``cam:INDEX`` → an input (not yet started); None → no user motion."""
    if not spec:
        return None
    if spec == "cam" or spec.startswith("cam:"):
        _, _, idx = spec.partition(":")
        if idx and not idx.strip().isdigit():
            raise DeviceError(f"camera must be cam or cam:INDEX (a number), got {spec!r}")
        return CameraInput(int(idx) if idx else 0)
    return VideoFileInput(spec, loop=loop, realtime=realtime)
