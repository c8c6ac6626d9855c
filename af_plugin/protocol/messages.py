"""Client → server parsing and server → client building for websocket protocol v1.

Parsing turns one websocket message (text or bytes) into a typed request or raises
``ProtocolError(code, message)``; the server answers an error with ``error(code, message)`` and keeps the
connection open. Building returns ready-to-send ``str`` (JSON text) or ``bytes`` (binary motion frame).
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from af_plugin.constants import FPS, SAMPLE_RATE
from af_plugin.errors import ProtocolError
from af_plugin.motion.codecs.afm import FRAME_BYTES, encode_frame
from af_plugin.motion.contract import CHANNELS, LAYOUT_VERSION, NUM_CHANNELS

PROTOCOL_VERSION = 1

STREAMS = ("motion", "latent", "frames", "audio", "status")
"""What a client may subscribe to. ``status`` is a once-a-second latency/mode report."""
FORMATS = ("json", "binary")
ROLES = ("user", "avatar")
ACTIONS = ("pause", "resume", "reset", "guidance", "status")
CLIENT_TYPES = ("subscribe", "audio", "control", "ping")
SERVER_TYPES = ("hello", "subscribed", "motion", "latent", "frame", "audio", "status", "ack", "pong", "error")

ERROR_CODES: dict[str, str] = {
    "bad_json": "the message is not a JSON object",
    "binary_not_accepted": "clients send text (JSON) messages only",
    "unknown_type": "the 'type' field is missing or not one of the client message types",
    "bad_field": "a field is missing, of the wrong type or out of range (the message names it)",
    "unknown_stream": "a subscribed stream name is not one of the streams",
    "bad_audio": "audio 'data' is not valid base64 PCM16 or 'rate'/'channels' are out of range",
    "audio_overflow": "the session's pushed-audio buffer is full; the chunk was dropped (push in real time)",
    "too_many_sessions": "the server already runs its maximum number of sessions",
    "unknown_action": "the control 'action' is not one of the actions",
    "unavailable": "the stream or action is not available on this server (the message says why)",
    "rate_limited": "more than 1000 messages in a second; the rest of that second's messages were dropped",
}
"""Every error code the server sends, with its meaning (docs/protocol.md lists the same)."""

SESSION_PATTERN = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")
DEFAULT_SESSION = "default"
MIN_AUDIO_RATE, MAX_AUDIO_RATE = 8_000, 192_000
MAX_AUDIO_CHANNELS = 8
GUIDANCE_RANGE = (0.0, 10.0)


# --- client → server ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Subscribe:
    """Replace this connection's subscription to one session (``streams=()`` unsubscribes)."""

    session: str
    streams: tuple[str, ...]
    format: str = "json"


@dataclass(frozen=True)
class AudioPush:
    """PCM pushed by a client, already decoded to float32 mono at ``rate`` (the runtime resamples)."""

    session: str
    role: str
    rate: int
    samples: np.ndarray = field(repr=False)


@dataclass(frozen=True)
class Control:
    session: str
    action: str
    params: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Ping:
    id: Any = None


ClientMessage = Subscribe | AudioPush | Control | Ping


def _field(msg: dict, name: str, kind: type | tuple[type, ...], default: Any = ..., what: str = "") -> Any:
    if name not in msg:
        if default is ...:
            raise ProtocolError("bad_field", f"'{msg.get('type')}' needs field '{name}' ({what})")
        return default
    value = msg[name]
    ok = isinstance(value, kind) and not (isinstance(value, bool) and bool not in _as_tuple(kind))
    if not ok:
        raise ProtocolError("bad_field", f"field '{name}' must be {what}, got {_short(value)}")
    return value


