"""``af run``: the real-time runtime with any sources and outputs. With only file sources it needs no devices."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os

from af_plugin.config import Config, load_config, parse_override
from af_plugin.constants import DEFAULT_HOST, DEFAULT_WS_PORT


def add_common_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", metavar="FILE", help="TOML configuration (see docs/runtime.md)")
    p.add_argument("--set", metavar="KEY=VALUE", action="append", default=[], dest="overrides",
                   help="override one config key, e.g. --set model.block_size=2 (repeatable)")  # fmt: skip
    p.add_argument("--ws", metavar="HOST:PORT", help=f"websocket/HTTP address (default {DEFAULT_HOST}:{DEFAULT_WS_PORT}); "
                   "any non-loopback host needs --token")  # fmt: skip
    p.add_argument("--token", help="shared secret clients must present (prefer $AF_TOKEN: other users can see "
                   "command lines)")  # fmt: skip
    p.add_argument("--checkpoint", metavar="PATH", help="model checkpoint (.safetensors); default: the shipped model")
    p.add_argument("--duration", type=float, metavar="SECONDS", help="stop after this many seconds of frames")
    p.add_argument("-v", "--verbose", action="store_true", help="log more")


def register(subparsers) -> None:
    p = subparsers.add_parser("run", help="run the real-time avatar: sources → model → outputs",
                              description=__doc__.replace("``", ""))  # fmt: skip
    p.add_argument("--user-audio", metavar="FILE|mic[:DEVICE]", help="the person's voice")
    p.add_argument("--user-video", metavar="FILE|cam[:INDEX]", help="the person's face (tracked); optional")
    p.add_argument("--avatar-audio", metavar="FILE|mic[:DEVICE]",
                   help="the avatar's own voice (or let websocket clients push it)")  # fmt: skip
    p.add_argument("--livelink", metavar="HOST:PORT", help="send Live Link Face UDP to Unreal")
    p.add_argument("--vmc", metavar="HOST:PORT", help="send VMC/OSC to a VTuber app")
    p.add_argument("--vcam", action="store_true", help="render to a virtual camera (pyvirtualcam)")
    p.add_argument("--record", metavar="PATH", help="record motion: .csv (Live Link Face), .afm, .npz or .mp4")
    p.add_argument("--loop", action="store_true", help="loop file sources")
    p.add_argument("--fast", action="store_true", help="play file sources as fast as possible (not real time)")
    p.add_argument("--no-ws", action="store_true", help="do not start the websocket server")
    add_common_arguments(p)
    p.set_defaults(func=main)


def config_from_args(args: argparse.Namespace) -> Config:
    overrides = dict(parse_override(item) for item in args.overrides)
    for attr, key in (("user_audio", "sources.user_audio"), ("user_video", "sources.user_video"),
                      ("avatar_audio", "sources.avatar_audio"), ("livelink", "outputs.livelink"),
                      ("vmc", "outputs.vmc"), ("record", "outputs.record"),
                      ("checkpoint", "model.checkpoint")):  # fmt: skip
        value = getattr(args, attr, None)
        if value:
            overrides[key] = value
    for attr, key in (("loop", "sources.loop"), ("vcam", "outputs.vcam")):
        if getattr(args, attr, False):
            overrides[key] = True
    if getattr(args, "fast", False):
        overrides["sources.realtime"] = False
    if getattr(args, "no_ws", False):
        overrides["outputs.ws"] = False
    if args.ws:
        from af_plugin.runtime.app import parse_hostport

        host, port = parse_hostport(args.ws, DEFAULT_HOST, DEFAULT_WS_PORT, "--ws")
        overrides["server.host"], overrides["server.port"] = host, port
    token = args.token or os.environ.get("AF_TOKEN")
    if token:
        overrides["server.token"] = token
    return load_config(args.config, overrides)


def setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("websockets").setLevel(logging.WARNING)


def main(args: argparse.Namespace) -> int:
    from af_plugin.runtime.app import build_app, run_app

    setup_logging(args.verbose)
    cfg = config_from_args(args)
    app = build_app(cfg)

    def ready(app) -> None:
        for line in app.describe():
            print(line, flush=True)
        print("running; Ctrl+C stops (recordings are finalised)", flush=True)

    asyncio.run(run_app(app, duration=args.duration, on_ready=ready,
                        stop_when_finished=bool(cfg.sources.user_audio or cfg.sources.avatar_audio
                                                or cfg.sources.user_video) and not cfg.sources.loop))  # fmt: skip
    print(f"stopped after {app.engine.ticks / 25:.1f} s; frames sent: "
          + ", ".join(f"{s.name}={s.emitted}" for s in app.engine.sessions.values()), flush=True)  # fmt: skip
    if app.engine.error is not None:
        raise app.engine.error
    return 0
