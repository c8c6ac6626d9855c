"""Protocol fuzzing without sockets: hypothesis property tests of every client message type and of the binary
frame decoder, plus the seeded mutation fuzzer that ``test_fuzz_server.py`` and ``benchmarks/fuzz_100k.py``
send over real sockets.

The property: whatever arrives, ``parse_client_message`` returns a well-formed typed request or raises
``ProtocolError`` with a documented code — never anything else — and ``decode_frame`` returns a finite frame
or raises ``MotionFormatError``. (Known-answer cases of each error code are in test_protocol_messages.py.)
"""

from __future__ import annotations

import base64
import json
import math
import random
import string

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from af_plugin.errors import MotionFormatError, ProtocolError
from af_plugin.motion.codecs.afm import FRAME_BYTES, decode_frame, decode_frames, encode_frame
from af_plugin.motion.contract import NUM_CHANNELS
from af_plugin.protocol import messages as proto
from af_plugin.protocol.messages import (
    ACTIONS,
    CLIENT_TYPES,
    ERROR_CODES,
    FORMATS,
    GUIDANCE_RANGE,
    MAX_AUDIO_RATE,
    MIN_AUDIO_RATE,
    ROLES,
    SESSION_PATTERN,
    STREAMS,
    AudioPush,
    Control,
    Ping,
    Subscribe,
    parse_client_message,
)

FUZZ = settings(max_examples=300, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))
FIELDS = ("type", "session", "streams", "format", "role", "rate", "channels", "data", "action", "cfg_avatar",
          "cfg_user", "id")  # fmt: skip


def outcome(message: str | bytes) -> str:
    """'ok:<type>' or the error code; anything but ProtocolError propagates (and fails the test)."""
    try:
        request = parse_client_message(message)
    except ProtocolError as e:
        assert e.code in ERROR_CODES, e.code
        assert str(e) and len(str(e)) < 400, "error messages are short and say what is wrong"
        return e.code
    check_well_formed(request)
    return "ok:" + type(request).__name__


def check_well_formed(request) -> None:
    """What a parsed request promises the server, whatever the input was."""
    if isinstance(request, Ping):
        assert request.id is None or isinstance(request.id, (str, int, float))
        assert json.loads(proto.pong(request.id))["type"] == "pong"  # the reply can be built (no NaN/inf)
        return
    assert SESSION_PATTERN.match(request.session)
    if isinstance(request, Subscribe):
        assert set(request.streams) <= set(STREAMS) and len(set(request.streams)) == len(request.streams)
        assert request.format in FORMATS
    elif isinstance(request, AudioPush):
        assert request.role in ROLES and MIN_AUDIO_RATE <= request.rate <= MAX_AUDIO_RATE
        assert request.samples.dtype == np.float32 and request.samples.ndim == 1
        assert np.isfinite(request.samples).all() and np.abs(request.samples).max(initial=0) <= 1.0
    elif isinstance(request, Control):
        assert request.action in ACTIONS
        for value in request.params.values():
            assert math.isfinite(value) and GUIDANCE_RANGE[0] <= value <= GUIDANCE_RANGE[1]
    else:
        raise AssertionError(f"unexpected request type {type(request)}")


# --- hypothesis: arbitrary input ------------------------------------------------------------------------

json_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=40))
json_values = st.recursive(json_scalars, lambda kids: st.lists(kids, max_size=5) | st.dictionaries(
    st.text(max_size=10), kids, max_size=5), max_leaves=20)  # fmt: skip
field_values = st.one_of(
    json_values,
    st.sampled_from([*CLIENT_TYPES, *STREAMS, *FORMATS, *ROLES, *ACTIONS, "default", "npc-1"]),
    st.lists(st.sampled_from([*STREAMS, "video", ""]), max_size=8),
    st.integers(MIN_AUDIO_RATE - 10, MAX_AUDIO_RATE + 10),
    st.binary(max_size=64).map(lambda b: base64.b64encode(b).decode()),
)
messages = st.dictionaries(st.sampled_from(FIELDS), field_values, max_size=8).map(
    lambda d: d | {"type": d.get("type", "ping")}
)


@FUZZ
@given(st.text(max_size=200))
def test_any_text_parses_or_gets_a_code(text):
    outcome(text)


@FUZZ
@given(st.binary(max_size=300))
def test_any_binary_message_is_refused_with_a_code(data):
    assert outcome(data) == "binary_not_accepted"


@FUZZ
@given(messages)
def test_any_json_object_parses_or_gets_a_code(msg):
    outcome(json.dumps(msg))


@FUZZ
@given(st.floats() | json_values)
def test_ping_echoes_any_id_it_can_send_back(ping_id):
    """Found by benchmarks/fuzz_100k.py: an id of 1e999 (inf) or NaN closed the connection with 1011."""
    assert outcome(json.dumps({"type": "ping", "id": ping_id})) == "ok:Ping"