def _as_tuple(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _short(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _session(msg: dict) -> str:
    name = _field(msg, "session", str, DEFAULT_SESSION, "a session name")
    if not SESSION_PATTERN.match(name):
        raise ProtocolError("bad_field", f"field 'session' must match {SESSION_PATTERN.pattern}, got {_short(name)}")
    return name


def parse_client_message(data: str | bytes) -> ClientMessage:
    """One received websocket message → a typed request; ProtocolError(code, message) otherwise."""
    if isinstance(data, (bytes, bytearray, memoryview)):
        raise ProtocolError("binary_not_accepted", "send JSON text messages; binary messages are server → client only")
    try:
        msg = json.loads(data)
    except (ValueError, RecursionError):
        raise ProtocolError("bad_json", "message is not valid JSON") from None
    if not isinstance(msg, dict):
        raise ProtocolError("bad_json", f"message must be a JSON object, got {type(msg).__name__}")
    kind = msg.get("type")
    if kind == "subscribe":
        return _parse_subscribe(msg)
    if kind == "audio":
        return _parse_audio(msg)
    if kind == "control":
        return _parse_control(msg)
    if kind == "ping":
        ping_id = msg.get("id")
        # Echoed back in the pong: only what JSON can carry (1e999 parses to inf, which no reply can hold).
        keep = isinstance(ping_id, (str, int)) or (isinstance(ping_id, float) and math.isfinite(ping_id))
        return Ping(ping_id if keep else None)
    raise ProtocolError("unknown_type", f"'type' must be one of {', '.join(CLIENT_TYPES)}; got {_short(kind)}")


def _parse_subscribe(msg: dict) -> Subscribe:
    streams = _field(msg, "streams", list, ["motion"], "a list of stream names")
    if len(streams) > len(STREAMS):
        raise ProtocolError("bad_field", f"field 'streams' lists {len(streams)} entries; there are {len(STREAMS)}")
    for s in streams:
        if s not in STREAMS:
            raise ProtocolError("unknown_stream", f"stream {_short(s)} is not one of {', '.join(STREAMS)}")
    fmt = _field(msg, "format", str, "json", "'json' or 'binary'")
    if fmt not in FORMATS:
        raise ProtocolError("bad_field", f"field 'format' must be 'json' or 'binary', got {_short(fmt)}")
    return Subscribe(session=_session(msg), streams=tuple(dict.fromkeys(streams)), format=fmt)


def _parse_audio(msg: dict) -> AudioPush:
    role = _field(msg, "role", str, what="'user' or 'avatar'")
    if role not in ROLES:
        raise ProtocolError("bad_field", f"field 'role' must be 'user' or 'avatar', got {_short(role)}")
    rate = _field(msg, "rate", int, SAMPLE_RATE, "an integer sample rate in Hz")
    if not MIN_AUDIO_RATE <= rate <= MAX_AUDIO_RATE:
        raise ProtocolError("bad_audio", f"'rate' {rate} is outside {MIN_AUDIO_RATE}..{MAX_AUDIO_RATE} Hz")
    channels = _field(msg, "channels", int, 1, "an integer channel count")
    if not 1 <= channels <= MAX_AUDIO_CHANNELS:
        raise ProtocolError("bad_audio", f"'channels' {channels} is outside 1..{MAX_AUDIO_CHANNELS}")
    text = _field(msg, "data", str, what="base64 of PCM16 little-endian samples")
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ProtocolError("bad_audio", "'data' is not valid base64") from None
    if len(raw) % (2 * channels):
        raise ProtocolError(
            "bad_audio", f"'data' has {len(raw)} bytes, not a whole number of {channels}-channel PCM16 samples"
        )
    pcm = np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0
    if channels > 1:
        pcm = pcm.reshape(-1, channels).mean(axis=1)
    return AudioPush(session=_session(msg), role=role, rate=rate, samples=pcm)


def _parse_control(msg: dict) -> Control:
    action = _field(msg, "action", str, what=f"one of {', '.join(ACTIONS)}")
    if action not in ACTIONS:
        raise ProtocolError("unknown_action", f"'action' must be one of {', '.join(ACTIONS)}; got {_short(action)}")
    params: dict[str, float] = {}
    if action == "guidance":
        lo, hi = GUIDANCE_RANGE
        for name in ("cfg_avatar", "cfg_user"):
            if name in msg:
                value = _field(msg, name, (int, float), what="a number")
                if not (math.isfinite(value) and lo <= value <= hi):
                    raise ProtocolError("bad_field", f"field '{name}' must be within {lo}..{hi}, got {_short(value)}")
                params[name] = float(value)
        if not params:
            raise ProtocolError("bad_field", "'guidance' needs 'cfg_avatar' and/or 'cfg_user'")
    return Control(session=_session(msg), action=action, params=params)


# --- server → client --------------------------------------------------------------------------------------


def _dumps(obj: dict) -> str:
    return json.dumps(obj, separators=(",", ":"), allow_nan=False)


def _floats(values: np.ndarray, digits: int = 5) -> list[float]:
    return [round(v, digits) for v in np.asarray(values, dtype=np.float64).tolist()]


def hello(session: str, *, model: dict, sessions: list[str], streams_available: list[str], server: dict) -> str:
    """The first message on every connection: everything a client needs to decode the streams."""
    return _dumps({
        "type": "hello",
        "protocol": PROTOCOL_VERSION,
        "fps": FPS,
        "layout_version": LAYOUT_VERSION,
        "channels": list(CHANNELS),
        "num_channels": NUM_CHANNELS,
        "sample_rate": SAMPLE_RATE,
        "binary_frame_bytes": FRAME_BYTES,
        "session": session,
        "sessions": sessions,
        "streams": list(STREAMS),
        "streams_available": streams_available,
        "model": model,
        "server": server,
    })  # fmt: skip


def subscribed(session: str, streams: tuple[str, ...], fmt: str) -> str:
    return _dumps({"type": "subscribed", "session": session, "streams": list(streams), "format": fmt})


def motion_json(index: int, t: float, values: np.ndarray, session: str, flags: int = 0) -> str:
    return _dumps({"type": "motion", "frame": index, "t": round(t, 6), "values": _floats(values),
                   "flags": flags, "session": session})  # fmt: skip


def motion_binary(index: int, t: float, values: np.ndarray, flags: int = 0) -> bytes:
    """Exactly one .afm frame record (FRAME_BYTES bytes): the only kind of binary message."""
    return encode_frame(index, t, values, flags)


def latent_json(index: int, t: float, latent: np.ndarray, session: str) -> str:
    return _dumps({"type": "latent", "frame": index, "t": round(t, 6), "values": _floats(latent), "session": session})


def frame_json(index: int, t: float, jpeg: bytes, session: str) -> str:
    return _dumps({"type": "frame", "frame": index, "t": round(t, 6), "jpeg": base64.b64encode(jpeg).decode("ascii"),
                   "session": session})  # fmt: skip


def pcm16_base64(samples: np.ndarray) -> str:
    # x32768 mirrors the decoder (int16 / 32768), so pushed PCM16 comes back bit-exact.
    pcm = np.clip(np.round(np.asarray(samples, dtype=np.float32) * 32768.0), -32768, 32767)
    return base64.b64encode(pcm.astype("<i2").tobytes()).decode("ascii")


def audio_json(index: int, t: float, samples: np.ndarray, session: str) -> str:
    """The avatar's voice for motion frame ``index``, stamped with that frame's time (so they line up)."""
    return _dumps({"type": "audio", "role": "avatar", "frame": index, "t": round(t, 6), "rate": SAMPLE_RATE,
                   "data": pcm16_base64(samples), "session": session})  # fmt: skip


def status(session: str, **fields: Any) -> str:
    return _dumps({"type": "status", "session": session, **fields})


def ack(action: str, session: str, **fields: Any) -> str:
    return _dumps({"type": "ack", "action": action, "session": session, **fields})


def pong(ping_id: Any) -> str:
    return _dumps({"type": "pong", "id": ping_id})


def error(code: str, message: str) -> str:
    assert code in ERROR_CODES, code
    return _dumps({"type": "error", "code": code, "message": message})
