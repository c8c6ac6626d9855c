"""Face tracking end to end: frames → landmarks → 62-channel motion, for files and live sources.

``LiveFaceTracking`` is the per-frame streaming path the runtime's webcam source uses: calibration
collects the first seconds of faces (the running estimate is used meanwhile) and a One Euro filter smooths
in arrival order. ``track_video`` runs the same solver over a file: it calibrates on the first seconds of
the take before solving, so even the first frames are normalised by the full neutral, and returns a
MotionClip at 25 fps (resampled if the video has another rate). Frames without a face keep the last
values and are flagged (``MotionClip.valid`` False → the codecs write AfNoFace / FLAG_NO_FACE).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from af_plugin.constants import FPS
from af_plugin.motion.clip import MotionClip
from af_plugin.motion.contract import NUM_CHANNELS
from af_plugin.perception.smoothing import OneEuroFilter
from af_plugin.perception.solver import Calibration, Neutral, Observation, observe, solve
from af_plugin.perception.tracker import FaceTracker, probe_video, read_camera, read_video

DEFAULT_CALIBRATE_SECONDS = 2.0


class LiveFaceTracking:
    """Streaming: ``process(bgr_frame) -> (62,) float32 values, or None when no face is found``."""

    def __init__(
        self,
        calibrate_seconds: float = DEFAULT_CALIBRATE_SECONDS,
        fps: float = FPS,
        smoothing: bool = True,
        tracker: FaceTracker | None = None,
    ) -> None:
        self.fps = fps
        self.tracker = tracker or FaceTracker()
        self.calibration = Calibration(frames=max(1, round(calibrate_seconds * fps)))
        self._filter = OneEuroFilter(rate=fps) if smoothing else None
        self.last_landmarks: np.ndarray | None = None
        self.last_observation: Observation | None = None

    def process(self, bgr: np.ndarray) -> np.ndarray | None:
        landmarks = self.tracker.process(bgr)
        self.last_landmarks = landmarks
        if landmarks is None:
            self.last_observation = None
            return None
        return self.process_landmarks(landmarks, (bgr.shape[1], bgr.shape[0]))

    def process_landmarks(self, image_points: np.ndarray, image_size: tuple[int, int]) -> np.ndarray:
        """Solve already-tracked landmarks (image pixels) of an image of size (width, height)."""
        obs = observe(image_points, image_size)
        self.last_observation = obs
        self.calibration.add(obs)
        values = solve(obs, self.calibration.neutral)
        if self._filter is not None:
            values = self._filter(values)
        return np.asarray(values, dtype=np.float32)

    def calibrate(self, frames: Iterable[np.ndarray] | None = None) -> Neutral | None:
        """Set the neutral from `frames` (BGR, neutral face looking at the camera), or, with no frames,
        start collecting a fresh neutral from the next frames. Returns the neutral when it is set now."""
        if frames is None:
            self.calibration.reset()
            return None
        obs = []
        for frame in frames:
            landmarks = self.tracker.process(frame)
            if landmarks is not None:
                obs.append(observe(landmarks, (frame.shape[1], frame.shape[0])))
        neutral = Neutral.from_observations(obs)  # ValueError when no frame had a face
        self.calibration.set(neutral)
        return neutral

    def reset(self) -> None:
        self.calibration.reset()
        if self._filter is not None:
            self._filter.reset()

    def close(self) -> None:
        self.tracker.close()

    def __enter__(self) -> LiveFaceTracking:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def track_landmarks(
    frames: Iterable[np.ndarray], total: int | None = None, progress: bool = False
) -> tuple[list[np.ndarray | None], tuple[int, int]]:
    """Run Face Mesh over frames in order: per-frame image-space landmarks (None = no face), image size."""
    from tqdm import tqdm

    out: list[np.ndarray | None] = []
    size = (0, 0)
    with FaceTracker() as tracker:
        for frame in tqdm(frames, total=total or None, disable=not progress, unit="frame", desc="tracking"):
            size = (frame.shape[1], frame.shape[0])
            out.append(tracker.process(frame))
    return out, size


def solve_track(
    landmarks: list[np.ndarray | None],
    image_size: tuple[int, int],
    source_fps: float,
    calibrate_seconds: float = DEFAULT_CALIBRATE_SECONDS,
    fps: float = FPS,
    smoothing: bool = True,
) -> MotionClip:
    """Per-frame landmarks of a take → MotionClip at `fps`, neutral from its first `calibrate_seconds`."""
    obs = [None if lm is None else observe(lm, image_size) for lm in landmarks]
    valid = np.array([o is not None for o in obs], dtype=bool)
    window = max(1, round(calibrate_seconds * source_fps))
    calib = [o for o in obs[:window] if o is not None] or [o for o in obs if o is not None][:window]
    values = np.zeros((len(obs), NUM_CHANNELS), dtype=np.float32)
    meta = {"source_fps": source_fps, "face_rate": float(valid.mean()) if len(valid) else 0.0}
    if calib:
        neutral = Neutral.from_observations(calib)
        meta["calibration_frames"] = neutral.frames
        filt = OneEuroFilter(rate=source_fps) if smoothing else None
        last = np.zeros(NUM_CHANNELS, dtype=np.float32)
        for i, o in enumerate(obs):
            if o is not None:
                v = solve(o, neutral)
                last = (filt(v) if filt is not None else v).astype(np.float32)
            values[i] = last  # frames without a face hold the last values (and are flagged invalid)
    clip = MotionClip(values, fps=source_fps, valid=valid, meta=meta)
    if abs(source_fps - fps) > 1e-6:
        clip = clip.resample(fps)
    return clip


def track_video(
    path: str | Path,
    calibrate_seconds: float = DEFAULT_CALIBRATE_SECONDS,
    fps: float = FPS,
    progress: bool = False,
    smoothing: bool = True,
) -> MotionClip:
    """Track the face in a video file → MotionClip at `fps` (VideoFormatError for unreadable files)."""
    info = probe_video(path)
    landmarks, size = track_landmarks(read_video(path), total=info.frames, progress=progress)
    clip = solve_track(landmarks, size, info.fps, calibrate_seconds, fps, smoothing)
    clip.meta.update(source=str(path), tracker="mediapipe face_mesh (refine_landmarks)")
    return clip


def track_camera(
    index: int,
    seconds: float | None = None,
    calibrate_seconds: float = DEFAULT_CALIBRATE_SECONDS,
    fps: float = FPS,
    on_frame: Callable[[int, np.ndarray | None], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> MotionClip:
    """Track a webcam until `seconds` pass, `should_stop()` says so, or Ctrl-C; DeviceError without a camera.

    Frames are stamped on arrival and placed on the `fps` grid (latest frame at or before each tick).
    """
    stamps: list[float] = []
    rows: list[np.ndarray | None] = []
    frames = read_camera(index)  # opens the camera first: no camera → DeviceError before MediaPipe loads
    start = time.monotonic()
    with LiveFaceTracking(calibrate_seconds, fps=fps) as live:
        try:
            for frame in frames:
                now = time.monotonic() - start
                values = live.process(frame)
                stamps.append(now)
                rows.append(values)
                if on_frame is not None:
                    on_frame(len(rows) - 1, values)
                if (seconds is not None and now >= seconds) or (should_stop is not None and should_stop()):
                    break
        except KeyboardInterrupt:
            pass
    return _to_grid(np.array(stamps), rows, fps, meta={"source": f"cam:{index}"})


def _to_grid(stamps: np.ndarray, rows: list[np.ndarray | None], fps: float, meta: dict) -> MotionClip:
    n = int(stamps[-1] * fps) + 1 if len(stamps) else 0
    values = np.zeros((n, NUM_CHANNELS), dtype=np.float32)
    valid = np.zeros(n, dtype=bool)
    last = np.zeros(NUM_CHANNELS, dtype=np.float32)
    for i in range(n):
        j = int(np.searchsorted(stamps, i / fps, side="right")) - 1
        row = rows[max(j, 0)]
        if row is not None:
            last, valid[i] = row, True
        values[i] = last
    return MotionClip(values, fps=fps, valid=valid, meta=meta)
