"""Connect to a running avatar (`af run` / `af demo`), subscribe, and print — or plot — live channels.

    python samples/python_client.py                                  # jawOpen, eyeBlinkLeft, headYaw
    python samples/python_client.py --channels jawOpen mouthSmileLeft --format binary --frames 100
    python samples/python_client.py --plot                           # live matplotlib plot

Protocol v1 (docs/protocol.md): the server greets with `hello` (channel names, fps, frame size), the client
sends one `subscribe`, then motion arrives one message per frame — JSON, or with `--format binary` one
264-byte .afm frame record per message, decoded here with af_plugin's own codec.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

import websockets

from af_plugin.constants import DEFAULT_HOST, DEFAULT_WS_PORT
from af_plugin.motion.codecs.afm import decode_frame

DEFAULT_URL = f"ws://{DEFAULT_HOST}:{DEFAULT_WS_PORT}/"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--url", default=DEFAULT_URL, help=f"server (default {DEFAULT_URL}); add ?token=... if needed")
    p.add_argument("--session", default="default", help="which avatar (session) to watch")
    p.add_argument("--channels", nargs="+", default=["jawOpen", "eyeBlinkLeft", "headYaw"],
                   help="channel names to show (see docs/motion-contract.md)")  # fmt: skip
    p.add_argument("--format", choices=("json", "binary"), default="json", help="motion wire format")
    p.add_argument("--frames", type=int, default=0, help="stop after this many frames (0: run until Ctrl+C)")
    p.add_argument("--plot", action="store_true", help="plot the channels live (matplotlib) instead of printing")
    return p.parse_args(argv)


async def stream_motion(args: argparse.Namespace, on_frame) -> int:
    """Connect, subscribe and call ``on_frame(index, t, {channel: value})`` per frame; returns frames seen."""
    async with websockets.connect(args.url, max_size=None) as ws:
        hello = json.loads(await ws.recv())
        assert hello["type"] == "hello", hello
        unknown = [c for c in args.channels if c not in hello["channels"]]
        if unknown:
            raise SystemExit(f"unknown channel(s) {unknown}; the server sends: {', '.join(hello['channels'])}")
        # Look channels up by NAME in the server's layout: never hard-code indices.
        columns = {c: hello["channels"].index(c) for c in args.channels}
        await ws.send(json.dumps({"type": "subscribe", "session": args.session, "streams": ["motion"],
                                  "format": args.format}))  # fmt: skip
        seen = 0
        async for message in ws:
            if isinstance(message, bytes):  # binary: exactly one .afm frame record
                index, t, _flags, values = decode_frame(message)
            else:
                msg = json.loads(message)
                if msg["type"] == "error":
                    print(f"server error {msg['code']}: {msg['message']}", file=sys.stderr)
                    continue
                if msg["type"] != "motion":
                    continue  # subscribed, status, ...
                index, t, values = msg["frame"], msg["t"], msg["values"]
            on_frame(index, t, {c: float(values[i]) for c, i in columns.items()})
            seen += 1
            if args.frames and seen >= args.frames:
                break
        return seen


def print_frames(args: argparse.Namespace) -> int:
    print("frame      t  " + "  ".join(f"{c:>14}" for c in args.channels), flush=True)

    def show(index: int, t: float, values: dict[str, float]) -> None:
        print(f"{index:5d} {t:6.2f}  " + "  ".join(f"{values[c]:14.4f}" for c in args.channels), flush=True)

    return asyncio.run(stream_motion(args, show))


def plot_frames(args: argparse.Namespace) -> int:
    """A scrolling plot of the last 10 s; the websocket runs on a thread, matplotlib on the main thread."""
    import threading
    from collections import deque

    import matplotlib.pyplot as plt

    history = {c: deque(maxlen=250) for c in args.channels}
    times: deque[float] = deque(maxlen=250)
    lock = threading.Lock()

    def keep(index: int, t: float, values: dict[str, float]) -> None:
        with lock:
            times.append(t)
            for c, v in values.items():
                history[c].append(v)

    thread = threading.Thread(target=lambda: asyncio.run(stream_motion(args, keep)), daemon=True)
    thread.start()
    fig, ax = plt.subplots(figsize=(9, 4))
    lines = {c: ax.plot([], [], label=c)[0] for c in args.channels}
    ax.set_xlabel("t (s)")
    ax.legend(loc="upper left")
    while plt.fignum_exists(fig.number) and thread.is_alive():
        with lock:
            for c, line in lines.items():
                line.set_data(list(times), list(history[c]))
        ax.relim()
        ax.autoscale_view()
        plt.pause(0.1)
    return len(times)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        (plot_frames if args.plot else print_frames)(args)
    except (OSError, websockets.InvalidStatus) as e:
        print(f"cannot connect to {args.url}: {e}. Is `af run` running?", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
