"""The motion contract: the named, ordered, versioned channel layout every part of the runtime speaks.

Units and signs (stated once, here; docs/motion-contract.md repeats them for readers):

* blendshapes — the 52 ARKit coefficients in Apple's canonical order, 0..1.
* head rotation — ``headYaw``, ``headPitch``, ``headRoll`` in radians, from the rest pose (facing the
  viewer). ``headYaw > 0``: the face turns toward the avatar's own left (the viewer's right).
  ``headPitch > 0``: chin up, looking up. ``headRoll > 0``: the head tilts toward the avatar's left
  shoulder (the top of the head moves to the viewer's right).
* head translation — ``headX``, ``headY``, ``headZ`` in metres from the rest position. +x is the avatar's
  left (viewer's right), +y is up, +z is toward the viewer.
* eye gaze — ``leftEyeYaw``, ``leftEyePitch``, ``rightEyeYaw``, ``rightEyePitch`` in radians, relative to
  the head, with the same signs as the head (yaw > 0 looks toward the avatar's left, pitch > 0 looks up).
  "Left" is the avatar's own left eye, as in ARKit.

Bridges key channels by name (never by index): Unity's ARKit enum is alphabetical, Live Link's is Apple's.
"""

from __future__ import annotations

import math

LAYOUT_VERSION = 1
"""Bumped whenever CHANNELS changes; stored in every file, stream header and checkpoint."""

ARKIT_BLENDSHAPES: tuple[str, ...] = (
    "eyeBlinkLeft", "eyeLookDownLeft", "eyeLookInLeft", "eyeLookOutLeft", "eyeLookUpLeft",
    "eyeSquintLeft", "eyeWideLeft",
    "eyeBlinkRight", "eyeLookDownRight", "eyeLookInRight", "eyeLookOutRight", "eyeLookUpRight",
    "eyeSquintRight", "eyeWideRight",
    "jawForward", "jawLeft", "jawRight", "jawOpen",
    "mouthClose", "mouthFunnel", "mouthPucker", "mouthLeft", "mouthRight",
    "mouthSmileLeft", "mouthSmileRight", "mouthFrownLeft", "mouthFrownRight",
    "mouthDimpleLeft", "mouthDimpleRight", "mouthStretchLeft", "mouthStretchRight",
    "mouthRollLower", "mouthRollUpper", "mouthShrugLower", "mouthShrugUpper",
    "mouthPressLeft", "mouthPressRight", "mouthLowerDownLeft", "mouthLowerDownRight",
    "mouthUpperUpLeft", "mouthUpperUpRight",
    "browDownLeft", "browDownRight", "browInnerUp", "browOuterUpLeft", "browOuterUpRight",
    "cheekPuff", "cheekSquintLeft", "cheekSquintRight",
    "noseSneerLeft", "noseSneerRight",
    "tongueOut",
)  # fmt: skip

HEAD_ROTATION: tuple[str, ...] = ("headYaw", "headPitch", "headRoll")
HEAD_TRANSLATION: tuple[str, ...] = ("headX", "headY", "headZ")
EYE_GAZE: tuple[str, ...] = ("leftEyeYaw", "leftEyePitch", "rightEyeYaw", "rightEyePitch")

CHANNELS: tuple[str, ...] = ARKIT_BLENDSHAPES + HEAD_ROTATION + HEAD_TRANSLATION + EYE_GAZE
"""Every channel, in layout order. A frame is a float32 vector of len(CHANNELS) values."""

NUM_CHANNELS = len(CHANNELS)
CHANNEL_INDEX: dict[str, int] = {name: i for i, name in enumerate(CHANNELS)}

# Ranges a well-formed frame stays within (inclusive). Generators clip to these; readers only check
# finiteness, because real tracker data can overshoot a little.
CHANNEL_RANGES: dict[str, tuple[float, float]] = {
    **{name: (0.0, 1.0) for name in ARKIT_BLENDSHAPES},
    **{name: (-math.pi / 2, math.pi / 2) for name in HEAD_ROTATION},
    **{name: (-0.5, 0.5) for name in HEAD_TRANSLATION},
    **{name: (-math.pi / 4, math.pi / 4) for name in EYE_GAZE},
}
CHANNEL_UNITS: dict[str, str] = {
    **{name: "0..1" for name in ARKIT_BLENDSHAPES},
    **{name: "rad" for name in HEAD_ROTATION},
    **{name: "m" for name in HEAD_TRANSLATION},
    **{name: "rad" for name in EYE_GAZE},
}

assert len(ARKIT_BLENDSHAPES) == 52 and len(set(CHANNELS)) == NUM_CHANNELS == 62


def channel_slice(group: tuple[str, ...]) -> slice:
    """The contiguous slice of CHANNELS a group occupies (e.g. ``channel_slice(HEAD_ROTATION)``)."""
    start = CHANNEL_INDEX[group[0]]
    return slice(start, start + len(group))


def indices(names: list[str] | tuple[str, ...]) -> list[int]:
    """Layout indices of channels given by name; raises KeyError naming an unknown channel."""
    out = []
    for name in names:
        if name not in CHANNEL_INDEX:
            raise KeyError(f"unknown channel {name!r}; channels are listed in af_plugin.motion.contract")
        out.append(CHANNEL_INDEX[name])
    return out
