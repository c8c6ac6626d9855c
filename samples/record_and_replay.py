"""Record a live avatar to a Live Link Face CSV, then replay the take into Unreal (Live Link) or a VTuber app (VMC).

    python samples/record_and_replay.py record --seconds 10 --out take.csv
    python samples/record_and_replay.py replay take.csv --livelink 127.0.0.1:11111 --vmc 127.0.0.1:39539

`record` subscribes to a running server (`af run`) in binary format and keeps every frame it receives
(index gaps — a slow network — are reported). The CSV is the Live Link Face app's format, so Unreal's
Live Link Face importer, Blender add-ons and this script all read it.

`replay` plays a take (.csv, .afm, .npz or .jsonl) at its own frame rate through the same Live Link Face
and VMC senders the runtime uses (af_plugin/sinks/livelink.py, vmc.py): in Unreal add a "Live Link Face"
source... it appears as the subject (`--subject`, default "Avatar"); VSeeFace/Warudo/VNyan receive VMC on
port 39539. No model, no server needed: good for rehearsing a scene or testing a rig.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path

import numpy as np
import websockets

from af_plugin.constants import DEFAULT_HOST, DEFAULT_WS_PORT, FPS
from af_plugin.motion.clip import MotionClip
from af_plugin.motion.codecs.afm import FLAG_NO_FACE, decode_frame
from af_plugin.sinks.base import MotionFrame

DEFAULT_URL = f"ws://{DEFAULT_HOST}:{DEFAULT_WS_PORT}/"


# --- record -----------------------------------------------------------------------------------------------


async def record(url: str, session: str, frames: int) -> tuple[list[int], np.ndarray, np.ndarray]:
    """Receive ``frames`` binary motion frames → (indices, values (T,62), flags)."""
    indices, values, flags = [], [], []
    async with websockets.connect(url, max_size=None) as ws:
        json.loads(await ws.recv())  # hello
        await ws.send(json.dumps({"type": "subscribe", "session": session, "streams": ["motion"], "format": "binary"}))
        async for message in ws:
            if not isinstance(message, bytes):
                msg = json.loads(message)
                if msg["type"] == "error":
                    raise SystemExit(f"server error {msg['code']}: {msg['message']}")
                continue  # "subscribed"
            index, _t, flag, v = decode_frame(message)
            indices.append(index)
            values.append(v)
            flags.append(flag)
            if len(indices) >= frames:
                break
    return indices, np.stack(values), np.asarray(flags)


def cmd_record(args: argparse.Namespace) -> int:
    n = int(round(args.seconds * FPS))
    indices, values, flags = asyncio.run(record(args.url, args.session, n))
    gaps = int(np.sum(np.diff(indices) - 1))
    span = indices[-1] - indices[0] + 1
    pos = np.asarray(indices) - indices[0]
    # Interpolate across gaps so the take stays continuous; the missing frames are marked invalid.
    full = np.stack([np.interp(np.arange(span), pos, values[:, c]) for c in range(values.shape[1])], axis=1)
    valid = np.zeros(span, bool)
    valid[pos] = (flags & FLAG_NO_FACE) == 0
    clip = MotionClip(
        full.astype(np.float32), fps=FPS, start_time=indices[0] / FPS, first_index=indices[0], valid=valid
    )
    path = clip.write(args.out)
    print(f"recorded {len(indices)} frames ({indices[0]}..{indices[-1]}, {gaps} missing) to {path}", flush=True)
    return 0


# --- replay -----------------------------------------------------------------------------------------------


def open_sinks(args: argparse.Namespace) -> list:
    sinks = []
    if args.livelink:
        from af_plugin.sinks.livelink import LiveLinkSink

        sinks.append(LiveLinkSink(args.livelink, subject=args.subject))
    if args.vmc:
        from af_plugin.sinks.vmc import VmcSink

        sinks.append(VmcSink(args.vmc, bundle=not args.vmc_unbundled))
    if not sinks:
        raise SystemExit("give at least one target: --livelink HOST:PORT and/or --vmc HOST:PORT")
    for s in sinks:
        s.open()
    return sinks


def cmd_replay(args: argparse.Namespace) -> int:
    clip = MotionClip.read(args.take)
    sinks = open_sinks(args)
    period = 1.0 / (clip.fps * args.speed)
    sent = 0
    try:
        for _ in range(args.loops):
            start = time.perf_counter()
            for k, (index, t) in enumerate(zip(clip.indices, clip.timestamps)):
                frame = MotionFrame(index=int(index), t=float(t), values=clip.values[k],
                                    flags=0 if clip.valid[k] else FLAG_NO_FACE)  # fmt: skip
                for s in sinks:
                    s.send(frame)
                sent += 1
                delay = start + (k + 1) * period - time.perf_counter()  # paced against the start: no drift
                if delay > 0:
                    time.sleep(delay)
    except KeyboardInterrupt:
        pass
    finally:
        for s in sinks:
            s.close()
    errors = sum(getattr(s, "errors", 0) for s in sinks)
    print(f"replayed {sent} frames of {args.take} to " + ", ".join(s.name for s in sinks)
          + f" ({errors} send errors)", flush=True)  # fmt: skip
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("record", help="record a live session to a motion file")
    r.add_argument("--url", default=DEFAULT_URL, help=f"server (default {DEFAULT_URL})")
    r.add_argument("--session", default="default")
    r.add_argument("--seconds", type=float, default=10.0)
    r.add_argument("--out", type=Path, default=Path("take.csv"), help=".csv (Live Link Face), .afm, .npz, .jsonl")
    r.set_defaults(func=cmd_record)
    q = sub.add_parser("replay", help="play a take to Live Link (Unreal) and/or VMC targets")
    q.add_argument("take", type=Path)
    q.add_argument("--livelink", metavar="HOST:PORT", help="Unreal Live Link Face source (port 11111)")
    q.add_argument("--subject", default="Avatar", help="Live Link subject name")
    q.add_argument("--vmc", metavar="HOST:PORT", help="VMC receiver (VSeeFace/Warudo: 39539)")
    q.add_argument("--vmc-unbundled", action="store_true", help="one OSC message per packet (VNyan needs it)")
    q.add_argument("--loops", type=int, default=1, help="play the take this many times")
    q.add_argument("--speed", type=float, default=1.0, help="playback speed (1 = real time)")
    q.set_defaults(func=cmd_replay)
    args = p.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
