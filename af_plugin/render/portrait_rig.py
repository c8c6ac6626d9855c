"""How each channel moves the 478 MediaPipe Face Mesh landmarks of a photo (the portrait "rig").

Everything is in *face-local units*: origin at the centre of the face oval, 1 unit = the forehead-to-chin
distance (landmarks 10 → 152), x toward the viewer's right (the avatar's left), y up, z toward the viewer.
``build_rig`` turns one photo's landmarks into a linear basis: the expression displacement of every
landmark is ``coeffs @ basis`` where ``coeffs`` are the blendshapes (``jawOpen`` replaced by
``jawOpen * (1 - mouthClose)``) followed by the two eyes' gaze (yaw, pitch). Head pose is applied on top by
``portrait.py`` as a 3-D rotation. docs/rendering.md tabulates the mapping.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from af_plugin.motion.contract import ARKIT_BLENDSHAPES

# --- MediaPipe Face Mesh landmark groups (indices into the 478 refined landmarks) ---
FACE_OVAL = (10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377, 152, 148,
             176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109)  # fmt: skip
LIPS_UPPER_OUTER = (61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291)
LIPS_UPPER_INNER = (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308)
LIPS_LOWER_OUTER = (61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291)
LIPS_LOWER_INNER = (78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308)
# Eyes by the avatar's side. "Right" is the subject's right eye, on the image's left.
EYE_UPPER = {"Right": (246, 161, 160, 159, 158, 157, 173), "Left": (466, 388, 387, 386, 385, 384, 398)}
EYE_LOWER = {"Right": (7, 163, 144, 145, 153, 154, 155), "Left": (249, 390, 373, 374, 380, 381, 382)}
EYE_CORNERS = {"Right": (33, 133), "Left": (263, 362)}  # (outer, inner)
EYE_CREASE = {"Right": (247, 30, 29, 27, 28, 56, 190), "Left": (467, 260, 259, 257, 258, 286, 414)}
IRIS = {"Right": (468, 469, 470, 471, 472), "Left": (473, 474, 475, 476, 477)}
BROW = {"Right": (70, 63, 105, 66, 107, 46, 53, 52, 65, 55), "Left": (300, 293, 334, 296, 336, 276, 283, 282, 295, 285)}
CHEEK = {"Right": (234, 93, 132, 58, 50, 205, 187, 147, 123, 36, 101), "Left": (454, 323, 361, 288, 280, 425, 411, 376, 352, 266, 330)}  # fmt: skip
NOSE_WING = {"Right": (129, 98, 64, 48, 102, 219), "Left": (358, 327, 294, 278, 331, 439)}
FOREHEAD_TOP, CHIN = 10, 152
SIDE_SIGN = {"Left": 1.0, "Right": -1.0}  # the avatar's left is the viewer's right (+x)

N_LANDMARKS = 478
GAZE_COLUMNS = ("leftEyeYaw", "leftEyePitch", "rightEyeYaw", "rightEyePitch")
N_COEFFS = len(ARKIT_BLENDSHAPES) + len(GAZE_COLUMNS)
_BS = {name: i for i, name in enumerate(ARKIT_BLENDSHAPES)}
_GZ = {name: len(ARKIT_BLENDSHAPES) + i for i, name in enumerate(GAZE_COLUMNS)}

# Amplitudes in face units (forehead-to-chin = 1) unless said otherwise.
JAW_DROP = 0.16
GAZE_FULL_YAW, GAZE_FULL_PITCH = 0.6, 0.5  # radians that move the iris its full way
GAZE_IRIS_X, GAZE_IRIS_Y = 0.32, 0.25  # fractions of the eye's width / opening height


@dataclass
class Rig:
    """One photo's landmarks in face-local units and the expression basis built on them."""

    local: np.ndarray  # (478, 3) rest landmarks in face units
    basis: np.ndarray  # (N_COEFFS, 478, 2) displacement per unit coefficient
    origin: np.ndarray  # (2,) face centre in pixels
    right: np.ndarray  # (2,) image-space unit vector of local +x
    up: np.ndarray  # (2,) image-space unit vector of local +y
    face_px: float  # pixels per face unit
    mouth_centre: np.ndarray  # (2,) face units
    mouth_half_w: float
    pose_z: np.ndarray  # (478,) depth used for head rotation: a smooth fit plus a little of the detail


