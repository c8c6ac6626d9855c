"""Every codec round-trips; every bad input is one clear MotionFormatError naming the file."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from af_plugin.errors import MotionFormatError
from af_plugin.motion import CHANNEL_INDEX, NUM_CHANNELS, MotionClip
from af_plugin.motion.codecs import afm, livelink_csv
from af_plugin.motion.contract import HEAD_TRANSLATION


def test_binary_and_npz_round_trip_exactly(tmp_path, random_clip):
    clip = random_clip(40)
    clip.valid[5] = False
    for ext in ("afm", "npz"):
        back = MotionClip.read(clip.write(tmp_path / f"m.{ext}"))
        assert np.array_equal(back.values, clip.values), ext
        assert np.array_equal(back.valid, clip.valid), ext
        assert back.fps == clip.fps and len(back) == 40


def test_jsonl_round_trips_to_1e6(tmp_path, random_clip):
    clip = random_clip(30)
    back = MotionClip.read(clip.write(tmp_path / "m.jsonl"))
    assert np.abs(back.values - clip.values).max() < 1e-6
    assert back.fps == pytest.approx(25)


def test_livelink_csv_round_trips_what_it_carries(tmp_path, random_clip):
    clip = random_clip(30)
    clip.valid[3] = False
    back = MotionClip.read(clip.write(tmp_path / "take.csv"))
    carried = [CHANNEL_INDEX[c] for c in livelink_csv.COLUMN_TO_CHANNEL.values()]
    assert np.abs(back.values[:, carried] - clip.values[:, carried]).max() < 1e-6
    # Head translation is the one thing the format cannot carry: it reads back as zero.
    assert not back.values[:, [CHANNEL_INDEX[c] for c in HEAD_TRANSLATION]].any()
    assert not back.valid[3] and back.valid[4]
    header = (tmp_path / "take.csv").read_text().splitlines()[0].split(",")
    assert header[:3] == ["Timecode", "BlendshapeCount", "EyeBlinkLeft"]
    assert header[54:63] == ["HeadYaw", "HeadPitch", "HeadRoll", *livelink_csv.EYE_COLUMNS]


def _write_take(path, rows: int, rate: int, spelling: str = "BlendshapeCount"):
    lines = [",".join(["Timecode", spelling, *livelink_csv.VALUE_COLUMNS])]
    for i in range(rows):
        s, ff = divmod(i, rate)
        vals = ["0.0"] * 61
        vals[17] = f"{(i % rate) / rate:.6f}"  # JawOpen: a sawtooth over each second
        lines.append(",".join([f"10:00:{s:02d}:{ff:02d}.{(i * 7) % 1000:03d}", "61", *vals]))
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize("spelling", ["BlendshapeCount", "BlendShapeCount"])
def test_60fps_take_reads_back_at_25fps_with_right_duration(tmp_path, spelling):
    path = tmp_path / "iphone.csv"
    _write_take(path, rows=600, rate=60, spelling=spelling)  # 10 s
    native = MotionClip.read(path, fps=None)
    assert native.fps == 60 and len(native) == 600
    clip = MotionClip.read(path)
    assert clip.fps == 25 and len(clip) == 250
    assert clip.duration == pytest.approx(10.0)
    # The sawtooth keeps its shape: frame 12 (0.48 s) ≈ 0.48 of the way up.
    assert clip.channel("jawOpen")[12] == pytest.approx(0.48, abs=0.03)


def test_take_with_dropped_frames_is_placed_on_its_timecodes(tmp_path):
    path = tmp_path / "gappy.csv"
    _write_take(path, rows=120, rate=60)
    lines = path.read_text().splitlines()
    del lines[31:41]  # drop 10 frames in the middle
    path.write_text("\n".join(lines) + "\n")
    clip = MotionClip.read(path, fps=None)
    assert len(clip) == 120  # the timeline stays intact


# --- bad input -----------------------------------------------------------------------------------------


def _expect_error(path, *words):
    with pytest.raises(MotionFormatError) as e:
        MotionClip.read(path)
    msg = str(e.value)
    assert str(path) in msg
    for w in words:
        assert w in msg, msg


def test_empty_and_missing_files(tmp_path):
    (tmp_path / "empty.afm").write_bytes(b"")
    _expect_error(tmp_path / "empty.afm", "empty")
    _expect_error(tmp_path / "nope.csv", "does not exist")


def test_unknown_extension(tmp_path):
    (tmp_path / "m.xyz").write_text("x")
    _expect_error(tmp_path / "m.xyz", "unknown motion format")


def test_afm_wrong_magic_version_channels_and_truncation(tmp_path, random_clip):
    good = random_clip(5).write(tmp_path / "good.afm").read_bytes()
    cases = {
        "magic.afm": (b"RIFF" + good[4:], "magic"),
        "version.afm": (good[:4] + struct.pack("<H", 9) + good[6:], "format version 9"),
        "layout.afm": (good[:6] + struct.pack("<H", 99) + good[8:], "layout version 99"),
        "count.afm": (good[:12] + struct.pack("<H", 61) + good[14:], "61 channels"),
        "trunc.afm": (good[:-7], "truncated"),
        "header.afm": (good[:9], "truncated header"),
        "noframes.afm": (good[: afm.HEADER.size], "no frames"),
    }
    for name, (data, words) in cases.items():
        (tmp_path / name).write_bytes(data)
        _expect_error(tmp_path / name, words)


def test_afm_nan_rejected(tmp_path, random_clip):
    data = bytearray(random_clip(3).write(tmp_path / "a.afm").read_bytes())
    struct.pack_into("<f", data, afm.HEADER.size + afm.FRAME_HEADER.size + 4 * 10, float("nan"))
    (tmp_path / "nan.afm").write_bytes(bytes(data))
    _expect_error(tmp_path / "nan.afm", "NaN")


def test_csv_bad_columns_and_values(tmp_path, random_clip):
    path = random_clip(4).write(tmp_path / "t.csv")
    text = path.read_text()
    (tmp_path / "missing.csv").write_text(text.replace("JawOpen,", "", 1))
    _expect_error(tmp_path / "missing.csv", "missing columns", "JawOpen")
    (tmp_path / "unknown.csv").write_text(text.replace("JawOpen", "Jaw_Open", 1))
    _expect_error(tmp_path / "unknown.csv", "unknown columns", "Jaw_Open")
    lines = text.splitlines()
    fields = lines[1].split(",")
    fields[5] = "nan"
    (tmp_path / "nan.csv").write_text("\n".join([lines[0], ",".join(fields)]) + "\n")
    _expect_error(tmp_path / "nan.csv", "NaN")
    (tmp_path / "header_only.csv").write_text(lines[0] + "\n")
    _expect_error(tmp_path / "header_only.csv", "no frames")
    fields = lines[1].split(",")
    fields[0] = "yesterday"
    (tmp_path / "tc.csv").write_text("\n".join([lines[0], ",".join(fields)]) + "\n")
    _expect_error(tmp_path / "tc.csv", "Timecode")


def test_jsonl_and_npz_bad_input(tmp_path, random_clip):
    (tmp_path / "bad.jsonl").write_text('{"frame": 0\n')
    _expect_error(tmp_path / "bad.jsonl", "not JSON")
    (tmp_path / "few.jsonl").write_text('{"frame": 0, "jawOpen": 1}\n')
    _expect_error(tmp_path / "few.jsonl", "missing channels")
    (tmp_path / "junk.npz").write_bytes(b"PK\x03\x04 not really a zip")
    _expect_error(tmp_path / "junk.npz", ".npz")
    np.savez(tmp_path / "wrong.npz", values=np.zeros((3, 10), np.float32), channels=np.array(["a"] * 10), fps=25.0)
    _expect_error(tmp_path / "wrong.npz", "layout")


def test_clip_rejects_wrong_shape_and_nan():
    with pytest.raises(MotionFormatError, match="62"):
        MotionClip(np.zeros((3, 61)))
    bad = np.zeros((3, NUM_CHANNELS))
    bad[1, 2] = np.inf
    with pytest.raises(MotionFormatError, match="frame 1"):
        MotionClip(bad)


def test_websocket_frame_encoding_round_trip():
    values = np.arange(NUM_CHANNELS, dtype=np.float32) / 100
    data = afm.encode_frame(7, 0.28, values, flags=afm.FLAG_NO_FACE)
    assert len(data) == afm.FRAME_BYTES == 264
    index, t, flags, back = afm.decode_frame(data)
    assert (index, t, flags) == (7, 0.28, 1) and np.array_equal(back, values)
    with pytest.raises(MotionFormatError):
        afm.decode_frame(data[:-1])
