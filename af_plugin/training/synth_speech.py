"""Real speech from espeak-ng plus a phoneme track aligned to the audio.

Two ways to run espeak-ng, both separate processes:

* **with timing** (default): a helper process (synth_espeak_server.py, one per conversation) drives
  libespeak-ng, whose synthesis callback reports the sample at which every phoneme starts — exact lip
  timing. One fresh helper per conversation keeps the output a function of the seed alone.
* **fallback**, when the library cannot be loaded: the ``espeak-ng`` command (``-x -w``) per utterance.
  It prints phoneme mnemonics but no timing for its own voices (``--pho`` works only with MBROLA voices), so
  the phonemes are laid over the *active* (non-silent) 10 ms hops by nominal weight; measured against the
  library's events this is off by ~55 ms (median) and ~200 ms (90th percentile).

Either way the jaw is driven by the audio envelope, so timing only affects lip *shapes*.
"""

from __future__ import annotations

import difflib
import json
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

from af_plugin.constants import SAMPLE_RATE
from af_plugin.errors import AFError

ESPEAK_RATE = 22050
ENVELOPE_HOP = 160  # samples at 16 kHz: 10 ms, the resolution motion rules work at
ENVELOPE_RATE = SAMPLE_RATE // ENVELOPE_HOP  # 100 Hz

# espeak-ng voice variants (``-v lang+variant``): a spread of male, female and odd voices.
VARIANTS_MALE = ("m1", "m2", "m3", "m4", "m5", "m6", "m7", "Alex", "Andy", "boris", "david", "ed", "john",
                 "max", "paul", "pedro", "norbert", "iven")  # fmt: skip
VARIANTS_FEMALE = ("f1", "f2", "f3", "f4", "f5", "Alicia", "Andrea", "Annie", "anika", "belinda", "linda",
                   "aunty")  # fmt: skip
LANGUAGE_VOICES = {"en": ("en-us", "en", "en-gb-scotland", "en-gb-x-rp"), "de": ("de",), "es": ("es",),
                   "fr": ("fr",)}  # fmt: skip


class SpeechSynthError(AFError):
    """espeak-ng is missing or failed."""


@dataclass(frozen=True)
class Voice:
    """One speaker's espeak-ng settings; kept for a whole conversation so a party sounds like one person."""

    language: str
    voice: str  # espeak-ng voice name + variant, e.g. "en-us+f3"
    rate_wpm: int  # -s
    pitch: int  # -p 0..99
    pitch_range: int  # intonation range 0..99 (library only: the 1.51 command line has no option for it)
    amplitude: int  # -a 0..200
    word_gap: int  # -g, in 10 ms units
    female: bool

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def random_voice(language: str, rng: np.random.Generator) -> Voice:
    female = bool(rng.random() < 0.5)
    variants = VARIANTS_FEMALE if female else VARIANTS_MALE
    bases = LANGUAGE_VOICES[language]
    base = bases[int(rng.integers(len(bases)))]
    return Voice(
        language=language,
        voice=f"{base}+{variants[int(rng.integers(len(variants)))]}",
        rate_wpm=int(rng.integers(135, 205)),
        pitch=int(rng.integers(25, 75)),
        pitch_range=int(rng.integers(30, 90)),
        amplitude=int(rng.integers(80, 160)),
        word_gap=int(rng.integers(0, 3)),
        female=female,
    )


@dataclass
class Utterance:
    """Speech for one sentence: 16 kHz float32 audio, phonemes timed in seconds from the audio start."""

    text: str
    audio: np.ndarray
    phonemes: list[tuple[str, float, float, bool]]  # (symbol, start, end, stressed)
    question: bool = False

    @property
    def duration(self) -> float:
        return len(self.audio) / SAMPLE_RATE


def espeak_path() -> str:
    path = shutil.which("espeak-ng")
    if path is None:
        raise SpeechSynthError(
            "espeak-ng is not installed; install it with `apt-get install espeak-ng` (see scripts/system-packages.sh)"
        )
    return path


