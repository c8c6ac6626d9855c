"""Log-mel features: shape, causality, streaming == offline, agreement with an independent scipy STFT; VAD."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from af_plugin.constants import (
    AUDIO_FEATURE_DIM,
    MEL_HOP,
    MEL_HOPS_PER_FRAME,
    MEL_WINDOW,
    N_FFT,
    N_MELS,
    SAMPLE_RATE,
    SAMPLES_PER_FRAME,
)
from af_plugin.perception.features import (
    StreamingLogMel,
    VoiceActivity,
    hz_to_mel,
    logmel_frames,
    mel_filterbank,
    mel_to_hz,
    voice_activity,
)


def noise(n: int, seed: int = 0) -> np.ndarray:
    return (0.1 * np.random.default_rng(seed).standard_normal(n)).astype(np.float32)


def stream(samples: np.ndarray, sizes) -> np.ndarray:
    s, out, i = StreamingLogMel(), [], 0
    sizes = iter(sizes)
    while i < len(samples):
        n = next(sizes)
        out.append(s.push(samples[i : i + n]))
        i += n
    return np.concatenate(out)


def test_shape_and_dtype():
    for n in (0, 639, 640, 641, 16000, 16001):
        f = logmel_frames(noise(n))
        assert f.shape == (n // SAMPLES_PER_FRAME, AUDIO_FEATURE_DIM) and f.dtype == np.float32


@pytest.mark.parametrize("chunk", [1, 160, 441, 640, 4096, 16000])
def test_streaming_equals_offline(chunk):
    x = noise(SAMPLE_RATE * 2 + 333)
    got = stream(x, iter(lambda: chunk, None))
    np.testing.assert_allclose(got, logmel_frames(x), atol=1e-5, rtol=0)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(0, 3000), min_size=1, max_size=40), st.integers(0, 2**16))
def test_streaming_equals_offline_for_any_chunking(sizes, seed):
    x = noise(sum(sizes), seed)
    s = StreamingLogMel()
    parts, i = [], 0
    for n in sizes:
        parts.append(s.push(x[i : i + n]))
        i += n
    got = np.concatenate(parts)
    assert got.shape[0] == s.frames_emitted == len(x) // SAMPLES_PER_FRAME
    np.testing.assert_allclose(got, logmel_frames(x), atol=1e-5, rtol=0)


def test_causal_frame_t_ignores_samples_from_its_end_on():
    x = noise(SAMPLE_RATE)
    ref = logmel_frames(x)
    for t in (0, 3, 10, 20):
        y = x.copy()
        y[(t + 1) * SAMPLES_PER_FRAME :] = noise(len(y) - (t + 1) * SAMPLES_PER_FRAME, seed=99)
        got = logmel_frames(y)
        np.testing.assert_array_equal(got[: t + 1], ref[: t + 1])
        assert not np.allclose(got[t + 1], ref[t + 1])
        # and it does depend on the frame's last sample (no lag either)
        z = x.copy()
        z[(t + 1) * SAMPLES_PER_FRAME - 1] += 0.5
        assert not np.allclose(logmel_frames(z)[t], ref[t])


def reference_logmel(x: np.ndarray) -> np.ndarray:
    """Independent implementation: scipy's ShortTimeFFT on the left-padded signal, then the filterbank."""
    from scipy.signal import ShortTimeFFT, get_window

    padded = np.concatenate([np.zeros(MEL_WINDOW - MEL_HOP), x.astype(np.float64)])
    stft = ShortTimeFFT(get_window("hann", MEL_WINDOW), hop=MEL_HOP, fs=SAMPLE_RATE, mfft=N_FFT)
    # ShortTimeFFT's slice p starts at p*hop - m_num_mid; shift the signal so slice (j + 2) starts where
    # our column j does (j*hop in `padded`).
    shift = 2 * MEL_HOP - stft.m_num_mid
    n_cols = (len(x) // SAMPLES_PER_FRAME) * MEL_HOPS_PER_FRAME
    spec = stft.stft(np.concatenate([np.zeros(shift), padded]), p0=2, p1=2 + n_cols)
    power = np.abs(spec) ** 2  # (freq, col)
    mel = mel_filterbank().astype(np.float64) @ power
    cols = (np.log10(np.maximum(mel, 1e-10)) + 4.0) / 4.0
    n_frames = len(x) // SAMPLES_PER_FRAME
    return cols.T[: n_frames * MEL_HOPS_PER_FRAME].reshape(n_frames, -1)


def test_matches_an_independent_scipy_stft():
    x = noise(SAMPLE_RATE)
    ref = reference_logmel(x)
    np.testing.assert_allclose(logmel_frames(x), ref, atol=1e-4)


def test_hop_major_layout_puts_a_tone_in_the_right_mel_band():
    t = np.arange(SAMPLE_RATE) / SAMPLE_RATE
    x = 0.5 * np.sin(2 * np.pi * 1000.0 * t)
    f = logmel_frames(x)[5].reshape(MEL_HOPS_PER_FRAME, N_MELS)  # hop-major: (hop, mel)
    centres = mel_to_hz(np.linspace(hz_to_mel(0.0), hz_to_mel(SAMPLE_RATE / 2), N_MELS + 2))[1:-1]
    expected = int(np.argmin(np.abs(centres - 1000.0)))
    assert all(abs(int(np.argmax(row)) - expected) <= 1 for row in f)


def test_mel_filterbank_shape_and_scale():
    fb = mel_filterbank()
    assert fb.shape == (N_MELS, N_FFT // 2 + 1) and np.all(fb >= 0)
    assert np.all(fb.sum(axis=1) > 0)  # no empty filter at 512-point resolution
    assert hz_to_mel(1000.0) == pytest.approx(15.0)  # Slaney scale: 1 kHz is mel 15
    np.testing.assert_allclose(mel_to_hz(hz_to_mel(np.array([50.0, 999.0, 4000.0]))), [50.0, 999.0, 4000.0])


def test_silence_and_loudness_order():
    quiet, loud = logmel_frames(noise(6400) * 0.01), logmel_frames(noise(6400))
    assert loud.mean() > quiet.mean() + 0.4  # 40 dB is one unit of (log10 / 4)... ×4 → 1.0; be lenient
    assert np.isfinite(logmel_frames(np.zeros(6400))).all()


def test_rejects_stereo_arrays():
    with pytest.raises(ValueError, match="mono"):
        logmel_frames(np.zeros((1280, 2)))


# --- voice activity -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def speech(shared_data):
    from af_plugin.perception.audio import load_audio

    return load_audio(shared_data / "hdtf_radio31_16k.wav")


def test_vad_on_speech_vs_silence(speech):
    vad = voice_activity(speech)
    assert vad.shape == (len(speech) // SAMPLES_PER_FRAME,) and vad.dtype == np.float32
    assert np.all((vad >= 0) & (vad <= 1))
    assert np.mean(vad > 0.5) > 0.5  # a radio read: mostly speech
    silence = voice_activity(np.zeros(SAMPLE_RATE, np.float32))
    assert silence.max() < 0.2


def test_vad_backends_agree_roughly_on_real_speech(speech):
    silero = VoiceActivity("auto")
    assert silero.backend == "silero"  # the wheel ships the model; it must load offline
    x = np.concatenate([np.zeros(SAMPLE_RATE, np.float32), speech[: SAMPLE_RATE * 3]])
    a, b = voice_activity(x, "silero"), voice_activity(x, "energy")
    assert a[:20].max() < 0.2 and b[:20].max() < 0.2  # the leading second of silence
    assert np.mean((a > 0.5) == (b > 0.5)) > 0.7


@pytest.mark.parametrize("backend", ["silero", "energy"])
def test_vad_streaming_equals_offline(speech, backend):
    x = speech[: SAMPLE_RATE * 2]
    offline = voice_activity(x, backend)
    vad, parts = VoiceActivity(backend), []
    for i in range(0, len(x), 441):
        parts.append(vad.push(x[i : i + 441]))
    np.testing.assert_allclose(np.concatenate(parts), offline, atol=1e-5)


def test_vad_is_causal(speech):
    x = speech[:SAMPLE_RATE].copy()
    ref = voice_activity(x, "silero")
    x[10 * SAMPLES_PER_FRAME :] = 0.0
    np.testing.assert_allclose(voice_activity(x, "silero")[:10], ref[:10], atol=1e-6)


def test_int16_pcm_is_scaled_like_float():
    x = noise(6400)
    pcm = np.round(x * 32767).astype(np.int16)
    np.testing.assert_allclose(logmel_frames(pcm), logmel_frames(pcm.astype(np.float32) / 32768), atol=1e-6)
    np.testing.assert_allclose(StreamingLogMel().push(pcm), logmel_frames(x), atol=2e-3)


def test_energy_fallback_when_silero_cannot_load(monkeypatch, caplog):
    import af_plugin.perception.features as features

    def broken():
        raise RuntimeError("model file missing")

    features._load_silero.cache_clear()
    monkeypatch.setattr("silero_vad.load_silero_vad", lambda **kw: broken())
    try:
        with caplog.at_level("WARNING"):
            vad = VoiceActivity("auto")
        assert vad.backend == "energy" and "falls back to frame energy" in caplog.text
        loud = (0.3 * np.sin(np.arange(SAMPLE_RATE) / 5)).astype(np.float32)
        x = np.concatenate([np.zeros(SAMPLE_RATE, np.float32), loud])
        act = vad.push(x)
        assert act[:25].max() < 0.1 and act[25:].min() > 0.9
        with pytest.raises(RuntimeError, match="energy"):
            VoiceActivity("silero")
    finally:
        features._load_silero.cache_clear()
