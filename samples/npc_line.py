"""Game-style NPC line: push the avatar's voice over the websocket, get back its motion and the synced voice.

    python samples/npc_line.py --text "Welcome, traveller. The bridge is out." --out line
    python samples/npc_line.py --wav my_line.wav --out line --session guard

This is the flow a game uses for a dialogue line: the game owns the voice (TTS or a recorded WAV), pushes it
as the avatar's `audio` (role "avatar") and plays back what the server returns. The server sends each motion
frame together with the 640 voice samples that belong to it, *delayed by the generation latency*, so playing
the returned audio as it arrives keeps the lips in sync. Results are saved as:

    OUT.csv   the motion, Live Link Face CSV (Unreal's Live Link Face import, Blender, ...)
    OUT.wav   the voice as the server sent it back, aligned sample-for-sample with the CSV's frames

Run a server first, e.g. `af run` (no avatar-audio source: clients push it). `--text` needs espeak-ng.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import websockets

from af_plugin.constants import DEFAULT_HOST, DEFAULT_WS_PORT, FPS, SAMPLE_RATE, SAMPLES_PER_FRAME

DEFAULT_URL = f"ws://{DEFAULT_HOST}:{DEFAULT_WS_PORT}/"
CHUNK_SECONDS = 0.5  # pushed per message; well under the server's max message size
TAIL_SECONDS = 0.6  # keep listening this long after the line so its last syllable's motion arrives


def synthesize(text: str, voice: str = "en", pitch: int = 50) -> np.ndarray:
    """Text → float32 mono 16 kHz speech with espeak-ng (any TTS works: the server only sees PCM)."""
    from af_plugin.perception.audio import load_audio

    exe = shutil.which("espeak-ng")
    if exe is None:
        raise SystemExit("espeak-ng is not installed (apt install espeak-ng / brew install espeak-ng); use --wav")
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "line.wav"
        subprocess.run([exe, "-v", voice, "-p", str(pitch), "-w", str(wav), text], check=True)
        return load_audio(wav)


def load_line(args: argparse.Namespace) -> np.ndarray:
    if args.wav:
        from af_plugin.perception.audio import load_audio

        return load_audio(args.wav)  # any rate/channels → 16 kHz mono float32
    return synthesize(args.text, args.voice, args.pitch)


def pcm16_b64(samples: np.ndarray) -> str:
    pcm = (np.clip(samples, -1, 1) * 32767).round().astype("<i2")
    return base64.b64encode(pcm.tobytes()).decode("ascii")


async def speak(url: str, session: str, line: np.ndarray) -> tuple[int, np.ndarray, np.ndarray, list[str]]:
    """Push ``line`` as the avatar's voice of ``session``; return (first frame, motion (T,62), voice, channels).

    Only frames that carry returned voice are kept: from the first voice frame on, motion and voice share
    one frame index, so ``voice[k*640:(k+1)*640]`` is the sound of ``motion[k]``.
    """
    async with websockets.connect(url, max_size=None) as ws:
        hello = json.loads(await ws.recv())
        # Subscribe BEFORE pushing, so no frame of the line is missed. Naming a new session creates it.
        await ws.send(json.dumps({"type": "subscribe", "session": session, "streams": ["motion", "audio"]}))
        chunk = int(CHUNK_SECONDS * SAMPLE_RATE)
        for start in range(0, len(line), chunk):  # the server buffers up to 120 s and plays it in real time
            await ws.send(json.dumps({"type": "audio", "role": "avatar", "session": session, "rate": SAMPLE_RATE,
                                      "data": pcm16_b64(line[start:start + chunk])}))  # fmt: skip
        motion: dict[int, list[float]] = {}
        voice: dict[int, np.ndarray] = {}
        needed = int(np.ceil((len(line) / SAMPLE_RATE + TAIL_SECONDS) * FPS))
        async for message in ws:
            msg = json.loads(message)
            if msg["type"] == "error":
                raise SystemExit(f"server error {msg['code']}: {msg['message']}")
            if msg.get("session") != session:
                continue
            if msg["type"] == "motion":
                motion[msg["frame"]] = msg["values"]
            elif msg["type"] == "audio":
                voice[msg["frame"]] = np.frombuffer(base64.b64decode(msg["data"]), "<i2").astype(np.float32) / 32768
            if len(voice) >= needed and max(voice) in motion:
                break
    first, last = min(voice), max(voice)
    frames = range(first, last + 1)
    values = np.array([motion[i] for i in frames if i in motion], np.float32)
    silence = np.zeros(SAMPLES_PER_FRAME, np.float32)
    sound = np.concatenate([voice.get(i, silence) for i in frames if i in motion])
    return first, values, sound, hello["channels"]


def save(out: Path, first: int, values: np.ndarray, sound: np.ndarray) -> tuple[Path, Path]:
    import soundfile as sf

    from af_plugin.motion.clip import MotionClip

    out.parent.mkdir(parents=True, exist_ok=True)
    csv, wav = out.with_suffix(".csv"), out.with_suffix(".wav")
    MotionClip(values, fps=FPS, start_time=first / FPS, first_index=first).write(csv)
    sf.write(wav, sound, SAMPLE_RATE, subtype="PCM_16")
    return csv, wav


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    src = p.add_mutually_exclusive_group()
    src.add_argument("--text", default="Welcome, traveller. The bridge to the north is out.",
                     help="the line, spoken by espeak-ng")  # fmt: skip
    src.add_argument("--wav", metavar="FILE", help="a recorded line instead (any WAV)")
    p.add_argument("--voice", default="en", help="espeak-ng voice (espeak-ng --voices)")
    p.add_argument("--pitch", type=int, default=50, help="espeak-ng pitch 0..99")
    p.add_argument("--url", default=DEFAULT_URL, help=f"server (default {DEFAULT_URL})")
    p.add_argument("--session", default="npc", help="the NPC's session (one avatar per session)")
    p.add_argument("--out", type=Path, default=Path("npc_line"), help="output stem: OUT.csv and OUT.wav")
    args = p.parse_args(argv)

    line = load_line(args)
    print(f"line: {len(line) / SAMPLE_RATE:.2f} s of audio; pushing to {args.url} session {args.session!r}", flush=True)
    first, values, sound, channels = asyncio.run(speak(args.url, args.session, line))
    csv, wav = save(args.out, first, values, sound)
    jaw = values[:, channels.index("jawOpen")]
    print(f"received {len(values)} frames from frame {first} ({len(values) / FPS:.2f} s), "
          f"jawOpen mean {jaw.mean():.3f} max {jaw.max():.3f}", flush=True)  # fmt: skip
    print(f"saved {csv} and {wav}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