def smooth_depth(local: np.ndarray, detail: float = 0.4) -> np.ndarray:
    """Depth for turning the head: a quadratic surface fitted to the landmarks plus ``detail`` of the rest.

    MediaPipe's per-landmark depth is noisy; rotating raw depths makes neighbours move apart or cross and
    the warp tears. The fitted surface keeps the field smooth; the residual keeps some nose parallax.
    """
    x, y, z = local[:, 0], local[:, 1], local[:, 2]
    a = np.stack([np.ones_like(x), x, y, x * x, y * y, x * y], axis=1)
    coef, *_ = np.linalg.lstsq(a, z, rcond=None)
    fit = a @ coef
    return fit + detail * (z - fit)


def to_local(landmarks_px: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, float]:
    """Pixel landmarks (x, y, z with z in pixels, negative toward the camera) → face-local units."""
    p = landmarks_px[:, :2]
    origin = p[list(FACE_OVAL)].mean(axis=0)
    up_vec = p[FOREHEAD_TOP] - p[CHIN]
    face_px = float(np.linalg.norm(up_vec))
    up = up_vec / face_px
    right = np.array([-up[1], up[0]])  # image y points down, so this is +x for an upright face
    if right[0] < 0:
        right = -right
    rel = p - origin
    local = np.stack([rel @ right / face_px, rel @ up / face_px, -landmarks_px[:, 2] / face_px], axis=1)
    return local, origin, right, up, face_px


