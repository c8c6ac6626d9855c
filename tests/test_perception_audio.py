"""Audio loading: every bit depth, rate and channel count we promise, the audio track of a video, bad input."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from af_plugin.constants import SAMPLE_RATE
from af_plugin.errors import AFError, AudioFormatError
from af_plugin.perception.audio import load_audio, to_mono_16k


def tone(rate: int, seconds: float = 0.5, hz: float = 440.0, amp: float = 0.5) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return (amp * np.sin(2 * np.pi * hz * t)).astype(np.float64)


def dominant_hz(x: np.ndarray, rate: int = SAMPLE_RATE) -> float:
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.fft.rfftfreq(len(x), 1 / rate)[np.argmax(spec)])


@pytest.mark.parametrize("subtype", ["PCM_U8", "PCM_16", "PCM_24", "PCM_32", "FLOAT", "DOUBLE"])
def test_wav_bit_depths_load_as_the_same_signal(tmp_path, subtype):
    ref = tone(SAMPLE_RATE)
    path = tmp_path / f"{subtype}.wav"
    sf.write(path, ref, SAMPLE_RATE, subtype=subtype)
    got = load_audio(path)
    assert got.dtype == np.float32 and got.ndim == 1 and len(got) == len(ref)
    tol = {"PCM_U8": 1.0 / 64, "PCM_16": 1e-4}.get(subtype, 1e-6)
    np.testing.assert_allclose(got, ref, atol=tol)


def test_24bit_keeps_more_than_16_bits_of_precision(tmp_path):
    ref = tone(SAMPLE_RATE, amp=1e-4)  # a quiet tone: 16-bit quantisation error would be ~1/4 of it
    sf.write(tmp_path / "quiet.wav", ref, SAMPLE_RATE, subtype="PCM_24")
    assert np.max(np.abs(load_audio(tmp_path / "quiet.wav") - ref)) < 1e-6


@pytest.mark.parametrize("rate", [8000, 22050, 44100, 48000])
def test_other_rates_are_resampled_to_16k_keeping_pitch_and_duration(tmp_path, rate):
    sf.write(tmp_path / "a.wav", tone(rate, seconds=1.0, hz=1000.0), rate, subtype="PCM_16")
    got = load_audio(tmp_path / "a.wav")
    assert len(got) == SAMPLE_RATE
    assert abs(dominant_hz(got) - 1000.0) <= 2.0
    assert 0.45 < np.max(np.abs(got[1000:-1000])) < 0.55  # level preserved away from the filter's edges


def test_stereo_is_down_mixed_by_averaging(tmp_path):
    left, right = tone(48000, hz=300.0), tone(48000, hz=1000.0, amp=0.25)
    sf.write(tmp_path / "st.wav", np.stack([left, right], axis=1), 48000, subtype="PCM_24")
    got = load_audio(tmp_path / "st.wav")
    np.testing.assert_allclose(got, to_mono_16k((left + right)[:, None] / 2, 48000), atol=1e-6)


def test_to_mono_16k_scales_integer_pcm():
    x = np.array([0, 16384, -32768], dtype=np.int16)
    np.testing.assert_allclose(to_mono_16k(x, SAMPLE_RATE), [0.0, 0.5, -1.0])
    u8 = np.array([128, 255, 0], dtype=np.uint8)
    np.testing.assert_allclose(to_mono_16k(u8, SAMPLE_RATE), [0.0, 127 / 128, -1.0])


def test_real_stereo_wav_and_video_audio_track(shared_data):
    wav = load_audio(shared_data / "hdtf_radio31_16k.wav")
    mp4 = load_audio(shared_data / "hdtf_katiehill_25fps.mp4")
    for x in (wav, mp4):
        assert x.dtype == np.float32 and x.ndim == 1
        assert abs(len(x) / SAMPLE_RATE - 8.0) < 0.1
        assert 0.05 < np.max(np.abs(x)) <= 1.0


def test_video_track_equals_the_same_audio_decoded_as_file(tmp_path, shared_data):
    """PyAV path (mp4) and soundfile path agree: write the mp4's audio to WAV and load both."""
    mp4 = load_audio(shared_data / "hdtf_katiehill_25fps.mp4")
    sf.write(tmp_path / "same.wav", mp4, SAMPLE_RATE, subtype="FLOAT")
    np.testing.assert_array_equal(load_audio(tmp_path / "same.wav"), mp4)


