"""One Euro filter: at most one frame of lag, less jitter, streaming order, refuses laggier settings."""

from __future__ import annotations

import numpy as np
import pytest

from af_plugin.constants import FPS
from af_plugin.perception.smoothing import OneEuroFilter


def run(filt: OneEuroFilter, xs: np.ndarray) -> np.ndarray:
    return np.array([filt(x) for x in xs])


def test_constant_passes_unchanged():
    out = run(OneEuroFilter(), np.full((20, 3), 0.7))
    np.testing.assert_allclose(out, 0.7)


@pytest.mark.parametrize("speed", [0.01, 0.1, 1.0, 10.0])  # units per second: slow drifts to fast moves
def test_lag_on_a_ramp_is_at_most_one_frame(speed):
    t = np.arange(200) / FPS
    ramp = speed * t
    out = run(OneEuroFilter(beta=0.5), ramp)
    lag_frames = (ramp[50:] - out[50:]) / (speed / FPS)
    assert np.all(lag_frames <= 1.0 + 1e-9)
    assert np.all(lag_frames >= 0.0)


def test_lag_on_a_sine_is_at_most_one_frame():
    t = np.arange(500) / FPS
    x = np.sin(2 * np.pi * 1.5 * t)  # 1.5 Hz: a nod / syllable rate
    out = run(OneEuroFilter(), x)
    lags = np.arange(0, 6)
    errs = [np.mean((out[50 + k :] - x[50 : len(x) - k]) ** 2) for k in lags]
    assert int(np.argmin(errs)) <= 1


def test_reduces_jitter_of_a_still_face():
    rng = np.random.default_rng(0)
    x = 0.3 + 0.01 * rng.standard_normal((500, 4))
    out = run(OneEuroFilter(), x)
    assert out[10:].std() < 0.75 * x[10:].std()


def test_channels_are_independent_and_state_resets():
    f = OneEuroFilter()
    a = run(f, np.stack([np.linspace(0, 1, 30), np.zeros(30)], axis=1))
    np.testing.assert_array_equal(a[:, 1], 0.0)
    f.reset()
    assert f(np.array([5.0, 5.0])).tolist() == [5.0, 5.0]


def test_refuses_a_cutoff_that_lags_more_than_a_frame():
    with pytest.raises(ValueError, match="one frame"):
        OneEuroFilter(rate=FPS, min_cutoff=1.0)
    OneEuroFilter(rate=60.0)  # the default adapts to the rate
