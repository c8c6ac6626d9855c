"""Head pose from landmarks: rigid (similarity) registration to the reference face, plus a pinhole camera.

Registration (Umeyama) on landmarks that barely move with expressions (nose, eye corners, forehead,
temples, cheekbones) gives ``points ≈ s · reference @ R.T + t`` in the camera frame (x right, y up,
z toward the viewer, pixel units). R gives the angles; s (pixels per metre at the face) and t give the
position under the **camera model**: a pinhole at the image centre with focal length = image width in
pixels (≈ 53° horizontal field of view, typical of webcams), so distance = f / s.

Angles follow the motion contract: R = Ry(yaw) · Rx(−pitch) · Rz(−roll) (intrinsic Y-X-Z), so
yaw > 0 turns the nose toward the image's right (the person's left), pitch > 0 lifts the chin and
roll > 0 moves the top of the head toward the image's right.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from af_plugin.perception.reference import load_reference

# Landmarks on bone or firm tissue: nose bridge/tip, eye corners, forehead, temples, cheekbones.
RIGID_LANDMARKS: tuple[int, ...] = (
    1, 2, 4, 5, 6, 168, 197, 195, 98, 327,
    33, 133, 263, 362,
    10, 151, 9, 108, 337, 67, 297, 109, 338,
    234, 454, 127, 356, 93, 323, 116, 345, 143, 372,
)  # fmt: skip


@dataclass(frozen=True)
class Registration:
    scale: float  # pixels per reference metre
    rotation: np.ndarray  # (3, 3), reference frame → camera frame
    translation: np.ndarray  # (3,), camera-frame pixels (image position of the reference's origin)
    residual: float  # RMS registration error in reference metres (how well a rigid face explains the points)

    def to_head_frame(self, points: np.ndarray) -> np.ndarray:
        """Undo pose and scale: camera-frame points → the reference's head frame, in metres."""
        return (points - self.translation) @ self.rotation / self.scale


def umeyama(src: np.ndarray, dst: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """Similarity (s, R, t) minimising |s · src @ R.T + t − dst| (Umeyama 1991)."""
    mu_s, mu_d = src.mean(axis=0), dst.mean(axis=0)
    a, b = src - mu_s, dst - mu_d
    u, sig, vt = np.linalg.svd(b.T @ a / len(src))
    d = np.array([1.0, 1.0, np.sign(np.linalg.det(u @ vt))])
    rot = u @ np.diag(d) @ vt
    scale = float((sig * d).sum() / (a**2).sum(axis=1).mean())
    return scale, rot, mu_d - scale * mu_s @ rot.T


def register(camera_points: np.ndarray) -> Registration:
    """Register (478, 3) camera-frame landmarks to the reference face."""
    ref, _ = load_reference()
    idx = list(RIGID_LANDMARKS)
    s, rot, t = umeyama(ref[idx].astype(np.float64), camera_points[idx])
    fitted = s * ref[idx] @ rot.T + t
    residual = float(np.sqrt(((fitted - camera_points[idx]) ** 2).sum(axis=1).mean()) / s)
    return Registration(s, rot, t, residual)


def rotation_to_angles(rot: np.ndarray) -> tuple[float, float, float]:
    """(yaw, pitch, roll) in radians with the motion contract's signs.

    Closed form of R = Ry(a)·Rx(b)·Rz(c): R[1,2] = −sin b, R[0,2]/R[2,2] = tan a, R[1,0]/R[1,1] = tan c
    (no scipy import on the live path: its first import costs ~0.5 s).
    """
    b = float(np.arcsin(np.clip(-rot[1, 2], -1.0, 1.0)))
    a = float(np.arctan2(rot[0, 2], rot[2, 2]))
    c = float(np.arctan2(rot[1, 0], rot[1, 1]))
    return a, -b, -c


def angles_to_rotation(yaw: float, pitch: float, roll: float) -> np.ndarray:
    """Inverse of rotation_to_angles (for tests and synthetic data)."""
    a, b, c = yaw, -pitch, -roll
    ry = np.array([[np.cos(a), 0.0, np.sin(a)], [0.0, 1.0, 0.0], [-np.sin(a), 0.0, np.cos(a)]])
    rx = np.array([[1.0, 0.0, 0.0], [0.0, np.cos(b), -np.sin(b)], [0.0, np.sin(b), np.cos(b)]])
    rz = np.array([[np.cos(c), -np.sin(c), 0.0], [np.sin(c), np.cos(c), 0.0], [0.0, 0.0, 1.0]])
    return ry @ rx @ rz


def camera_position(reg: Registration, image_width: int, image_height: int) -> np.ndarray:
    """Head position (x right, y up, distance) in metres under the stated pinhole camera model."""
    focal = float(image_width)
    distance = focal / reg.scale
    cx, cy = image_width / 2.0, -image_height / 2.0  # image centre in the camera frame (y up)
    return np.array(
        [(reg.translation[0] - cx) * distance / focal, (reg.translation[1] - cy) * distance / focal, distance]
    )


def project_head(
    head: np.ndarray,
    yaw: float = 0.0,
    pitch: float = 0.0,
    roll: float = 0.0,
    distance: float = 0.6,
    x: float = 0.0,
    y: float = 0.0,
    image_size: tuple[int, int] = (640, 480),
) -> np.ndarray:
    """Head-frame points (metres) posed and placed under the camera model → image-space landmarks.

    The inverse of register + camera_position (scaled orthographic at the head's distance, as the
    registration assumes); used by tests and to synthesise landmark data.
    """
    width, height = image_size
    s = float(width) / distance
    t = np.array([width / 2 + x * s, -height / 2 + y * s, 0.0])
    cam = s * np.asarray(head, dtype=np.float64) @ angles_to_rotation(yaw, pitch, roll).T + t
    return cam * np.array([1.0, -1.0, -1.0])  # camera frame → image space (its own inverse)