@FUZZ
@given(
    st.lists(st.sampled_from(STREAMS), max_size=5),
    st.sampled_from(FORMATS),
    st.from_regex(SESSION_PATTERN, fullmatch=True),
)
def test_valid_subscribe_round_trips(streams, fmt, session):
    req = parse_client_message(json.dumps({"type": "subscribe", "streams": streams, "format": fmt, "session": session}))
    assert req == Subscribe(session, tuple(dict.fromkeys(streams)), fmt)


@FUZZ
@given(st.lists(st.integers(-32768, 32767), max_size=400), st.integers(1, 4), st.sampled_from(ROLES),
       st.integers(MIN_AUDIO_RATE, MAX_AUDIO_RATE))  # fmt: skip
def test_valid_audio_round_trips(samples, channels, role, rate):
    samples = samples[: len(samples) - len(samples) % channels]
    pcm = np.asarray(samples, "<i2")
    data = base64.b64encode(pcm.tobytes()).decode()
    req = parse_client_message(json.dumps({"type": "audio", "role": role, "rate": rate, "channels": channels,
                                           "data": data}))  # fmt: skip
    expect = pcm.astype(np.float32).reshape(-1, channels).mean(axis=1) / 32768.0 if len(pcm) else np.zeros(0)
    assert req.role == role and req.rate == rate
    np.testing.assert_allclose(req.samples, expect, atol=1e-6)


@FUZZ
@given(
    st.sampled_from(ACTIONS),
    st.floats(allow_nan=True, allow_infinity=True),
    st.from_regex(SESSION_PATTERN, fullmatch=True),
)
def test_control_accepts_only_finite_guidance_in_range(action, value, session):
    result = outcome(json.dumps({"type": "control", "action": action, "cfg_avatar": value, "session": session}))
    lo, hi = GUIDANCE_RANGE
    if action == "guidance" and not (math.isfinite(value) and lo <= value <= hi):
        assert result == "bad_field"
    else:
        assert result == "ok:Control"


# --- hypothesis: the binary frame decoder (the websocket's binary wire format) ---------------------------


@FUZZ
@given(st.binary(max_size=2 * FRAME_BYTES))
def test_decode_frame_of_any_bytes(data):
    try:
        index, t, flags, values = decode_frame(data)
    except MotionFormatError:
        return
    assert len(data) == FRAME_BYTES
    assert values.shape == (NUM_CHANNELS,) and np.isfinite(values).all() and math.isfinite(t)
    assert 0 <= index < 2**32 and 0 <= flags < 2**16


@FUZZ
@given(st.binary(max_size=5 * FRAME_BYTES))
def test_decode_frames_of_any_bytes(data):
    try:
        frames = decode_frames(data)
    except MotionFormatError:
        return
    assert len(frames) * FRAME_BYTES == len(data) and np.isfinite(frames["values"]).all()


@FUZZ
@given(st.integers(0, 2**32 - 1), st.floats(allow_nan=False, allow_infinity=False), st.integers(0, 2**16 - 1),
       st.lists(st.floats(-1e6, 1e6, width=32), min_size=NUM_CHANNELS, max_size=NUM_CHANNELS),
       st.lists(st.tuples(st.integers(0, FRAME_BYTES - 1), st.integers(0, 255)), max_size=6))  # fmt: skip
def test_frame_round_trip_and_byte_mutations(index, t, flags, values, flips):
    frame = encode_frame(index, t, np.asarray(values, np.float32), flags)
    assert len(frame) == FRAME_BYTES
    i2, t2, f2, v2 = decode_frame(frame)
    assert (i2, t2, f2) == (index, t, flags) and np.array_equal(v2, np.asarray(values, np.float32))
    mutated = bytearray(frame)
    for pos, byte in flips:
        mutated[pos] = byte
    try:
        _, t3, _, v3 = decode_frame(bytes(mutated))
    except MotionFormatError as e:
        assert "NaN or Inf" in str(e)
        return
    assert np.isfinite(v3).all() and math.isfinite(t3)


# --- the seeded mutation fuzzer ---------------------------------------------------------------------------


def _pcm(rng: random.Random, n: int) -> str:
    return base64.b64encode(np.asarray([rng.randint(-32768, 32767) for _ in range(n)], "<i2").tobytes()).decode()


def seed_messages(rng: random.Random) -> list[dict]:
    """One valid message of every client type (and every control action)."""
    return [
        {"type": "subscribe", "streams": ["motion", "audio"], "format": "json", "session": "fuzz"},
        {"type": "subscribe", "streams": ["motion", "latent", "status"], "format": "binary", "session": "fuzz"},
        {"type": "subscribe", "streams": [], "session": "fuzz"},
        {"type": "audio", "role": "avatar", "rate": 16000, "data": _pcm(rng, 320), "session": "fuzz"},
        {"type": "audio", "role": "user", "rate": 48000, "channels": 2, "data": _pcm(rng, 192), "session": "fuzz"},
        *({"type": "control", "action": a, "session": "fuzz"} for a in ACTIONS if a != "guidance"),
        {"type": "control", "action": "guidance", "cfg_avatar": 1.5, "cfg_user": 0.5, "session": "fuzz"},
        {"type": "ping", "id": rng.randint(0, 10**6)},
    ]


