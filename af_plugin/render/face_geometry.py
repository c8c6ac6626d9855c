"""Channel values → a list of flat 2-D shapes (polygons and polylines) in pixel coordinates.

This is the stylized avatar's whole look in one function, ``build_scene``, driven by the numbers in
``spec.py``. It knows nothing of OpenCV or canvases: ``stylized.py`` rasterizes the shapes with OpenCV and
``obs_integration/overlay/avatar.js`` is a line-by-line port of this file that draws them on an HTML canvas
(keep the two in step; ``tests/test_obs_overlay.py`` compares their pictures).

How channels move the face (signs from ``af_plugin.motion.contract``; "left" is the avatar's left, drawn on
the viewer's right, +x):

* head rotation: features are points on an ellipsoid rotated by yaw (about y), pitch (about x) and roll
  (about z); the silhouette is the ellipsoid's outline (only roll turns it), the back hair sits behind the
  head and moves the other way (parallax); the body stays put.
* head translation: shifts (x, y) and scales (z) the head; the body follows by ``body.follow``.
* eyes: ``eyeBlink`` lowers the upper lid onto the lower lid, ``eyeWide`` raises it, ``eyeSquint`` and
  ``cheekSquint`` raise the lower lid; irises follow the gaze channels (or the ``eyeLook*`` blendshapes
  when all gaze channels are zero).
* brows: ``browInnerUp`` lifts both inner ends, ``browOuterUp*`` the outer ends, ``browDown*`` lowers the
  brow and pulls its inner end toward the nose.
* mouth: ``jawOpen`` (less ``mouthClose``) drops the lower lip and the chin and opens a dark interior with
  teeth and tongue; ``mouthSmile*``/``mouthFrown*`` lift/lower the corners, ``mouthStretch*``/dimples widen,
  ``mouthPucker`` narrows and thickens the lips and pushes them forward, ``mouthFunnel`` narrows and opens
  a round hole, ``mouthLeft/Right`` and ``jawLeft/Right`` shift it, ``mouthPress*``/``mouthRoll*`` thin the
  lips, ``mouthUpperUp*``/``mouthLowerDown*`` part them, ``tongueOut`` shows the tongue over the lower lip.
* ``cheekPuff`` bulges the cheeks of the outline and grows the blush; ``noseSneer*`` lifts the nose.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from af_plugin.motion.contract import ARKIT_BLENDSHAPES, CHANNEL_INDEX, EYE_GAZE, NUM_CHANNELS, channel_slice


@dataclass(frozen=True)
class Shape:
    """One drawing operation: fill a closed polygon, or stroke a polyline ``width`` pixels wide."""

    kind: str  # "fill" | "stroke"
    points: np.ndarray  # (N, 2) float pixel coordinates, x right, y down
    color: str  # a key of spec["colors"]
    width: float = 0.0
    closed: bool = False


class _Channels:
    """Named access to one frame, blendshapes clipped to 0..1."""

    def __init__(self, values: np.ndarray):
        v = np.asarray(values, dtype=np.float64).reshape(-1)
        if v.shape[0] != NUM_CHANNELS:
            raise ValueError(f"expected {NUM_CHANNELS} channel values, got {v.shape[0]}")
        v = np.nan_to_num(v, nan=0.0, posinf=0.0, neginf=0.0)
        bs = channel_slice(ARKIT_BLENDSHAPES)
        v[bs] = np.clip(v[bs], 0.0, 1.0)
        self.v = v

    def __getitem__(self, name: str) -> float:
        return float(self.v[CHANNEL_INDEX[name]])


class _Projector:
    """Face units → pixels: rotate about the head centre, then a mild perspective, scale and shift."""

    def __init__(self, spec: dict, ch: _Channels, width: int, height: int):
        cv = spec["canvas"]
        head = spec["head"]
        self.rx, self.ry, self.rz = head["rx"], head["ry"], head["rz"]
        # A 2.5-D cartoon head cannot show a profile: angles and shifts are clamped to what it draws well.
        yaw = float(np.clip(ch["headYaw"], -cv["max_yaw"], cv["max_yaw"]))
        pitch = float(np.clip(ch["headPitch"], -cv["max_pitch"], cv["max_pitch"]))
        roll = float(np.clip(ch["headRoll"], -cv["max_roll"], cv["max_roll"]))
        shift = cv["max_shift_m"]
        hx, hy = float(np.clip(ch["headX"], -shift, shift)), float(np.clip(ch["headY"], -shift, shift))
        self.yaw, self.pitch, self.roll = yaw, pitch, roll
        cy_, sy_ = math.cos(yaw), math.sin(yaw)
        cp, sp = math.cos(pitch), math.sin(pitch)
        cr, sr = math.cos(roll), math.sin(roll)
        r_yaw = np.array([[cy_, 0, sy_], [0, 1, 0], [-sy_, 0, cy_]])
        r_pitch = np.array([[1, 0, 0], [0, cp, sp], [0, -sp, cp]])
        r_roll = np.array([[cr, sr, 0], [-sr, cr, 0], [0, 0, 1]])
        self.rot = r_roll @ r_pitch @ r_yaw
        self.roll2d = r_roll[:2, :2]
        mpu = cv["metres_per_unit"]
        cam = cv["camera_distance_m"]
        tz = float(np.clip(ch["headZ"], -0.5 * cam, 0.15 * cam))
        self.base_scale = min(width, height) * cv["head_scale"]
        self.scale = self.base_scale * cam / (cam - tz)
        self.cx = width * cv["head_center"][0] + self.base_scale * hx / mpu
        self.cy = height * cv["head_center"][1] - self.base_scale * hy / mpu
        follow = spec["body"]["follow"]
        self.body_cx = width * cv["head_center"][0] + follow * self.base_scale * hx / mpu
        self.body_cy = height * cv["head_center"][1] - follow * self.base_scale * hy / mpu
        self.persp = cv["perspective_units"]

    def surface_z(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        inside = 1.0 - (x / self.rx) ** 2 - (y / self.ry) ** 2
        return self.rz * np.sqrt(np.clip(inside, 0.0, 1.0))

    def project(self, x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
        p = np.einsum("ij,jn->in", self.rot, np.stack([x, y, z]))  # einsum: no BLAS threads for tiny products
        k = self.persp / (self.persp - p[2])
        return np.stack([self.cx + self.scale * p[0] * k, self.cy - self.scale * p[1] * k], axis=1)

    def face(self, x: np.ndarray, y: np.ndarray, z_extra: float = 0.0) -> np.ndarray:
        """Points given by (x, y) on the face surface (lifted onto the ellipsoid)."""
        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        return self.project(x, y, self.surface_z(x, y) + z_extra)

    def flat(self, x: np.ndarray, y: np.ndarray, dx: float = 0.0) -> np.ndarray:
        """Outline points: turned by roll only (a rotating ellipsoid keeps its outline), shifted by dx."""
        p = np.einsum(
            "ij,jn->in", self.roll2d, np.stack([np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)])
        )
        return np.stack([self.cx + self.scale * (p[0] + dx), self.cy - self.scale * p[1]], axis=1)

    def body(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return np.stack(
            [self.body_cx + self.base_scale * np.asarray(x), self.body_cy - self.base_scale * np.asarray(y)], axis=1
        )


def _ellipse(cx: float, cy: float, rx: float, ry: float, n: int) -> tuple[np.ndarray, np.ndarray]:
    t = np.linspace(0.0, 2.0 * math.pi, n, endpoint=False)
    return cx + rx * np.cos(t), cy + ry * np.sin(t)


def _gaze(ch: _Channels, side: str, spec_eyes: dict) -> tuple[float, float]:
    """(yaw, pitch) of one eye in radians; from the gaze channels, else from the eyeLook* blendshapes."""
    if any(ch[n] != 0.0 for n in EYE_GAZE):
        return ch[f"{side.lower()}EyeYaw"], ch[f"{side.lower()}EyePitch"]
    k = spec_eyes["blendshape_gaze_rad"]
    outward = 1.0 if side == "Left" else -1.0  # the avatar's left eye looks "out" toward +x
    yaw = k * outward * (ch[f"eyeLookOut{side}"] - ch[f"eyeLookIn{side}"])
    pitch = k * (ch[f"eyeLookUp{side}"] - ch[f"eyeLookDown{side}"])
    return yaw, pitch


def gaze_angles(values: np.ndarray, blendshape_gaze_rad: float = 0.45) -> tuple[float, float, float, float]:
    """(leftYaw, leftPitch, rightYaw, rightPitch) in radians, falling back to the eyeLook* blendshapes."""
    ch = _Channels(values)
    spec_eyes = {"blendshape_gaze_rad": blendshape_gaze_rad}
    ly, lp = _gaze(ch, "Left", spec_eyes)
    ry, rp = _gaze(ch, "Right", spec_eyes)
    return ly, lp, ry, rp


def build_scene(values: np.ndarray, spec: dict, width: int, height: int) -> list[Shape]:
    """The avatar for one frame of 62 channel values, back to front."""
    ch = _Channels(values)
    pj = _Projector(spec, ch, width, height)
    shapes: list[Shape] = []

    def fill(points: np.ndarray, color: str) -> None:
        shapes.append(Shape("fill", points, color))

    def stroke(points: np.ndarray, color: str, width_px: float, closed: bool = False) -> None:
        shapes.append(
            Shape("stroke", points, color, width_px * pj.scale / pj.base_scale * min(width, height) / 512, closed)
        )

    head, hair, body = spec["head"], spec["hair"], spec["body"]
    rx, ry = head["rx"], head["ry"]
    # The outline of the turned ellipsoid: width/height shrink toward the depth axis.
    w_eff = math.sqrt((rx * math.cos(pj.yaw)) ** 2 + (pj.rz * math.sin(pj.yaw)) ** 2)
    h_eff = math.sqrt((ry * math.cos(pj.pitch)) ** 2 + (pj.rz * math.sin(pj.pitch)) ** 2)
    jaw_dx = 0.3 * math.sin(pj.yaw)  # the jaw line follows the turn a little

    # --- back hair (behind everything on the head; moves against the turn) ---
    n = head["points"]
    phi = np.linspace(0.0, 2.0 * math.pi, n, endpoint=False)
    pad = hair["back_pad"]
    bx = (w_eff + pad) * np.cos(phi)
    by = np.where(
        np.sin(phi) > 0, (h_eff + pad) * np.sin(phi), np.maximum((h_eff + pad) * np.sin(phi), hair["back_bottom"])
    )
    back_dx = hair["back_z"] * math.sin(pj.yaw)
    fill(pj.flat(bx, by, back_dx), "hair")

    # --- body: neck and shoulders do not turn ---
    nw = body["neck_w"]
    fill(
        pj.body(
            np.array([-nw, nw, nw, -nw]),
            np.array([body["neck_top"], body["neck_top"], body["neck_bottom"], body["neck_bottom"]]),
        ),
        "skin",
    )
    t = np.linspace(0.0, math.pi, 33)
    sx = body["shoulder_w"] * np.cos(t)
    sy = body["bottom"] + (body["shoulder_top"] - body["bottom"]) * np.sin(t) ** 0.6
    shirt = pj.body(np.concatenate([sx, [-body["shoulder_w"]]]), np.concatenate([sy, [body["bottom"] - 1.0]]))
    shirt = np.concatenate([shirt, pj.body(np.array([body["shoulder_w"]]), np.array([body["bottom"] - 1.0]))])
    fill(shirt, "shirt")
    t = np.linspace(math.pi, 2.0 * math.pi, 17)
    collar = pj.body(nw * 1.05 * np.cos(t), body["shoulder_top"] + 0.28 * np.sin(t))
    # The filled collar reaches up into the neck so no anti-aliased seam shows where it meets the shirt.
    fill(
        np.concatenate([collar, pj.body(np.array([nw * 1.05, -nw * 1.05]), np.full(2, body["shoulder_top"] + 0.2))]),
        "skin",
    )
    stroke(collar, "shirt_line", 2.0)

    # --- head outline with jaw, cheeks and chin (computed here: the chin's shadow on the neck needs it) ---
    sinp, cosp = np.sin(phi), np.cos(phi)
    lower = np.maximum(0.0, -sinp)
    hx = w_eff * cosp * (1.0 - head["jaw_narrow"] * lower**1.5)
    cheek = np.exp(-((phi - 1.75 * math.pi) ** 2) / 0.12) + np.exp(-((phi - 1.25 * math.pi) ** 2) / 0.12)
    hx = hx * (1.0 + head["cheek_puff"] * ch["cheekPuff"] * cheek)
    hy = h_eff * sinp - head["jaw_drop"] * ch["jawOpen"] * (1.0 - ch["mouthClose"]) * lower**2
    hx = hx + (jaw_dx + 0.08 * (ch["jawLeft"] - ch["jawRight"])) * lower**2
    outline = pj.flat(hx, hy)

    # --- the chin's shadow on the neck: the outline moved down, squeezed into the neck's width ---
    shadow = outline + np.array([0.0, body["chin_shadow"] * pj.scale])
    neck_l, neck_r = pj.body(np.array([-nw, nw]), np.zeros(2))[:, 0]
    shadow[:, 0] = np.clip(shadow[:, 0], neck_l, neck_r)
    fill(shadow, "neck_shadow")

    # --- ears ---
    ears = spec["ears"]
    for s in (1.0, -1.0):
        ex, ey = _ellipse(s * ears["x"], ears["y"], ears["rx"], ears["ry"], 20)
        pts = pj.project(ex, ey, np.full_like(ex, ears["z"]))
        fill(pts, "skin")
        stroke(pts, "skin_line", 2.0, closed=True)

    fill(outline, "skin")
    stroke(outline, "skin_line", spec["canvas"]["outline_px"], closed=True)

    _eyes(ch, pj, spec, fill, stroke)

    # --- nose ---
    nose = spec["nose"]
    sneer = 0.5 * (ch["noseSneerLeft"] + ch["noseSneerRight"])
    nx, ny = _ellipse(0.0, nose["y"] + nose["sneer"] * sneer, nose["w"] * (1 + 0.3 * sneer), nose["h"], nose["points"])
    fill(pj.face(nx, ny, nose["z_extra"]), "nose")

    # --- blush (grows with cheekPuff, rises with cheekSquint) ---
    ck = spec["cheeks"]
    for s, side in ((1.0, "Left"), (-1.0, "Right")):
        grow = 1.0 + ck["puff_grow"] * ch["cheekPuff"]
        bx_, by_ = _ellipse(
            s * ck["x"], ck["y"] + ck["squint_up"] * ch[f"cheekSquint{side}"], ck["rx"] * grow, ck["ry"] * grow, 20
        )
        fill(pj.face(bx_, by_), "blush")

    _brows(ch, pj, spec, fill)
    _mouth(ch, pj, spec, fill, stroke)

    # --- fringe: the outline's top arc, closed by a wavy edge across the forehead ---
    top = np.linspace(-0.12, math.pi + 0.12, 31)
    tp = hair["top_pad"]
    arc = pj.flat((w_eff + tp) * np.cos(top), (h_eff + tp) * np.sin(top))
    m = hair["fringe_points"]
    u = np.linspace(-1.0, 1.0, m)
    fx = u * rx * 0.98
    fy = (
        hair["fringe_y"]
        + hair["fringe_wave"] * np.abs(np.sin(hair["fringe_waves"] * math.pi * (u + 1) / 2))
        + 0.25 * np.abs(u) ** 3
    )
    edge = pj.face(fx, fy)
    fill(np.concatenate([arc, edge]), "hair")
    sh = hair["shine"]
    shx, shy = _ellipse(sh[0], sh[1], sh[2], sh[3], 16)
    fill(pj.face(shx, shy, 0.02), "hair_shine")
    return shapes


def _eyes(ch: _Channels, pj: _Projector, spec: dict, fill, stroke) -> None:
    e = spec["eyes"]
    n = e["points"]
    u = np.linspace(-1.0, 1.0, n)
    prof = (1.0 - u**2) ** 0.6
    for s, side in ((1.0, "Left"), (-1.0, "Right")):
        cx, cy, erx, ery = s * e["x"], e["y"], e["rx"], e["ry"]
        blink = ch[f"eyeBlink{side}"]
        squint = ch[f"eyeSquint{side}"]
        lo = e["lower_open"] * (1.0 - e["squint_lower"] * squint - 0.3 * ch[f"cheekSquint{side}"])
        up_open = 1.0 + e["wide"] * ch[f"eyeWide{side}"] - e["squint_upper"] * squint
        up = up_open * (1.0 - blink) - lo * blink
        x = cx + u * erx
        y_up_open = cy + ery * up_open * prof
        y_low = cy - ery * lo * prof
        y_up = np.maximum(cy + ery * up * prof, y_low)
        white = pj.face(np.concatenate([x, x[::-1]]), np.concatenate([y_up, y_low[::-1]]))
        fill(white, "eye_white")
        g_yaw, g_pitch = _gaze(ch, side, e)
        ix = cx + erx * e["gaze_x"] * float(np.clip(g_yaw / 0.6, -1.0, 1.0))
        iy = cy + ery * e["gaze_y"] * float(np.clip(g_pitch / 0.5, -1.0, 1.0))
        px, py = _ellipse(ix, iy, e["iris_r"], e["iris_r"], 20)
        fill(pj.face(px, py, 0.01), "iris")
        px, py = _ellipse(ix, iy, e["pupil_r"], e["pupil_r"], 14)
        fill(pj.face(px, py, 0.015), "pupil")
        hl = e["highlight"]
        px, py = _ellipse(ix + hl[0], iy + hl[1], hl[2], hl[2], 10)
        fill(pj.face(px, py, 0.02), "highlight")
        # Skin covers everything in the eye's box outside the opening (the painter's way to clip the iris).
        bw, bh = erx * 1.6, ery * 2.4
        upper_cover_x = np.concatenate([x, [cx + bw, cx + bw, cx - bw, cx - bw]])
        upper_cover_y = np.concatenate([y_up_open, [cy, cy + bh, cy + bh, cy]])
        lower_cover_x = np.concatenate([x, [cx + bw, cx + bw, cx - bw, cx - bw]])
        lower_cover_y = np.concatenate([y_low, [cy, cy - bh, cy - bh, cy]])
        fill(pj.face(upper_cover_x, upper_cover_y), "skin")
        fill(pj.face(lower_cover_x, lower_cover_y), "skin")
        if blink > 0.0 or up < up_open:
            lid = pj.face(np.concatenate([x, x[::-1]]), np.concatenate([y_up_open, y_up[::-1]]))
            fill(lid, "lid")
        # Lash line along the upper lid, with a small flick at the outer corner.
        flick_x = cx + s * erx * 1.18
        flick_y = cy + ery * 0.35
        if s > 0:
            lash = pj.face(np.append(x, flick_x), np.append(y_up, flick_y))
        else:
            lash = pj.face(np.insert(x, 0, flick_x), np.insert(y_up, 0, flick_y))
        stroke(lash, "lash", e["lash_px"])


def _brows(ch: _Channels, pj: _Projector, spec: dict, fill) -> None:
    b = spec["brows"]
    u = np.linspace(0.0, 1.0, b["points"])  # 0 = inner end, 1 = outer end
    for s, side in ((1.0, "Left"), (-1.0, "Right")):
        down = ch[f"browDown{side}"]
        x = s * (b["x_inner"] + (b["x_outer"] - b["x_inner"]) * u - b["down_inward"] * down * (1.0 - u))
        y = (
            b["y"]
            + b["arch"] * np.sin(math.pi * u)
            + b["inner_up"] * ch["browInnerUp"] * (1.0 - u) ** 1.5
            + b["outer_up"] * ch[f"browOuterUp{side}"] * u**1.5
            - b["down"] * down * (1.0 - 0.5 * u)
        )
        half = 0.5 * b["thick"] * (1.0 - 0.55 * u) * (0.6 + 0.4 * np.sin(math.pi * np.minimum(1.0, u * 2.5 + 0.2)))
        pts = pj.face(np.concatenate([x, x[::-1]]), np.concatenate([y + half, (y - half)[::-1]]), 0.02)
        fill(pts, "brow")


def _mouth(ch: _Channels, pj: _Projector, spec: dict, fill, stroke) -> None:
    m = spec["mouth"]
    n = m["points"]
    u = np.linspace(-1.0, 1.0, n)
    right = u > 0  # +x: the avatar's left
    pucker, funnel = ch["mouthPucker"], ch["mouthFunnel"]
    jaw = ch["jawOpen"] * (1.0 - ch["mouthClose"])

    def per_side(left: float, right_: float) -> np.ndarray:
        return np.where(right, left, right_)

    smile = per_side(ch["mouthSmileLeft"], ch["mouthSmileRight"])
    frown = per_side(ch["mouthFrownLeft"], ch["mouthFrownRight"])
    stretch = per_side(ch["mouthStretchLeft"], ch["mouthStretchRight"])
    dimple = per_side(ch["mouthDimpleLeft"], ch["mouthDimpleRight"])
    half_w = (
        m["w"]
        + m["smile_w"] * smile
        + m["stretch_w"] * stretch
        + 0.3 * m["smile_w"] * dimple
        - m["pucker_w"] * pucker
        - m["funnel_w"] * funnel
        - m["puff_w"] * ch["cheekPuff"]
    )
    half_w = np.maximum(half_w, 0.06)
    mx = m["side_shift"] * (ch["mouthLeft"] - ch["mouthRight"]) + m["jaw_side"] * (ch["jawLeft"] - ch["jawRight"])
    x = mx + u * half_w
    corner = (m["smile_up"] * smile - m["frown_down"] * frown) * u**2
    base = m["y"] + corner
    prof = (1.0 - u**2) ** (0.75 - 0.4 * funnel)
    open_lo = (
        m["open"] * jaw
        + m["lower_down"] * 0.5 * (ch["mouthLowerDownLeft"] + ch["mouthLowerDownRight"])
        + m["funnel_open"] * funnel
    )
    open_up = (
        0.12 * m["open"] * jaw
        + m["upper_up"] * 0.5 * (ch["mouthUpperUpLeft"] + ch["mouthUpperUpRight"])
        + 0.5 * m["funnel_open"] * funnel
        + 0.02 * ch["mouthShrugUpper"]
    )
    inner_up = base + open_up * prof
    inner_lo = base - open_lo * prof
    press = 0.5 * (ch["mouthPressLeft"] + ch["mouthPressRight"])
    t_up = (
        m["lip_upper"] * (1.0 - m["press"] * press - m["roll"] * ch["mouthRollUpper"])
        + m["pucker_lip"] * pucker
        + 0.02 * funnel
    )
    t_lo = (
        m["lip_lower"] * (1.0 - m["press"] * press - m["roll"] * ch["mouthRollLower"])
        + m["pucker_lip"] * pucker
        + 0.02 * funnel
        + 0.02 * ch["mouthShrugLower"]
    )
    t_up, t_lo = max(t_up, 0.012), max(t_lo, 0.012)
    lip_prof = np.sqrt(1.0 - u**2)
    outer_up = inner_up + t_up * lip_prof - 0.3 * t_up * np.exp(-((u / 0.18) ** 2))
    outer_lo = inner_lo - t_lo * lip_prof
    z = m["z_extra"] + m["pucker_z"] * pucker + 0.6 * m["pucker_z"] * funnel

    def face(xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
        return pj.face(xs, ys, z)

    fill(face(np.concatenate([x, x[::-1]]), np.concatenate([outer_up, outer_lo[::-1]])), "lips")
    interior = face(np.concatenate([x, x[::-1]]), np.concatenate([inner_up, inner_lo[::-1]]))
    fill(interior, "mouth")
    teeth_prof = (1.0 - u**2) ** 0.3
    teeth_lo = np.maximum(inner_lo, inner_up - m["teeth"] * teeth_prof)
    fill(face(np.concatenate([x, x[::-1]]), np.concatenate([inner_up, teeth_lo[::-1]])), "teeth")
    tu = np.linspace(-0.7, 0.7, n)
    tx = mx + tu * np.interp(tu, u, half_w)
    t_base = np.interp(tu, u, inner_lo)
    t_prof = np.sqrt(np.clip(1.0 - (tu / 0.7) ** 2, 0.0, 1.0))
    t_top = np.minimum(np.interp(tu, u, inner_up), t_base + m["tongue"] * t_prof * min(1.0, 4.0 * open_lo / m["open"]))
    t_bot = t_base - m["tongue_out"] * ch["tongueOut"] * t_prof
    fill(face(np.concatenate([tx, tx[::-1]]), np.concatenate([t_top, t_bot[::-1]])), "tongue")
    stroke(interior, "lip_line", m["seam_px"], closed=True)
