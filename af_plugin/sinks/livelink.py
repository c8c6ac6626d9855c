"""Live Link Face UDP output: Unreal's stock "Live Link Face" source receives it as if from the iPhone app.

Packet (big-endian after the version byte; 306 + len(subject UTF-8) bytes with the default 36-char id):

    uint8  version = 6
    int32  len(device id)    + UTF-8 device id
    int32  len(subject name) + UTF-8 subject name
    int32  frame number      float32 sub-frame          (the frame time)
    int32  rate numerator    int32   rate denominator   (25 / 1)
    uint8  value count = 61  + 61 x float32 in Unreal's EARFaceBlendShape order

Our own encoder, written from the layout: PyLiveLinkFace writes the version as a little-endian uint32 and
only produces valid packets because its 36-char id's length byte happens to line up.

Values are keyed by name (never by index): the 52 ARKit shapes 0..1, then head yaw/pitch/roll and both
eyes' yaw/pitch/roll. Angles leave in radians with the motion contract's signs by default (what the app
and the senders we found emit; see docs/unreal.md for what is confirmed); ``angle_units``,
``angle_scale`` and ``angle_signs`` adapt them. Eye roll and head translation have no channel here.
"""

from __future__ import annotations

import math
import socket
import struct
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

import numpy as np

from af_plugin.constants import DEFAULT_HOST, FPS, LIVELINK_PORT
from af_plugin.motion.codecs.livelink_csv import VALUE_COLUMNS as LIVE_LINK_VALUE_COLUMNS
from af_plugin.motion.contract import CHANNEL_INDEX
from af_plugin.sinks.base import MotionFrame, Sink, SinkError, register_sink
from af_plugin.sinks.udp import UdpSender, parse_target

if TYPE_CHECKING:
    from af_plugin.config import OutputsConfig

PACKET_VERSION = 6

# The 52 ARKit names with a capital first letter, then head and eye angles: the same 61 names, in the same
# order, as the Live Link Face CSV columns — derived once from the motion contract there.
LIVELINK_VALUE_NAMES: tuple[str, ...] = LIVE_LINK_VALUE_COLUMNS
"""Unreal's EARFaceBlendShape enum, in enum order: the order of the 61 values in a packet."""
VALUE_COUNT = len(LIVELINK_VALUE_NAMES)
assert VALUE_COUNT == 61

# Live Link value → our channel; eye roll has no channel and is sent as 0.
_ANGLES = {
    "HeadYaw": "headYaw", "HeadPitch": "headPitch", "HeadRoll": "headRoll",
    "LeftEyeYaw": "leftEyeYaw", "LeftEyePitch": "leftEyePitch",
    "RightEyeYaw": "rightEyeYaw", "RightEyePitch": "rightEyePitch",
}  # fmt: skip
VALUE_TO_CHANNEL: dict[str, str | None] = {
    name: _ANGLES.get(name, None if name.endswith("EyeRoll") else name[0].lower() + name[1:])
    for name in LIVELINK_VALUE_NAMES
}

_HEAD = struct.Struct(">B")
_TAIL = struct.Struct(">ifiiB")  # frame number, sub-frame, rate num, rate den, value count
_VALUES = struct.Struct(f">{VALUE_COUNT}f")


def default_device_id() -> str:
    """A stable 36-character UUID per machine, like the app's (Unreal lists sources by device)."""
    return str(uuid.uuid5(uuid.NAMESPACE_DNS, f"avatar-forcing.{socket.gethostname()}"))


def encode_packet(
    device_id: str,
    subject: str,
    frame_number: int,
    sub_frame: float,
    values: Sequence[float] | np.ndarray,
    rate: tuple[int, int] = (FPS, 1),
) -> bytes:
    """One version-6 Live Link Face packet; ``values`` are the 61 floats in EARFaceBlendShape order."""
    dev, subj = device_id.encode("utf-8"), subject.encode("utf-8")
    if len(values) != VALUE_COUNT:
        raise SinkError(f"a Live Link Face packet carries {VALUE_COUNT} values, got {len(values)}")
    return b"".join((
        _HEAD.pack(PACKET_VERSION),
        struct.pack(">i", len(dev)), dev,
        struct.pack(">i", len(subj)), subj,
        _TAIL.pack(frame_number, sub_frame, rate[0], rate[1], VALUE_COUNT),
        _VALUES.pack(*(float(v) for v in values)),
    ))  # fmt: skip


class LiveLinkSink(Sink):
    """Streams motion frames to Unreal's Live Link Face source over UDP (default port 11111).

    ``target`` is ``HOST:PORT`` (as in ``outputs.livelink``); ``subject`` is the Live Link subject name
    the Anim Blueprint selects. Sends never block; an unreachable target is counted in ``errors``.
    """

    name = "livelink"

    def __init__(
        self,
        target: str | None = None,
        *,
        subject: str = "Avatar",
        device_id: str | None = None,
        angle_units: Literal["rad", "deg"] = "rad",
        angle_scale: float = 1.0,
        angle_signs: Sequence[float] = (1.0, 1.0, 1.0),
    ):
        host, port = parse_target(target, DEFAULT_HOST, LIVELINK_PORT)
        if not subject:
            raise SinkError("Live Link subject name must not be empty")
        if angle_units not in ("rad", "deg"):
            raise SinkError(f"angle_units must be 'rad' or 'deg', got {angle_units!r}")
        if len(angle_signs) != 3:
            raise SinkError(f"angle_signs is (yaw, pitch, roll) multipliers, got {angle_signs!r}")
        self.subject = subject
        self.device_id = device_id or default_device_id()
        self.udp = UdpSender(host, port, f"Live Link Face output (subject {subject!r})")
        factor = angle_scale * (180.0 / math.pi if angle_units == "deg" else 1.0)
        # Per-value gather index into the frame (-1 → constant 0) and per-value multiplier.
        self._gather = np.array([CHANNEL_INDEX[c] if c else -1 for c in VALUE_TO_CHANNEL.values()], dtype=np.int64)
        self._scale = np.ones(VALUE_COUNT, dtype=np.float64)
        for i, name in enumerate(LIVELINK_VALUE_NAMES):
            for axis, sign in zip(("Yaw", "Pitch", "Roll"), angle_signs):
                if name.endswith(axis) and name.startswith(("Head", "LeftEye", "RightEye")):
                    self._scale[i] = factor * float(sign)
        self.frames_sent = 0

    @classmethod
    def from_config(cls, outputs: OutputsConfig) -> LiveLinkSink:
        """The sink ``outputs.livelink`` / ``livelink_subject`` / ``livelink_angle_units`` describe."""
        return cls(outputs.livelink, subject=outputs.livelink_subject, angle_units=outputs.livelink_angle_units)

    @property
    def errors(self) -> int:
        return self.udp.errors

    def open(self) -> None:
        self.udp.open()

    def values_for(self, values: np.ndarray) -> np.ndarray:
        """The 61 packet values (EARFaceBlendShape order) for one motion-contract frame."""
        src = np.asarray(values, dtype=np.float64)
        out = np.where(self._gather >= 0, src[np.maximum(self._gather, 0)], 0.0) * self._scale
        return out

    def send(self, frame: MotionFrame) -> None:
        frame_time = frame.t * FPS
        number = int(math.floor(frame_time + 1e-6))
        sub = min(max(frame_time - number, 0.0), 0.999)
        packet = encode_packet(self.device_id, self.subject, number, sub, self.values_for(frame.values))
        if self.udp.send(packet):
            self.frames_sent += 1

    def close(self) -> None:
        self.udp.close()


register_sink("livelink", LiveLinkSink)
