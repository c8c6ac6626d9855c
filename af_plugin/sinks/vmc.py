"""VMC protocol output (OSC over UDP): drives VSeeFace, Warudo, VNyan, VMagicMirror, EVMC4U...

Per frame, in this order (one OSC bundle per frame, or one datagram per message when ``bundle=False``,
for receivers that cannot read bundles):

    /VMC/Ext/OK        (int)1 loaded, (int)3 calibrated, (int)0 normal mode, (int)tracking 1|0
    /VMC/Ext/T         (float)t, the frame's session time (the receiver's liveness check)
    /VMC/Ext/Bone/Pos  Neck, Head, LeftEye, RightEye: (string)name, position xyz, local quaternion xyzw
    /VMC/Ext/Blend/Val (string)name (float)value, for every blendshape sent
    /VMC/Ext/Blend/Apply

Blendshapes are the 52 ARKit names ("Perfect Sync"; camel ``eyeBlinkLeft`` or Pascal ``EyeBlinkLeft``)
and/or the VRM 0.x presets derived from them (``names``); see :func:`vrm_presets` for the formulas.

Rotations are Unity's (left-handed, +X right, +Y up, +Z the avatar's forward; a normalised VRM rig whose
bones are identity at rest). From the motion contract: Unity Euler angles (x, y, z) =
(-pitch, -yaw, +roll), composed as Unity's ``Quaternion.Euler`` does (Z, then X, then Y). The head
rotation is split between Neck (``neck_share`` of the angle) and Head so that Neck·Head is the full head
rotation. Eye bones are local to the Head. docs/vmc.md derives each sign.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Literal

import numpy as np
from pythonosc.osc_bundle_builder import IMMEDIATELY, OscBundleBuilder
from pythonosc.osc_message import OscMessage
from pythonosc.osc_message_builder import OscMessageBuilder

from af_plugin.constants import DEFAULT_HOST, VMC_PORT
from af_plugin.motion.codecs.afm import FLAG_NO_FACE
from af_plugin.motion.contract import ARKIT_BLENDSHAPES, CHANNEL_INDEX
from af_plugin.sinks.base import MotionFrame, Sink, SinkError, register_sink
from af_plugin.sinks.udp import UdpSender, parse_target

if TYPE_CHECKING:
    from af_plugin.config import OutputsConfig

VRM0_PRESETS: tuple[str, ...] = (
    "A", "I", "U", "E", "O", "Blink", "Blink_L", "Blink_R",
    "Joy", "Angry", "Sorrow", "Fun", "LookUp", "LookDown", "LookLeft", "LookRight",
)  # fmt: skip
"""VRM 0.x BlendShapePreset names the sink derives (case-sensitive on the receiver side)."""

BONES: tuple[str, ...] = ("Neck", "Head", "LeftEye", "RightEye")

DEFAULT_BONE_POSITIONS: dict[str, tuple[float, float, float]] = {
    "Neck": (0.0, 0.10, 0.0),
    "Head": (0.0, 0.08, 0.0),
    "LeftEye": (-0.032, 0.07, 0.07),
    "RightEye": (0.032, 0.07, 0.07),
}
"""Local bone positions (m) of a typical adult VRM humanoid; VMC requires positions with each rotation.
Receivers that copy bone positions onto the model should get the model's own (``bone_positions``)."""

DEFAULT_GAZE_FULL_SCALE = math.radians(30.0)
"""Gaze angle that drives LookUp/Down/Left/Right to 1."""


# --- rotations ------------------------------------------------------------------------------------


