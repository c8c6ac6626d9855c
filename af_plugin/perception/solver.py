"""Face Mesh landmarks → the 62-channel motion contract (ARKit blendshapes, head pose, eye gaze).

Per frame: register the landmarks to the reference face (pose.py), move them into the head frame
(pose and scale removed, metres), measure a few dozen geometric features (eye aspect ratios, brow
heights, jaw drop, inner-lip gap, mouth-corner positions, lip thickness...), and map each feature's
change from the person's **neutral** to a 0..1 coefficient: ``clip((feature − neutral) / gain, 0, 1)``.
The neutral comes from calibration (the first seconds of a take, or an explicit ``calibrate()``); until
enough frames are in, the frames seen so far stand in, so streaming output is usable from frame 0.

Gains are anatomical guesses (millimetres of travel that make a full expression), stated next to each
feature; they are not fitted to any test clip. Channels without a geometric estimate stay 0
(NOT_ESTIMATED, listed in docs/perception.md).

Jaw and lips are kept apart as in ARKit: ``jawOpen`` follows the chin's drop from the upper face,
``mouthClose`` is how much of that opening the lips do *not* follow, so ``jawOpen − mouthClose`` is the
inner-lip gap in jaw units.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from af_plugin.constants import FPS
from af_plugin.motion.contract import (
    ARKIT_BLENDSHAPES,
    CHANNEL_INDEX,
    CHANNEL_RANGES,
    EYE_GAZE,
    HEAD_ROTATION,
    HEAD_TRANSLATION,
    NUM_CHANNELS,
)
from af_plugin.perception.pose import Registration, camera_position, register, rotation_to_angles
from af_plugin.perception.reference import LEFT_IRIS, RIGHT_IRIS, load_reference
from af_plugin.perception.tracker import to_camera_frame

# --- landmark indices ("R"/"L" are the person's own right/left; R is on the image's left) -------------
EYE = {  # outer corner, inner corner, upper lid (2), lower lid (2), lower-lid centre
    "R": dict(outer=33, inner=133, upper=(160, 158), lower=(144, 153), lower_mid=145, iris=RIGHT_IRIS),
    "L": dict(outer=263, inner=362, upper=(387, 385), lower=(373, 380), lower_mid=374, iris=LEFT_IRIS),
}
BROW = {  # inner, middle, outer points (upper and lower edge of the brow, averaged)
    "R": dict(inner=(107, 55), middle=(105, 52), outer=(70, 46)),
    "L": dict(inner=(336, 285), middle=(334, 282), outer=(300, 276)),
}
SUBNASALE, CHIN = 2, 152
UPPER_FACE_MIDLINE = (168, 6, 197, 195, 5, 4, 1)  # nose bridge to tip: rigid, on the midline
CHIN_POINTS = (152, 148, 377, 176, 400, 175, 199, 200)  # averaged: one contour point alone is noisy
LIP_INNER_PAIRS = ((13, 14), (82, 87), (312, 317))  # upper/lower inner lip, centre and either side
UPPER_LIP_TOP, UPPER_LIP_INNER, LOWER_LIP_INNER, LOWER_LIP_BOTTOM = 0, 13, 14, 17
MOUTH_CORNER = {"R": 61, "L": 291}
LATERAL_LIPS = {"R": ((39, 81), (181, 178)), "L": ((269, 311), (405, 402))}  # (outer, inner) upper & lower
UPPER_LIP_SIDE = {"R": 37, "L": 267}
LOWER_LIP_SIDE = {"R": 84, "L": 314}
CHEEK = {"R": 50, "L": 280}
CHEEK_PAIRS = ((205, 425), (216, 436))  # mid and lower cheek; not the face outline, which slides with pose

# --- gains: the feature change (head-frame metres, or a ratio) that makes a coefficient 1 -------------
EYE_CLOSED_RATIO = 0.55  # eyeBlink = 1 when the eye aspect ratio fell by 55 % (Face Mesh lids rarely meet fully)
EYE_WIDE_RATIO = 0.40  # eyeWide = 1 when it rose by 40 %
LOWER_LID_RISE_M = 0.0025  # eyeSquint: lower lid up 2.5 mm
BROW_DOWN_M = 0.004
BROW_UP_M = 0.006
JAW_DROP_M = 0.030  # jawOpen = 1: chin 30 mm further from the nose
LIP_GAP_PER_JAW = 1.5
"""Face Mesh inner-lip gap per unit of its chin drop when the lips just follow the jaw. Read off the HDTF
test clip (regression 1.2, std ratio 1.8): Face Mesh's chin moves less than the jaw. Not anatomical."""
CORNER_UP_M = 0.006  # mouthSmile
CORNER_DOWN_M = 0.004  # mouthFrown
CORNER_OUT_M = 0.006  # mouthStretch
MOUTH_NARROW_RATIO = 0.25  # mouthPucker/Funnel: mouth 25 % narrower
LIP_ROLL_RATIO = 0.6  # mouthRoll: visible lip 60 % thinner
LIP_PRESS_RATIO = 0.4
CHEEK_RISE_M = 0.003
CHEEK_PUFF_RATIO = 0.06
UPPER_LIP_RAISE_M = 0.003
LOWER_LIP_DROP_M = 0.004
EYEBALL_RADIUS_PER_EYE_WIDTH = 0.40  # iris travel r·sin(angle) with r ≈ 12 mm for a 30 mm wide eye
EYE_LOOK_FULL_YAW = np.radians(30.0)
EYE_LOOK_FULL_PITCH = np.radians(25.0)