class EspeakSession:
    """One libespeak-ng helper process (see module docstring); use one per conversation, as a context
    manager. ``EspeakSession.start()`` returns None when the library cannot be loaded."""

    def __init__(self, proc: subprocess.Popen, rate: int):
        self.proc, self.rate = proc, rate

    @classmethod
    def start(cls) -> EspeakSession | None:
        server = Path(__file__).with_name("synth_espeak_server.py")
        try:
            proc = subprocess.Popen([sys.executable, str(server)], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        except OSError:
            return None
        hello = json.loads(proc.stdout.readline() or b'{"ok": false}')
        if not hello.get("ok"):
            proc.stdin.close()
            proc.wait()
            return None
        return cls(proc, int(hello["rate"]))

    def speak(self, text: str, voice: Voice) -> tuple[np.ndarray, list[tuple[str, int]], str]:
        """(int16 audio at self.rate, [(phoneme, start sample)], phoneme mnemonics with stress marks)."""
        req = {"text": text, "voice": voice.voice, "rate": voice.rate_wpm, "pitch": voice.pitch,
               "range": voice.pitch_range, "amplitude": voice.amplitude, "gap": voice.word_gap}  # fmt: skip
        try:
            self.proc.stdin.write(json.dumps(req).encode() + b"\n")
            self.proc.stdin.flush()
            header = json.loads(self.proc.stdout.readline())
            audio = np.frombuffer(self.proc.stdout.read(2 * header["samples"]), dtype="<i2")
        except (OSError, ValueError, KeyError) as e:
            raise SpeechSynthError(f"the espeak-ng helper process failed ({e})") from None
        return audio, [(str(p), int(k)) for p, k in header["events"]], header["phonemes"]

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()
            self.proc.wait(timeout=10)

    def __enter__(self) -> EspeakSession:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def synthesize(text: str, voice: Voice, question: bool = False, session: EspeakSession | None = None) -> Utterance:
    """Speak ``text`` with ``voice``; returns trimmed 16 kHz audio and its timed phonemes (exact with a
    session, estimated without)."""
    if session is not None:
        pcm, events, phoneme_text = session.speak(text, voice)
        raw, rate = pcm.astype(np.float32) / 32768.0, session.rate
    else:
        raw, rate, phoneme_text = _synthesize_cli(text, voice)
        events = None
    audio = resample_poly(raw, SAMPLE_RATE, rate).astype(np.float32) if rate != SAMPLE_RATE else raw
    audio, offset = _trim(audio)
    symbols = parse_phonemes(phoneme_text)
    if events:
        phonemes = timed_phonemes(events, symbols, rate, len(raw), offset, len(audio) / SAMPLE_RATE)
    else:
        phonemes = align_phonemes(symbols, audio)
    return Utterance(text=text, audio=audio, phonemes=phonemes, question=question)


def _synthesize_cli(text: str, voice: Voice) -> tuple[np.ndarray, int, str]:
    with tempfile.TemporaryDirectory(prefix="af_espeak_") as tmp:
        wav = Path(tmp) / "u.wav"
        cmd = [espeak_path(), "-v", voice.voice, "-s", str(voice.rate_wpm), "-p", str(voice.pitch),
               "-a", str(voice.amplitude), "-g", str(voice.word_gap), "-x", "-w", str(wav), "--", text]  # fmt: skip
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        if proc.returncode != 0 or not wav.exists():
            raise SpeechSynthError(f"espeak-ng failed for {voice.voice!r}: {proc.stderr.strip()[:200]}")
        raw, rate = sf.read(wav, dtype="float32")
    if raw.ndim > 1:
        raw = raw.mean(axis=1)
    return raw, int(rate), proc.stdout


def timed_phonemes(
    events: list[tuple[str, int]], symbols: list[tuple[str, bool]], rate: int, n_raw: int, offset: float,
    duration: float,
) -> list[tuple[str, float, float, bool]]:  # fmt: skip
    """Library phoneme events → (symbol, start, end, stressed) in seconds of the trimmed audio. Stress
    comes from the mnemonic text (``'`` marks), matched to the events by symbol sequence."""
    starts = [k / rate - offset for _, k in events] + [n_raw / rate - offset]
    names = ["_" if p.startswith("_") else p for p, _ in events]
    stressed = [False] * len(names)
    matcher = difflib.SequenceMatcher(a=names, b=[s for s, _ in symbols], autojunk=False)
    for block in matcher.get_matching_blocks():
        for i in range(block.size):
            stressed[block.a + i] = symbols[block.b + i][1]
    out = []
    for i, name in enumerate(names):
        s, e = max(0.0, starts[i]), min(duration, starts[i + 1])
        if e > s and not (name == "_" and out and out[-1][0] == "_"):
            out.append((name, float(s), float(e), stressed[i]))
    return out


def _trim(audio: np.ndarray, threshold: float = 1e-3) -> tuple[np.ndarray, float]:
    """Cut leading/trailing silence espeak adds, keeping 20 ms on each side; returns (audio, seconds cut
    from the start)."""
    loud = np.flatnonzero(np.abs(audio) > threshold)
    if len(loud) == 0:
        return audio[:ENVELOPE_HOP], 0.0
    pad = SAMPLE_RATE // 50
    start = max(0, loud[0] - pad)
    return np.ascontiguousarray(audio[start : loud[-1] + pad]), start / SAMPLE_RATE


# --- phonemes -------------------------------------------------------------------------------------------
# Multi-character espeak mnemonics first so the greedy parser prefers them.
_MULTI = sorted(
    ["aI", "aU", "eI", "oU", "OI", "@U", "I@", "e@", "U@", "i@", "tS", "dZ", "A~", "O~", "E~", "W~", "Y:",
     "i:", "u:", "A:", "O:", "3:", "a:", "e:", "o:", "y:", "2:", "E:", "@-", "aI@", "aU@", "rr", "OY", "aa"],
    key=len, reverse=True,
)  # fmt: skip
VOWEL_CHARS = set("aeiouyAEIOUVY@0236789&")
ROUNDED = set("oOuUyYw0289")
OPEN_VOWELS = set("aA&V")
CLOSE_VOWELS = set("iIuUyY")
BILABIAL = set("mbp")
LABIODENTAL = set("fv")


def parse_phonemes(phoneme_text: str) -> list[tuple[str, bool]]:
    """espeak ``-x`` text → [(symbol, stressed)], stress marks (' primary, , secondary) applied to the
    next vowel; word and clause boundaries become "_" (pause candidates)."""
    out: list[tuple[str, bool]] = []
    stress_pending = False
    for line in phoneme_text.splitlines():
        i = 0
        while i < len(line):
            ch = line[i]
            if ch == "'":
                stress_pending = True
                i += 1
                continue
            if ch in " _|":
                if not out or out[-1][0] != "_":
                    out.append(("_", False))
                i += 1
                continue
            if ch in ",;:=#%!^-" and not any(line.startswith(m, i) for m in _MULTI):
                i += 1
                continue
            sym = next((m for m in _MULTI if line.startswith(m, i)), ch)
            is_vowel = sym[0] in VOWEL_CHARS
            out.append((sym, is_vowel and stress_pending))
            if is_vowel:
                stress_pending = False
            i += len(sym)
        if not out or out[-1][0] != "_":
            out.append(("_", False))
    while out and out[0][0] == "_":
        out.pop(0)
    while out and out[-1][0] == "_":
        out.pop()
    return out


def phoneme_weight(symbol: str) -> float:
    """Nominal relative duration: vowels long (diphthongs and long vowels longer), stops short."""
    if symbol == "_":
        return 0.3
    if symbol[0] in VOWEL_CHARS:
        return 1.5 if len(symbol) > 1 else 1.0
    if symbol[0] in "ptkbdgqc?":
        return 0.55
    return 0.7


def envelope(audio: np.ndarray) -> np.ndarray:
    """RMS per 10 ms hop (100 Hz), the time base every motion rule works on."""
    n = len(audio) // ENVELOPE_HOP
    if n == 0:
        return np.zeros(0, np.float32)
    frames = audio[: n * ENVELOPE_HOP].reshape(n, ENVELOPE_HOP).astype(np.float64)
    return np.sqrt((frames**2).mean(axis=1)).astype(np.float32)


def align_phonemes(symbols: list[tuple[str, bool]], audio: np.ndarray) -> list[tuple[str, float, float, bool]]:
    """Lay phonemes over the active (louder than 5 % of peak) 10 ms hops of the audio, by nominal weight."""
    env = envelope(audio)
    if not symbols or len(env) == 0:
        return []
    active = env > 0.05 * float(env.max() + 1e-9)
    if not active.any():
        active[:] = True
    # Cumulative active time: phoneme boundaries are placed where the active time reaches their share.
    cum_active = np.concatenate([[0.0], np.cumsum(active)])  # length n+1, in hops
    total = cum_active[-1]
    weights = np.array([phoneme_weight(s) for s, _ in symbols])
    bounds = np.concatenate([[0.0], np.cumsum(weights)]) / weights.sum() * total
    hop_s = ENVELOPE_HOP / SAMPLE_RATE
    hop_index = np.searchsorted(cum_active, bounds, side="left").clip(0, len(env))
    # searchsorted returns the first hop at which the active count reaches the bound
    times = hop_index * hop_s
    return [(sym, float(times[k]), float(max(times[k + 1], times[k] + hop_s)), stressed)
            for k, (sym, stressed) in enumerate(symbols)]  # fmt: skip


def pitch_track(audio: np.ndarray, fmin: float = 70.0, fmax: float = 400.0) -> np.ndarray:
    """F0 in Hz per 10 ms hop (0 where unvoiced), by normalised autocorrelation over a 40 ms window.

    Clean espeak speech has a strong, stable periodicity, so this simple estimator is reliable here (it is
    not meant for noisy recordings). Hop k's window is centred on the hop.
    """
    n = len(audio) // ENVELOPE_HOP
    win = 4 * ENVELOPE_HOP  # 40 ms: at least two periods of 70 Hz
    if n == 0:
        return np.zeros(0, np.float32)
    padded = np.concatenate([np.zeros(win // 2, np.float32), audio, np.zeros(win, np.float32)])
    starts = np.arange(n) * ENVELOPE_HOP
    frames = padded[starts[:, None] + np.arange(win)[None, :]].astype(np.float64)
    frames -= frames.mean(axis=1, keepdims=True)
    spec = np.fft.rfft(frames * np.hanning(win), n=2 * win)
    ac = np.fft.irfft(np.abs(spec) ** 2)[:, :win]
    energy = ac[:, 0] + 1e-12
    lo, hi = int(SAMPLE_RATE / fmax), int(SAMPLE_RATE / fmin)
    lag = lo + np.argmax(ac[:, lo:hi], axis=1)
    strength = ac[np.arange(n), lag] / energy
    loud = np.sqrt(energy / win) > 0.01 * (np.sqrt(energy / win).max() + 1e-12)
    f0 = np.where((strength > 0.45) & loud, SAMPLE_RATE / lag, 0.0)
    return f0.astype(np.float32)
