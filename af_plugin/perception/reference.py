"""The neutral, frontal, symmetric reference face that head pose is measured against.

The mediapipe wheel ships no canonical 3-D face model, so we derive one once from a real frontal photo
(`astronaut.png`, public domain) and store it in the package (`af_plugin/assets/perception/face_reference.npz`):

1. Face Mesh landmarks in the camera frame (x right, y up, z toward the viewer, pixel units).
2. A one-to-one left/right mirror map of the 478 landmarks (optimal assignment of the mirrored mesh onto
   itself), refined together with the yaw/roll of the face until mirroring is a symmetry.
3. The shape is averaged with its mirror image (exactly symmetric about x = 0, so yaw = roll = 0 means
   "symmetric to the camera"), pitched so the plane through the outer eye corners and mouth corners
   faces the camera (our definition of pitch 0), centred, and scaled to metres by setting the distance
   between the iris centres to the average adult interpupillary distance.

Regenerate with ``python -m af_plugin.perception.reference IMAGE`` (needs mediapipe).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

REFERENCE_PATH = Path(__file__).resolve().parents[1] / "assets" / "perception" / "face_reference.npz"
INTERPUPILLARY_M = 0.063
"""Average adult interpupillary distance; sets the metre scale of the reference (and so of headX/Y/Z)."""

NUM_LANDMARKS = 478
RIGHT_IRIS, LEFT_IRIS = 468, 473  # centres; "left" is the person's own left (the image's right side)
_MIRROR = np.array([-1.0, 1.0, 1.0])


def kabsch(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Rotation R (3x3, det +1) minimising |src @ R.T - dst| for centred (N, 3) point sets."""
    u, _, vt = np.linalg.svd(dst.T @ src)
    d = np.sign(np.linalg.det(u @ vt))
    return u @ np.diag([1.0, 1.0, d]) @ vt


def build_reference(camera_points: np.ndarray, iterations: int = 6) -> tuple[np.ndarray, np.ndarray]:
    """(478, 3) camera-frame landmarks of a near-frontal face → (symmetric shape in metres, mirror map)."""
    from scipy.optimize import linear_sum_assignment
    from scipy.spatial.transform import Rotation

    q = camera_points - camera_points.mean(axis=0)
    mirror = np.arange(len(q))
    for _ in range(iterations):
        mirrored = q * _MIRROR
        dist = np.linalg.norm(mirrored[:, None] - q[None], axis=2)
        mirror = linear_sum_assignment(dist)[1]
        # q ≈ mirrored[mirror] @ R.T; a face turned by θ looks turned by 2θ against its mirror image.
        rot = Rotation.from_matrix(kabsch(mirrored[mirror], q)).as_rotvec()
        q = q @ Rotation.from_rotvec(rot / 2).as_matrix()
    shape = (q + (q * _MIRROR)[mirror]) / 2
    # Pitch: the plane through outer eye corners (33, 263) and mouth corners (61, 291) faces +z.
    normal = np.cross(shape[263] - shape[61], shape[33] - shape[291])
    angle = np.arctan2(normal[1], normal[2])
    shape = shape @ Rotation.from_rotvec([angle, 0.0, 0.0]).as_matrix().T  # rows: apply Rx(angle)
    shape -= shape.mean(axis=0)
    shape *= INTERPUPILLARY_M / np.linalg.norm(shape[LEFT_IRIS] - shape[RIGHT_IRIS])
    return shape.astype(np.float32), mirror.astype(np.int16)


@lru_cache(maxsize=1)
def load_reference() -> tuple[np.ndarray, np.ndarray]:
    """The stored (shape (478, 3) metres, mirror (478,)) reference, read without pickle."""
    with np.load(REFERENCE_PATH, allow_pickle=False) as data:
        shape, mirror = data["shape"], data["mirror"].astype(np.int64)
    shape.setflags(write=False)
    mirror.setflags(write=False)
    return shape, mirror


def main(argv: list[str] | None = None) -> int:
    import argparse

    import cv2

    from af_plugin.perception.tracker import FaceTracker, to_camera_frame

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("image", help="a frontal portrait, e.g. ../shared/data/astronaut.png")
    parser.add_argument("-o", "--output", default=str(REFERENCE_PATH))
    args = parser.parse_args(argv)
    image = cv2.imread(args.image)
    if image is None:
        parser.error(f"cannot read {args.image}")
    with FaceTracker(static_image=True) as tracker:
        points = tracker.process(image)
    if points is None:
        parser.error(f"no face in {args.image}")
    shape, mirror = build_reference(to_camera_frame(points))
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.output, shape=shape, mirror=mirror, source=np.array(Path(args.image).name))
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
