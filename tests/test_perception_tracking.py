"""Real MediaPipe on real media: a photo, its transformed copies, an 8 s talking-head clip, bad files, the CLI."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from af_plugin.cli import main as af_main
from af_plugin.constants import SAMPLES_PER_FRAME
from af_plugin.errors import DeviceError, VideoFormatError
from af_plugin.motion.clip import MotionClip
from af_plugin.perception.pose import register, rotation_to_angles
from af_plugin.perception.tracker import FaceTracker, open_camera, read_video, to_camera_frame
from af_plugin.perception.tracking import LiveFaceTracking, solve_track, track_landmarks, track_video

DEG = math.pi / 180


def pose_deg(image: np.ndarray) -> np.ndarray:
    with FaceTracker(static_image=True) as tracker:
        points = tracker.process(image)
    assert points is not None, "no face found"
    return np.degrees(rotation_to_angles(register(to_camera_frame(points)).rotation))


# --- the photo ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def astronaut(shared_data):
    image = cv2.imread(str(shared_data / "astronaut.png"))
    assert image is not None
    return image


def test_astronaut_one_frontal_face_with_open_eyes(astronaut):
    with LiveFaceTracking(smoothing=False, tracker=FaceTracker(static_image=True)) as live:
        values = live.process(astronaut)
        assert live.last_landmarks.shape == (478, 3)
    v = MotionClip(values[None], fps=25).as_dict(0)
    for name in ("headYaw", "headPitch", "headRoll"):
        assert abs(v[name]) < 15 * DEG, (name, v[name])
    # Calibrated on itself the eyes are "neutral"; the absolute check: the lids are well apart.
    assert v["eyeBlinkLeft"] < 0.5 and v["eyeBlinkRight"] < 0.5
    obs = live.last_observation
    from af_plugin.perception.solver import FEATURE_NAMES

    ear = dict(zip(FEATURE_NAMES, obs.features))
    assert ear["ear_L"] > 0.2 and ear["ear_R"] > 0.2  # open eyes (closed ≈ 0.05)
    with FaceTracker(static_image=True) as tracker:  # exactly one face, even when asked for more
        import mediapipe as mp

        mesh = mp.solutions.face_mesh.FaceMesh(static_image_mode=True, max_num_faces=4, refine_landmarks=True)
        result = mesh.process(cv2.cvtColor(astronaut, cv2.COLOR_BGR2RGB))
        mesh.close()
        assert len(result.multi_face_landmarks) == 1
        assert tracker.process(astronaut) is not None


def test_flip_rotate_darken_change_pose_as_they_should(astronaut):
    yaw, pitch, roll = pose_deg(astronaut)
    f_yaw, f_pitch, f_roll = pose_deg(astronaut[:, ::-1].copy())
    assert abs(f_yaw + yaw) < 3 and abs(f_roll + roll) < 3 and abs(f_pitch - pitch) < 3
    assert np.sign(f_roll) == -np.sign(roll)  # roll is clearly non-zero in this photo (~3°)
    h, w = astronaut.shape[:2]
    rotated = cv2.warpAffine(
        astronaut, cv2.getRotationMatrix2D((w / 2, h / 2), 20, 1.0), (w, h), borderMode=cv2.BORDER_REPLICATE
    )
    r_yaw, _, r_roll = pose_deg(
        rotated
    )  # image turned 20° counter-clockwise: the head's top moves to the viewer's left
    assert abs((r_roll - roll) + 20) < 3 and abs(r_yaw - yaw) < 3
    dark = (astronaut.astype(np.float32) * 0.35).astype(np.uint8)
    np.testing.assert_allclose(pose_deg(dark), (yaw, pitch, roll), atol=3)


# --- the talking-head clip ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def katie(shared_data):
    """MediaPipe over the whole 8 s clip once for this module: landmarks, solved clip, frames."""
    path = shared_data / "hdtf_katiehill_25fps.mp4"
    frames = list(read_video(path))
    landmarks, size = track_landmarks(frames)
    clip = solve_track(landmarks, size, source_fps=25.0)
    return dict(path=path, frames=frames, landmarks=landmarks, size=size, clip=clip)


def test_clip_face_rate_and_head_angles(katie):
    clip = katie["clip"]
    assert len(clip) == 200 and clip.fps == 25
    rate = clip.valid.mean()
    print(f"\nface-detection rate: {rate:.3f}")
    assert rate >= 0.98
    for name in ("headYaw", "headPitch", "headRoll"):
        assert np.abs(clip.channel(name)[clip.valid]).max() < 45 * DEG


def raw_measures(landmarks):
    """Registration-free measures from the raw landmarks (pixels; MediaPipe's z is scaled like x).

    Jaw drop: 3-D distance from the nose (bridge to tip, averaged) to the chin (averaged contour points)
    over the 3-D outer-eye-corner distance: distances need no head pose. Inner-lip gap: 2-D image
    distance between the inner lip centres over the face height (forehead to chin).
    """
    nose, chin = [168, 6, 197, 195, 5, 4, 1], [152, 148, 377, 176, 400, 175, 199, 200]
    jaw, gap = [], []
    for p in landmarks:
        if p is None:
            jaw.append(np.nan), gap.append(np.nan)
            continue
        eyes = np.linalg.norm(p[33] - p[263])
        jaw.append(np.linalg.norm(p[nose].mean(axis=0) - p[chin].mean(axis=0)) / eyes)
        gap.append(np.linalg.norm(p[13, :2] - p[14, :2]) / np.linalg.norm(p[10, :2] - p[152, :2]))
    return np.array(jaw), np.array(gap)


def test_jaw_and_lips_follow_the_raw_landmarks(katie):
    clip = katie["clip"]
    jaw, gap = raw_measures(katie["landmarks"])
    ok = clip.valid & np.isfinite(jaw)
    jaw_open, mouth_close = clip.channel("jawOpen")[ok], clip.channel("mouthClose")[ok]
    r_jaw = np.corrcoef(jaw_open, jaw[ok])[0, 1]
    r_gap = np.corrcoef(jaw_open - mouth_close, gap[ok])[0, 1]
    print(f"\nr(jawOpen, raw jaw drop) = {r_jaw:.3f}; r(jawOpen - mouthClose, inner-lip gap) = {r_gap:.3f}")
    assert r_jaw >= 0.8 and r_gap >= 0.8
    assert jaw_open.max() > 0.2  # she talks: the jaw moves visibly


def test_blinks_are_detected_where_the_eyes_close(katie):
    clip = katie["clip"]
    blink = (clip.channel("eyeBlinkLeft") + clip.channel("eyeBlinkRight")) / 2
    frames = np.where(blink > 0.5)[0]
    print(f"\nblink frames (mean of both eyes > 0.5): {frames.tolist()}")
    # Eyes visibly closed (checked by eye on saved crops) around frames 113 and 171; open at 0, 60, 108, 150.
    for closed in (113, 171):
        assert np.any(np.abs(frames - closed) <= 2), closed
    for open_ in (0, 60, 108, 150):
        assert blink[open_] < 0.3
    assert len(frames) < 0.2 * len(clip)


def test_speech_energy_correlation_is_reported(katie):
    """Reported, not asserted beyond sanity: jaw motion vs the clip's own speech energy."""
    from af_plugin.perception.audio import load_audio

    audio = load_audio(katie["path"])
    n = min(len(audio) // SAMPLES_PER_FRAME, len(katie["clip"]))
    frames = audio[: n * SAMPLES_PER_FRAME].reshape(n, SAMPLES_PER_FRAME)
    energy = 10 * np.log10(np.mean(frames.astype(np.float64) ** 2, axis=1) + 1e-10)
    r = np.corrcoef(katie["clip"].channel("jawOpen")[:n], energy)[0, 1]
    print(f"\nr(jawOpen, speech log-energy) = {r:.3f}")
    assert np.isfinite(r)


def test_live_tracking_streams_frame_by_frame(katie):
    frames = katie["frames"][:60]
    with LiveFaceTracking(calibrate_seconds=1.0) as live:  # neutral from frames 0-24, as offline below
        rows = [live.process(f) for f in frames]
        assert live.calibration.done
        assert live.process(np.full_like(frames[0], 127)) is None  # a blank frame: no face, no values
    values = np.stack(rows)
    assert values.shape == (60, 62) and values.dtype == np.float32
    offline = solve_track(katie["landmarks"][:60], katie["size"], 25.0, calibrate_seconds=1.0).values
    # Once calibrated the two paths share the neutral; only the filter's start-up history differs.
    np.testing.assert_allclose(values[35:], offline[35:], atol=0.02)
    assert np.abs(values[:25] - offline[:25]).max() < 1.0  # running calibration: close, not equal


# --- files: resampling, no-face frames, the CLI ------------------------------------------------------------
def write_video(path, frames, fps):
    import av

    with av.open(str(path), "w") as out:
        stream = out.add_stream("mpeg4", rate=fps)
        stream.height, stream.width = frames[0].shape[:2]
        stream.pix_fmt = "yuv420p"
        stream.bit_rate = 4_000_000
        for f in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(f, format="bgr24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)


@pytest.fixture(scope="module")
def short_video(katie, tmp_path_factory):
    """30 fps, 1 s: 12 face frames, 6 blank frames, 12 face frames."""
    blank = np.full_like(katie["frames"][0], 90)
    frames = katie["frames"][:12] + [blank] * 6 + katie["frames"][12:24]
    path = tmp_path_factory.mktemp("video") / "short_30fps.mp4"
    write_video(path, frames, 30)
    return path


def test_track_video_resamples_and_flags_missing_faces(short_video):
    clip = track_video(short_video, calibrate_seconds=0.3)
    assert clip.fps == 25 and len(clip) == 25  # 30 frames at 30 fps → 1 s at 25 fps
    assert clip.meta["source_fps"] == pytest.approx(30.0)
    t = clip.timestamps
    blank = (t >= 12 / 30) & (t < 18 / 30 - 1e-9)
    assert not clip.valid[blank].any() and clip.valid[~blank].all()
    held = clip.values[blank]
    np.testing.assert_array_equal(held, np.broadcast_to(held[0], held.shape))  # last values held, flagged


def test_cli_writes_live_link_csv_with_no_face_flags(short_video, tmp_path, capsys):
    out = tmp_path / "take.csv"
    assert af_main(["track", str(short_video), "-o", str(out), "--calibrate-seconds", "0.3", "--quiet"]) == 0
    assert "25 frames" in capsys.readouterr().out
    clip = MotionClip.read(out)
    assert len(clip) == 25 and (~clip.valid).sum() == 5
    assert "AfNoFace" in out.read_text().splitlines()[0]


@pytest.mark.parametrize("content", [b"", b"this is not a video" * 100, bytes(range(256)) * 64])
def test_unreadable_video_files_raise_one_clear_error(tmp_path, content, capsys):
    path = tmp_path / "bad.mp4"
    path.write_bytes(content)
    with pytest.raises(VideoFormatError) as info:
        track_video(path)
    assert str(path) in str(info.value)
    assert af_main(["track", str(path), "-o", str(tmp_path / "o.csv")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("af track: error:") and "\n" not in err and "Traceback" not in err


def test_missing_video_and_audio_only_file(tmp_path, shared_data):
    with pytest.raises(VideoFormatError, match="no such file"):
        track_video(tmp_path / "missing.mp4")
    with pytest.raises(VideoFormatError, match="no video track"):
        track_video(shared_data / "hdtf_radio31_16k.wav")


def test_missing_webcam_raises_device_error_with_a_fix(tmp_path, capsys):
    from pathlib import Path

    if list(Path("/dev").glob("video*")):
        pytest.skip("this machine has a video device")
    with pytest.raises(DeviceError) as info:
        open_camera(0)
    assert "cam:1" in str(info.value) and "video file" in str(info.value)
    assert af_main(["track", "cam:0", "-o", str(tmp_path / "o.csv")]) == 2
    assert "no webcam at index 0" in capsys.readouterr().err


def test_webcam_frames_are_placed_on_the_25fps_grid():
    from af_plugin.perception.tracking import _to_grid

    stamps = np.array([0.0, 0.03, 0.05, 0.09, 0.2])  # an uneven camera; a face lost at 0.09 s
    rows = [np.full(62, k, np.float32) for k in range(5)]
    rows[3] = None
    clip = _to_grid(stamps, rows, 25.0, meta={})
    assert len(clip) == 6  # ticks 0, 0.04, ... 0.2
    # each tick takes the latest frame at or before it; a no-face frame holds the last values
    np.testing.assert_array_equal(clip.values[:, 0], [0, 1, 2, 2, 2, 4])
    np.testing.assert_array_equal(clip.valid, [True, True, True, False, False, True])


def test_docs_list_the_channels_left_at_zero():
    from pathlib import Path

    from af_plugin.perception.solver import NOT_ESTIMATED

    doc = (Path(__file__).resolve().parents[1] / "docs" / "perception.md").read_text()
    line = next(x for x in doc.split("\n\n") if x.startswith("**Not estimated (always 0):**"))
    listed = {w.strip(" ,.()`\n") for w in line.split(":**")[1].split("(")[0].split(",")}
    assert listed == set(NOT_ESTIMATED)


def test_turned_head_mirrored_turns_the_other_way(katie):
    """A real frame with the head turned ~18° (frame 60) and its mirror image: yaw flips sign, same size."""
    frame = katie["frames"][60]
    yaw, pitch, _ = pose_deg(frame)
    m_yaw, m_pitch, _ = pose_deg(frame[:, ::-1].copy())
    assert abs(yaw) > 10  # the face is clearly turned in this frame
    assert np.sign(m_yaw) == -np.sign(yaw) and abs(abs(m_yaw) - abs(yaw)) < 3
    assert abs(m_pitch - pitch) < 3
