"""Known-answer tests of the evaluation metrics (no model involved)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from af_plugin.constants import SAMPLE_RATE, SAMPLES_PER_FRAME
from af_plugin.evaluation import metrics as M
from af_plugin.motion.contract import CHANNEL_INDEX, NUM_CHANNELS


def _smooth_random(t: int, c: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(t, c))
    kernel = np.ones(5) / 5
    return np.stack([np.convolve(x[:, i], kernel, mode="same") for i in range(c)], axis=1)


def test_pearson_known_values():
    x = np.arange(10.0)
    assert M.pearson_per_channel(x, 2 * x + 3)[0] == pytest.approx(1.0)
    assert M.pearson_per_channel(x, -x)[0] == pytest.approx(-1.0)
    # hand-computed: x=[1,2,3], y=[1,3,2] → r = 0.5
    assert M.pearson_per_channel(np.array([1.0, 2, 3]), np.array([1.0, 3, 2]))[0] == pytest.approx(0.5)


def test_pcc_is_mean_over_channels():
    x = _smooth_random(200, 3, 0)
    y = np.stack([x[:, 0], -x[:, 1], _smooth_random(200, 1, 9)[:, 0]], axis=1)
    per = M.pearson_per_channel(x, y)
    assert per[:2] == pytest.approx([1.0, -1.0])
    assert M.pcc(x, y) == pytest.approx(per.mean())


def test_constant_sequences_give_zero_not_nan():
    const = np.full((50, 4), 0.3, np.float32)
    moving = _smooth_random(50, 4, 1)
    assert np.all(M.pearson_per_channel(const, moving) == 0.0)
    assert np.all(M.pearson_per_channel(const, const) == 0.0)
    assert M.rpcc([const], [const], [moving]) == 0.0
    assert M.variance([const]) == 0.0
    fd = M.frechet_distance(const, const)
    assert fd == pytest.approx(0.0, abs=1e-12)
    # constant vs constant at another level: FD = squared distance of the means
    assert M.frechet_distance(const, const + 0.1) == pytest.approx(4 * 0.1**2, rel=1e-5)
    codebook = M.ClusterCodebook(const, k=5)
    assert M.sid([const], codebook) == 0.0
    assert not math.isnan(M.lipsync_r(np.zeros((50, NUM_CHANNELS)), np.zeros(50)))


def test_identical_sequences_give_zero_rpcc_and_fd():
    user = [_smooth_random(300, 52, s) for s in range(3)]
    real = [_smooth_random(300, 52, 10 + s) + 0.5 * u for s, u in enumerate(user)]
    assert M.rpcc(real, real, user) == 0.0
    assert M.frechet_distance(np.concatenate(real), np.concatenate(real)) == pytest.approx(0.0, abs=1e-6)


def test_rpcc_of_shifted_copies():
    """A copy of the user correlates perfectly; a copy shifted by a lag correlates as the signal's
    autocorrelation at that lag; rPCC against a real avatar that *is* the user is 1 − that."""
    user = _smooth_random(2000, 4, 3)
    lag = 2
    shifted = np.roll(user, lag, axis=0)
    r_shift = M.pcc(shifted, user)
    # 5-tap moving average of white noise: autocorrelation at lag 2 is 3/5 (up to the wrapped ends)
    assert r_shift == pytest.approx(3 / 5, abs=0.05)
    assert M.rpcc([shifted], [user], [user]) == pytest.approx(1 - r_shift)
    # far lags decorrelate: rPCC ≈ 1
    far = np.roll(user, 500, axis=0)
    assert M.rpcc([far], [user], [user]) == pytest.approx(1.0, abs=0.1)


def test_rpcc_averages_pcc_over_conversations_before_the_difference():
    user = [_smooth_random(400, 2, 4), _smooth_random(400, 2, 5)]
    gen = [user[0], -user[1]]  # PCCs +1 and −1 → mean 0
    real = [_smooth_random(400, 2, 6), _smooth_random(400, 2, 7)]  # ≈ 0
    expected = abs(0.0 - np.mean([M.pcc(r, u) for r, u in zip(real, user)]))
    assert M.rpcc(gen, real, user) == pytest.approx(expected, abs=1e-9)


def test_sid_on_known_clusters():
    rng = np.random.default_rng(0)
    centres = np.eye(4) * 10.0
    labels = np.repeat(np.arange(4), 100)
    frames = centres[labels] + rng.normal(scale=0.1, size=(400, 4))
    codebook = M.ClusterCodebook(frames, k=4, seed=0)
    # four equally used clusters → ln 4; one cluster only → 0; two equally used → ln 2
    assert M.sid([frames], codebook) == pytest.approx(math.log(4), abs=1e-9)
    assert M.sid([frames[labels == 2]], codebook) == 0.0
    assert M.sid([frames[labels < 2]], codebook) == pytest.approx(math.log(2), abs=1e-9)
    # mean over sequences
    assert M.sid([frames, frames[labels == 0]], codebook) == pytest.approx(math.log(4) / 2, abs=1e-9)


def test_shannon_entropy():
    assert M.shannon_entropy(np.array([0.5, 0.5, 0.0])) == pytest.approx(math.log(2))
    assert M.shannon_entropy(np.array([1.0])) == 0.0


def test_variance_known_values():
    x = np.stack([np.tile([0.0, 2.0], 50), np.tile([1.0, -1.0], 50)], axis=1)  # variances 1 and 1
    assert M.total_variance(x) == pytest.approx(2.0)
    assert M.variance([x, np.zeros((10, 2))]) == pytest.approx(1.0)


def test_frechet_distance_of_known_gaussians():
    rng = np.random.default_rng(1)
    a = rng.normal(size=(200_000, 2))
    b = rng.normal(size=(200_000, 2)) * 2.0 + np.array([3.0, 0.0])
    # |Δμ|² = 9; Tr(I + 4I − 2·2I) = 2 → 11
    assert M.frechet_distance(a, b) == pytest.approx(11.0, rel=0.01)


def test_speech_energy_and_lipsync():
    frames = 100
    t = np.arange(frames * SAMPLES_PER_FRAME) / SAMPLE_RATE
    envelope = 0.5 + 0.5 * np.sin(2 * np.pi * 1.5 * t)
    audio = (envelope * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    energy = M.speech_energy(audio)
    assert energy.shape == (frames,)
    assert energy.min() >= -80.0
    values = np.zeros((frames, NUM_CHANNELS), np.float32)
    values[:, CHANNEL_INDEX["jawOpen"]] = energy  # mouth follows the energy exactly
    assert M.lipsync_r(values, energy) == pytest.approx(1.0)
    values[:, CHANNEL_INDEX["jawOpen"]] = -energy
    assert M.lipsync_r(values, energy) == pytest.approx(-1.0)
    # silence is floored, not −inf
    assert np.all(M.speech_energy(np.zeros(SAMPLES_PER_FRAME * 3)) == -80.0)


def test_channel_groups():
    assert len(M.expression(np.zeros((1, NUM_CHANNELS)))[0]) == 52
    assert len(M.pose(np.zeros((1, NUM_CHANNELS)))[0]) == 6
    assert len(M.motion_features(np.zeros((1, NUM_CHANNELS)))[0]) == 58


def test_pooled_moments_match_the_concatenation():
    from af_plugin.evaluation.runner import _Moments

    seqs = [_smooth_random(50 + 10 * i, 3, i) for i in range(4)]
    mu, cov = _Moments(seqs).gaussian(np.array([0, 2, 2]))
    pooled = np.concatenate([seqs[0], seqs[2], seqs[2]])
    assert mu == pytest.approx(pooled.mean(axis=0))
    assert cov == pytest.approx(np.cov(pooled, rowvar=False))


def test_bootstrap_intervals():
    from af_plugin.evaluation.runner import Reference, bootstrap_intervals, score

    rng = np.random.default_rng(0)
    real = [rng.random((60, NUM_CHANNELS)) for _ in range(4)]
    user = [rng.random((60, NUM_CHANNELS)) for _ in range(4)]
    energy = [rng.random(60) for _ in range(4)]
    ref = Reference.build(real, user, energy, sid_clusters=5)
    # the real motion itself: rPCC and FD are 0 whichever conversations are drawn
    ci = bootstrap_intervals(real, ref, resamples=50)
    assert ci["rpcc_exp"] == [0.0, 0.0] and ci["fd"] == pytest.approx([0.0, 0.0], abs=1e-9)
    # something else: each interval brackets the full-set value of per-conversation means
    gen = [r[::-1].copy() for r in real]
    s, ci = score(gen, ref), bootstrap_intervals(gen, ref, resamples=200)
    for key in ("sid", "var", "lipsync_r"):
        assert ci[key][0] <= s[key] <= ci[key][1], key
