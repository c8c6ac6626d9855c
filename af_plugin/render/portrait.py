"""Animate one portrait photo by the motion: a mesh warp driven by the photo's own face landmarks.

Set-up (once): find the 478 Face Mesh landmarks, build the rig (``portrait_rig``), and triangulate the
landmarks together with a fixed ring around the face and the border of the face's region (Delaunay). For
every pixel of that region on a half-resolution grid, remember its triangle and barycentric weights.

Per frame: landmark displacements = expression basis · coefficients, then a 3-D head rotation about a pivot
behind the face; the dense displacement field is the barycentric blend of its triangle's vertex
displacements (ring and border stay put, so hair, neck and background do not move), upsampled, inverted
by three fixed-point steps (``src = p - d(src)``) and applied with ``cv2.remap``. Finally the lids are painted
over closing eyes in a colour sampled from the skin above each eye, and a dark mouth interior with teeth and
tongue is painted inside the opened inner lip line (blended in as the mouth opens beyond the photo's own).
"""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np
from scipy.spatial import Delaunay

from af_plugin.errors import ConfigError
from af_plugin.motion.contract import ARKIT_BLENDSHAPES, CHANNEL_INDEX, NUM_CHANNELS, channel_slice
from af_plugin.render.face_geometry import gaze_angles
from af_plugin.render.portrait_rig import (
    EYE_CORNERS,
    EYE_CREASE,
    EYE_LOWER,
    EYE_UPPER,
    FACE_OVAL,
    LIPS_LOWER_INNER,
    LIPS_UPPER_INNER,
    Rig,
    build_rig,
    coefficients,
)

_SHIFT = 4
_ONE = 1 << _SHIFT
RING_SCALE = 1.5  # the fixed ring sits this far out from the face centre, relative to the face oval
PIVOT = np.array([0.0, -0.1, -0.25])  # rotation centre in face units: behind the face, toward the neck
MAX_YAW_PITCH, MAX_ROLL = 0.5, 0.6  # radians; a 2-D warp of a photo cannot turn further convincingly
POSE_GAIN = 0.6  # the photo turns by this fraction of the head angle: enough to read, small enough not to tear
METRES_PER_FACE = 0.2
MOUTH_COLORS = {"mouth": (48, 14, 18), "teeth": (226, 218, 204), "tongue": (142, 58, 66)}


def detect_landmarks(rgb: np.ndarray) -> np.ndarray | None:
    """(478, 3) pixel landmarks (x, y, z; z in pixels, negative toward the camera) or None if no face."""
    from af_plugin.perception.tracker import FaceTracker

    with FaceTracker(static_image=True) as tracker:
        return tracker.process(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))


def load_photo(path: str | Path, width: int, height: int) -> np.ndarray:
    """The photo as RGB, scaled to cover width x height and centre-cropped."""
    if not Path(path).is_file():
        raise ConfigError("render.portrait", f"{str(path)!r} does not exist")
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise ConfigError("render.portrait", f"cannot read {str(path)!r} as an image (PNG/JPEG expected)")
    h, w = bgr.shape[:2]
    s = max(width / w, height / h)
    nw, nh = max(width, round(w * s)), max(height, round(h * s))
    interp = cv2.INTER_AREA if s < 1 else cv2.INTER_CUBIC
    bgr = cv2.resize(bgr, (nw, nh), interpolation=interp) if (nw, nh) != (w, h) else bgr
    x0, y0 = (nw - width) // 2, (nh - height) // 2
    return np.ascontiguousarray(cv2.cvtColor(bgr[y0 : y0 + height, x0 : x0 + width], cv2.COLOR_BGR2RGB))


