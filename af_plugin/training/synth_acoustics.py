"""Make dry espeak speech sound recorded: room reverb, phone band-limiting, background noise, crosstalk.

Each party has its own "microphone" for the whole conversation (drawn once), so the model sees varied
but self-consistent channels. Everything is numpy/scipy and driven by the conversation's generator.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy.signal import butter, fftconvolve, lfilter, sosfilt

from af_plugin.constants import SAMPLE_RATE


@dataclass(frozen=True)
class AcousticRules:
    reverb_probability: float = 0.5
    rt60_seconds: tuple[float, float] = (0.15, 0.7)  # synthetic exponential-decay impulse response
    reverb_wet: tuple[float, float] = (0.15, 0.5)
    phone_probability: float = 0.25  # band-limit to 300-3400 Hz with soft clipping, like a phone line
    phone_band_hz: tuple[float, float] = (300.0, 3400.0)
    snr_db: tuple[float, float] = (12.0, 40.0)  # speech-to-background-noise ratio
    noise_colours: tuple[str, ...] = ("white", "pink", "brown", "hum")
    crosstalk_probability: float = 0.3  # the other party bleeds into this microphone
    crosstalk_db: tuple[float, float] = (-32.0, -20.0)
    peak_level: tuple[float, float] = (0.3, 0.9)  # final peak amplitude (of 1.0 full scale)

    def to_dict(self) -> dict:
        return asdict(self)


def draw_channel(rules: AcousticRules, rng: np.random.Generator) -> dict:
    """One microphone/room setup, JSON-able (recorded per conversation in the manifest)."""
    return {
        "reverb": bool(rng.random() < rules.reverb_probability),
        "rt60": round(float(rng.uniform(*rules.rt60_seconds)), 3),
        "wet": round(float(rng.uniform(*rules.reverb_wet)), 3),
        "phone": bool(rng.random() < rules.phone_probability),
        "phone_band_hz": list(rules.phone_band_hz),
        "snr_db": round(float(rng.uniform(*rules.snr_db)), 2),
        "noise": rules.noise_colours[int(rng.integers(len(rules.noise_colours)))],
        "crosstalk": bool(rng.random() < rules.crosstalk_probability),
        "crosstalk_db": round(float(rng.uniform(*rules.crosstalk_db)), 2),
        "peak": round(float(rng.uniform(*rules.peak_level)), 3),
    }


def impulse_response(rt60: float, rng: np.random.Generator) -> np.ndarray:
    """Exponentially decaying noise tail (-60 dB at rt60) with a few early reflections."""
    n = int(rt60 * SAMPLE_RATE)
    t = np.arange(n) / SAMPLE_RATE
    tail = rng.standard_normal(n) * np.exp(-6.9 * t / rt60)
    tail[: int(0.005 * SAMPLE_RATE)] = 0.0  # pre-delay
    for _ in range(4):
        k = int(rng.uniform(0.003, 0.03) * SAMPLE_RATE)
        tail[k] += rng.uniform(0.3, 0.7) * (1 if rng.random() < 0.5 else -1)
    return (tail / np.sqrt((tail**2).sum() + 1e-12)).astype(np.float32)


def noise(kind: str, n: int, rng: np.random.Generator) -> np.ndarray:
    white = rng.standard_normal(n)
    if kind == "white":
        out = white
    elif kind == "pink":  # Paul Kellet's economical pink filter
        out = lfilter([0.049922035, -0.095993537, 0.050612699, -0.004408786],
                      [1, -2.494956002, 2.017265875, -0.522189400], white)  # fmt: skip
    elif kind == "brown":
        out = lfilter([1.0], [1.0, -0.995], white)
    else:  # mains hum plus a little hiss
        f = 50.0 if rng.random() < 0.5 else 60.0
        t = np.arange(n) / SAMPLE_RATE
        out = np.sin(2 * np.pi * f * t) + 0.3 * np.sin(2 * np.pi * 3 * f * t) + 0.1 * white
    out = out - out.mean()
    return (out / (np.sqrt((out**2).mean()) + 1e-12)).astype(np.float32)


def render_channel(own: np.ndarray, other: np.ndarray, channel: dict, rng: np.random.Generator) -> np.ndarray:
    """Dry speech (own, and the other party for crosstalk) → what this party's microphone records."""
    x = own.astype(np.float64)
    if channel["crosstalk"]:
        x = x + other * 10 ** (channel["crosstalk_db"] / 20)
    if channel["reverb"]:
        wet = fftconvolve(x, impulse_response(channel["rt60"], rng))[: len(x)]
        x = (1 - channel["wet"]) * x + channel["wet"] * wet * 3.0
    speech_rms = np.sqrt((x[np.abs(x) > 1e-4] ** 2).mean()) if np.any(np.abs(x) > 1e-4) else 0.05
    x = x + noise(channel["noise"], len(x), rng) * speech_rms * 10 ** (-channel["snr_db"] / 20)
    if channel["phone"]:
        lo, hi = channel["phone_band_hz"]
        x = sosfilt(butter(4, [lo, hi], btype="band", fs=SAMPLE_RATE, output="sos"), x)
        x = np.tanh(2.0 * x / (np.abs(x).max() + 1e-9)) / np.tanh(2.0)
    peak = np.abs(x).max()
    if peak > 0:
        x = x * (channel["peak"] / peak)
    return x.astype(np.float32)


def to_pcm16(x: np.ndarray) -> np.ndarray:
    return np.clip(np.round(x * 32767.0), -32768, 32767).astype(np.int16)
