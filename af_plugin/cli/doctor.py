"""``af doctor``: what this machine has for the runtime, each missing item with a one-line fix."""

from __future__ import annotations

import argparse
import glob
import importlib.util
import platform
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""


def _torch() -> Check:
    try:
        import torch
    except ImportError:
        return Check("PyTorch", False, "not installed", "run ./setup.sh")
    if torch.cuda.is_available():
        return Check("PyTorch", True, f"{torch.__version__}, CUDA: {torch.cuda.get_device_name(0)}")
    return Check(
        "PyTorch", True, f"{torch.__version__}, CPU only ({torch.get_num_threads()} threads)",
        "for an NVIDIA GPU: AF_TORCH=cuda ./setup.sh on a fresh .venv",
    )


def _mediapipe() -> Check:
    spec = importlib.util.find_spec("mediapipe")
    if spec is None:
        return Check("MediaPipe Face Mesh", False, "mediapipe not installed", "pip install mediapipe==0.10.21")
    root = spec.submodule_search_locations[0]
    models = glob.glob(f"{root}/modules/face_landmark/*.tflite") + glob.glob(f"{root}/modules/face_detection/*.tflite")
    if not models:
        return Check(
            "MediaPipe Face Mesh", False, "this mediapipe wheel ships no face models",
            "pip install mediapipe==0.10.21 (the newest release that carries them)",
        )
    return Check("MediaPipe Face Mesh", True, f"{len(models)} bundled models")


def _audio() -> Check:
    try:
        import sounddevice as sd
    except OSError:
        return Check("audio devices", False, "PortAudio library missing", "sudo apt-get install libportaudio2")
    except ImportError:
        return Check("audio devices", False, "sounddevice not installed", "run ./setup.sh")
    try:
        devices = sd.query_devices()
    except Exception as e:  # PortAudio reports host-API failures as plain exceptions
        return Check("audio devices", False, f"cannot list devices ({e})", "check your sound server (PulseAudio/PipeWire)")
    inputs = [d["name"] for d in devices if d["max_input_channels"] > 0]
    outputs = [d["name"] for d in devices if d["max_output_channels"] > 0]
    if not inputs:
        return Check("audio devices", False, f"no microphone ({len(outputs)} outputs)",
                     "plug in a microphone, or use file sources: af run --user-audio FILE")
    return Check("audio devices", True, f"inputs: {', '.join(inputs[:4])}; outputs: {len(outputs)}")


def _cameras() -> Check:
    if sys.platform.startswith("linux"):
        nodes = sorted(glob.glob("/dev/video*"))
        if not nodes:
            return Check("cameras", False, "no /dev/video* device", "connect a webcam, or use --user-video FILE")
        return Check("cameras", True, ", ".join(nodes))
    return Check("cameras", True, "probed when used (af run --user-video cam:0)")


def _virtual_camera() -> Check:
    fixes = {
        "linux": "sudo apt-get install v4l2loopback-dkms && sudo modprobe v4l2loopback devices=1 exclusive_caps=1",
        "win32": "install OBS Studio and start its Virtual Camera once, or install Unity Capture",
        "darwin": "install OBS Studio and start its Virtual Camera once",
    }
    fix = next((v for k, v in fixes.items() if sys.platform.startswith(k)), "no virtual camera backend for this OS")
    try:
        import pyvirtualcam
    except ImportError:
        return Check("virtual camera", False, "pyvirtualcam not installed", "run ./setup.sh")
    try:
        with pyvirtualcam.Camera(width=64, height=64, fps=25) as cam:
            return Check("virtual camera", True, f"backend {cam.backend}: {cam.device}")
    except Exception as e:  # pyvirtualcam raises RuntimeError listing each backend's reason
        reason = " / ".join(line.strip() for line in str(e).splitlines() if line.strip()) or "no backend"
        return Check("virtual camera", False, reason, fix)


def _mono() -> Check:
    if shutil.which("mono") and shutil.which("mcs"):
        return Check("Mono (Unity bridge core tests)", True, shutil.which("mono") or "")
    return Check("Mono (Unity bridge core tests)", False, "mono/mcs not found", "sudo apt-get install mono-devel")


CHECKS: tuple[Callable[[], Check], ...] = (_torch, _mediapipe, _audio, _cameras, _virtual_camera, _mono)


def run_checks() -> list[Check]:
    return [check() for check in CHECKS]


def _doctor(args: argparse.Namespace) -> int:
    print(f"af doctor — Python {platform.python_version()} on {platform.platform()}")
    for c in run_checks():
        mark = "ok " if c.ok else "-- "
        print(f"  {mark} {c.name}: {c.detail}")
        if c.fix and not c.ok:
            print(f"       fix: {c.fix}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("doctor", help="list what this machine has for the runtime, with fixes")
    p.set_defaults(func=_doctor)
