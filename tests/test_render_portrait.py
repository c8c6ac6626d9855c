"""Portrait animation on a real photo (../shared/data/astronaut.png) with real MediaPipe landmarks.

Each channel must change the face region it drives, leave other regions alone, and never move the hair,
the background or the suit far from the face. Images go to test-artifacts/ for a human look.
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
from af_plugin.render.portrait import PortraitRenderer
from af_plugin.render.portrait_rig import EYE_LOWER, EYE_UPPER, LIPS_LOWER_OUTER, LIPS_UPPER_OUTER

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "render_portrait"


def pose(**channels: float) -> np.ndarray:
    v = np.zeros(NUM_CHANNELS, np.float32)
    for name, x in channels.items():
        v[CHANNEL_INDEX[name]] = x
    return v


@pytest.fixture(scope="module")
def portrait(shared_data) -> PortraitRenderer:
    return make_renderer(RenderConfig(style="portrait", portrait=str(shared_data / "astronaut.png")))


def render(r: PortraitRenderer, name: str, values: np.ndarray) -> np.ndarray:
    img = r.render(values)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(ARTIFACTS / f"{name}.png"), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
    return img


def box(r: PortraitRenderer, idx, pad: int) -> tuple[slice, slice]:
    p = r.landmarks[list(idx), :2]
    x0, y0 = np.floor(p.min(0)).astype(int) - pad
    x1, y1 = np.ceil(p.max(0)).astype(int) + pad
    return slice(y0, y1), slice(x0, x1)


def eyes_box(r):
    return box(r, EYE_UPPER["Left"] + EYE_LOWER["Left"] + EYE_UPPER["Right"] + EYE_LOWER["Right"], 3)


def mouth_box(r):
    return box(r, LIPS_UPPER_OUTER + LIPS_LOWER_OUTER, 4)


def diff(a, b, region) -> float:
    return float(np.abs(a[region].astype(int) - b[region].astype(int)).mean())


def far_from_face(r: PortraitRenderer) -> np.ndarray:
    """Pixels outside the warped region: hair tips, background, suit."""
    x0, y0, x1, y1 = r.roi
    m = np.ones(r.photo.shape[:2], bool)
    m[y0:y1, x0:x1] = False
    return m


POSES = {
    "eyes_closed": pose(eyeBlinkLeft=1, eyeBlinkRight=1),
    "jaw_open": pose(jawOpen=0.8),
    "smile": pose(mouthSmileLeft=1, mouthSmileRight=1),
    "yaw_right": pose(headYaw=0.4),
    "yaw_left": pose(headYaw=-0.4),
    "brows_up": pose(browInnerUp=1, browOuterUpLeft=1, browOuterUpRight=1),
    "pucker": pose(mouthPucker=1),
    "roll": pose(headRoll=0.3),
    "everything": pose(jawOpen=0.6, eyeBlinkLeft=1, headYaw=0.45, headPitch=0.4, headRoll=0.5, cheekPuff=1, headX=0.1),
}


def test_neutral_is_the_photo(portrait):
    assert portrait.render(pose()).shape == (512, 512, 3)
    np.testing.assert_array_equal(render(portrait, "neutral", pose()), portrait.photo)


@pytest.mark.parametrize("name", list(POSES))
def test_background_hair_and_suit_stay_put(portrait, name):
    img = render(portrait, name, POSES[name])
    keep = far_from_face(portrait)
    assert keep.mean() > 0.6
    np.testing.assert_array_equal(img[keep], portrait.photo[keep])
    for corner in ((slice(0, 60), slice(0, 60)), (slice(0, 60), slice(-60, None)),
                   (slice(-60, None), slice(0, 60)), (slice(-60, None), slice(-60, None))):  # fmt: skip
        np.testing.assert_array_equal(img[corner], portrait.photo[corner])
    # The top of the hair (above the fixed ring) does not move either.
    top = portrait.landmarks[10, 1] - 0.9 * (portrait.landmarks[152, 1] - portrait.landmarks[10, 1])
    rows = slice(0, max(1, int(top)))
    np.testing.assert_array_equal(img[rows], portrait.photo[rows])


def test_eyes_close_under_skin_coloured_lids(portrait):
    neutral = portrait.photo
    closed = render(portrait, "eyes_closed", POSES["eyes_closed"])
    eb, mb = eyes_box(portrait), mouth_box(portrait)
    assert diff(closed, neutral, eb) > 8
    assert diff(closed, neutral, mb) < 0.5
    for side in ("Left", "Right"):
        b = box(portrait, EYE_UPPER[side] + EYE_LOWER[side], 0)
        lid = np.array(portrait.lid_color[side])
        before = np.abs(neutral[b].astype(float) - lid).sum(-1).mean()
        after = np.abs(closed[b].astype(float) - lid).sum(-1).mean()
        assert after < 0.7 * before, (side, before, after)
    # The dark iris disappears: fewer dark pixels in the eye boxes.
    dark = lambda im: (cv2.cvtColor(im, cv2.COLOR_RGB2GRAY)[eb] < 90).sum()  # noqa: E731
    assert dark(closed) < 0.6 * dark(neutral)


def test_jaw_opens_a_dark_mouth_that_grows(portrait):
    neutral = portrait.photo
    mb = mouth_box(portrait)
    tall = (slice(mb[0].start, mb[0].stop + 25), mb[1])
    dark = lambda im: (cv2.cvtColor(im, cv2.COLOR_RGB2GRAY)[tall] < 60).sum()  # noqa: E731
    small = render(portrait, "jaw_small", pose(jawOpen=0.3))
    big = render(portrait, "jaw_open", POSES["jaw_open"])
    assert dark(neutral) < dark(small) < dark(big)
    assert dark(big) > dark(neutral) + 150
    # The mouth's dark area is taller when open more.
    rows = lambda im: np.nonzero((cv2.cvtColor(im, cv2.COLOR_RGB2GRAY)[tall] < 60).any(axis=1))[0]  # noqa: E731
    assert np.ptp(rows(big)) > np.ptp(rows(small))
    assert diff(big, neutral, eyes_box(portrait)) < 0.5


def find_patch(img: np.ndarray, template: np.ndarray) -> np.ndarray:
    res = cv2.matchTemplate(img, template, cv2.TM_CCOEFF_NORMED)
    _, _, _, best = cv2.minMaxLoc(res)
    return np.array(best, float)


def test_yaw_turns_the_face_the_contract_way(portrait):
    x, y = np.round(portrait.landmarks[1, :2]).astype(int)  # the nose tip
    nose = portrait.photo[y - 10 : y + 10, x - 10 : x + 10]
    at_rest = find_patch(portrait.photo, nose)
    right = find_patch(render(portrait, "yaw_right", POSES["yaw_right"]), nose)
    left = find_patch(render(portrait, "yaw_left", POSES["yaw_left"]), nose)
    # headYaw > 0 turns the face toward the avatar's left, the viewer's right (+x).
    assert right[0] > at_rest[0] + 4 and left[0] < at_rest[0] - 4, (at_rest, right, left)
    up = find_patch(render(portrait, "pitch_up", pose(headPitch=0.4)), nose)
    assert up[1] < at_rest[1] - 2


def test_smile_lifts_the_mouth_corners_and_brows_rise(portrait):
    lm0 = portrait.landmarks[:, :2]
    lm = portrait.landmark_positions(POSES["smile"])
    assert lm[61, 1] < lm0[61, 1] - 1 and lm[291, 1] < lm0[291, 1] - 1
    smile = render(portrait, "smile", POSES["smile"])
    assert diff(smile, portrait.photo, mouth_box(portrait)) > 2
    brows = render(portrait, "brows_up", POSES["brows_up"])
    brow_box = box(portrait, (70, 63, 105, 66, 107, 300, 293, 334, 296, 336, 46, 276), 3)
    assert diff(brows, portrait.photo, brow_box) > 3
    assert diff(brows, portrait.photo, mouth_box(portrait)) < 0.5
    pucker = portrait.landmark_positions(POSES["pucker"])
    assert np.ptp(pucker[[61, 291], 0]) < 0.85 * np.ptp(lm0[[61, 291], 0])


def test_bad_photos_are_rejected(tmp_path):
    blank = tmp_path / "blank.png"
    cv2.imwrite(str(blank), np.full((256, 256, 3), 128, np.uint8))
    with pytest.raises(ConfigError, match="no face"):
        PortraitRenderer(blank)
    with pytest.raises(ConfigError, match="does not exist"):
        PortraitRenderer(tmp_path / "missing.png")
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"not an image")
    with pytest.raises(ConfigError, match="cannot read"):
        PortraitRenderer(junk)
