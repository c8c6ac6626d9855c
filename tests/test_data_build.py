"""`af data build`: real-recording inputs → the same shard format; resumable; clear errors and skips."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from af_plugin.constants import FPS, SAMPLE_RATE, SAMPLES_PER_FRAME
from af_plugin.motion.clip import MotionClip
from af_plugin.motion.contract import CHANNEL_INDEX, NUM_CHANNELS
from af_plugin.training import shards
from af_plugin.training.build import BuildInputError, BuildJob, build_dataset, crop_half

SECONDS = 3.0


def speechy(seconds: float, f0: float, seed: int) -> np.ndarray:
    """Syllable-like bursts of a harmonic tone: loud and varied, enough for voice activity to react."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    tone = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 6))
    syllables = (np.sin(2 * np.pi * 4 * t) > 0) * (t % 1.5 < 1.0)
    return (0.3 * tone * syllables + 0.005 * rng.standard_normal(len(t))).astype(np.float32)


def motion(seconds: float, fps: float, seed: int, no_face_from: float | None = None) -> MotionClip:
    rng = np.random.default_rng(seed)
    n = int(round(seconds * fps))
    values = np.zeros((n, NUM_CHANNELS), np.float32)
    values[:, CHANNEL_INDEX["jawOpen"]] = 0.5 + 0.4 * np.sin(np.arange(n) / fps * 6 + seed)
    values[:, CHANNEL_INDEX["headYaw"]] = 0.1 * rng.standard_normal(n).cumsum() / np.sqrt(n)
    valid = np.ones(n, bool)
    if no_face_from is not None:
        valid[int(no_face_from * n) :] = False
    return MotionClip(values, fps=fps, valid=valid)


@pytest.fixture
def take(tmp_path) -> dict[str, Path]:
    """A Live Link take of two parties: CSVs at 60 fps (as the iPhone app records), WAVs, a stereo WAV."""
    files = {}
    for k, party in enumerate("ab"):
        files[f"livelink_{party}"] = motion(SECONDS, 60, seed=k).write(tmp_path / f"{party}.csv")
        audio = speechy(SECONDS, 120 + 80 * k, seed=k)
        files[f"audio_{party}"] = tmp_path / f"{party}.wav"
        sf.write(files[f"audio_{party}"], audio, SAMPLE_RATE, subtype="PCM_16")
    stereo = np.stack([sf.read(files["audio_a"])[0], sf.read(files["audio_b"])[0]], axis=1)
    files["stereo_audio"] = tmp_path / "stereo.wav"
    sf.write(files["stereo_audio"], stereo, SAMPLE_RATE, subtype="PCM_16")
    return files


def job(files: dict[str, Path], keys: tuple[str, ...], conv_id: str = "take") -> BuildJob:
    return BuildJob(conv_id=conv_id, inputs={k: files[k] for k in keys})


def test_build_from_livelink_csv_and_wav_pairs(take, tmp_path):
    out = tmp_path / "ds"
    report = build_dataset(out, [job(take, ("livelink_a", "livelink_b", "audio_a", "audio_b"))])
    assert report.written == ["take"] and not report.skipped
    manifest = shards.read_manifest(out)
    assert [c["id"] for c in manifest["conversations"]] == ["take"]
    a, b, ma, mb, timeline = shards.load_conversation(out, "take")
    assert len(ma) == len(mb) == int(SECONDS * FPS) and ma.fps == FPS
    assert len(a) == len(ma) * SAMPLES_PER_FRAME
    # the 60 fps CSV was resampled to 25 fps: compare with the source sampled at our frame times
    src = motion(SECONDS, 60, seed=0)
    expected = np.interp(ma.timestamps, src.timestamps, src.channel("jawOpen"))
    np.testing.assert_allclose(ma.channel("jawOpen"), expected, atol=1e-4)
    wav, _ = sf.read(take["audio_a"], dtype="float32")
    np.testing.assert_allclose(a, wav[: len(a)], atol=1e-4)
    assert not np.allclose(a, b)
    assert timeline["turns"] or timeline["backchannels"]  # voice activity found the bursts


def test_build_from_stereo_file_assigns_channel_0_to_a(take, tmp_path):
    out = tmp_path / "ds"
    build_dataset(out, [job(take, ("livelink_a", "livelink_b", "stereo_audio"))])
    a, b, *_ = shards.load_conversation(out, "take")
    wav_a, _ = sf.read(take["audio_a"], dtype="float32")
    wav_b, _ = sf.read(take["audio_b"], dtype="float32")
    np.testing.assert_allclose(a, wav_a[: len(a)], atol=1e-4)
    np.testing.assert_allclose(b, wav_b[: len(b)], atol=1e-4)


