"""Solver on synthetic landmark geometry: each expression moves its own channel, on the right side, at any pose."""

from __future__ import annotations

import numpy as np
import pytest

from af_plugin.motion.contract import CHANNEL_INDEX, CHANNEL_RANGES, CHANNELS
from af_plugin.perception.pose import project_head
from af_plugin.perception.reference import LEFT_IRIS, RIGHT_IRIS, load_reference
from af_plugin.perception.solver import LIP_GAP_PER_JAW, NOT_ESTIMATED, Calibration, Neutral, observe, solve

MM = 0.001
WIDTH, HEIGHT = 640, 480


def synth_image_points(head: np.ndarray, **pose) -> np.ndarray:
    return project_head(head, image_size=(WIDTH, HEIGHT), **pose)


@pytest.fixture(scope="module")
def face():
    shape, _ = load_reference()
    return shape.astype(np.float64)


@pytest.fixture(scope="module")
def neutral(face):
    return Neutral.from_observations([observe(synth_image_points(face), (WIDTH, HEIGHT))])


def solved(head, neutral, **pose) -> dict[str, float]:
    values = solve(observe(synth_image_points(head, **pose), (WIDTH, HEIGHT)), neutral)
    return dict(zip(CHANNELS, values.tolist()))


def moved(face, idx, dy=0.0, dx=0.0):
    h = face.copy()
    h[list(idx), 1] += dy
    h[list(idx), 0] += dx
    return h


def lower_face(face):
    """The lower lip and everything below it (the reference's lips are parted: split between them)."""
    return np.where(face[:, 1] < (face[82, 1] + face[87, 1]) / 2)[0]


def test_neutral_face_solves_to_rest(face, neutral):
    v = solved(face, neutral)
    assert all(abs(v[c]) < 1e-6 for c in CHANNELS)


@pytest.mark.parametrize(
    "pose", [dict(yaw=0.4), dict(pitch=-0.3), dict(roll=0.25), dict(yaw=-0.2, pitch=0.2, roll=-0.1)]
)
def test_expressions_are_pose_invariant_and_pose_passes_through(face, neutral, pose):
    v = solved(face, neutral, **pose)
    for name in ("headYaw", "headPitch", "headRoll"):
        assert v[name] == pytest.approx(pose.get(name[4:].lower(), 0.0), abs=1e-6)
    assert max(abs(v[c]) for c in CHANNELS if not c.startswith("head")) < 1e-4


def test_translation_in_metres(face, neutral):
    v = solved(face, neutral, distance=0.5, x=0.04, y=0.02)  # the neutral was at 0.6 m, centred
    assert v["headZ"] == pytest.approx(0.1, abs=1e-6)  # 10 cm closer = toward the viewer
    assert v["headX"] == pytest.approx(0.04, abs=1e-6) and v["headY"] == pytest.approx(0.02, abs=1e-6)


def test_jaw_drop_with_lips_following_is_jaw_open_not_mouth_close(face, neutral):
    drop = 15 * MM
    h = moved(face, lower_face(face), dy=-drop)
    # Face Mesh's inner-lip gap grows LIP_GAP_PER_JAW times as fast as its chin drop: follow that.
    h = moved(h, [14, 87, 317, 178, 402, 88, 318, 95, 324], dy=-(LIP_GAP_PER_JAW - 1) * drop)
    v = solved(h, neutral)
    assert v["jawOpen"] > 0.4 and v["mouthClose"] < 0.05


def test_jaw_drop_with_closed_lips_is_mouth_close(face, neutral):
    chin = np.where(face[:, 1] < face[17, 1] - 5 * MM)[0]  # below the lower lip only
    v = solved(moved(face, chin, dy=-15 * MM), neutral)
    assert v["jawOpen"] > 0.4
    assert v["mouthClose"] == pytest.approx(v["jawOpen"], abs=0.05)
    assert v["jawOpen"] - v["mouthClose"] < 0.05  # no lip gap


@pytest.mark.parametrize("side,other", [("Left", "Right"), ("Right", "Left")])
def test_blink_is_one_sided(face, neutral, side, other):
    lids = {"Left": ((387, 373), (385, 380), (386, 374)), "Right": ((160, 144), (158, 153), (159, 145))}[side]
    h = face.copy()
    for upper, lower in lids:
        h[upper] = h[lower] + [0, 0.1 * MM, 0]
    v = solved(h, neutral)
    assert v[f"eyeBlink{side}"] > 0.9 and v[f"eyeBlink{other}"] < 0.05