# --- bad input: one AudioFormatError with the file name, never a raw traceback ---------------------------
def _assert_clean_error(path, *words):
    with pytest.raises(AudioFormatError) as info:
        load_audio(path)
    msg = str(info.value)
    assert str(path) in msg and "\n" not in msg
    for word in words:
        assert word in msg
    assert isinstance(info.value, AFError)


def test_missing_file(tmp_path):
    _assert_clean_error(tmp_path / "nope.wav", "no such file")


def test_zero_byte_file(tmp_path):
    (tmp_path / "empty.wav").write_bytes(b"")
    _assert_clean_error(tmp_path / "empty.wav", "empty")


def test_zero_length_wav(tmp_path):
    sf.write(tmp_path / "zero.wav", np.zeros(0), SAMPLE_RATE, subtype="PCM_16")
    _assert_clean_error(tmp_path / "zero.wav", "zero length")


def test_corrupt_and_foreign_files(tmp_path):
    rng = np.random.default_rng(0)
    (tmp_path / "noise.wav").write_bytes(rng.integers(0, 256, 4096, dtype=np.uint8).tobytes())
    _assert_clean_error(tmp_path / "noise.wav")
    (tmp_path / "notes.txt").write_text("this is not audio\n" * 50)
    _assert_clean_error(tmp_path / "notes.txt")


def test_truncated_wav_header(tmp_path):
    sf.write(tmp_path / "full.wav", tone(SAMPLE_RATE), SAMPLE_RATE, subtype="PCM_16")
    (tmp_path / "cut.wav").write_bytes((tmp_path / "full.wav").read_bytes()[:30])
    _assert_clean_error(tmp_path / "cut.wav")


def test_video_without_audio_track(tmp_path):
    import av

    path = tmp_path / "silent.mp4"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("mpeg4", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        for _ in range(5):
            frame = av.VideoFrame.from_ndarray(np.zeros((64, 64, 3), np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    _assert_clean_error(path, "no audio track")


def test_to_mono_16k_rejects_bad_arrays():
    with pytest.raises(AudioFormatError, match="empty"):
        to_mono_16k(np.zeros(0, np.float32), SAMPLE_RATE)
    with pytest.raises(AudioFormatError, match="shape"):
        to_mono_16k(np.zeros((2, 2, 2)), SAMPLE_RATE)
    with pytest.raises(AudioFormatError, match="NaN"):
        to_mono_16k(np.array([0.0, np.nan]), SAMPLE_RATE)
    with pytest.raises(AudioFormatError, match="rate"):
        to_mono_16k(np.zeros(10), 0)


def test_stereo_48k_aac_track_of_an_mp4(tmp_path):
    """The PyAV path: an mp4 whose AAC track is 48 kHz stereo (a tone left, silence right)."""
    import av

    rate, seconds = 48000, 1.0
    left = tone(rate, seconds, hz=1000.0).astype(np.float32)
    path = tmp_path / "tone.mp4"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("aac", rate=rate, layout="stereo")
        block = 1024
        for i in range(0, len(left), block):
            chunk = np.stack([left[i : i + block], np.zeros_like(left[i : i + block])])
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(chunk), format="fltp", layout="stereo")
            frame.rate = rate
            frame.pts = i
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    got = load_audio(path)
    assert abs(len(got) / SAMPLE_RATE - seconds) < 0.1  # AAC adds priming/padding frames
    assert abs(dominant_hz(got) - 1000.0) <= 3.0
    assert 0.2 < np.percentile(np.abs(got), 99) < 0.3  # the 0.5 tone averaged with a silent channel
