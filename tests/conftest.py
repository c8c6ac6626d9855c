"""Shared fixtures: the real-media folder and a seeded random motion clip."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """`../shared/data` (real recordings); tests that need it skip cleanly when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not present on this machine")
    return SHARED_DATA


@pytest.fixture
def random_clip():
    from af_plugin.motion import CHANNEL_RANGES, CHANNELS, MotionClip

    def make(frames: int = 50, fps: float = 25, seed: int = 0) -> MotionClip:
        rng = np.random.default_rng(seed)
        lo = np.array([CHANNEL_RANGES[c][0] for c in CHANNELS])
        hi = np.array([CHANNEL_RANGES[c][1] for c in CHANNELS])
        return MotionClip((lo + (hi - lo) * rng.random((frames, len(CHANNELS)))).astype(np.float32), fps=fps)

    return make


@pytest.fixture(autouse=True)
def _restore_virtual_camera_backends():
    """Backends a test registers with pyvirtualcam.register_backend stay global otherwise, and a later
    test's "no virtual camera here" path would open them instead of failing."""
    try:
        from pyvirtualcam import camera
    except ImportError:
        yield
        return
    saved = dict(camera.BACKENDS)
    yield
    camera.BACKENDS.clear()
    camera.BACKENDS.update(saved)