@pytest.mark.parametrize("side,corner", [("Left", 291), ("Right", 61)])
def test_smile_and_frown_are_one_sided(face, neutral, side, corner):
    other = "Right" if side == "Left" else "Left"
    v = solved(moved(face, [corner], dy=6 * MM), neutral)
    assert v[f"mouthSmile{side}"] > 0.9 and v[f"mouthSmile{other}"] < 0.05 and v[f"mouthFrown{side}"] == 0
    v = solved(moved(face, [corner], dy=-4 * MM), neutral)
    assert v[f"mouthFrown{side}"] > 0.9 and v[f"mouthFrown{other}"] < 0.05 and v[f"mouthSmile{side}"] == 0


def test_brows(face, neutral):
    v = solved(moved(face, [107, 55, 336, 285], dy=6 * MM), neutral)
    assert v["browInnerUp"] > 0.9 and v["browOuterUpLeft"] < 0.05
    v = solved(moved(face, [300, 276], dy=6 * MM), neutral)
    assert v["browOuterUpLeft"] > 0.9 and v["browOuterUpRight"] < 0.05 and v["browInnerUp"] < 0.05
    v = solved(moved(face, [107, 55, 105, 52], dy=-4 * MM), neutral)
    assert v["browDownRight"] > 0.9 and v["browDownLeft"] < 0.05


def test_pucker_narrows_the_mouth(face, neutral):
    h = face.copy()
    h[[61, 291], 0] *= 0.7
    v = solved(h, neutral)
    assert v["mouthPucker"] > 0.9 and v["mouthFunnel"] < 0.1


def test_gaze_signs(face, neutral):
    left_iris = list(range(LEFT_IRIS, LEFT_IRIS + 5))
    right_iris = list(range(RIGHT_IRIS, RIGHT_IRIS + 5))
    v = solved(moved(face, left_iris + right_iris, dx=3 * MM), neutral)  # both irises to the person's left
    assert v["leftEyeYaw"] > 0.1 and v["rightEyeYaw"] > 0.1
    assert v["eyeLookOutLeft"] > 0 and v["eyeLookInRight"] > 0 and v["eyeLookInLeft"] == 0
    v = solved(moved(face, left_iris + right_iris, dy=2 * MM), neutral)  # looking up
    assert v["leftEyePitch"] > 0.1 and v["eyeLookUpLeft"] > 0 and v["eyeLookDownRight"] == 0


def test_not_estimated_channels_stay_zero_and_values_in_range(face, neutral):
    rng = np.random.default_rng(0)
    for _ in range(5):
        v = solve(observe(synth_image_points(face + rng.normal(0, 2 * MM, face.shape)), (WIDTH, HEIGHT)), neutral)
        assert all(v[CHANNEL_INDEX[c]] == 0 for c in NOT_ESTIMATED)
        lo = np.array([CHANNEL_RANGES[c][0] for c in CHANNELS])
        hi = np.array([CHANNEL_RANGES[c][1] for c in CHANNELS])
        assert np.all((v >= lo) & (v <= hi))


def test_calibration_uses_low_percentile_for_openings(face):
    """Talking during calibration: the jaw's neutral is its closed (low) end, not its median."""
    lower = lower_face(face)
    calib = Calibration(frames=10)
    for k in range(10):
        drop = (0 if k < 3 else 10) * MM  # mouth open in 7 of 10 frames
        calib.add(observe(synth_image_points(moved(face, lower, dy=-drop)), (WIDTH, HEIGHT)))
    assert calib.done
    v = dict(zip(CHANNELS, solve(observe(synth_image_points(face), (WIDTH, HEIGHT)), calib.neutral)))
    assert v["jawOpen"] < 0.05
    calib.add(observe(synth_image_points(moved(face, lower, dy=-30 * MM)), (WIDTH, HEIGHT)))
    assert calib.neutral.frames == 10  # frozen once full


def test_cheek_puff_needs_cheeks_apart_and_no_smile(face, neutral):
    h = face.copy()
    h[[205, 216], 0] -= 3 * MM  # person's right cheek points further right
    h[[425, 436], 0] += 3 * MM
    v = solved(h, neutral)
    assert v["cheekPuff"] > 0.9
    h[[61, 291], 1] += 6 * MM  # the same cheeks with a full smile: that is the smile widening them
    assert solved(h, neutral)["cheekPuff"] < 0.05
