"""write_video and `af render`: real mp4 files checked with ffprobe and decoded back with PyAV."""

from __future__ import annotations

import json
import shutil
import subprocess

import av
import numpy as np
import pytest

from af_plugin.cli import main
from af_plugin.constants import SAMPLE_RATE
from af_plugin.errors import AFError, AudioFormatError
from af_plugin.motion.clip import MotionClip
from af_plugin.motion.contract import CHANNEL_INDEX
from af_plugin.render.video import write_video

needs_ffprobe = pytest.mark.skipif(shutil.which("ffprobe") is None, reason="ffprobe is not installed")


def probe(path) -> dict:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_streams", "-show_format", "-of", "json", str(path)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    return json.loads(out.stdout)


def streams(info: dict, kind: str) -> list[dict]:
    return [s for s in info["streams"] if s["codec_type"] == kind]


def decode_audio(path) -> np.ndarray:
    with av.open(str(path)) as c:
        return np.concatenate([f.to_ndarray().reshape(-1) for f in c.decode(audio=0)])


def gradient_frames(n: int, h: int = 64, w: int = 96):
    for i in range(n):
        img = np.zeros((h, w, 3), np.uint8)
        img[..., 0] = (i * 9) % 256
        img[:, : w // 2, 1] = 200
        yield img


@needs_ffprobe
def test_video_with_audio_has_both_streams_of_the_right_length(tmp_path):
    t = np.arange(SAMPLE_RATE * 3) / SAMPLE_RATE
    tone = (0.4 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    out = tmp_path / "a.mp4"
    n = write_video(out, gradient_frames(50), 25, audio=tone)
    assert n == 50
    info = probe(out)
    (v,) = streams(info, "video")
    (a,) = streams(info, "audio")
    assert v["codec_name"] == "h264" and v["pix_fmt"] == "yuv420p" and (v["width"], v["height"]) == (96, 64)
    assert int(v["nb_frames"]) == 50 and v["r_frame_rate"] == "25/1"
    assert a["codec_name"] == "aac" and int(a["sample_rate"]) == SAMPLE_RATE
    assert abs(float(a["duration"]) - 2.0) < 0.1  # cut at the end of the video
    assert abs(float(info["format"]["duration"]) - 2.0) < 0.1
    # The tone survives encoding: same pitch, similar level.
    back = decode_audio(out)
    spectrum = np.abs(np.fft.rfft(back[4000:20000]))
    peak_hz = np.argmax(spectrum) * SAMPLE_RATE / 16000
    assert abs(peak_hz - 440) < 5 and 0.2 < np.abs(back).max() < 0.6


@needs_ffprobe
def test_video_without_audio_and_rgba_odd_sized_frames(tmp_path):
    frames = [np.full((31, 45, 4), (255, 0, 0, 128), np.uint8) for _ in range(10)]
    out = tmp_path / "b.mp4"
    write_video(out, frames, 30)
    info = probe(out)
    assert not streams(info, "audio")
    (v,) = streams(info, "video")
    assert (v["width"], v["height"]) == (46, 32)
    with av.open(str(out)) as c:
        first = next(c.decode(video=0)).to_ndarray(format="rgb24")
    assert 110 < first[10, 10, 0] < 145 and first[10, 10, 1] < 20  # composited over black at alpha 0.5


def test_bad_inputs_raise_clear_errors_and_leave_no_file(tmp_path):
    with pytest.raises(AFError, match="no frames"):
        write_video(tmp_path / "c.mp4", [], 25)
    assert not (tmp_path / "c.mp4").exists()
    with pytest.raises(AFError, match="uint8"):
        write_video(tmp_path / "d.mp4", [np.zeros((8, 8), np.float32)], 25)
    assert not (tmp_path / "d.mp4").exists()
    with pytest.raises(AudioFormatError, match="mono"):
        write_video(tmp_path / "e.mp4", gradient_frames(2), 25, audio=np.zeros((100, 2), np.float32))


@needs_ffprobe
def test_af_render_writes_stylized_and_portrait_videos_with_audio(tmp_path, shared_data, capsys):
    v = np.zeros((40, 62), np.float32)
    v[:, CHANNEL_INDEX["jawOpen"]] = np.abs(np.sin(np.arange(40) / 4))
    v[:, CHANNEL_INDEX["headYaw"]] = 0.3 * np.sin(np.arange(40) / 10)
    motion = tmp_path / "m.csv"
    MotionClip(v, fps=25).write(motion)
    wav = shared_data / "hdtf_radio31_16k.wav"
    out = tmp_path / "stylized.mp4"
    assert main(["render", str(motion), "-o", str(out), "--audio", str(wav), "--size", "128",
                 "--color", "hair=#aa3300", "--png-dir", str(tmp_path / "png")]) == 0  # fmt: skip
    info = probe(out)
    assert streams(info, "audio") and abs(float(info["format"]["duration"]) - 1.6) < 0.1
    assert len(list((tmp_path / "png").glob("*.png"))) == 40
    portrait = tmp_path / "portrait.mp4"
    assert main(["render", str(motion), "-o", str(portrait), "--portrait", str(shared_data / "astronaut.png"),
                 "--audio", str(wav), "--size", "256"]) == 0  # fmt: skip
    (vs,) = streams(probe(portrait), "video")
    assert (vs["width"], vs["height"]) == (256, 256) and int(vs["nb_frames"]) == 40
    assert "wrote" in capsys.readouterr().out


def test_af_render_reports_user_mistakes_in_one_line(tmp_path, capsys):
    motion = tmp_path / "m.csv"
    MotionClip(np.zeros((3, 62), np.float32), fps=25).write(motion)
    assert main(["render", str(motion), "-o", str(tmp_path / "x.avi")]) == 2
    assert main(["render", str(motion), "-o", str(tmp_path / "x.mp4"), "--color", "skin"]) == 2
    assert main(["render", str(tmp_path / "missing.csv"), "-o", str(tmp_path / "x.mp4")]) == 2
    err = capsys.readouterr().err
    assert "af render: error:" in err and "Traceback" not in err
