"""NumPy .npz motion files: arrays ``values`` (T×C float32), ``channels``, ``valid`` and scalars.

Loaded with ``allow_pickle=False``: an .npz can never run code.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from af_plugin.errors import MotionFormatError
from af_plugin.motion.contract import CHANNELS, LAYOUT_VERSION

if TYPE_CHECKING:
    from af_plugin.motion.clip import MotionClip


def write(clip: MotionClip, path: Path) -> None:
    np.savez_compressed(
        path,
        values=clip.values,
        channels=np.array(CHANNELS),
        valid=clip.valid,
        fps=np.float64(clip.fps),
        start_time=np.float64(clip.start_time),
        first_index=np.int64(clip.first_index),
        layout_version=np.int64(LAYOUT_VERSION),
    )


def read(path: Path) -> MotionClip:
    from af_plugin.motion.clip import MotionClip

    try:
        with np.load(path, allow_pickle=False) as z:
            missing = {"values", "channels", "fps"} - set(z.files)
            if missing:
                raise MotionFormatError(f"missing arrays {sorted(missing)} (has {sorted(z.files)})", path)
            channels = [str(c) for c in z["channels"]]
            values = z["values"]
            if channels != list(CHANNELS):
                unknown = sorted(set(channels) - set(CHANNELS))
                absent = sorted(set(CHANNELS) - set(channels))
                raise MotionFormatError(
                    f"channel layout differs from layout {LAYOUT_VERSION}: unknown {unknown[:5]}, missing {absent[:5]}",
                    path,
                )
            return MotionClip(
                values,
                fps=float(z["fps"]),
                start_time=float(z["start_time"]) if "start_time" in z.files else 0.0,
                first_index=int(z["first_index"]) if "first_index" in z.files else 0,
                valid=z["valid"] if "valid" in z.files else None,
            )
    except MotionFormatError as e:
        if e.path is None:
            raise MotionFormatError(e.problem, path) from None
        raise
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as e:
        raise MotionFormatError(f"not a readable .npz file ({e})", path) from None
