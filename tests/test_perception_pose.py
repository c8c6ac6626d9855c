"""Head pose maths without MediaPipe: reference face, Umeyama registration, angle signs, camera model."""

from __future__ import annotations

import math

import numpy as np
import pytest

from af_plugin.perception.pose import (
    angles_to_rotation,
    camera_position,
    project_head,
    register,
    rotation_to_angles,
    umeyama,
)
from af_plugin.perception.reference import INTERPUPILLARY_M, LEFT_IRIS, RIGHT_IRIS, build_reference, load_reference
from af_plugin.perception.tracker import to_camera_frame

WIDTH, HEIGHT = 640, 480


def synth_image_points(head: np.ndarray, yaw=0.0, pitch=0.0, roll=0.0, distance=0.6, x=0.0, y=0.0) -> np.ndarray:
    return project_head(head, yaw, pitch, roll, distance, x, y, (WIDTH, HEIGHT))


def test_reference_is_symmetric_metric_and_pickle_free():
    shape, mirror = load_reference()
    assert shape.shape == (478, 3) and mirror.shape == (478,)
    np.testing.assert_array_equal(mirror[mirror], np.arange(478))  # an involution
    np.testing.assert_allclose(shape * [-1, 1, 1], shape[mirror], atol=1e-6)
    assert np.linalg.norm(shape[LEFT_IRIS] - shape[RIGHT_IRIS]) == pytest.approx(INTERPUPILLARY_M, rel=1e-5)
    assert shape[LEFT_IRIS, 0] > 0 > shape[RIGHT_IRIS, 0]  # person's left is +x
    assert shape[1, 2] > shape[33, 2]  # nose tip is in front of the eye corners (+z toward the viewer)
    assert shape[10, 1] > shape[1, 1] > shape[152, 1]  # forehead above nose above chin


def test_build_reference_undoes_yaw_and_roll():
    shape, mirror = load_reference()
    turned = shape @ angles_to_rotation(0.2, 0.0, -0.1).T * 1000.0 + 5.0
    rebuilt, rebuilt_mirror = build_reference(turned)
    np.testing.assert_array_equal(rebuilt_mirror, mirror)
    np.testing.assert_allclose(rebuilt, shape, atol=1e-5)


def test_umeyama_recovers_a_similarity():
    rng = np.random.default_rng(1)
    src = rng.standard_normal((50, 3))
    rot = angles_to_rotation(0.4, -0.3, 0.2)
    dst = 2.5 * src @ rot.T + [1.0, -2.0, 3.0]
    s, r, t = umeyama(src, dst)
    assert s == pytest.approx(2.5)
    np.testing.assert_allclose(r, rot, atol=1e-9)
    np.testing.assert_allclose(t, [1.0, -2.0, 3.0], atol=1e-9)


@pytest.mark.parametrize(
    "angles", [(0.0, 0.0, 0.0), (0.5, 0.0, 0.0), (0.0, -0.4, 0.0), (0.0, 0.0, 0.3), (-0.3, 0.2, -0.25)]
)
def test_angles_round_trip_through_registration(angles):
    shape, _ = load_reference()
    reg = register(to_camera_frame(synth_image_points(shape, *angles)))
    np.testing.assert_allclose(rotation_to_angles(reg.rotation), angles, atol=1e-6)
    assert reg.residual < 1e-6  # metres: exact up to float32 storage of the reference


def test_signs_match_the_motion_contract():
    shape, _ = load_reference()
    nose, forehead = 1, 10
    rest = synth_image_points(shape)
    # yaw > 0: the face turns toward the person's left = the viewer's right (+x in the image)
    assert synth_image_points(shape, yaw=0.3)[nose, 0] > rest[nose, 0]
    # pitch > 0: chin up, the nose tip moves up in the image (image y grows downward)
    assert synth_image_points(shape, pitch=0.3)[nose, 1] < rest[nose, 1]
    # roll > 0: the top of the head moves to the viewer's right
    assert synth_image_points(shape, roll=0.3)[forehead, 0] > rest[forehead, 0]


def test_mirror_image_flips_yaw_and_roll_but_not_pitch():
    shape, _ = load_reference()
    pts = synth_image_points(shape, 0.3, 0.1, 0.2)
    flipped = pts.copy()
    flipped[:, 0] = WIDTH - flipped[:, 0]
    _, mirror = load_reference()
    flipped = flipped[mirror]  # the person's left eye is now where the right was: relabel as MediaPipe would
    yaw, pitch, roll = rotation_to_angles(register(to_camera_frame(flipped)).rotation)
    assert yaw == pytest.approx(-0.3, abs=1e-6) and roll == pytest.approx(-0.2, abs=1e-6)
    assert pitch == pytest.approx(0.1, abs=1e-6)


def test_camera_model_recovers_position():
    shape, _ = load_reference()
    pts = synth_image_points(shape, 0.1, 0.0, 0.0, distance=0.8, x=0.05, y=-0.03)
    reg = register(to_camera_frame(pts))
    np.testing.assert_allclose(camera_position(reg, WIDTH, HEIGHT), [0.05, -0.03, 0.8], atol=1e-6)


def test_euler_convention_is_yaw_then_pitch_then_roll():
    r = angles_to_rotation(0.2, 0.3, 0.4)
    assert rotation_to_angles(r) == pytest.approx((0.2, 0.3, 0.4))
    assert math.isclose(np.linalg.det(r), 1.0)


def test_closed_form_euler_matches_scipy():
    from scipy.spatial.transform import Rotation

    rng = np.random.default_rng(3)
    for yaw, pitch, roll in rng.uniform(-1.2, 1.2, (50, 3)):
        r = angles_to_rotation(yaw, pitch, roll)
        np.testing.assert_allclose(r, Rotation.from_euler("YXZ", [yaw, -pitch, -roll]).as_matrix(), atol=1e-12)
        assert rotation_to_angles(r) == pytest.approx((yaw, pitch, roll), abs=1e-9)
