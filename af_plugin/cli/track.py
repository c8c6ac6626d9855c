"""``af track INPUT -o OUT``: face motion (ARKit blendshapes, head pose, gaze) from a video file or webcam.

INPUT is a video file, or ``cam:INDEX`` / a bare integer for a webcam (Ctrl-C or --seconds ends a webcam
take). OUT is any MotionClip format by extension (.csv Live Link Face, .jsonl, .npz, .afm) at 25 fps.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from af_plugin.constants import FPS
from af_plugin.errors import ConfigError

_CAMERA = re.compile(r"^(?:cam:)?(\d+)$")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "track",
        help="track a face (video file or webcam) into a motion file",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("input", help="video file, or cam:INDEX / INDEX for a webcam")
    p.add_argument("-o", "--output", required=True, help="motion file: .csv (Live Link Face), .jsonl, .npz, .afm")
    p.add_argument(
        "--calibrate-seconds",
        type=float,
        default=2.0,
        metavar="S",
        help="seconds at the start of the take used as the neutral face (default 2)",
    )
    p.add_argument("--fps", type=float, default=FPS, help=f"output frame rate (default {FPS})")
    p.add_argument("--seconds", type=float, default=None, help="webcam only: stop after this many seconds")
    p.add_argument("--no-smoothing", action="store_true", help="turn the One Euro filter off")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from af_plugin.perception.tracking import track_camera, track_video

    if args.calibrate_seconds <= 0:
        raise ConfigError("--calibrate-seconds", f"must be > 0, got {args.calibrate_seconds}")
    if args.fps <= 0:
        raise ConfigError("--fps", f"must be > 0, got {args.fps}")
    out = Path(args.output)
    if out.suffix.lower() not in (".csv", ".jsonl", ".npz", ".afm"):
        raise ConfigError("--output", f"unknown motion format '{out.suffix}'; use .csv, .jsonl, .npz or .afm")
    cam = _CAMERA.match(args.input)
    if cam and not Path(args.input).exists():
        print(f"tracking webcam {cam.group(1)} (Ctrl-C to stop)", file=sys.stderr)
        clip = track_camera(
            int(cam.group(1)), seconds=args.seconds, calibrate_seconds=args.calibrate_seconds, fps=args.fps
        )
    else:
        clip = track_video(
            args.input,
            calibrate_seconds=args.calibrate_seconds,
            fps=args.fps,
            progress=not args.quiet and sys.stderr.isatty(),
            smoothing=not args.no_smoothing,
        )
    clip.write(out)
    faces = int(clip.valid.sum())
    print(
        f"wrote {out}: {len(clip)} frames at {clip.fps:g} fps, face found in {faces} ({faces / max(len(clip), 1):.0%})"
    )
    return 0