def test_build_is_resumable_and_notices_changed_inputs(take, tmp_path):
    out = tmp_path / "ds"
    j = job(take, ("livelink_a", "livelink_b", "stereo_audio"))
    build_dataset(out, [j])
    stamp = (out / "take" / "a.npz").stat().st_mtime_ns
    again = build_dataset(out, [j])
    assert again.already_done == ["take"] and not again.written
    assert (out / "take" / "a.npz").stat().st_mtime_ns == stamp
    motion(SECONDS, 60, seed=5).write(take["livelink_a"])  # a different take under the same name
    assert build_dataset(out, [j]).written == ["take"]


def test_missing_file_is_a_clear_error_and_writes_nothing(take, tmp_path):
    out = tmp_path / "ds"
    bad = job(take, ("livelink_a", "livelink_b", "stereo_audio"))
    bad.inputs["livelink_b"] = tmp_path / "nope.csv"
    with pytest.raises(BuildInputError, match=r"--livelink-b .*nope\.csv: no such file"):
        build_dataset(out, [bad])
    assert not out.exists()


def test_mono_file_given_as_stereo_is_a_clear_error(take, tmp_path):
    bad = job(take, ("livelink_a", "livelink_b"))
    bad.inputs["stereo_audio"] = take["audio_a"]  # mono
    with pytest.raises(BuildInputError, match=r"1 channel\(s\); it needs 2"):
        build_dataset(tmp_path / "ds", [bad])


def test_inputs_of_different_lengths_are_a_clear_error(take, tmp_path):
    motion(SECONDS + 2.0, 60, seed=1).write(take["livelink_b"])
    with pytest.raises(BuildInputError, match=r"lengths disagree.*motion b 5\.00 s"):
        build_dataset(tmp_path / "ds", [job(take, ("livelink_a", "livelink_b", "stereo_audio"))])


def test_incomplete_option_sets_are_clear_errors(take, tmp_path):
    with pytest.raises(BuildInputError, match="needs its partner"):
        build_dataset(tmp_path / "ds", [job(take, ("livelink_a", "stereo_audio"))])
    with pytest.raises(BuildInputError, match="no audio"):
        build_dataset(tmp_path / "ds", [job(take, ("livelink_a", "livelink_b"))])
    with pytest.raises(BuildInputError, match="not both"):
        build_dataset(tmp_path / "ds", [job(take, ("livelink_a", "livelink_b", "stereo_audio", "audio_a"))])


def test_unusable_recordings_are_skipped_with_the_reason(take, tmp_path):
    motion(SECONDS, 60, seed=1, no_face_from=0.3).write(take["livelink_b"])  # face lost after 30 %
    short = tmp_path / "short"
    short.mkdir()
    motion(1.0, 60, seed=0).write(short / "a.csv")
    motion(1.0, 60, seed=1).write(short / "b.csv")
    sf.write(short / "ab.wav", np.zeros((SAMPLE_RATE, 2), np.float32), SAMPLE_RATE)
    (tmp_path / "junk.wav").write_bytes(b"RIFF0000WAVEjunk" * 10)
    junk = job(take, ("livelink_a", "livelink_b"), "junk")
    junk.inputs["stereo_audio"] = tmp_path / "junk.wav"
    jobs = [
        job(take, ("livelink_a", "livelink_b", "stereo_audio"), "noface"),
        BuildJob(
            conv_id="short",
            inputs={"livelink_a": short / "a.csv", "livelink_b": short / "b.csv", "stereo_audio": short / "ab.wav"},
        ),  # fmt: skip
        junk,
    ]
    report = build_dataset(tmp_path / "ds", jobs)
    reasons = dict(report.skipped)
    assert set(reasons) == {"noface", "short", "junk"} and not report.written
    assert "no face" in reasons["noface"] and "too short" in reasons["short"]
    assert "unreadable" in reasons["junk"]
    assert not (tmp_path / "ds" / "manifest.json").exists()