def quat_mul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hamilton product of (x, y, z, w) quaternions: the rotation b, then a (as Unity's ``a * b``)."""
    ax, ay, az, aw = a
    bx, by, bz, bw = b
    return np.array([
        aw * bx + ax * bw + ay * bz - az * by,
        aw * by - ax * bz + ay * bw + az * bx,
        aw * bz + ax * by - ay * bx + az * bw,
        aw * bw - ax * bx - ay * by - az * bz,
    ])  # fmt: skip


def _axis_quat(axis: int, angle: float) -> np.ndarray:
    q = np.array([0.0, 0.0, 0.0, math.cos(angle / 2)])
    q[axis] = math.sin(angle / 2)
    return q


def unity_euler(x: float, y: float, z: float) -> np.ndarray:
    """Unity's ``Quaternion.Euler`` in radians: rotate about Z, then X, then Y → (x, y, z, w)."""
    return quat_mul(_axis_quat(1, y), quat_mul(_axis_quat(0, x), _axis_quat(2, z)))


def quat_power(q: np.ndarray, share: float) -> np.ndarray:
    """The rotation about q's axis by ``share`` of q's angle (slerp from identity)."""
    w = max(-1.0, min(1.0, float(q[3])))
    angle = 2.0 * math.acos(w)
    s = math.sqrt(max(0.0, 1.0 - w * w))
    if s < 1e-9:
        return np.array([0.0, 0.0, 0.0, 1.0])
    axis = q[:3] / s
    return np.concatenate([axis * math.sin(angle * share / 2), [math.cos(angle * share / 2)]])


def quat_conj(q: np.ndarray) -> np.ndarray:
    return np.array([-q[0], -q[1], -q[2], q[3]])


def head_rotation_unity(yaw: float, pitch: float, roll: float) -> np.ndarray:
    """Contract head angles (rad) → Unity local rotation: yaw>0 turns to the avatar's left (−X)."""
    return unity_euler(-pitch, -yaw, roll)


def eye_rotation_unity(yaw: float, pitch: float) -> np.ndarray:
    """Contract gaze angles (rad, relative to the head) → Unity local eye-bone rotation."""
    return unity_euler(-pitch, -yaw, 0.0)


# --- blendshapes ------------------------------------------------------------------------------------


def arkit_name(name: str, case: Literal["camel", "pascal"]) -> str:
    return name if case == "camel" else name[0].upper() + name[1:]


def vrm_presets(values: np.ndarray, gaze_full_scale: float = DEFAULT_GAZE_FULL_SCALE) -> dict[str, float]:
    """VRM 0.x presets from one contract frame (formulas also in docs/vmc.md).

    Mouth: open = jawOpen, round = max(funnel, pucker), wide = max(mean stretch, mean smile);
    A = open·(1−round), I = wide·(1−open), U = pucker·(1−open), E = wide·open, O = funnel·open,
    then scaled down together so A+I+U+E+O ≤ max(open, round, wide).
    Eyes: Blink = min(L, R), Blink_L = L − Blink, Blink_R = R − Blink (so each eye totals its own blink).
    Emotion: smile = mean(mouthSmile L/R), cheek = mean(cheekSquint L/R); Joy = min(smile, cheek),
    Fun = smile − Joy, Angry = mean(browDown L/R)·(1−smile), Sorrow = mean(mouthFrown L/R)·(1−smile).
    Gaze: mean eye yaw/pitch over ``gaze_full_scale``; LookLeft = the avatar's own left (yaw > 0).
    """
    v = values

    def c(name: str) -> float:
        return min(1.0, max(0.0, float(v[CHANNEL_INDEX[name]])))

    def mean2(stem: str) -> float:
        return 0.5 * (c(stem + "Left") + c(stem + "Right"))

    open_, funnel, pucker = c("jawOpen"), c("mouthFunnel"), c("mouthPucker")
    smile = mean2("mouthSmile")
    round_ = max(funnel, pucker)
    wide = max(mean2("mouthStretch"), smile)
    mouth = {
        "A": open_ * (1 - round_),
        "I": wide * (1 - open_),
        "U": pucker * (1 - open_),
        "E": wide * open_,
        "O": funnel * open_,
    }
    total, limit = sum(mouth.values()), max(open_, round_, wide)
    if total > limit > 0:
        mouth = {k: x * limit / total for k, x in mouth.items()}
    left, right = c("eyeBlinkLeft"), c("eyeBlinkRight")
    blink = min(left, right)
    joy = min(smile, mean2("cheekSquint"))
    yaw = 0.5 * (float(v[CHANNEL_INDEX["leftEyeYaw"]]) + float(v[CHANNEL_INDEX["rightEyeYaw"]])) / gaze_full_scale
    pitch = 0.5 * (float(v[CHANNEL_INDEX["leftEyePitch"]]) + float(v[CHANNEL_INDEX["rightEyePitch"]])) / gaze_full_scale
    out = {
        **mouth,
        "Blink": blink,
        "Blink_L": left - blink,
        "Blink_R": right - blink,
        "Joy": joy,
        "Angry": mean2("browDown") * (1 - smile),
        "Sorrow": mean2("mouthFrown") * (1 - smile),
        "Fun": smile - joy,
        "LookUp": min(1.0, max(0.0, pitch)),
        "LookDown": min(1.0, max(0.0, -pitch)),
        "LookLeft": min(1.0, max(0.0, yaw)),
        "LookRight": min(1.0, max(0.0, -yaw)),
    }
    assert tuple(out) == VRM0_PRESETS
    return out


# --- the sink -----------------------------------------------------------------------------------------


def _message(address: str, *args: tuple[object, str]) -> OscMessage:
    builder = OscMessageBuilder(address)
    for value, kind in args:
        builder.add_arg(value, kind)
    return builder.build()


class VmcSink(Sink):
    """Streams motion frames as VMC protocol (performer → marionette) to ``target`` (default port 39539).

    ``names``: ``"both"`` (ARKit + VRM presets; VMC senders must send VRM0 names), ``"arkit"`` (Perfect
    Sync models: avoids driving a shape twice) or ``"vrm"``. ``case`` picks ARKit name casing.
    """

    name = "vmc"

    def __init__(
        self,
        target: str | None = None,
        *,
        bundle: bool = True,
        case: Literal["camel", "pascal"] = "camel",
        names: Literal["both", "arkit", "vrm"] = "both",
        bones: bool = True,
        neck_share: float = 0.3,
        gaze_full_scale: float = DEFAULT_GAZE_FULL_SCALE,
        bone_positions: Mapping[str, Sequence[float]] | None = None,
    ):
        host, port = parse_target(target, DEFAULT_HOST, VMC_PORT)
        if case not in ("camel", "pascal"):
            raise SinkError(f"VMC name case must be 'camel' or 'pascal', got {case!r}")
        if names not in ("both", "arkit", "vrm"):
            raise SinkError(f"VMC names must be 'both', 'arkit' or 'vrm', got {names!r}")
        if not 0.0 <= neck_share <= 1.0:
            raise SinkError(f"neck_share is the neck's fraction of the head rotation, 0..1; got {neck_share}")
        if not gaze_full_scale > 0:
            raise SinkError(f"gaze_full_scale must be a positive angle in radians, got {gaze_full_scale}")
        positions = {**DEFAULT_BONE_POSITIONS, **(bone_positions or {})}
        unknown = set(positions) - set(BONES)
        if unknown:
            raise SinkError(f"bone_positions names unknown bones {sorted(unknown)}; VMC bones sent: {list(BONES)}")
        self.bundle, self.case, self.names, self.bones = bundle, case, names, bones
        self.neck_share, self.gaze_full_scale = neck_share, gaze_full_scale
        self.bone_positions = {b: tuple(float(x) for x in positions[b]) for b in BONES}
        self.udp = UdpSender(host, port, "VMC output")
        self._arkit = [(arkit_name(n, case), CHANNEL_INDEX[n]) for n in ARKIT_BLENDSHAPES]
        self.frames_sent = 0

    @classmethod
    def from_config(cls, outputs: OutputsConfig) -> VmcSink:
        """The sink ``outputs.vmc`` / ``vmc_bundle`` / ``vmc_case`` / ``vmc_names`` describe."""
        return cls(outputs.vmc, bundle=outputs.vmc_bundle, case=outputs.vmc_case, names=outputs.vmc_names)

    @property
    def errors(self) -> int:
        return self.udp.errors

    def open(self) -> None:
        self.udp.open()

    def bone_rotations(self, values: np.ndarray) -> dict[str, np.ndarray]:
        """Unity local quaternions (x, y, z, w) for Neck, Head, LeftEye, RightEye."""
        v = values
        full = head_rotation_unity(float(v[CHANNEL_INDEX["headYaw"]]), float(v[CHANNEL_INDEX["headPitch"]]),
                                   float(v[CHANNEL_INDEX["headRoll"]]))  # fmt: skip
        neck = quat_power(full, self.neck_share)
        return {
            "Neck": neck,
            "Head": quat_mul(quat_conj(neck), full),
            "LeftEye": eye_rotation_unity(
                float(v[CHANNEL_INDEX["leftEyeYaw"]]), float(v[CHANNEL_INDEX["leftEyePitch"]])
            ),
            "RightEye": eye_rotation_unity(
                float(v[CHANNEL_INDEX["rightEyeYaw"]]), float(v[CHANNEL_INDEX["rightEyePitch"]])
            ),
        }

    def blendshapes(self, values: np.ndarray) -> list[tuple[str, float]]:
        """(name, value) pairs sent as /VMC/Ext/Blend/Val, in sending order."""
        out: list[tuple[str, float]] = []
        if self.names in ("both", "arkit"):
            out += [(name, min(1.0, max(0.0, float(values[i])))) for name, i in self._arkit]
        if self.names in ("both", "vrm"):
            out += list(vrm_presets(values, self.gaze_full_scale).items())
        return out

    def messages(self, frame: MotionFrame) -> list[OscMessage]:
        """Every OSC message of one frame, in sending order."""
        tracking = 0 if frame.flags & FLAG_NO_FACE else 1
        msgs = [
            _message("/VMC/Ext/OK", (1, "i"), (3, "i"), (0, "i"), (tracking, "i")),
            _message("/VMC/Ext/T", (float(frame.t), "f")),
        ]
        if self.bones:
            for bone, q in self.bone_rotations(frame.values).items():
                px, py, pz = self.bone_positions[bone]
                msgs.append(_message("/VMC/Ext/Bone/Pos", (bone, "s"), *((float(x), "f") for x in (px, py, pz, *q))))
        msgs += [
            _message("/VMC/Ext/Blend/Val", (name, "s"), (value, "f")) for name, value in self.blendshapes(frame.values)
        ]
        msgs.append(_message("/VMC/Ext/Blend/Apply"))
        return msgs

    def send(self, frame: MotionFrame) -> None:
        msgs = self.messages(frame)
        if self.bundle:
            builder = OscBundleBuilder(IMMEDIATELY)
            for m in msgs:
                builder.add_content(m)
            ok = self.udp.send(builder.build().dgram)
        else:
            ok = all([self.udp.send(m.dgram) for m in msgs])
        if ok:
            self.frames_sent += 1

    def close(self) -> None:
        self.udp.close()


register_sink("vmc", VmcSink)
