"""The stylized avatar: each channel changes the region it should, and nothing else.

Regions are found by the spec's flat fill colours (interiors are painted exactly in those colours; only
anti-aliased edges mix). Images go to test-artifacts/ for a human look.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from af_plugin.config import RenderConfig
from af_plugin.errors import ConfigError
from af_plugin.motion.contract import CHANNEL_INDEX, NUM_CHANNELS
from af_plugin.render import make_renderer
from af_plugin.render.colors import parse_color
from af_plugin.render.stylized import StylizedRenderer

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "render_stylized"
SIZE = 512


def pose(**channels: float) -> np.ndarray:
    v = np.zeros(NUM_CHANNELS, np.float32)
    for name, x in channels.items():
        v[CHANNEL_INDEX[name]] = x
    return v


@pytest.fixture(scope="module")
def renderer() -> StylizedRenderer:
    return StylizedRenderer(SIZE, SIZE)


def render(renderer: StylizedRenderer, name: str, values: np.ndarray) -> np.ndarray:
    img = renderer.render(values)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    code = cv2.COLOR_RGBA2BGRA if img.shape[2] == 4 else cv2.COLOR_RGB2BGR
    cv2.imwrite(str(ARTIFACTS / f"{name}.png"), cv2.cvtColor(img, code))
    return img


def mask(renderer: StylizedRenderer, img: np.ndarray, color: str) -> np.ndarray:
    rgb = np.array(parse_color(renderer.spec["colors"][color]))
    return np.all(img[..., :3] == rgb, axis=-1)


def centroid(m: np.ndarray) -> np.ndarray:
    ys, xs = np.nonzero(m)
    assert len(xs) > 0, "colour not found in the image"
    return np.array([xs.mean(), ys.mean()])


@pytest.fixture(scope="module")
def neutral(renderer) -> np.ndarray:
    return render(renderer, "neutral", pose())


def regions(renderer, neutral):
    """Pixel boxes of the eyes, mouth and body, measured on the neutral face."""
    eyes = mask(renderer, neutral, "eye_white") | mask(renderer, neutral, "iris")
    ys, xs = np.nonzero(eyes)
    eye_box = (slice(ys.min() - 6, ys.max() + 6), slice(xs.min() - 6, xs.max() + 6))
    ys, xs = np.nonzero(mask(renderer, neutral, "lips"))
    mouth_box = (slice(ys.min() - 8, ys.max() + 40), slice(xs.min() - 20, xs.max() + 20))
    ys, _ = np.nonzero(mask(renderer, neutral, "shirt"))
    body_rows = slice(ys.min() + 30, SIZE)
    return eye_box, mouth_box, body_rows


def test_neutral_shows_a_face_on_the_background(renderer, neutral):
    assert neutral.shape == (SIZE, SIZE, 3) and neutral.dtype == np.uint8
    assert tuple(neutral[0, 0]) == parse_color(renderer.spec["colors"]["background"])
    for part in ("skin", "hair", "eye_white", "iris", "pupil", "brow", "lips", "shirt", "blush", "nose"):
        assert mask(renderer, neutral, part).sum() > 20, part
    # Anti-aliased: edge pixels hold mixed colours, not just the palette.
    palette = {parse_color(c) for c in renderer.spec["colors"].values()}
    mixed = sum(1 for px in {tuple(p) for p in neutral.reshape(-1, 3)} if px not in palette)
    assert mixed > 100


def test_eyes_close(renderer, neutral):
    eye_box, mouth_box, _ = regions(renderer, neutral)
    closed = render(renderer, "eyes_closed", pose(eyeBlinkLeft=1, eyeBlinkRight=1))
    for part in ("eye_white", "iris", "pupil"):
        assert mask(renderer, neutral, part)[eye_box].sum() > 50
        assert mask(renderer, closed, part)[eye_box].sum() == 0, f"{part} still visible with eyes closed"
    assert mask(renderer, closed, "lid")[eye_box].sum() > 100
    np.testing.assert_array_equal(closed[mouth_box], neutral[mouth_box])


def test_one_eye_blinks_on_the_avatars_left_which_is_the_viewers_right(renderer, neutral):
    wink = render(renderer, "wink_left", pose(eyeBlinkLeft=1))
    white = mask(renderer, wink, "eye_white")
    assert white[:, SIZE // 2 :].sum() == 0 and white[:, : SIZE // 2].sum() > 50


def test_jaw_opens_a_dark_mouth_that_grows(renderer, neutral):
    eye_box, mouth_box, _ = regions(renderer, neutral)
    sizes = []
    for k, amount in enumerate((0.0, 0.4, 0.9)):
        img = render(renderer, f"jaw_{k}", pose(jawOpen=amount))
        sizes.append(mask(renderer, img, "mouth")[mouth_box].sum() + mask(renderer, img, "teeth")[mouth_box].sum())
        np.testing.assert_array_equal(img[eye_box], neutral[eye_box])
    assert sizes[0] == 0 < sizes[1] < sizes[2]
    lum = lambda im: cv2.cvtColor(im, cv2.COLOR_RGB2GRAY)[mouth_box].astype(float)  # noqa: E731
    dark = (lum(img) < 60).sum() - (lum(neutral) < 60).sum()
    assert dark > 300
    # mouthClose cancels the lips' part of the opening.
    closed = renderer.render(pose(jawOpen=0.9, mouthClose=1.0))
    assert mask(renderer, closed, "mouth").sum() < 0.1 * sizes[2]


def lip_corners(renderer, img):
    ys, xs = np.nonzero(mask(renderer, img, "lips"))
    left, right = xs.argmin(), xs.argmax()
    return np.array([[xs[left], ys[left]], [xs[right], ys[right]]], float)


def corner_lift(renderer, img) -> float:
    """How far the lip corners sit above the lips' middle, in pixels (> 0: a smile's upturn)."""
    lips = np.abs(img[..., :3].astype(int) - parse_color(renderer.spec["colors"]["lips"])).sum(-1) < 60
    ys, xs = np.nonzero(mask(renderer, img, "lips"))
    box = np.zeros_like(lips)
    box[ys.min() - 3 : ys.max() + 4, xs.min() - 3 : xs.max() + 4] = True
    lips &= box
    ys, xs = np.nonzero(lips)
    x0, x1 = xs.min(), xs.max()
    edge = (xs < x0 + 0.15 * (x1 - x0)) | (xs > x1 - 0.15 * (x1 - x0))
    middle = np.abs(xs - (x0 + x1) / 2) < 0.1 * (x1 - x0)
    return float(ys[middle].mean() - ys[edge].mean())


def test_smile_lifts_and_frown_lowers_the_mouth_corners(renderer, neutral):
    eye_box, _, _ = regions(renderer, neutral)
    smile = render(renderer, "smile", pose(mouthSmileLeft=1, mouthSmileRight=1))
    frown = render(renderer, "frown", pose(mouthFrownLeft=1, mouthFrownRight=1))
    n, s, f = (corner_lift(renderer, im) for im in (neutral, smile, frown))
    assert s > n + 4 and f < n - 3, (n, s, f)
    assert np.ptp(lip_corners(renderer, smile)[:, 0]) > np.ptp(lip_corners(renderer, neutral)[:, 0])  # wider
    np.testing.assert_array_equal(smile[eye_box], neutral[eye_box])
    # One side only: the avatar's left corner is on the viewer's right.
    half = render(renderer, "smile_left", pose(mouthSmileLeft=1))
    c0, c1 = lip_corners(renderer, neutral), lip_corners(renderer, half)
    assert c1[1, 1] < c0[1, 1] - 4 and abs(c1[0, 1] - c0[0, 1]) <= 1


def test_pucker_and_funnel_narrow_the_mouth(renderer, neutral):
    n = lip_corners(renderer, neutral)
    for name, values in (("pucker", pose(mouthPucker=1)), ("funnel", pose(mouthFunnel=1))):
        img = render(renderer, name, values)
        c = lip_corners(renderer, img)
        assert c[1, 0] - c[0, 0] < 0.75 * (n[1, 0] - n[0, 0]), name
    funnel = renderer.render(pose(mouthFunnel=1))
    assert mask(renderer, funnel, "mouth").sum() > 50  # a round opening


def test_head_yaw_moves_the_face_the_contract_way_and_the_body_stays(renderer, neutral):
    _, _, body_rows = regions(renderer, neutral)
    nose0 = centroid(mask(renderer, neutral, "nose"))
    right = render(renderer, "yaw_right", pose(headYaw=0.5))  # toward the avatar's left = viewer's right
    left = render(renderer, "yaw_left", pose(headYaw=-0.5))
    assert centroid(mask(renderer, right, "nose"))[0] > nose0[0] + 15
    assert centroid(mask(renderer, left, "nose"))[0] < nose0[0] - 15
    # Parallax: the nose moves further than the ears' midpoint, and the back hair moves the other way.
    hair0 = centroid(mask(renderer, neutral, "hair")[: SIZE // 2])
    hair_r = centroid(mask(renderer, right, "hair")[: SIZE // 2])
    assert hair_r[0] < centroid(mask(renderer, right, "nose"))[0]
    assert abs(hair_r[0] - hair0[0]) < abs(centroid(mask(renderer, right, "nose"))[0] - nose0[0])
    np.testing.assert_array_equal(right[body_rows], neutral[body_rows])


def test_head_pitch_and_roll(renderer, neutral):
    nose0 = centroid(mask(renderer, neutral, "nose"))
    up = render(renderer, "pitch_up", pose(headPitch=0.3))
    assert centroid(mask(renderer, up, "nose"))[1] < nose0[1] - 10
    rolled = render(renderer, "roll_positive", pose(headRoll=0.3))
    irises = mask(renderer, rolled, "iris")
    left_eye = centroid(irises[:, : SIZE // 2])  # viewer's left
    right_eye = centroid(irises[:, SIZE // 2 :]) + [SIZE // 2, 0]
    # Roll > 0: the top of the head goes to the viewer's right, so the viewer's-right eye drops.
    assert right_eye[1] > left_eye[1] + 10


def test_brows_rise_and_lower(renderer, neutral):
    _, mouth_box, _ = regions(renderer, neutral)
    b0 = centroid(mask(renderer, neutral, "brow"))
    up = render(renderer, "brows_up", pose(browInnerUp=1, browOuterUpLeft=1, browOuterUpRight=1))
    down = render(renderer, "brows_down", pose(browDownLeft=1, browDownRight=1))
    assert centroid(mask(renderer, up, "brow"))[1] < b0[1] - 8
    assert centroid(mask(renderer, down, "brow"))[1] > b0[1] + 5
    np.testing.assert_array_equal(up[mouth_box], neutral[mouth_box])


def test_gaze_moves_the_irises(renderer, neutral):
    i0 = centroid(mask(renderer, neutral, "iris"))
    look = render(renderer, "gaze_left_up", pose(leftEyeYaw=0.4, rightEyeYaw=0.4, leftEyePitch=0.3, rightEyePitch=0.3))
    i1 = centroid(mask(renderer, look, "iris"))
    p0, p1 = centroid(mask(renderer, neutral, "pupil")), centroid(mask(renderer, look, "pupil"))
    assert i1[0] > i0[0] + 4 and p1[1] < p0[1] - 2
    # With no gaze channels the eyeLook* blendshapes steer: both eyes look toward the avatar's left.
    bs = renderer.render(pose(eyeLookOutLeft=1, eyeLookInRight=1))
    assert centroid(mask(renderer, bs, "iris"))[0] > i0[0] + 4


def test_cheek_puff_widens_the_lower_face(renderer, neutral):
    puff = render(renderer, "cheek_puff", pose(cheekPuff=1))
    row = slice(int(SIZE * 0.5), int(SIZE * 0.62))
    width = lambda im: (mask(renderer, im, "skin") | mask(renderer, im, "blush"))[row].sum()  # noqa: E731
    assert width(puff) > width(neutral) * 1.05


def test_tongue_out_shows_the_tongue(renderer, neutral):
    img = render(renderer, "tongue_out", pose(jawOpen=0.5, tongueOut=1))
    inside = mask(renderer, renderer.render(pose(jawOpen=0.5)), "tongue").sum()
    assert mask(renderer, img, "tongue").sum() > 2 * max(1, inside)


def test_transparent_background_is_straight_alpha():
    r = make_renderer(RenderConfig(width=256, height=200, background="transparent"))
    img = r.render(pose())
    assert img.shape == (200, 256, 4) and r.channels == 4
    assert img[0, 0, 3] == 0 and img[100, 128, 3] == 255
    edge = (img[..., 3] > 20) & (img[..., 3] < 235)
    assert edge.sum() > 50
    # Straight (not premultiplied) alpha: a half-covered skin-edge pixel keeps a skin-like brightness.
    assert img[..., :3][edge].mean() > 60
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(ARTIFACTS / "transparent.png"), cv2.cvtColor(img, cv2.COLOR_RGBA2BGRA))


def test_colours_are_configurable_and_bad_values_are_rejected():
    r = StylizedRenderer(256, 256, background="#ffffff", colors={"iris": "#00ff00"})
    img = r.render(pose())
    assert tuple(img[0, 0]) == (255, 255, 255)
    assert np.all(img == (0, 255, 0), axis=-1).sum() > 5
    with pytest.raises(ConfigError):
        StylizedRenderer(64, 64, colors={"irsi": "#00ff00"})
    with pytest.raises(ConfigError):
        StylizedRenderer(64, 64, background="blue-ish")
    with pytest.raises(ConfigError):
        make_renderer(RenderConfig(style="portrait"))


def test_odd_and_extreme_values_do_not_break_the_renderer(renderer):
    v = np.full(NUM_CHANNELS, 5.0, np.float32)
    v[CHANNEL_INDEX["headYaw"]] = np.nan
    img = renderer.render(v)
    assert img.shape == (SIZE, SIZE, 3)
    with pytest.raises(ValueError):
        renderer.render(np.zeros(10))


def test_squint_narrows_and_wide_opens_the_eyes(renderer, neutral):
    white = lambda im: mask(renderer, im, "eye_white").sum() + mask(renderer, im, "iris").sum()  # noqa: E731
    squint = render(renderer, "squint", pose(eyeSquintLeft=1, eyeSquintRight=1))
    wide = render(renderer, "wide", pose(eyeWideLeft=1, eyeWideRight=1))
    assert 0.2 * white(neutral) < white(squint) < 0.85 * white(neutral)
    assert white(wide) > 1.1 * white(neutral)


def test_one_outer_brow_rises_on_its_own_side(renderer, neutral):
    img = render(renderer, "brow_outer_left", pose(browOuterUpLeft=1))
    left_side = slice(SIZE // 2, SIZE)  # the avatar's left is the viewer's right
    b0 = mask(renderer, neutral, "brow")
    b1 = mask(renderer, img, "brow")
    assert centroid(b1[:, left_side])[1] < centroid(b0[:, left_side])[1] - 2
    np.testing.assert_array_equal(b1[:, : SIZE // 2], b0[:, : SIZE // 2])
