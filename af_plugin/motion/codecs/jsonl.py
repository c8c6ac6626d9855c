"""JSON Lines motion files: one object per frame, channel names as keys.

Each line: ``{"frame": i, "t": seconds, "valid": true, "<channel>": value, ...}``. Every channel must be
present; extra keys are an error (they usually mean another layout).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from af_plugin.errors import MotionFormatError
from af_plugin.motion.contract import CHANNELS, NUM_CHANNELS

if TYPE_CHECKING:
    from af_plugin.motion.clip import MotionClip

_META = ("frame", "t", "valid")


def write(clip: MotionClip, path: Path) -> None:
    with path.open("w", encoding="utf-8") as f:
        for i, t, ok, row in zip(clip.indices, clip.timestamps, clip.valid, clip.values):
            obj = {"frame": int(i), "t": float(t), "valid": bool(ok)}
            obj.update(zip(CHANNELS, (float(v) for v in row)))
            f.write(json.dumps(obj) + "\n")


def read(path: Path) -> MotionClip:
    from af_plugin.motion.clip import MotionClip

    rows, times, indices, valid = [], [], [], []
    with path.open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                raise MotionFormatError(f"line {n}: not JSON ({e.msg})", path) from None
            if not isinstance(obj, dict):
                raise MotionFormatError(f"line {n}: expected an object, got {type(obj).__name__}", path)
            missing = [c for c in CHANNELS if c not in obj]
            extra = [k for k in obj if k not in CHANNELS and k not in _META]
            if missing or extra:
                raise MotionFormatError(f"line {n}: missing channels {missing[:5]}, unknown keys {extra[:5]}", path)
            try:
                row = [float(obj[c]) for c in CHANNELS]
            except (TypeError, ValueError):
                raise MotionFormatError(f"line {n}: a channel value is not a number", path) from None
            if not all(math.isfinite(v) for v in row):
                raise MotionFormatError(f"line {n}: NaN or Inf value", path)
            rows.append(row)
            indices.append(int(obj.get("frame", len(indices))))
            times.append(float(obj.get("t", 0.0)))
            valid.append(bool(obj.get("valid", True)))
    if not rows:
        raise MotionFormatError("no frames", path)
    fps = 1.0 / float(np.median(np.diff(times))) if len(times) > 1 and np.all(np.diff(times) > 0) else None
    from af_plugin.constants import FPS

    values = np.array(rows, dtype=np.float32).reshape(-1, NUM_CHANNELS)
    return MotionClip(values, fps=round(fps, 6) if fps else FPS, start_time=times[0], first_index=indices[0], valid=valid)
