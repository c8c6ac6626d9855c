"""MotionClip: a time-stamped sequence of motion-contract frames, read and written by file extension."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from af_plugin.constants import FPS
from af_plugin.errors import MotionFormatError
from af_plugin.motion.contract import CHANNEL_INDEX, CHANNELS, NUM_CHANNELS


@dataclass
class MotionClip:
    """Frames × channels (float32) at ``fps``; frame i is at ``start_time + i / fps`` seconds.

    ``valid[i]`` is False for frames that carry no observation (e.g. the tracker found no face); such
    frames keep their place so the timeline stays intact.
    """

    values: np.ndarray
    fps: float = FPS
    start_time: float = 0.0
    first_index: int = 0
    valid: np.ndarray | None = None
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.values = np.ascontiguousarray(self.values, dtype=np.float32)
        if self.values.ndim != 2 or self.values.shape[1] != NUM_CHANNELS:
            raise MotionFormatError(
                f"expected frames x {NUM_CHANNELS} channels, got shape {self.values.shape}"
            )
        if not np.isfinite(self.values).all():
            bad = int(np.argwhere(~np.isfinite(self.values))[0, 0])
            raise MotionFormatError(f"NaN or Inf value in frame {bad}")
        if not (self.fps > 0 and np.isfinite(self.fps)):
            raise MotionFormatError(f"fps must be positive, got {self.fps}")
        if self.valid is None:
            self.valid = np.ones(len(self.values), dtype=bool)
        self.valid = np.asarray(self.valid, dtype=bool)
        if self.valid.shape != (len(self.values),):
            raise MotionFormatError(f"valid mask has shape {self.valid.shape}, expected ({len(self.values)},)")

    # --- construction ---------------------------------------------------------------------------
    @classmethod
    def zeros(cls, frames: int, fps: float = FPS) -> MotionClip:
        return cls(np.zeros((frames, NUM_CHANNELS), np.float32), fps=fps)

    @classmethod
    def read(cls, path: str | Path, fps: float | None = FPS) -> MotionClip:
        """Read any supported format (chosen by extension); resample to ``fps`` unless it is None."""
        from af_plugin.motion.codecs import codec_for

        path = Path(path)
        if not path.exists():
            raise MotionFormatError("file does not exist", path)
        if path.stat().st_size == 0:
            raise MotionFormatError("file is empty", path)
        clip = codec_for(path).read(path)
        if fps is not None and abs(clip.fps - fps) > 1e-9:
            clip = clip.resample(fps)
        return clip

    def write(self, path: str | Path) -> Path:
        """Write in the format named by the extension (.csv, .jsonl, .npz, .afm)."""
        from af_plugin.motion.codecs import codec_for

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        codec_for(path).write(self, path)
        return path

    # --- views ----------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.values)

    @property
    def duration(self) -> float:
        """Seconds covered: frames / fps."""
        return len(self.values) / self.fps

    @property
    def timestamps(self) -> np.ndarray:
        return self.start_time + np.arange(len(self.values)) / self.fps

    @property
    def indices(self) -> np.ndarray:
        return self.first_index + np.arange(len(self.values))

    def channel(self, name: str) -> np.ndarray:
        """One channel's values by name (a view)."""
        return self.values[:, CHANNEL_INDEX[name]]

    def as_dict(self, frame: int) -> dict[str, float]:
        return dict(zip(CHANNELS, self.values[frame].tolist()))

    # --- transforms -----------------------------------------------------------------------------
    def resample(self, fps: float) -> MotionClip:
        """Linear interpolation onto a new frame grid covering the same duration."""
        n_out = max(1, int(round(self.duration * fps)))
        t_in = np.arange(len(self.values)) / self.fps
        t_out = np.arange(n_out) / fps
        out = np.empty((n_out, NUM_CHANNELS), np.float32)
        for c in range(NUM_CHANNELS):
            out[:, c] = np.interp(t_out, t_in, self.values[:, c])
        nearest = np.clip(np.round(t_out * self.fps).astype(int), 0, len(self.values) - 1)
        return MotionClip(out, fps=fps, start_time=self.start_time, valid=self.valid[nearest], meta=dict(self.meta))
