"""Perception: audio → 25 fps log-mel features and voice activity; video → the 62-channel motion contract.

    audio.py      load_audio(path), to_mono_16k(samples, rate)
    features.py   logmel_frames, StreamingLogMel, voice_activity, VoiceActivity
    tracker.py    FaceTracker (MediaPipe Face Mesh), read_video / probe_video, open_camera / read_camera
    reference.py  the neutral frontal reference face head pose is measured against
    pose.py       Umeyama registration, angles with the contract's signs, pinhole camera model
    solver.py     landmarks → ARKit blendshapes, head pose, gaze; calibration
    smoothing.py  One Euro filter (at most one frame of lag)
    tracking.py   LiveFaceTracking (per frame), track_video(path) -> MotionClip, track_camera

Nothing heavy is imported here; import the module you need. docs/perception.md has the details.
"""
