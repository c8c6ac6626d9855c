"""`af render`: a motion file → an mp4 of the stylized avatar or an animated portrait photo.

af render MOTION -o OUT.mp4 [--portrait PHOTO] [--audio A.wav] [--size 512 | --width W --height H]
          [--background '#rrggbb'|transparent] [--color NAME=#rrggbb ...] [--png-dir DIR]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("render", help="render a motion file to an mp4 (stylized avatar or portrait photo)")
    p.add_argument("motion", type=Path, help="motion file (.csv Live Link Face, .jsonl, .npz, .afm)")
    p.add_argument("-o", "--out", required=True, type=Path, help="output video (.mp4)")
    p.add_argument("--portrait", type=Path, help="animate this photo instead of the stylized avatar")
    p.add_argument("--audio", type=Path, help="audio (or video) file to mux in, e.g. the avatar's voice")
    p.add_argument("--size", type=int, help="square frame size in pixels (default 512)")
    p.add_argument("--width", type=int)
    p.add_argument("--height", type=int)
    p.add_argument("--background", help="stylized background: #rrggbb or 'transparent' (mp4 shows it as black)")
    p.add_argument("--color", action="append", default=[], metavar="NAME=#RRGGBB",
                   help="override a stylized colour (skin, hair, iris, shirt, lips, ...); repeatable")  # fmt: skip
    p.add_argument("--png-dir", type=Path, help="also write every frame as PNG (RGBA if transparent) here")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import cv2

    from af_plugin.config import RenderConfig
    from af_plugin.constants import SAMPLE_RATE
    from af_plugin.errors import ConfigError
    from af_plugin.motion.clip import MotionClip
    from af_plugin.render import make_renderer
    from af_plugin.render.stylized import StylizedRenderer
    from af_plugin.render.video import write_video

    if args.out.suffix.lower() != ".mp4":
        raise ConfigError("--out", f"{str(args.out)!r}: af render writes .mp4 files")
    size = args.size or 512
    width, height = args.width or size, args.height or size
    for name, v in (("width", width), ("height", height)):
        if not 16 <= v <= 4096:
            raise ConfigError(f"--{name}", f"{v} is outside 16..4096")
    colors = {}
    for item in args.color:
        if "=" not in item:
            raise ConfigError("--color", f"{item!r} should look like NAME=#rrggbb")
        k, v = item.split("=", 1)
        colors[k.strip()] = v.strip()
    clip = MotionClip.read(args.motion)
    if len(clip) == 0:
        raise ConfigError("motion", f"{str(args.motion)!r} has no frames")
    if args.portrait:
        if colors:
            raise ConfigError("--color", "colours apply to the stylized avatar, not to --portrait")
        renderer = make_renderer(
            RenderConfig(style="portrait", portrait=str(args.portrait), width=width, height=height)
        )
    else:
        cfg = RenderConfig(width=width, height=height)
        renderer = StylizedRenderer(width, height, background=args.background or cfg.background, colors=colors)
    audio = None
    if args.audio:
        from af_plugin.perception.audio import load_audio

        audio = load_audio(args.audio)
    if args.png_dir:
        args.png_dir.mkdir(parents=True, exist_ok=True)

    def frames():
        for i, values in enumerate(clip.values):
            img = renderer.render(values)
            if args.png_dir:
                code = cv2.COLOR_RGBA2BGRA if img.shape[2] == 4 else cv2.COLOR_RGB2BGR
                cv2.imwrite(str(args.png_dir / f"frame_{i:06d}.png"), cv2.cvtColor(img, code))
            yield img

    t0 = time.perf_counter()
    n = write_video(args.out, frames(), clip.fps, audio=audio, sample_rate=SAMPLE_RATE)
    dt = time.perf_counter() - t0
    extra = ""
    if audio is not None:
        extra = f", audio muxed ({min(len(audio) / SAMPLE_RATE, n / clip.fps):.2f} s)"
    print(f"wrote {args.out}: {n} frames at {clip.fps:g} fps, {width}x{height}{extra} "
          f"in {dt:.1f} s ({n / max(dt, 1e-9):.0f} frames/s)")  # fmt: skip
    return 0