def test_cli_build_and_batch(take, tmp_path, capsys):
    from af_plugin.cli import main

    out = tmp_path / "ds"
    args = ["data", "build", "--out", str(out), "--livelink-a", str(take["livelink_a"]),
            "--livelink-b", str(take["livelink_b"]), "--stereo-audio", str(take["stereo_audio"]), "--id", "t1"]  # fmt: skip
    assert main(args) == 0
    assert "wrote 1" in capsys.readouterr().out
    assert main(args[:-2] + ["--id", "t2", "--audio-a", str(take["audio_a"])]) == 2
    assert "not both" in capsys.readouterr().err
    batch = tmp_path / "batch.jsonl"
    batch.write_text(
        '{"id": "t1", "livelink_a": "a.csv", "livelink_b": "b.csv", "stereo_audio": "stereo.wav"}\n'
        '{"id": "t3", "livelink_a": "a.csv", "livelink_b": "b.csv", "audio_a": "a.wav", "audio_b": "b.wav",'
        ' "split_name": "heldout"}\n'
    )
    assert main(["data", "build", "--out", str(out), "--batch", str(batch)]) == 0
    assert "wrote 1, already done 1" in capsys.readouterr().out
    manifest = shards.read_manifest(out)
    assert {c["id"]: c["split"] for c in manifest["conversations"]} == {"t1": "train", "t3": "heldout"}


# --- side-by-side: real MediaPipe on a real talking-head clip ----------------------------------------------
def write_side_by_side(source: Path, path: Path, right: str, seconds: float = SECONDS) -> None:
    """The first seconds of ``source`` (resized to 192x192) on the left; on the right the same face
    mirrored (``right="mirror"``) or a black half (``right="black"``)."""
    import av
    import cv2

    frames = []
    with av.open(str(source)) as src:
        for frame in src.decode(video=0):
            frames.append(cv2.resize(frame.to_ndarray(format="bgr24"), (192, 192)))
            if len(frames) >= seconds * FPS:
                break
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=FPS, options={"crf": "18", "preset": "ultrafast"})
        stream.width, stream.height, stream.pix_fmt = 384, 192, "yuv420p"
        for face in frames:
            other = face[:, ::-1] if right == "mirror" else np.zeros_like(face)
            img = np.ascontiguousarray(np.concatenate([face, other], axis=1))
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="bgr24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)


def test_side_by_side_tracks_each_half_as_its_party(shared_data, take, tmp_path):
    source = shared_data / "hdtf_katiehill_25fps.mp4"
    if not source.is_file():
        pytest.skip("hdtf_katiehill_25fps.mp4 not present")
    both = tmp_path / "both.mp4"
    write_side_by_side(source, both, "mirror")
    lonely = tmp_path / "lonely.mp4"
    write_side_by_side(source, lonely, "black")
    jobs = [
        BuildJob(conv_id="both", inputs={"side_by_side": both, "stereo_audio": take["stereo_audio"]}),
        BuildJob(conv_id="lonely", inputs={"side_by_side": lonely, "stereo_audio": take["stereo_audio"]}),
    ]
    report = build_dataset(tmp_path / "ds", jobs)
    assert report.written == ["both"]
    assert dict(report.skipped)["lonely"].startswith("no face: party b")
    _a, _b, ma, mb, _tl = shards.load_conversation(tmp_path / "ds", "both")
    assert ma.valid.mean() > 0.9 and mb.valid.mean() > 0.9
    # the same mouth on both sides; the mirrored head turns the other way
    assert np.corrcoef(ma.channel("jawOpen"), mb.channel("jawOpen"))[0, 1] > 0.6  # Face Mesh is not mirror-exact
    assert np.corrcoef(ma.channel("headYaw"), mb.channel("headYaw"))[0, 1] < 0


def test_crop_half_geometry():
    frame = np.arange(4 * 6 * 3).reshape(4, 6, 3)
    assert crop_half(frame, "left-right", 0).shape == (4, 3, 3)
    np.testing.assert_array_equal(crop_half(frame, "left-right", 1), frame[:, 3:])
    np.testing.assert_array_equal(crop_half(frame, "top-bottom", 0), frame[:2])
    np.testing.assert_array_equal(crop_half(frame, "top-bottom", 1), frame[2:])


@pytest.mark.slow
def test_two_videos_with_their_own_audio_tracks(shared_data, tmp_path):
    source = shared_data / "hdtf_katiehill_25fps.mp4"
    if not source.is_file():
        pytest.skip("hdtf_katiehill_25fps.mp4 not present")
    report = build_dataset(tmp_path / "ds", [BuildJob(conv_id="v", inputs={"video_a": source, "video_b": source})])
    assert report.written == ["v"], report.lines()
    a, b, ma, mb, tl = shards.load_conversation(tmp_path / "ds", "v")
    assert ma.valid.mean() > 0.9 and len(a) == len(ma) * SAMPLES_PER_FRAME
    np.testing.assert_allclose(ma.values, mb.values, atol=1e-6)  # same video, same motion
    assert tl["turns"]  # the clip is continuous speech