OPENING_FEATURES = ("jaw_drop", "lip_gap")
"""Rest is the *smallest* value: people talk during calibration, but lips meet at least once in a couple of
seconds of speech (/p b m/), so the neutral is a low percentile (2nd, not the minimum: one bad frame)."""
OPENING_PERCENTILE = 2.0

NOT_ESTIMATED: tuple[str, ...] = (
    "jawForward", "jawLeft", "jawRight", "mouthLeft", "mouthRight", "mouthDimpleLeft", "mouthDimpleRight",
    "mouthShrugLower", "mouthShrugUpper", "noseSneerLeft", "noseSneerRight", "tongueOut",
)  # fmt: skip
"""Blendshapes this solver leaves at 0: no reliable geometric cue in Face Mesh landmarks. (Sideways jaw and
mouth shifts are left out on purpose: Face Mesh's lower face slides sideways with head yaw, r ≈ 0.9 on a
real clip, which would teach the model a coupling that is not in the face.)"""


_REF_EYE_SPAN = float(np.linalg.norm(np.subtract(*load_reference()[0][[EYE["R"]["outer"], EYE["L"]["outer"]]])))
"""Outer-eye-corner distance of the reference face (metres): openings are measured as ratios to it."""


def _dist(h: np.ndarray, a: int, b: int) -> float:
    return float(np.linalg.norm(h[a] - h[b]))


def _mean_y(h: np.ndarray, idx) -> float:
    return float(np.mean(h[list(idx), 1]))


def measure(h: np.ndarray) -> dict[str, float]:
    """Geometric features of head-frame landmarks h (478, 3), metres; x = person's left, y up, z forward."""
    f: dict[str, float] = {}
    for side, e in EYE.items():
        width = _dist(h, e["outer"], e["inner"])
        opening = sum(_dist(h, u, lo) for u, lo in zip(e["upper"], e["lower"]))
        f[f"ear_{side}"] = opening / (2.0 * width)
        corner_mid = (h[e["outer"]] + h[e["inner"]]) / 2
        f[f"lower_lid_{side}"] = float(h[e["lower_mid"], 1] - corner_mid[1])
        # Gaze: iris centre relative to the eye corners, in eye widths (x toward the person's left, y up).
        f[f"iris_x_{side}"] = float((h[e["iris"], 0] - corner_mid[0]) / width)
        f[f"iris_y_{side}"] = float((h[e["iris"], 1] - corner_mid[1]) / width)
        f[f"eye_width_{side}"] = width
        for part, pts in BROW[side].items():
            f[f"brow_{part}_{side}"] = _mean_y(h, pts) - float(corner_mid[1])
        f[f"cheek_{side}"] = float(h[CHEEK[side], 1] - corner_mid[1])
        corner = h[MOUTH_CORNER[side]]
        f[f"corner_up_{side}"] = float(corner[1] - h[SUBNASALE, 1])
        f[f"corner_out_{side}"] = float(abs(corner[0]))
        f[f"lip_side_{side}"] = sum(_dist(h, a, b) for a, b in LATERAL_LIPS[side])
        f[f"upper_lip_{side}"] = float(h[SUBNASALE, 1] - h[UPPER_LIP_SIDE[side], 1])
        f[f"lower_lip_{side}"] = float(h[LOWER_LIP_SIDE[side], 1] - h[CHIN, 1])
    # Openings as ratios to the eye-corner span (× its reference length, to stay in metres): a ratio within
    # one frame cancels frame-to-frame jitter of the registration scale.
    span = _REF_EYE_SPAN / max(_dist(h, EYE["R"]["outer"], EYE["L"]["outer"]), 1e-9)
    chin_drop = np.linalg.norm(h[list(UPPER_FACE_MIDLINE)].mean(axis=0) - h[list(CHIN_POINTS)].mean(axis=0))
    f["jaw_drop"] = float(chin_drop * span)
    f["lip_gap"] = float(np.mean([_dist(h, a, b) for a, b in LIP_INNER_PAIRS]) * span)
    f["mouth_width"] = _dist(h, MOUTH_CORNER["R"], MOUTH_CORNER["L"])
    f["upper_lip_thickness"] = _dist(h, UPPER_LIP_TOP, UPPER_LIP_INNER)
    f["lower_lip_thickness"] = _dist(h, LOWER_LIP_INNER, LOWER_LIP_BOTTOM)
    f["cheek_width"] = float(np.mean([_dist(h, a, b) for a, b in CHEEK_PAIRS]))
    return f