def _random_value(rng: random.Random, depth: int = 0):
    kind = rng.randrange(11)
    if kind == 0:
        return None
    if kind == 1:
        return rng.choice([True, False])
    if kind == 2:
        return rng.choice([0, -1, 1, 2**31, 2**63, -(2**70), 10**400 // 10**380])
    if kind == 3:
        return rng.choice([0.5, -0.0, 1e308, -1e-308, 3.7, 11.0])
    if kind == 4:
        return "".join(rng.choice(string.printable) for _ in range(rng.randrange(0, 30)))
    if kind == 5:
        return "".join(chr(rng.randrange(0x20, 0x2FFFF)) for _ in range(rng.randrange(1, 10)))
    if kind == 6:
        return rng.choice([*CLIENT_TYPES, *STREAMS, *FORMATS, *ROLES, *ACTIONS, "frames", "motion", "default"])
    if kind == 7 and depth < 3:
        return [_random_value(rng, depth + 1) for _ in range(rng.randrange(0, 6))]
    if kind == 8 and depth < 3:
        return {rng.choice(FIELDS): _random_value(rng, depth + 1) for _ in range(rng.randrange(0, 4))}
    if kind == 9:
        return "x" * rng.choice([64, 65, 1000, 20000])
    return rng.sample(list(STREAMS) + ["nope"], rng.randrange(0, 6))


def _mutate_structure(rng: random.Random, msg: dict) -> dict:
    msg = dict(msg)
    for _ in range(rng.randrange(1, 4)):
        op = rng.randrange(5)
        keys = list(msg)
        if op == 0 and keys:
            del msg[rng.choice(keys)]
        elif op == 1:
            msg[rng.choice(FIELDS)] = _random_value(rng)
        elif op == 2 and keys:
            msg[rng.choice(keys)] = _random_value(rng)
        elif op == 3:
            msg["session"] = rng.choice(["fuzz", "fuzz2", "default", "", "a" * 65, "../etc", "ok.name-1",
                                         "spaced name", "ünï"])  # fmt: skip
        else:
            msg["type"] = rng.choice([*CLIENT_TYPES, "Subscribe", "", "hello", "error", 7, None])
    return msg


def _mutate_text(rng: random.Random, text: str) -> str:
    chars = list(text)
    for _ in range(rng.randrange(1, 5)):
        op = rng.randrange(5)
        if not chars:
            break
        pos = rng.randrange(len(chars))
        if op == 0:
            chars[pos] = rng.choice(string.printable + "\x00\ufffd\u2028")
        elif op == 1:
            del chars[pos : pos + rng.randrange(1, 8)]
        elif op == 2:
            chars[pos:pos] = list(rng.choice(['"', "{", "}", "[", "]", ",", ":", "\\", "null", "NaN", "1e999"]))
        elif op == 3:
            chars = chars[:pos]  # truncated
        else:
            chars[pos:pos] = chars[pos : pos + rng.randrange(1, 20)]  # duplicated span
    return "".join(chars)


def mutated_message(rng: random.Random) -> str | bytes:
    """One seeded fuzz message: a valid message, or one broken at the JSON, text or frame level."""
    seed = rng.choice(seed_messages(rng))
    kind = rng.randrange(10)
    if kind == 0:
        return json.dumps(seed)
    if kind <= 4:
        msg = _mutate_structure(rng, seed)
    elif kind <= 7:
        return _mutate_text(rng, json.dumps(seed))
    elif kind == 8:
        return rng.choice([
            bytes(rng.randrange(256) for _ in range(rng.randrange(0, 300))),
            json.dumps(seed).encode(),
            encode_frame(1, 0.04, np.zeros(NUM_CHANNELS, np.float32)),
        ])  # fmt: skip
    else:
        return rng.choice([
            "[" * 50_000 + "]" * 50_000,  # deep nesting (RecursionError inside json)
            json.dumps([seed]), json.dumps(seed["type"]), "", " ", "null", "{}", '{"type": "ping"}' * 2,
            '{"type": "ping", "type": "audio"}', json.dumps(seed) + "\x00",
        ])  # fmt: skip
    if msg.get("session") == "watch":
        msg["session"] = "fuzz"
    return json.dumps(msg, allow_nan=True)


def test_mutation_fuzzer_is_seeded_and_covers_every_outcome():
    a = [mutated_message(random.Random(7)) for _ in range(3)]
    b = [mutated_message(random.Random(7)) for _ in range(3)]
    assert a == b
    rng = random.Random(1)
    outcomes = {outcome(mutated_message(rng)) for _ in range(3000)}
    assert {"ok:Subscribe", "ok:AudioPush", "ok:Control", "ok:Ping"} <= outcomes
    assert {"bad_json", "binary_not_accepted", "unknown_type", "bad_field", "unknown_stream", "bad_audio",
            "unknown_action"} <= outcomes  # fmt: skip
