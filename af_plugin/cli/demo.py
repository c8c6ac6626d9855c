"""``af demo``: the shipped sample conversation through the whole runtime; no microphone, camera or GPU needed.

Party B of the conversation is the user, party A the avatar. While it plays, a preview page on
http://127.0.0.1:8765/ shows the avatar moving and the live latency; a recording (Live Link Face CSV and a
rendered mp4 with the avatar's voice) is written to ./af-demo-output/. It ends when the conversation is over
(``--forever`` keeps serving; ``--fast`` plays as fast as the model runs, for tests).
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from af_plugin.cli.run import add_common_arguments, config_from_args, setup_logging
from af_plugin.errors import AudioFormatError

SAMPLE_CONVERSATION = Path(__file__).resolve().parent.parent / "assets" / "sample_conversation"


def register(subparsers) -> None:
    p = subparsers.add_parser("demo", help="play the sample conversation through the runtime (no devices needed)",
                              description=__doc__.replace("``", ""))  # fmt: skip
    p.add_argument("--conversation", metavar="DIR", type=Path, default=SAMPLE_CONVERSATION,
                   help="a folder with a.wav (the avatar's voice) and b.wav (the user's voice); .flac also works")  # fmt: skip
    p.add_argument("--output", metavar="DIR", type=Path, default=Path("af-demo-output"),
                   help="where the recording goes (default ./af-demo-output)")  # fmt: skip
    p.add_argument("--fast", action="store_true", help="as fast as possible instead of real time")
    p.add_argument("--forever", action="store_true", help="keep serving after the conversation ends")
    p.add_argument("--no-video", action="store_true", help="skip the rendered mp4 (motion CSV only)")
    add_common_arguments(p)
    p.set_defaults(func=main, user_audio=None, avatar_audio=None)


AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3")


def _party(folder: Path, name: str) -> Path:
    """``folder/name.wav`` (or .flac/.ogg/.mp3): one party's voice."""
    for ext in AUDIO_EXTENSIONS:
        if (folder / f"{name}{ext}").is_file():
            return folder / f"{name}{ext}"
    raise AudioFormatError(f"{folder / (name + '.wav')}: the sample conversation is missing (reinstall the package, "
                           "or pass --conversation DIR with a.wav and b.wav)")  # fmt: skip


def main(args: argparse.Namespace) -> int:
    from af_plugin.runtime.app import build_app, detach_output, run_app
    from af_plugin.sinks.recorder import RecorderSink

    setup_logging(args.verbose)
    conv = args.conversation
    a, b = _party(conv, "a"), _party(conv, "b")
    args.user_audio, args.avatar_audio = str(b), str(a)
    cfg = config_from_args(args)
    cfg.sources.user_audio, cfg.sources.avatar_audio = str(b), str(a)
    cfg.sources.realtime = not args.fast
    cfg.sources.loop = False
    cfg.outputs.ws = True
    out = args.output
    paths = [out / "motion.csv"] + ([] if args.no_video else [out / "avatar.mp4"])
    recorder = RecorderSink(paths, cfg.render)
    app = build_app(cfg, extra_sinks=[(", ".join(map(str, paths)), recorder)])
    rec_sink = next(s for _, s in app.outputs if s.name == "recorder")

    def ready(app) -> None:
        print(f"af demo: playing {conv} (user = {b.name}, avatar = {a.name})", flush=True)
        for line in app.describe():
            print("  " + line, flush=True)
        print(f"open {app.server.http_url} to watch the avatar and its latency; Ctrl+C stops", flush=True)

    state = {"printed": False}

    def finished(app) -> None:
        print("conversation over; writing the recording…", flush=True)
        detach_output(app, rec_sink)
        for p in recorder.written:
            print(f"wrote {p.resolve()}", flush=True)
        state["printed"] = True
        if args.forever:
            print(f"still serving {app.server.url} (--forever); Ctrl+C stops", flush=True)

    asyncio.run(run_app(app, duration=args.duration, on_ready=ready, on_finished=finished,
                        stop_when_finished=not args.forever))  # fmt: skip
    if app.engine.error is not None:
        raise app.engine.error
    if not state["printed"]:  # stopped early (Ctrl+C / --duration): the recording was finalised on close
        for p in recorder.written:
            print(f"wrote {p.resolve()}", flush=True)
    lat = app.engine.sessions["default"].stats.summary().get("audio_to_emitted")
    if lat and not args.fast:
        print(f"latency audio in → motion out: p50 {lat['p50']:.0f} ms, p95 {lat['p95']:.0f} ms", flush=True)
    return 0