FEATURE_NAMES: tuple[str, ...] = tuple(measure(np.zeros((478, 3)) + np.arange(478)[:, None] * 1e-3))


@dataclass
class Observation:
    """What one frame's landmarks say, before normalisation by the neutral."""

    features: np.ndarray  # (len(FEATURE_NAMES),)
    angles: tuple[float, float, float]  # yaw, pitch, roll (rad)
    position: np.ndarray  # x, y, distance (m), camera model of pose.py
    residual: float


def observe(image_points: np.ndarray, image_size: tuple[int, int]) -> Observation:
    """(478, 3) image-space landmarks of an image of size (width, height) → Observation."""
    cam = to_camera_frame(image_points)
    reg: Registration = register(cam)
    feats = measure(reg.to_head_frame(cam))
    return Observation(
        features=np.array([feats[k] for k in FEATURE_NAMES]),
        angles=rotation_to_angles(reg.rotation),
        position=camera_position(reg, *image_size),
        residual=reg.residual,
    )


@dataclass
class Neutral:
    """A person's rest face: per-feature neutral values and rest head position."""

    features: np.ndarray
    position: np.ndarray
    frames: int

    @classmethod
    def from_observations(cls, obs: list[Observation]) -> Neutral:
        if not obs:
            raise ValueError("calibration needs at least one frame with a face")
        feats = np.stack([o.features for o in obs])
        neutral = np.median(feats, axis=0)
        for name in OPENING_FEATURES:
            i = FEATURE_NAMES.index(name)
            neutral[i] = np.percentile(feats[:, i], OPENING_PERCENTILE)
        position = np.median(np.stack([o.position for o in obs]), axis=0)
        return cls(neutral, position, len(obs))


@dataclass
class Calibration:
    """Collects the first `frames` face observations; the neutral is frozen once they are in."""

    frames: int = int(2.0 * FPS)
    _seen: list[Observation] = field(default_factory=list)
    _neutral: Neutral | None = None
    _explicit: bool = False

    def add(self, obs: Observation) -> None:
        if self._explicit or len(self._seen) >= self.frames:
            return
        self._seen.append(obs)
        self._neutral = Neutral.from_observations(self._seen)

    def set(self, neutral: Neutral) -> None:
        self._neutral, self._explicit = neutral, True

    def reset(self) -> None:
        self._seen, self._neutral, self._explicit = [], None, False

    @property
    def done(self) -> bool:
        return self._explicit or len(self._seen) >= self.frames

    @property
    def neutral(self) -> Neutral | None:
        return self._neutral


def _pos(x: float) -> float:
    return float(min(max(x, 0.0), 1.0))


