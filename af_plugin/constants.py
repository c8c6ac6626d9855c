"""Rates, sizes and ports shared by every part of the runtime: the one place each number is written.

Import these; never retype them. Anything that talks about frames, samples or ports uses this module.
"""

from __future__ import annotations

# --- timing ---------------------------------------------------------------------------------------
FPS = 25
"""Motion frames per second, everywhere (model, runtime clock, codecs' default)."""

SAMPLE_RATE = 16_000
"""Audio sample rate (Hz) the perception layer and the model work at; other rates are resampled."""

SAMPLES_PER_FRAME = SAMPLE_RATE // FPS  # 640 samples = 40 ms

# --- audio features (log-mel) -----------------------------------------------------------------------
MEL_HOP = 160
"""Samples between log-mel columns (10 ms). A whole number of hops make one motion frame."""

MEL_HOPS_PER_FRAME = SAMPLES_PER_FRAME // MEL_HOP  # 4
MEL_WINDOW = 400
"""STFT window length in samples (25 ms)."""

N_FFT = 512
N_MELS = 80
AUDIO_FEATURE_DIM = N_MELS * MEL_HOPS_PER_FRAME
"""Size of one frame's audio feature vector: the frame's mel columns, flattened hop-major."""

# --- network defaults ---------------------------------------------------------------------------------
DEFAULT_HOST = "127.0.0.1"
DEFAULT_WS_PORT = 8765
LIVELINK_PORT = 11111
"""Unreal's stock Live Link Face source listens here."""
VMC_PORT = 39539
"""VMC protocol default port for receivers (marionette side: VSeeFace, Warudo, VNyan...)."""

assert SAMPLES_PER_FRAME * FPS == SAMPLE_RATE
assert MEL_HOPS_PER_FRAME * MEL_HOP == SAMPLES_PER_FRAME
