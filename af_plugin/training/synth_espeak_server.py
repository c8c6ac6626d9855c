"""A helper *process* that speaks through libespeak-ng and reports when each phoneme starts.

Why a process of its own: the espeak-ng command line gives no phoneme timing for its own voices, while the
library's synthesis callback does (PHONEME events with their sample position). But the library keeps state
between calls (its waveform phase carries over), so the same sentence comes out a few samples different
depending on what was spoken before. One fresh helper per conversation makes the call history — and thus
every sample — a function of the conversation's seed alone, whichever worker runs it.

Standard library only (it starts in ~30 ms). Run as ``python synth_espeak_server.py``; protocol on
stdin/stdout:

* first line out: ``{"ok": true, "rate": 22050}`` or ``{"ok": false, "error": "..."}``;
* each request in: one JSON line ``{"text", "voice", "rate", "pitch", "range", "amplitude", "gap"}``;
* each reply out: one JSON line ``{"samples": n, "events": [[phoneme, sample], ...], "phonemes": "..."}``
  followed by n little-endian int16 samples (mono, at ``rate``).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import sys

AUDIO_OUTPUT_SYNCHRONOUS = 2
INITIALIZE_PHONEME_EVENTS = 0x0001
INITIALIZE_DONT_EXIT = 0x8000
EVENT_LIST_TERMINATED, EVENT_PHONEME = 0, 7
RATE, VOLUME, PITCH, RANGE, WORDGAP = 1, 2, 3, 4, 7
CHARS_UTF8 = 1


class _Id(ctypes.Union):
    _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8)]


class _Event(ctypes.Structure):
    _fields_ = [("type", ctypes.c_int), ("unique_identifier", ctypes.c_uint), ("text_position", ctypes.c_int),
                ("length", ctypes.c_int), ("audio_position", ctypes.c_int), ("sample", ctypes.c_int),
                ("user_data", ctypes.c_void_p), ("id", _Id)]  # fmt: skip


_Callback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event))


def load_library() -> ctypes.CDLL:
    for name in ("libespeak-ng.so.1", ctypes.util.find_library("espeak-ng"), "libespeak-ng.dylib", "libespeak-ng.dll"):
        if not name:
            continue
        try:
            return ctypes.CDLL(name)
        except OSError:
            continue
    raise OSError("libespeak-ng not found (install espeak-ng; the library ships with it)")


def serve(stdin, stdout) -> None:
    try:
        lib = load_library()
        rate = lib.espeak_Initialize(
            AUDIO_OUTPUT_SYNCHRONOUS, 0, None, INITIALIZE_PHONEME_EVENTS | INITIALIZE_DONT_EXIT
        )
        if rate <= 0:
            raise OSError(f"espeak_Initialize failed ({rate})")
    except OSError as e:
        stdout.write(json.dumps({"ok": False, "error": str(e)}).encode() + b"\n")
        stdout.flush()
        return
    lib.espeak_TextToPhonemes.restype = ctypes.c_char_p
    lib.espeak_TextToPhonemes.argtypes = [ctypes.POINTER(ctypes.c_char_p), ctypes.c_int, ctypes.c_int]
    chunks: list[bytes] = []
    events: list[list] = []

    def on_audio(wav, n, ev) -> int:
        if n > 0 and wav:
            chunks.append(ctypes.string_at(wav, n * 2))
        i = 0
        while ev[i].type != EVENT_LIST_TERMINATED:
            if ev[i].type == EVENT_PHONEME:
                events.append([ev[i].id.string.decode("ascii", "replace"), ev[i].sample])
            i += 1
        return 0

    callback = _Callback(on_audio)  # keep a reference for the library's lifetime
    lib.espeak_SetSynthCallback(callback)
    stdout.write(json.dumps({"ok": True, "rate": rate}).encode() + b"\n")
    stdout.flush()
    for line in stdin:
        req = json.loads(line)
        chunks.clear()
        events.clear()
        lib.espeak_SetVoiceByName(req["voice"].encode())
        for key, param in (("rate", RATE), ("amplitude", VOLUME), ("pitch", PITCH), ("range", RANGE), ("gap", WORDGAP)):
            lib.espeak_SetParameter(param, int(req[key]), 0)
        text = req["text"].encode("utf-8")
        phonemes = []
        buf = ctypes.create_string_buffer(text)
        ptr = ctypes.c_char_p(ctypes.addressof(buf))
        while ptr.value:
            out = lib.espeak_TextToPhonemes(ctypes.byref(ptr), CHARS_UTF8, 0)
            phonemes.append(out.decode("utf-8", "replace") if out else "")
        lib.espeak_Synth(text, len(text) + 1, 0, 0, 0, CHARS_UTF8, None, None)
        lib.espeak_Synchronize()
        audio = b"".join(chunks)
        header = {"samples": len(audio) // 2, "events": events, "phonemes": "\n".join(phonemes)}
        stdout.write(json.dumps(header).encode() + b"\n")
        stdout.write(audio)
        stdout.flush()


if __name__ == "__main__":
    serve(sys.stdin, sys.stdout.buffer)
