"""The compact binary motion format (.afm) — also the websocket's binary frame encoding.

All little-endian. A file is one header followed by frames; a websocket binary message is one frame.

    header (16 bytes): magic b"AFM\\x00" | uint16 format version | uint16 layout version
                       | float32 fps | uint16 channel count | uint16 reserved (0)
    frame (16 + 4*C):  uint32 frame index | float64 timestamp (s) | uint16 flags | uint16 reserved (0)
                       | C x float32 values in layout order

Flag bit 0 (FLAG_NO_FACE) marks a frame with no observation (e.g. no face found). See docs/formats.md.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from af_plugin.errors import MotionFormatError
from af_plugin.motion.contract import LAYOUT_VERSION, NUM_CHANNELS

if TYPE_CHECKING:
    from af_plugin.motion.clip import MotionClip

MAGIC = b"AFM\x00"
FORMAT_VERSION = 1
HEADER = struct.Struct("<4sHHfHH")
FRAME_HEADER = struct.Struct("<IdHH")
FLAG_NO_FACE = 1
FRAME_BYTES = FRAME_HEADER.size + 4 * NUM_CHANNELS
"""Bytes in one frame record (and one websocket binary motion message)."""

_FRAME_DTYPE = np.dtype(
    [("index", "<u4"), ("t", "<f8"), ("flags", "<u2"), ("reserved", "<u2"), ("values", "<f4", (NUM_CHANNELS,))]
)
assert _FRAME_DTYPE.itemsize == FRAME_BYTES


def encode_header(fps: float, channels: int = NUM_CHANNELS) -> bytes:
    return HEADER.pack(MAGIC, FORMAT_VERSION, LAYOUT_VERSION, fps, channels, 0)


def decode_header(data: bytes, path: str | Path | None = None) -> float:
    """Validate a header and return its fps."""
    if len(data) < HEADER.size:
        raise MotionFormatError(f"truncated header: {len(data)} bytes, need {HEADER.size}", path)
    magic, version, layout, fps, channels, _ = HEADER.unpack_from(data)
    if magic != MAGIC:
        raise MotionFormatError(f"not an .afm stream: magic {magic!r}, expected {MAGIC!r}", path)
    if version != FORMAT_VERSION:
        raise MotionFormatError(f"format version {version} is not supported (this build reads {FORMAT_VERSION})", path)
    if layout != LAYOUT_VERSION:
        raise MotionFormatError(f"channel layout version {layout}, this build speaks {LAYOUT_VERSION}", path)
    if channels != NUM_CHANNELS:
        raise MotionFormatError(f"{channels} channels, expected {NUM_CHANNELS}", path)
    if not (np.isfinite(fps) and fps > 0):
        raise MotionFormatError(f"invalid fps {fps}", path)
    return float(fps)


def encode_frame(index: int, t: float, values: np.ndarray, flags: int = 0) -> bytes:
    """One frame record: what a websocket binary motion message carries."""
    values = np.asarray(values, dtype="<f4")
    if values.shape != (NUM_CHANNELS,):
        raise MotionFormatError(f"frame has {values.shape} values, expected ({NUM_CHANNELS},)")
    return FRAME_HEADER.pack(index, t, flags, 0) + values.tobytes()


def decode_frames(data: bytes, path: str | Path | None = None) -> np.ndarray:
    """Decode concatenated frame records into a structured array (index, t, flags, values)."""
    if len(data) % FRAME_BYTES:
        raise MotionFormatError(
            f"truncated frame data: {len(data)} bytes is not a multiple of the {FRAME_BYTES}-byte frame", path
        )
    frames = np.frombuffer(data, dtype=_FRAME_DTYPE)
    if not np.isfinite(frames["values"]).all() or not np.isfinite(frames["t"]).all():
        bad = int(np.argwhere(~np.isfinite(frames["values"]).all(axis=1) | ~np.isfinite(frames["t"]))[0, 0])
        raise MotionFormatError(f"NaN or Inf in frame {bad}", path)
    return frames


def decode_frame(data: bytes) -> tuple[int, float, int, np.ndarray]:
    """Decode exactly one frame record → (index, t, flags, values)."""
    if len(data) != FRAME_BYTES:
        raise MotionFormatError(f"a frame is {FRAME_BYTES} bytes, got {len(data)}")
    f = decode_frames(data)[0]
    return int(f["index"]), float(f["t"]), int(f["flags"]), f["values"].copy()


def write(clip: MotionClip, path: Path) -> None:
    frames = np.zeros(len(clip), dtype=_FRAME_DTYPE)
    frames["index"] = clip.indices
    frames["t"] = clip.timestamps
    frames["flags"] = np.where(clip.valid, 0, FLAG_NO_FACE)
    frames["values"] = clip.values
    path.write_bytes(encode_header(clip.fps) + frames.tobytes())


def read(path: Path) -> MotionClip:
    from af_plugin.motion.clip import MotionClip

    data = path.read_bytes()
    fps = decode_header(data, path)
    frames = decode_frames(data[HEADER.size :], path)
    if len(frames) == 0:
        raise MotionFormatError("no frames after the header", path)
    return MotionClip(
        frames["values"].copy(),
        fps=fps,
        start_time=float(frames["t"][0]),
        first_index=int(frames["index"][0]),
        valid=(frames["flags"] & FLAG_NO_FACE) == 0,
    )
