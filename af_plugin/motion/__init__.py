"""The motion contract (channel layout), MotionClip and its codecs."""

from af_plugin.motion.clip import MotionClip
from af_plugin.motion.contract import (
    ARKIT_BLENDSHAPES,
    CHANNEL_INDEX,
    CHANNEL_RANGES,
    CHANNELS,
    EYE_GAZE,
    HEAD_ROTATION,
    HEAD_TRANSLATION,
    LAYOUT_VERSION,
    NUM_CHANNELS,
)

__all__ = [
    "ARKIT_BLENDSHAPES", "CHANNELS", "CHANNEL_INDEX", "CHANNEL_RANGES", "EYE_GAZE", "HEAD_ROTATION",
    "HEAD_TRANSLATION", "LAYOUT_VERSION", "NUM_CHANNELS", "MotionClip",
]  # fmt: skip