def build_rig(landmarks_px: np.ndarray) -> Rig:
    local, origin, right, up, face_px = to_local(landmarks_px)
    xy = local[:, :2]
    basis = np.zeros((N_COEFFS, N_LANDMARKS, 2))
    everything = np.arange(N_LANDMARKS)

    def add(channel: str, idx, delta) -> None:
        col = _BS[channel] if channel in _BS else _GZ[channel]
        basis[col, list(idx)] += delta

    mc = xy[[61, 291]].mean(axis=0)
    mouth_half_w = float(np.linalg.norm(xy[291] - xy[61]) / 2)
    rel_m = xy - mc
    # Gaussian falloffs around the mouth and its corners (the skin moves with the lips).
    w_mouth = np.exp(-(np.sum(rel_m**2, axis=1)) / (1.1 * mouth_half_w) ** 2)
    lip_prof = lambda idx: np.clip(1 - (rel_m[list(idx), 0] / mouth_half_w) ** 2, 0, 1)[:, None]  # noqa: E731

    # Eyes: lids, squint, wide, gaze.
    for side in ("Left", "Right"):
        upper, lower, crease = EYE_UPPER[side], EYE_LOWER[side], EYE_CREASE[side]
        gap = xy[list(lower)] - xy[list(upper)]  # from each upper-lid point down to its lower partner
        add(f"eyeBlink{side}", upper, gap)
        add(f"eyeBlink{side}", crease, 0.35 * gap)
        add(f"eyeWide{side}", upper, -0.35 * gap)
        add(f"eyeWide{side}", crease, -0.15 * gap)
        add(f"eyeSquint{side}", lower, -0.35 * gap)
        add(f"eyeSquint{side}", upper, 0.1 * gap)
        add(f"cheekSquint{side}", lower, -0.15 * gap)
        # The iris points lie inside the opening: they move with the lids in proportion to where they sit
        # (t = 0 on the lower lid, 1 on the upper), so closing lids squeeze the iris instead of folding
        # the mesh over it.
        iris = list(IRIS[side])
        order = np.argsort(xy[list(upper), 0])
        ix = xy[iris, 0]
        y_up = np.interp(ix, xy[list(upper), 0][order], xy[list(upper), 1][order])
        y_lo = np.interp(ix, xy[list(upper), 0][order], xy[list(lower), 1][order])
        g = np.maximum(y_up - y_lo, 1e-6)  # local y points up: the opening's height at each iris point
        t = np.clip((xy[iris, 1] - y_lo) / g, 0.0, 1.0)
        down = np.zeros((len(iris), 2))
        down[:, 1] = -g
        add(f"eyeBlink{side}", iris, down * t[:, None])
        add(f"eyeWide{side}", iris, -0.35 * down * t[:, None])
        add(f"eyeSquint{side}", iris, -down * (0.35 * (1 - t) - 0.1 * t)[:, None])
        add(f"cheekSquint{side}", iris, -0.15 * down * (1 - t)[:, None])
        outer, inner = EYE_CORNERS[side]
        eye_w = float(np.linalg.norm(xy[outer] - xy[inner]))
        eye_h = float(np.abs(gap[:, 1]).max())
        add(f"{side.lower()}EyeYaw", IRIS[side], np.array([GAZE_IRIS_X * eye_w / GAZE_FULL_YAW, 0.0]))
        add(f"{side.lower()}EyePitch", IRIS[side], np.array([0.0, GAZE_IRIS_Y * eye_h / GAZE_FULL_PITCH]))

        # Brows: the brow and the skin around it (forehead above, lid crease below) move together, fading
        # with distance from the brow, so the forehead stretches smoothly instead of folding over the brow.
        # u = 0 at the inner end, 1 at the outer end (extended beyond the brow by clipping).
        b = list(BROW[side])
        s = SIDE_SIGN[side]
        bx = np.abs(xy[b, 0])
        x_in, x_out = bx.min(), bx.max()
        on_side = s * xy[:, 0] > 0
        u = np.clip((np.abs(xy[:, 0]) - x_in) / max(x_out - x_in, 1e-6), 0.0, 1.0)[:, None]
        brow_y = np.interp(np.abs(xy[:, 0]), np.sort(bx), xy[b, 1][np.argsort(bx)])
        dx = np.maximum(0.0, np.maximum(x_in - np.abs(xy[:, 0]), np.abs(xy[:, 0]) - x_out))
        dy = xy[:, 1] - brow_y
        sigma = np.where(dy > 0, 0.09, 0.035)  # wide above (forehead), narrow below (toward the eye)
        w = (np.exp(-(dx**2 + dy**2) / sigma**2) * on_side)[:, None]
        w[b] = 1.0
        add("browInnerUp", everything, w * np.array([0.0, 0.05]) * (1 - u))
        add(f"browOuterUp{side}", everything, w * np.array([0.0, 0.045]) * u)
        down = np.array([0.0, -0.035]) * (1 - 0.4 * u) + np.array([-s * 0.02, 0.0]) * (1 - u)
        add(f"browDown{side}", everything, w * down)

        add("cheekPuff", CHEEK[side], np.array([s * 0.045, 0.0]))
        add(f"cheekSquint{side}", CHEEK[side], np.array([0.0, 0.015]))
        add(f"noseSneer{side}", NOSE_WING[side], np.array([0.0, 0.02]))

        # Mouth corner on this side and the skin around it.
        corner = xy[291] if side == "Left" else xy[61]
        w_c = np.exp(-np.sum((xy - corner) ** 2, axis=1) / (0.75 * mouth_half_w) ** 2)[:, None]
        add(f"mouthSmile{side}", everything, w_c * np.array([s * 0.05, 0.045]))
        add(f"mouthFrown{side}", everything, w_c * np.array([s * 0.01, -0.04]))
        add(f"mouthStretch{side}", everything, w_c * np.array([s * 0.045, -0.01]))
        add(f"mouthDimple{side}", everything, w_c * np.array([s * 0.02, 0.0]))
        add(f"mouthPress{side}", everything, w_c * np.array([s * 0.01, 0.0]))
        on_side = [i for i in LIPS_UPPER_OUTER + LIPS_UPPER_INNER if s * rel_m[i, 0] > 0]
        add(f"mouthUpperUp{side}", on_side, np.array([0.0, 0.035]) * lip_prof(on_side))
        on_side = [i for i in LIPS_LOWER_OUTER + LIPS_LOWER_INNER if s * rel_m[i, 0] > 0]
        add(f"mouthLowerDown{side}", on_side, np.array([0.0, -0.045]) * lip_prof(on_side))

    # Jaw: everything below the mouth line drops, most at the chin, fading toward the jaw hinges.
    face_half_w = float(np.ptp(xy[list(FACE_OVAL), 0]) / 2)
    chin_y = xy[CHIN, 1]
    below = np.clip((mc[1] - xy[:, 1]) / 0.04, 0.0, 1.0)
    hinge = np.sqrt(np.clip(1 - (rel_m[:, 0] / (1.05 * face_half_w)) ** 2, 0.0, 1.0))
    depth = 1.0 + 0.25 * np.clip((mc[1] - xy[:, 1]) / max(mc[1] - chin_y, 1e-6), 0.0, 1.0)
    w_jaw = below * hinge * depth
    lower_lip = list(LIPS_LOWER_OUTER[1:-1] + LIPS_LOWER_INNER[1:-1])
    w_jaw[lower_lip] = np.maximum(w_jaw[lower_lip], 1.0)
    w_jaw[[61, 291, 78, 308]] = 0.45
    upper_lip = list(LIPS_UPPER_OUTER[1:-1] + LIPS_UPPER_INNER[1:-1])
    w_jaw[upper_lip] = -0.1
    add("jawOpen", everything, np.outer(w_jaw, [0.0, -JAW_DROP]))
    add("jawLeft", everything, np.outer(np.clip(w_jaw, 0, None), [0.05, 0.0]))
    add("jawRight", everything, np.outer(np.clip(w_jaw, 0, None), [-0.05, 0.0]))

    # Lips: pucker and funnel pull toward the centre; funnel opens a round hole; rolls thin the lips.
    add("mouthPucker", everything, -rel_m * np.array([0.4, 0.1]) * w_mouth[:, None])
    add("mouthPucker", LIPS_UPPER_OUTER[1:-1], np.array([0.0, 0.012]))
    add("mouthPucker", LIPS_LOWER_OUTER[1:-1], np.array([0.0, -0.012]))
    add("mouthFunnel", everything, -rel_m * np.array([0.3, 0.0]) * w_mouth[:, None])
    add("mouthFunnel", LIPS_UPPER_INNER, np.array([0.0, 0.03]) * lip_prof(LIPS_UPPER_INNER))
    add("mouthFunnel", LIPS_LOWER_INNER, np.array([0.0, -0.05]) * lip_prof(LIPS_LOWER_INNER))
    add("mouthLeft", everything, np.outer(w_mouth, [0.06, 0.0]))
    add("mouthRight", everything, np.outer(w_mouth, [-0.06, 0.0]))
    up_pairs = (list(LIPS_UPPER_OUTER[1:-1]), list(LIPS_UPPER_INNER[1:-1]))
    lo_pairs = (list(LIPS_LOWER_OUTER[1:-1]), list(LIPS_LOWER_INNER[1:-1]))
    add("mouthRollUpper", up_pairs[0], 0.6 * (xy[up_pairs[1]] - xy[up_pairs[0]]))
    add("mouthRollLower", lo_pairs[0], 0.6 * (xy[lo_pairs[1]] - xy[lo_pairs[0]]))
    add("mouthShrugUpper", LIPS_UPPER_OUTER + LIPS_UPPER_INNER, np.array([0.0, 0.015]))
    add("mouthShrugLower", LIPS_LOWER_OUTER + LIPS_LOWER_INNER, np.array([0.0, 0.02]))
    for side in ("Left", "Right"):
        add(f"mouthPress{side}", up_pairs[0], 0.2 * (xy[up_pairs[1]] - xy[up_pairs[0]]))
        add(f"mouthPress{side}", lo_pairs[0], 0.2 * (xy[lo_pairs[1]] - xy[lo_pairs[0]]))
    return Rig(local, basis, origin, right, up, face_px, mc, mouth_half_w, smooth_depth(local))


def coefficients(blendshapes: np.ndarray, gaze: tuple[float, float, float, float]) -> np.ndarray:
    """The basis coefficients of one frame: blendshapes (with mouthClose folded into jawOpen) + gaze."""
    c = np.zeros(N_COEFFS)
    bs = np.clip(blendshapes, 0.0, 1.0)
    c[: len(ARKIT_BLENDSHAPES)] = bs
    c[_BS["jawOpen"]] = bs[_BS["jawOpen"]] * (1.0 - bs[_BS["mouthClose"]])
    c[_BS["mouthClose"]] = 0.0
    lim = (GAZE_FULL_YAW, GAZE_FULL_PITCH, GAZE_FULL_YAW, GAZE_FULL_PITCH)
    for i, (g, m) in enumerate(zip(gaze, lim)):
        c[len(ARKIT_BLENDSHAPES) + i] = float(np.clip(g, -m, m))
    return c
