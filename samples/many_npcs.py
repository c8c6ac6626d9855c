"""Several NPCs in ONE runtime: each is its own session with its own voice, served by one batched model.

    python samples/many_npcs.py                       # 3 NPCs, espeak-ng lines
    python samples/many_npcs.py --npcs 5 --out takes  # save takes/npc1.csv/.wav ...

Every session has its own inputs, model state (history, KV cache, seed) and frame timeline. The runtime
does not run one model per NPC: on each generation step it hands every session that has enough input to
ONE batched forward pass (``gen.step([s1, s2, ...])``, see af_plugin/runtime/engine.py), so N avatars cost
far less than N times one. This sample opens one websocket per NPC (one game object each), pushes each
NPC's line at the same time, and prints what every NPC got back plus the server's per-session status.
Sessions are created by naming them; `server.max_sessions` (default 8) caps how many a server runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

import numpy as np
import websockets
from npc_line import DEFAULT_URL, save, speak, synthesize  # the single-NPC flow, reused per NPC

from af_plugin.constants import FPS, SAMPLE_RATE

LINES = [
    "Halt! Who goes there?",
    "Fresh bread, two coins a loaf.",
    "The old mine has been quiet for years.",
    "Have you seen my cat? She is grey.",
    "Storm's coming. Best find shelter.",
    "I only sell to adventurers with a licence.",
    "Mind the gap on the bridge.",
    "The king will see you now.",
]


async def server_status(url: str, sessions: list[str]) -> dict[str, dict]:
    """One `control status` per session on a fresh connection (any client may ask about any session)."""
    out = {}
    async with websockets.connect(url, max_size=None) as ws:
        await ws.recv()  # hello
        for name in sessions:
            await ws.send(json.dumps({"type": "control", "action": "status", "session": name}))
            while True:
                msg = json.loads(await ws.recv())
                if msg["type"] in ("status", "error"):
                    out[name] = msg
                    break
    return out


async def run_npcs(url: str, names: list[str], lines: list[np.ndarray]):
    takes = await asyncio.gather(*(speak(url, name, line) for name, line in zip(names, lines)))
    status = await server_status(url, names)
    return takes, status


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--npcs", type=int, default=3, help=f"how many NPCs (1..{len(LINES)})")
    p.add_argument("--url", default=DEFAULT_URL, help=f"server (default {DEFAULT_URL})")
    p.add_argument("--out", type=Path, help="folder for each NPC's take (NAME.csv + NAME.wav)")
    args = p.parse_args(argv)
    if not 1 <= args.npcs <= len(LINES):
        p.error(f"--npcs must be 1..{len(LINES)}")

    names = [f"npc{i + 1}" for i in range(args.npcs)]
    # Different pitch per NPC so the voices (and the avatars' motion) differ.
    lines = [synthesize(LINES[i], pitch=20 + 60 * i // max(1, args.npcs - 1)) for i in range(args.npcs)]
    print(f"{args.npcs} NPCs on {url_only(args.url)}: " + ", ".join(
        f"{n} ({len(x) / SAMPLE_RATE:.1f} s)" for n, x in zip(names, lines)), flush=True)  # fmt: skip
    takes, status = asyncio.run(run_npcs(args.url, names, lines))

    print(f"{'session':8} {'frames':>6} {'first':>6} {'voice s':>8} {'mode':>9} {'generate p50 ms':>16}")
    for name, (first, values, sound, _channels) in zip(names, takes):
        st = status.get(name, {})
        gen = (st.get("latency_ms") or {}).get("generate") or {}
        print(f"{name:8} {len(values):6d} {first:6d} {len(sound) / SAMPLE_RATE:8.2f} {st.get('mode', '?'):>9} "
              f"{gen.get('p50', float('nan')):16.0f}", flush=True)  # fmt: skip
        if args.out:
            save(args.out / name, first, values, sound)
    model = next(iter(status.values()), {}).get("model", {})
    print(f"model: {model.get('kind')} block_size={model.get('block_size')}; all sessions share one batched "
          f"generator step per block ({len(names) * FPS} frames/s in total)", flush=True)  # fmt: skip
    if args.out:
        print(f"saved takes in {args.out}/", flush=True)
    return 0


def url_only(url: str) -> str:
    return url.split("?")[0]  # never print a token


if __name__ == "__main__":
    sys.exit(main())
