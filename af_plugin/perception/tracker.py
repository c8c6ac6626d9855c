"""Face landmarks from images, video files and webcams (MediaPipe legacy Face Mesh, 478 points with irises).

``FaceTracker.process(bgr)`` returns landmarks in *image* pixel units: x to the right, y down, and
MediaPipe's relative depth z scaled like x (negative = toward the camera). ``to_camera_frame`` turns them
into the right-handed frame the solver works in (x right, y up, z toward the viewer).

Video files are decoded with PyAV (exact frame rate, clear errors); webcams are opened with OpenCV by
index. Missing or broken inputs raise VideoFormatError / DeviceError with a message that says what to do.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from af_plugin.errors import DeviceError, VideoFormatError

NUM_LANDMARKS = 478


def to_camera_frame(image_points: np.ndarray) -> np.ndarray:
    """(N, 3) image-space landmarks (x right, y down, z away) → camera frame (x right, y up, z toward viewer)."""
    return np.asarray(image_points, dtype=np.float64) * np.array([1.0, -1.0, -1.0])


class FaceTracker:
    """One face per frame with MediaPipe Face Mesh (refine_landmarks=True). Use as a context manager."""

    def __init__(
        self,
        static_image: bool = False,
        min_detection_confidence: float = 0.5,
        min_tracking_confidence: float = 0.5,
    ) -> None:
        os.environ.setdefault("GLOG_minloglevel", "2")  # MediaPipe's C++ INFO lines are noise for users
        try:
            import mediapipe as mp
        except ImportError as exc:  # pragma: no cover - mediapipe is a declared dependency
            raise DeviceError(
                f"face tracking needs mediapipe 0.10.21 ({exc}); install it with "
                "`pip install mediapipe==0.10.21` (Python <= 3.12)"
            ) from None
        self._mesh = mp.solutions.face_mesh.FaceMesh(
            static_image_mode=static_image,
            max_num_faces=1,
            refine_landmarks=True,
            min_detection_confidence=min_detection_confidence,
            min_tracking_confidence=min_tracking_confidence,
        )

    def process(self, bgr: np.ndarray) -> np.ndarray | None:
        """(H, W, 3) uint8 BGR image → (478, 3) float64 image-space landmarks, or None when no face."""
        import cv2

        if bgr is None or bgr.ndim != 3 or bgr.shape[2] != 3:
            raise ValueError(f"expected an (H, W, 3) BGR image, got {None if bgr is None else bgr.shape}")
        h, w = bgr.shape[:2]
        result = self._mesh.process(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
        if not result.multi_face_landmarks:
            return None
        lm = result.multi_face_landmarks[0].landmark
        pts = np.fromiter((c for p in lm for c in (p.x, p.y, p.z)), dtype=np.float64, count=3 * len(lm))
        return pts.reshape(-1, 3) * np.array([w, h, w])

    def close(self) -> None:
        self._mesh.close()

    def __enter__(self) -> FaceTracker:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# --- video files -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class VideoInfo:
    path: str
    fps: float
    frames: int  # 0 when the container does not say
    width: int
    height: int


def probe_video(path: str | Path) -> VideoInfo:
    """Frame rate, frame count and size of a video file's first video track (VideoFormatError if none)."""
    container = _open_container(path)
    with container:
        stream = _video_stream(container, path)
        return VideoInfo(str(path), _fps(stream), int(stream.frames or 0), stream.width, stream.height)


def read_video(path: str | Path) -> Iterator[np.ndarray]:
    """Yield the frames of a video file as (H, W, 3) uint8 BGR arrays, in order."""
    import av

    container = _open_container(path)
    with container:
        stream = _video_stream(container, path)
        stream.thread_type = "AUTO"
        decoded = 0
        try:
            for frame in container.decode(stream):
                decoded += 1
                yield frame.to_ndarray(format="bgr24")
        except (av.error.FFmpegError, ValueError) as exc:
            if decoded == 0:
                raise VideoFormatError(f"{path}: cannot decode the video track ({exc})") from None
            # A truncated file: the frames that decoded are kept; the rest is gone.
    if decoded == 0:
        raise VideoFormatError(f"{path}: the video track has no frames")


def _open_container(path: str | Path):
    import av

    p = Path(path)
    if not p.exists():
        raise VideoFormatError(f"{p}: no such file")
    if not p.is_file():
        raise VideoFormatError(f"{p}: not a file")
    if p.stat().st_size == 0:
        raise VideoFormatError(f"{p}: file is empty (0 bytes)")
    try:
        return av.open(str(p))
    except (av.error.FFmpegError, OSError, UnicodeDecodeError, ValueError) as exc:
        raise VideoFormatError(f"{p}: not a readable video file ({exc})") from None


def _video_stream(container, path):
    if not container.streams.video:
        raise VideoFormatError(f"{path}: the file has no video track")
    return container.streams.video[0]


def _fps(stream) -> float:
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    if not rate or Fraction(rate) <= 0:
        raise VideoFormatError("the video track does not state a frame rate")
    return float(rate)


# --- webcams -----------------------------------------------------------------------------------------
def open_camera(index: int, width: int = 640, height: int = 480):
    """An opened cv2.VideoCapture for webcam `index` that delivered one frame; DeviceError otherwise."""
    import cv2

    level = cv2.getLogLevel()
    cv2.setLogLevel(0)  # silent: OpenCV's own warnings about the missing device; our DeviceError says it better
    try:
        cap = cv2.VideoCapture(int(index))
    finally:
        cv2.setLogLevel(level)
    ok = cap.isOpened()
    if ok:
        cap.set(cv2.CAP_PROP_FRAME_WIDTH, width)
        cap.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
        ok, _ = cap.read()
    if not ok:
        cap.release()
        devices = sorted(str(p) for p in Path("/dev").glob("video*")) if Path("/dev").is_dir() else []
        found = ", ".join(devices) if devices else "none"
        raise DeviceError(
            f"no webcam at index {index} (video devices found: {found}). Plug in a camera, close other apps "
            "using it, check permissions (Linux: be in the 'video' group), try another index (cam:1), "
            "or track a video file instead: af track clip.mp4 -o out.csv"
        )
    return cap


def read_camera(index: int, width: int = 640, height: int = 480) -> Iterator[np.ndarray]:
    """Open webcam `index` now (DeviceError if it cannot) and return an iterator over its BGR frames."""
    cap = open_camera(index, width, height)

    def frames() -> Iterator[np.ndarray]:
        try:
            while True:
                ok, frame = cap.read()
                if not ok:
                    return
                yield frame
        finally:
            cap.release()

    return frames()


def track_video(path: str | Path, **kwargs):
    """Same as ``perception.tracking.track_video`` (kept here too: some callers look for it beside the tracker)."""
    from af_plugin.perception.tracking import track_video as _track_video

    return _track_video(path, **kwargs)