def _rotation(yaw: float, pitch: float, roll: float) -> np.ndarray:
    """Same convention as the stylized renderer: R = roll · pitch · yaw, x right, y up, z to the viewer."""
    cy, sy = math.cos(yaw), math.sin(yaw)
    cp, sp = math.cos(pitch), math.sin(pitch)
    cr, sr = math.cos(roll), math.sin(roll)
    r_yaw = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    r_pitch = np.array([[1, 0, 0], [0, cp, sp], [0, -sp, cp]])
    r_roll = np.array([[cr, sr, 0], [-sr, cr, 0], [0, 0, 1]])
    return r_roll @ r_pitch @ r_yaw


class PortraitRenderer:
    """``render(values) -> (H, W, 3)`` RGB: the photo, its face moved by the motion."""

    channels = 3

    def __init__(
        self,
        photo_path: str | Path,
        width: int = 512,
        height: int = 512,
        background: str | None = None,
        landmarks: np.ndarray | None = None,
    ):
        # ``background`` is accepted for a uniform factory signature; the photo is its own background.
        self.width, self.height = int(width), int(height)
        self.photo = load_photo(photo_path, self.width, self.height)
        if landmarks is None:
            landmarks = detect_landmarks(self.photo)
            if landmarks is None:
                raise ConfigError("render.portrait", f"no face found in {str(photo_path)!r}; use a frontal portrait")
        self.landmarks = np.asarray(landmarks, dtype=np.float64)
        self.rig: Rig = build_rig(self.landmarks)
        self._prepare_mesh()
        self._sample_colors()

    # --- set-up -----------------------------------------------------------------------------------------

    def _prepare_mesh(self) -> None:
        rig = self.rig
        lm = self.landmarks[:, :2]
        oval = lm[list(FACE_OVAL)]
        ring = rig.origin + RING_SCALE * (oval - rig.origin)
        ring_gap = (RING_SCALE - 1.0) * float(np.sqrt(((oval - rig.origin) ** 2).sum(axis=1)).min())
        self._max_pose_move = 0.5 * ring_gap / rig.face_px  # face units
        lo = np.floor(np.minimum(ring.min(axis=0), lm.min(axis=0)) - 6).astype(int)
        hi = np.ceil(np.maximum(ring.max(axis=0), lm.max(axis=0)) + 6).astype(int)
        x0, y0 = max(0, lo[0]), max(0, lo[1])
        x1, y1 = min(self.width, hi[0]), min(self.height, hi[1])
        x1, y1 = x0 + ((x1 - x0) // 2) * 2, y0 + ((y1 - y0) // 2) * 2  # even, for the half-res grid
        self.roi = (x0, y0, x1, y1)
        # Fixed border of the region (slightly outside it so every grid point is inside the hull).
        bx = np.linspace(x0 - 2, x1 + 2, 9)
        by = np.linspace(y0 - 2, y1 + 2, 9)
        border = np.concatenate(
            [np.stack([bx, np.full_like(bx, y0 - 2)], 1), np.stack([bx, np.full_like(bx, y1 + 2)], 1),
             np.stack([np.full_like(by, x0 - 2), by], 1)[1:-1], np.stack([np.full_like(by, x1 + 2), by], 1)[1:-1]]
        )  # fmt: skip
        # Teeth the photo already shows stay with the upper jaw: extra control points just above the lower
        # lip (the "teeth line") move like their upper-lip partners, so only the strip below them opens up
        # (and is painted as the mouth's interior).
        cols = np.arange(1, len(LIPS_UPPER_INNER) - 1)
        up_i, lo_i = np.array(LIPS_UPPER_INNER)[cols], np.array(LIPS_LOWER_INNER)[cols]
        gaps = (lm[up_i] - lm[lo_i]) @ rig.up
        self.photo_teeth = bool(gaps.max() > max(2.0, 0.015 * rig.face_px))
        keep = gaps > 1.0 if self.photo_teeth else np.zeros(len(cols), bool)
        self._teeth_cols, self._teeth_upper = cols[keep], up_i[keep]
        self._teeth_line = lm[lo_i[keep]] + 0.15 * (lm[up_i[keep]] - lm[lo_i[keep]])
        self._n_fixed = len(ring) + len(border)
        ctrl = np.concatenate([lm, self._teeth_line, ring, border])
        tri = Delaunay(ctrl, qhull_options="QJ")
        gw, gh = (x1 - x0) // 2, (y1 - y0) // 2
        gx, gy = np.meshgrid(x0 + 2 * np.arange(gw) + 0.5, y0 + 2 * np.arange(gh) + 0.5)
        pts = np.stack([gx.ravel(), gy.ravel()], 1)
        simplex = tri.find_simplex(pts)
        inside = simplex >= 0
        simplex = np.where(inside, simplex, 0)
        t = tri.transform[simplex]
        b = np.einsum("nij,nj->ni", t[:, :2], pts - t[:, 2])
        w = np.concatenate([b, 1 - b.sum(axis=1, keepdims=True)], axis=1) * inside[:, None]
        self._verts = tri.simplices[simplex].astype(np.int32)  # (K, 3)
        self._weights = w.astype(np.float32)  # (K, 3)
        self._grid_shape = (gh, gw)
        fx, fy = np.meshgrid(np.arange(x0, x1, dtype=np.float32), np.arange(y0, y1, dtype=np.float32))
        self._gx, self._gy = fx, fy
        self._ix, self._iy = np.meshgrid(np.arange(gw, dtype=np.float32), np.arange(gh, dtype=np.float32))

    def _sample_colors(self) -> None:
        lm = self.landmarks[:, :2]
        img = self.photo
        self.lid_color: dict[str, tuple[int, int, int]] = {}
        self.lash_color: dict[str, tuple[int, int, int]] = {}
        for side in ("Left", "Right"):
            crease = lm[list(EYE_CREASE[side])]
            upper = lm[list(EYE_UPPER[side])]
            # Skin just above the lid crease (the lid itself when it is open).
            pts = np.concatenate([crease + k * (crease - upper) for k in (0.2, 0.4)])
            self.lid_color[side] = self._median_color(pts, radius=max(1, int(self.rig.face_px * 0.01)))
            eye = np.concatenate([upper, lm[list(EYE_LOWER[side])]])
            x0, y0 = np.floor(eye.min(0)).astype(int)
            x1, y1 = np.ceil(eye.max(0)).astype(int) + 1
            patch = img[max(0, y0) : y1, max(0, x0) : x1].reshape(-1, 3)
            dark = patch[np.argsort(patch.sum(axis=1))[: max(1, len(patch) // 10)]]
            self.lash_color[side] = tuple(int(c) for c in np.median(dark, axis=0))
        # Teeth: the brightest part of the photo's own mouth opening, if it shows any; else a muted white.
        self.teeth_color = MOUTH_COLORS["teeth"]
        upper, lower = lm[list(LIPS_UPPER_INNER)], lm[list(LIPS_LOWER_INNER)]
        if float(np.max((upper - lower) @ self.rig.up)) > 2.0:
            mask = np.zeros(img.shape[:2], np.uint8)
            cv2.fillPoly(mask, [np.round(np.concatenate([upper, lower[::-1]])).astype(np.int32)], 1)
            inside = img[mask > 0].astype(np.int32)
            if len(inside) >= 10:
                bright = inside[np.argsort(inside.sum(axis=1))[-max(3, len(inside) // 4) :]]
                self.teeth_color = tuple(int(c) for c in np.median(bright, axis=0))

    def _median_color(self, pts: np.ndarray, radius: int, percentile: float = 65) -> tuple[int, int, int]:
        """The colour at ``percentile`` of brightness among patches around ``pts`` (a bit above the median:
        the sampled skin sits in the eye socket's shade, the lid it paints catches more light)."""
        samples = []
        for x, y in np.round(pts).astype(int):
            patch = self.photo[max(0, y - radius) : y + radius + 1, max(0, x - radius) : x + radius + 1]
            samples.append(patch.reshape(-1, 3))
        allp = np.concatenate(samples)
        order = np.argsort(allp.astype(int).sum(axis=1))
        k = int(round(percentile / 100 * (len(order) - 1)))
        near = allp[order[max(0, k - len(order) // 10) : k + len(order) // 10 + 1]]
        return tuple(int(c) for c in np.median(near, axis=0))

    # --- per frame --------------------------------------------------------------------------------------

    def landmark_positions(self, values: np.ndarray) -> np.ndarray:
        """(478, 2) pixel positions of the landmarks for one frame of channel values."""
        v = np.nan_to_num(np.asarray(values, dtype=np.float64).reshape(-1))
        if v.shape[0] != NUM_CHANNELS:
            raise ValueError(f"expected {NUM_CHANNELS} channel values, got {v.shape[0]}")
        rig = self.rig
        coeffs = coefficients(v[channel_slice(ARKIT_BLENDSHAPES)], gaze_angles(v))
        # einsum, not tensordot/@: tiny products through multithreaded BLAS cost more than they compute.
        disp = np.einsum("c,cnk->nk", coeffs, rig.basis)  # (478, 2) face units
        p = rig.local.copy()
        p[:, :2] += disp
        p[:, 2] = rig.pose_z
        expr = p.copy()
        yaw = float(np.clip(v[CHANNEL_INDEX["headYaw"]], -MAX_YAW_PITCH, MAX_YAW_PITCH))
        pitch = float(np.clip(v[CHANNEL_INDEX["headPitch"]], -MAX_YAW_PITCH, MAX_YAW_PITCH))
        roll = float(np.clip(v[CHANNEL_INDEX["headRoll"]], -MAX_ROLL, MAX_ROLL))
        if yaw or pitch or roll:
            rot = _rotation(POSE_GAIN * yaw, POSE_GAIN * pitch, POSE_GAIN * roll)
            p = np.einsum("nj,ij->ni", p - PIVOT, rot) + PIVOT
        tz = float(np.clip(v[CHANNEL_INDEX["headZ"]], -0.1, 0.1))
        k = 0.6 / (0.6 - tz)
        p[:, :2] *= k
        p[:, 0] += POSE_GAIN * float(np.clip(v[CHANNEL_INDEX["headX"]], -0.05, 0.05)) / METRES_PER_FACE
        p[:, 1] += POSE_GAIN * float(np.clip(v[CHANNEL_INDEX["headY"]], -0.05, 0.05)) / METRES_PER_FACE
        # The fixed ring must stay clear of the moved face: scale the head motion down when it would come
        # closer than half the ring's distance (a larger move folds the mesh and tears the picture).
        pose_d = p[:, :2] - expr[:, :2]
        biggest = float(np.sqrt((pose_d**2).sum(axis=1)).max())
        if biggest > self._max_pose_move:
            p[:, :2] = expr[:, :2] + pose_d * (self._max_pose_move / biggest)
        return rig.origin + rig.face_px * (np.outer(p[:, 0], rig.right) + np.outer(p[:, 1], rig.up))

    def render(self, values: np.ndarray) -> np.ndarray:
        v = np.asarray(values, dtype=np.float64).reshape(-1)
        new = self.landmark_positions(v)
        d = new - self.landmarks[:, :2]
        out = self.photo.copy()
        if np.abs(d).max() < 0.05:
            return out
        x0, y0, x1, y1 = self.roi
        ctrl_d = np.concatenate([d, d[self._teeth_upper], np.zeros((self._n_fixed, 2))]).astype(np.float32)
        field_small = np.einsum("kj,kjc->kc", self._weights, ctrl_d[self._verts]).reshape(*self._grid_shape, 2)
        # Fixed-point inversion of the forward displacement, src = p - d(src), on the half-resolution grid
        # (the field is smooth; grid index j sits at pixel x0 + 2j + 0.5, so a shift of d pixels is d/2).
        inv = field_small
        for _ in range(3):
            inv = cv2.remap(field_small, self._ix - inv[..., 0] / 2, self._iy - inv[..., 1] / 2, cv2.INTER_LINEAR,
                            borderMode=cv2.BORDER_CONSTANT, borderValue=0)  # fmt: skip
        inv = cv2.resize(inv, (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR)
        sx, sy = self._gx - inv[..., 0], self._gy - inv[..., 1]
        out[y0:y1, x0:x1] = cv2.remap(self.photo, sx, sy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        self._paint_mouth(out, v, new)
        self._paint_lids(out, v, new)
        return out

    def _paint_lids(self, img: np.ndarray, v: np.ndarray, new: np.ndarray) -> None:
        """Paint the lid that slid down (rest upper lid → current upper lid) and a lash line along its edge.

        The warp has already stretched the skin above the eye over that area; the paint evens it out and
        hides what is left of the squeezed eye. It is blended, so some of the photo's texture shows.
        """
        rest = self.landmarks[:, :2]
        for side in ("Left", "Right"):
            blink = float(np.clip(v[CHANNEL_INDEX[f"eyeBlink{side}"]], 0, 1))
            if blink < 0.2:
                continue
            outer, inner = EYE_CORNERS[side]
            idx = [outer, *EYE_UPPER[side], inner]
            upper_now = new[idx]
            # The top edge sits a little above the rest lid margin, over the photo's own lash line.
            crease = rest[[outer, *EYE_CREASE[side], inner]]
            top = rest[idx] + 0.3 * (crease - rest[idx])
            lid = np.concatenate([top, upper_now[::-1]])
            eye_w = float(np.linalg.norm(new[outer] - new[inner]))
            lid_alpha = 0.65 * float(np.clip((blink - 0.35) / 0.5, 0, 1))
            # The lid's lower edge gets a wide stroke too: it covers the sliver of squeezed eye under it.
            _blend(img, [lid], self.lid_color[side], lid_alpha, stroke=max(1, round(eye_w / 10)),
                   feather=max(0.8, eye_w / 40))  # fmt: skip
            lash_alpha = 0.45 * float(np.clip((blink - 0.6) / 0.4, 0, 1))
            _blend(img, [upper_now], self.lash_color[side], lash_alpha, stroke=1, fill=False)

    def _paint_mouth(self, img: np.ndarray, v: np.ndarray, new: np.ndarray) -> None:
        rig = self.rig
        up_img = rig.up
        rest = self.landmarks[:, :2]
        gap_now = float(np.sum((new[13] - new[14]) * up_img)) / rig.face_px
        gap_rest = float(np.sum((rest[13] - rest[14]) * up_img)) / rig.face_px
        alpha = float(np.clip((gap_now - gap_rest) / 0.03, 0, 1))
        tongue_out = float(np.clip(v[CHANNEL_INDEX["tongueOut"]], 0, 1))
        if alpha <= 0.01 and tongue_out < 0.05:
            return
        upper = new[list(LIPS_UPPER_INNER)]
        lower = new[list(LIPS_LOWER_INNER)]
        if len(self._teeth_cols):  # the opening starts under the photo's own teeth
            upper[self._teeth_cols] = self._teeth_line + (new[self._teeth_upper] - rest[self._teeth_upper])
        interior = np.concatenate([upper, lower[1:-1][::-1]])
        gaps = np.maximum(((upper - lower) * up_img).sum(axis=1), 0.0)  # pixels, per column of the lip line
        n = len(upper)
        prof = np.sqrt(np.clip(1 - np.linspace(-1, 1, n) ** 2, 0, 1))
        teeth_h = np.minimum(0.03 * rig.face_px * prof**0.4, gaps) * (not self.photo_teeth)
        teeth = np.concatenate([upper, (upper - np.outer(teeth_h, up_img))[::-1]])
        low_teeth_h = np.minimum(0.012 * rig.face_px * prof**0.4, np.maximum(gaps - teeth_h, 0))
        low_teeth = np.concatenate([lower, (lower + np.outer(low_teeth_h, up_img))[::-1]])
        tongue_h = np.minimum(0.022 * rig.face_px * prof, np.maximum(gaps - teeth_h, 0))
        t_out = tongue_out * 0.1 * rig.face_px * prof
        tongue = np.concatenate([lower + np.outer(tongue_h, up_img), (lower - np.outer(t_out, up_img))[::-1]])
        # The interior is also stroked a little wider so no sliver of stretched lip or teeth shows at its rim.
        rim = max(1, round(0.008 * rig.face_px))
        layers = [([interior], MOUTH_COLORS["mouth"], rim), ([teeth], self.teeth_color, 0)]
        layers.append(([low_teeth], _shade(self.teeth_color, 0.8), 0))
        layers.append(([tongue], MOUTH_COLORS["tongue"], 0))
        # Degenerate (zero-height) polygons would still leave an anti-aliased hairline: skip them.
        layers = [layer for layer in layers if abs(cv2.contourArea(layer[0][0].astype(np.float32))) > 0.5]
        _blend_layers(img, layers, max(alpha, tongue_out))


def _shade(color: tuple[int, int, int], k: float) -> tuple[int, int, int]:
    return tuple(int(c * k) for c in color)


def _bbox(polys: list[np.ndarray], img: np.ndarray, pad: int = 4) -> tuple[int, int, int, int]:
    allp = np.concatenate(polys)
    x0, y0 = np.floor(allp.min(0)).astype(int) - pad
    x1, y1 = np.ceil(allp.max(0)).astype(int) + pad
    return max(0, x0), max(0, y0), min(img.shape[1], x1), min(img.shape[0], y1)


def _blend_layers(img: np.ndarray, layers: list[tuple[list[np.ndarray], tuple, int]], alpha: float) -> None:
    """Paint filled (and, width > 0, also stroked) anti-aliased polygons onto a copy of their bounding box,
    then blend it in."""
    if alpha <= 0 or not layers:
        return
    x0, y0, x1, y1 = _bbox([p for polys, _, _ in layers for p in polys], img, pad=4 + max(w for _, _, w in layers))
    if x1 <= x0 or y1 <= y0:
        return
    sub = img[y0:y1, x0:x1]
    over = sub.copy()
    off = np.array([x0, y0])
    for polys, color, width in layers:
        pts = [np.round((p - off) * _ONE).astype(np.int32) for p in polys]
        cv2.fillPoly(over, pts, color, cv2.LINE_AA, _SHIFT)
        if width:
            cv2.polylines(over, pts, True, color, width, cv2.LINE_AA, _SHIFT)
    cv2.addWeighted(over, alpha, sub, 1 - alpha, 0, dst=sub)


def _blend(img, polys, color, alpha, stroke: int = 0, fill: bool = True, closed: bool = False, feather: float = 0.0):
    """Paint polygons (filled and/or stroked) at ``alpha``; ``feather`` (pixels) softens their edges."""
    if alpha <= 0:
        return
    pad = 4 + stroke + int(np.ceil(3 * feather))
    x0, y0, x1, y1 = _bbox(polys, img, pad=pad)
    if x1 <= x0 or y1 <= y0:
        return
    sub = img[y0:y1, x0:x1]
    cover = np.zeros(sub.shape[:2], np.uint8)
    pts = [np.round((p - np.array([x0, y0])) * _ONE).astype(np.int32) for p in polys]
    if fill:
        cv2.fillPoly(cover, pts, 255, cv2.LINE_AA, _SHIFT)
    if stroke:
        cv2.polylines(cover, pts, closed, 255, stroke, cv2.LINE_AA, _SHIFT)
    a = cover.astype(np.float32) * (alpha / 255.0)
    if feather > 0:
        a = cv2.GaussianBlur(a, (0, 0), feather)
    a = a[..., None]
    sub[:] = (sub * (1 - a) + np.array(color, np.float32) * a + 0.5).astype(np.uint8)
