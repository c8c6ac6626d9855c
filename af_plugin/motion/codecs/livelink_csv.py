"""Live Link Face CSV takes (the iPhone app's recording format), read and written.

Columns: ``Timecode`` (``HH:MM:SS:FF.mmm``: frame FF within the second at the take's rate, plus a
sub-frame fraction, ignored on read), ``BlendshapeCount`` (61; ``BlendShapeCount`` is accepted too), the 52 ARKit names
with a capital first letter, then ``HeadYaw, HeadPitch, HeadRoll, LeftEyeYaw, LeftEyePitch, LeftEyeRoll,
RightEyeYaw, RightEyePitch, RightEyeRoll``.

What the format cannot carry: head translation (headX/Y/Z) is not written and reads back as 0; eye roll
is written as 0 and ignored on read. Frames without an observation are marked in an extra trailing
column ``AfNoFace`` (1 = no face), written only when a clip has such frames; other tools ignore it.

Real takes are often 60 fps; the take's rate is inferred from the largest frame number in the
timecodes (rounded up to a standard rate) and the reader returns the native rate — ``MotionClip.read``
then resamples to the requested fps.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from af_plugin.errors import MotionFormatError
from af_plugin.motion.contract import ARKIT_BLENDSHAPES, CHANNEL_INDEX, EYE_GAZE, HEAD_ROTATION, NUM_CHANNELS

if TYPE_CHECKING:
    from af_plugin.motion.clip import MotionClip

BLENDSHAPE_COUNT = 61
EYE_COLUMNS = ("LeftEyeYaw", "LeftEyePitch", "LeftEyeRoll", "RightEyeYaw", "RightEyePitch", "RightEyeRoll")
VALUE_COLUMNS: tuple[str, ...] = (
    tuple(n[0].upper() + n[1:] for n in ARKIT_BLENDSHAPES) + ("HeadYaw", "HeadPitch", "HeadRoll") + EYE_COLUMNS
)
NO_FACE_COLUMN = "AfNoFace"
STANDARD_RATES = (24, 25, 30, 48, 50, 60, 100, 120)

# CSV column → our channel (eye roll has no channel).
COLUMN_TO_CHANNEL: dict[str, str] = {
    **{n[0].upper() + n[1:]: n for n in ARKIT_BLENDSHAPES},
    **dict(zip(("HeadYaw", "HeadPitch", "HeadRoll"), HEAD_ROTATION)),
    **dict(zip(("LeftEyeYaw", "LeftEyePitch", "RightEyeYaw", "RightEyePitch"), EYE_GAZE)),
}
_TIMECODE = re.compile(r"^(\d+):(\d{2}):(\d{2})[:;](\d+)(?:\.(\d+))?$")


def format_timecode(seconds: float, fps: float) -> str:
    frames_total = seconds * fps
    whole = int(np.floor(frames_total + 1e-6))
    sub = max(0.0, frames_total - whole)
    rate = int(round(fps))
    secs, ff = divmod(whole, rate)
    h, rem = divmod(secs, 3600)
    m, s = divmod(rem, 60)
    return f"{h:02d}:{m:02d}:{s:02d}:{ff:02d}.{int(round(sub * 1000)) % 1000:03d}"


def write(clip: MotionClip, path: Path) -> None:
    with_flag = not bool(clip.valid.all())
    header = ["Timecode", "BlendshapeCount", *VALUE_COLUMNS] + ([NO_FACE_COLUMN] if with_flag else [])
    cols = [CHANNEL_INDEX.get(COLUMN_TO_CHANNEL.get(c, ""), -1) for c in VALUE_COLUMNS]
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        for t, ok, row in zip(clip.timestamps, clip.valid, clip.values):
            vals = [repr(float(row[i])) if i >= 0 else "0.0" for i in cols]
            w.writerow([format_timecode(t, clip.fps), BLENDSHAPE_COUNT, *vals] + ([0 if ok else 1] if with_flag else []))


def _parse_timecode(text: str, path: Path, line: int) -> tuple[int, int, float]:
    m = _TIMECODE.match(text.strip())
    if not m:
        raise MotionFormatError(f"line {line}: bad Timecode {text!r}, expected HH:MM:SS:FF.mmm", path)
    h, mi, s, ff, sub = m.groups()
    subframe = float("0." + sub) if sub else 0.0
    return int(h) * 3600 + int(mi) * 60 + int(s), int(ff), subframe


def read(path: Path) -> MotionClip:
    from af_plugin.motion.clip import MotionClip

    with path.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f)
        try:
            header = [h.strip() for h in next(reader)]
        except StopIteration:
            raise MotionFormatError("empty CSV", path) from None
        rows = [r for r in reader if any(cell.strip() for cell in r)]
    required = ["Timecode", *VALUE_COLUMNS]
    missing = [c for c in required if c not in header]
    if "BlendshapeCount" not in header and "BlendShapeCount" not in header:
        missing.insert(1, "BlendshapeCount")
    known = set(required) | {"BlendshapeCount", "BlendShapeCount", NO_FACE_COLUMN}
    unknown = [c for c in header if c not in known]
    if missing or unknown:
        raise MotionFormatError(
            f"not a Live Link Face CSV: missing columns {missing[:6]}, unknown columns {unknown[:6]}", path
        )
    if not rows:
        raise MotionFormatError("CSV has a header but no frames", path)
    pos = {c: i for i, c in enumerate(header)}
    values = np.zeros((len(rows), NUM_CHANNELS), np.float32)
    valid = np.ones(len(rows), bool)
    stamps = []
    for n, r in enumerate(rows):
        line = n + 2
        if len(r) != len(header):
            raise MotionFormatError(f"line {line}: {len(r)} fields, header has {len(header)}", path)
        stamps.append(_parse_timecode(r[pos["Timecode"]], path, line))
        try:
            for col, ch in COLUMN_TO_CHANNEL.items():
                values[n, CHANNEL_INDEX[ch]] = float(r[pos[col]])
        except ValueError:
            raise MotionFormatError(f"line {line}: a value is not a number", path) from None
        if NO_FACE_COLUMN in pos:
            valid[n] = r[pos[NO_FACE_COLUMN]].strip() in ("0", "")
    if not np.isfinite(values).all():
        bad = int(np.argwhere(~np.isfinite(values))[0, 0]) + 2
        raise MotionFormatError(f"line {bad}: NaN or Inf value", path)
    max_ff = max(ff for _, ff, _ in stamps)
    rate = next((r for r in STANDARD_RATES if r > max_ff), max_ff + 1)
    # Rows are placed on whole frame numbers; the sub-frame fraction is kept out of the grid because
    # takes disagree about its meaning and it would only jitter rows by less than a frame.
    t = np.array([s + ff / rate for s, ff, _ in stamps])
    t -= t[0]
    if len(t) > 1 and np.any(np.diff(t) <= 0):
        # Timecodes that go backwards or repeat (midnight wrap, edited takes): keep row order at the rate.
        t = np.arange(len(t)) / rate
    grid = np.arange(int(round(t[-1] * rate)) + 1) / rate
    if len(grid) != len(t) or np.abs(grid - t).max() > 0.25 / rate:
        # Dropped or uneven frames in the take: place rows at their timecodes on a uniform grid.
        values = np.stack([np.interp(grid, t, values[:, c]) for c in range(NUM_CHANNELS)], axis=1)
        valid = valid[np.clip(np.searchsorted(t, grid), 0, len(t) - 1)]
    return MotionClip(values, fps=float(rate), valid=valid)