def solve(obs: Observation, neutral: Neutral) -> np.ndarray:
    """One frame's Observation + the person's Neutral → (62,) float32 motion values (unsmoothed)."""
    d = dict(zip(FEATURE_NAMES, obs.features - neutral.features))
    f = dict(zip(FEATURE_NAMES, obs.features))
    n = dict(zip(FEATURE_NAMES, neutral.features))
    out = np.zeros(NUM_CHANNELS, dtype=np.float32)

    def put(name: str, value: float) -> None:
        out[CHANNEL_INDEX[name]] = value

    side_name = {"R": "Right", "L": "Left"}
    jaw_open = _pos(d["jaw_drop"] / JAW_DROP_M)
    lip_open = _pos(d["lip_gap"] / (LIP_GAP_PER_JAW * JAW_DROP_M))
    put("jawOpen", jaw_open)
    put("mouthClose", _pos(jaw_open - lip_open))
    narrowing = _pos(-d["mouth_width"] / (MOUTH_NARROW_RATIO * n["mouth_width"]))
    roundness = _pos(3.0 * lip_open)
    put("mouthPucker", narrowing * (1.0 - roundness))
    put("mouthFunnel", narrowing * roundness)
    put("mouthRollUpper", _pos(-d["upper_lip_thickness"] / (LIP_ROLL_RATIO * n["upper_lip_thickness"])))
    put("mouthRollLower", _pos(-d["lower_lip_thickness"] / (LIP_ROLL_RATIO * n["lower_lip_thickness"])))
    brow_inner_up = []
    gaze = {}
    for s, S in side_name.items():
        ear_ratio = f[f"ear_{s}"] / max(n[f"ear_{s}"], 1e-6)
        put(f"eyeBlink{S}", _pos((1.0 - ear_ratio) / EYE_CLOSED_RATIO))
        put(f"eyeWide{S}", _pos((ear_ratio - 1.0) / EYE_WIDE_RATIO))
        put(f"eyeSquint{S}", _pos(d[f"lower_lid_{s}"] / LOWER_LID_RISE_M))
        brow_mean = (d[f"brow_inner_{s}"] + d[f"brow_middle_{s}"]) / 2
        put(f"browDown{S}", _pos(-brow_mean / BROW_DOWN_M))
        put(f"browOuterUp{S}", _pos(d[f"brow_outer_{s}"] / BROW_UP_M))
        brow_inner_up.append(_pos(d[f"brow_inner_{s}"] / BROW_UP_M))
        put(f"cheekSquint{S}", _pos(d[f"cheek_{s}"] / CHEEK_RISE_M))
        corner_up = d[f"corner_up_{s}"]  # vs the nose base: in Face Mesh the corners do not follow the chin
        smile = _pos(corner_up / CORNER_UP_M)
        put(f"mouthSmile{S}", smile)
        put(f"mouthFrown{S}", _pos(-corner_up / CORNER_DOWN_M))
        put(f"mouthStretch{S}", _pos(d[f"corner_out_{s}"] / CORNER_OUT_M) * (1.0 - smile))
        put(f"mouthPress{S}", _pos(-d[f"lip_side_{s}"] / (LIP_PRESS_RATIO * n[f"lip_side_{s}"])) * (1.0 - lip_open))
        put(f"mouthUpperUp{S}", _pos(-d[f"upper_lip_{s}"] / UPPER_LIP_RAISE_M))
        put(f"mouthLowerDown{S}", _pos(-d[f"lower_lip_{s}"] / LOWER_LIP_DROP_M))
        # Gaze: iris offset from its neutral, in eye widths → eyeball rotation.
        k = 1.0 / EYEBALL_RADIUS_PER_EYE_WIDTH
        yaw = float(np.arcsin(np.clip(d[f"iris_x_{s}"] * k, -1.0, 1.0)))
        pitch = float(np.arcsin(np.clip(d[f"iris_y_{s}"] * k, -1.0, 1.0)))
        gaze[s] = (yaw, pitch)
        # ARKit eyeLook*: "Out" is toward the eye's own side (the left eye looking to the person's left).
        outward = yaw if s == "L" else -yaw
        put(f"eyeLookOut{S}", _pos(outward / EYE_LOOK_FULL_YAW))
        put(f"eyeLookIn{S}", _pos(-outward / EYE_LOOK_FULL_YAW))
        put(f"eyeLookUp{S}", _pos(pitch / EYE_LOOK_FULL_PITCH))
        put(f"eyeLookDown{S}", _pos(-pitch / EYE_LOOK_FULL_PITCH))
    put("browInnerUp", float(np.mean(brow_inner_up)))
    # Puffed cheeks push the cheeks apart with the lips shut; smiles also widen them, so they do not count.
    smile = max(out[CHANNEL_INDEX["mouthSmileLeft"]], out[CHANNEL_INDEX["mouthSmileRight"]])
    puff = _pos(d["cheek_width"] / (CHEEK_PUFF_RATIO * n["cheek_width"]))
    put("cheekPuff", puff * (1.0 - smile) * (1.0 - roundness))

    for name, value in zip(HEAD_ROTATION, obs.angles):
        put(name, value)
    dx, dy, ddist = obs.position - neutral.position
    for name, value in zip(HEAD_TRANSLATION, (dx, dy, -ddist)):  # +z toward the viewer: closer is positive
        put(name, value)
    for name, value in zip(EYE_GAZE, (*gaze["L"], *gaze["R"])):
        put(name, value)
    for name in NOT_ESTIMATED:
        put(name, 0.0)
    lo = np.array([CHANNEL_RANGES[c][0] for c in CHANNEL_INDEX], dtype=np.float32)
    hi = np.array([CHANNEL_RANGES[c][1] for c in CHANNEL_INDEX], dtype=np.float32)
    return np.clip(out, lo, hi)


assert set(NOT_ESTIMATED) <= set(ARKIT_BLENDSHAPES)
