"""Written-down behaviour rules that turn a conversation plan into 62-channel motion for each party.

Everything is computed on a 100 Hz grid (the 10 ms audio-envelope hop) and pooled to 25 fps frames at the
end (mean; max for eyelids, so a 100 ms blink is not averaged away). Each rule's parameters live in
``BehaviourRules`` (ranges are drawn once per party per conversation into a *persona*), and both go into
the manifest, so a reader can see exactly what the model is being taught. docs/data.md lists the rules.

Signs follow af_plugin/motion/contract.py: headPitch > 0 is chin up (a nod starts chin *down*: negative),
gaze yaw > 0 looks toward the avatar's own left.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
from scipy.ndimage import gaussian_filter1d

from af_plugin.constants import FPS
from af_plugin.motion.contract import CHANNEL_INDEX, CHANNEL_RANGES, CHANNELS, NUM_CHANNELS
from af_plugin.training.synth_speech import (
    CLOSE_VOWELS,
    ENVELOPE_RATE,
    OPEN_VOWELS,
    ROUNDED,
    VOWEL_CHARS,
    envelope,
    pitch_track,
)
from af_plugin.training.timeline import Plan, other

HOPS_PER_FRAME = ENVELOPE_RATE // FPS  # 4

# Phoneme classes on the 100 Hz grid.
SILENCE, OPEN, MID, CLOSE, CONSONANT, LABIODENTAL, BILABIAL = range(7)


@dataclass(frozen=True)
class BehaviourRules:
    """Every behaviour parameter. ``(lo, hi)`` tuples are drawn uniformly per party per conversation."""

    # --- speaker: mouth follows own speech --------------------------------------------------------
    mouth_lead_seconds: tuple[float, float] = (0.03, 0.08)  # mouth moves this much before the sound
    jaw_gain: tuple[float, float] = (0.35, 0.65)
    jaw_rest: tuple[float, float] = (0.0, 0.03)  # jawOpen in silence
    envelope_exponent: float = 0.6  # loudness → opening is compressive
    openness: dict[str, float] = field(default_factory=lambda: {
        "silence": 0.0, "open_vowel": 1.0, "mid_vowel": 0.75, "close_vowel": 0.45, "consonant": 0.35,
        "labiodental": 0.2, "bilabial": 0.05})  # fmt: skip
    funnel_gain: tuple[float, float] = (0.25, 0.55)  # rounded vowels (o, u, y, w) → mouthFunnel
    pucker_gain: tuple[float, float] = (0.25, 0.55)  # close rounded (u, U, y, w) → mouthPucker
    close_gain: tuple[float, float] = (0.25, 0.5)  # bilabials m/b/p → mouthClose
    press_gain: tuple[float, float] = (0.1, 0.3)  # b/p → mouthPressLeft/Right
    stretch_gain: tuple[float, float] = (0.1, 0.3)  # spread vowels (i, e) → mouthStretch
    mouth_smoothing_seconds: float = 0.02  # Gaussian sigma on phoneme shape tracks
    # --- speaker: brows and head follow prosody -------------------------------------------------------
    brow_stress_probability: float = 0.2  # per stressed vowel (times the persona's expressiveness)
    brow_stress_amplitude: tuple[float, float] = (0.15, 0.45)
    brow_question_amplitude: tuple[float, float] = (0.35, 0.7)
    brow_question_window_seconds: tuple[float, float] = (0.8, 0.4)  # before / after a question's end
    beat_probability: float = 0.5  # head beat (small down-nod) per stressed vowel
    beat_amplitude_rad: tuple[float, float] = (0.015, 0.05)
    beat_seconds: float = 0.25
    energy_head_gain_rad: tuple[float, float] = (0.01, 0.04)  # louder stretches lift the chin
    f0_head_gain_rad: tuple[float, float] = (0.008, 0.025)  # per 4 semitones above own median F0: chin up
    f0_brow_gain: tuple[float, float] = (0.03, 0.1)  # per 4 semitones above median: inner brows up
    question_tilt_rad: tuple[float, float] = (0.03, 0.08)  # headRoll over a question's last second
    # --- listener: nods and backchannels ---------------------------------------------------------------
    nod_probability: float = 0.6  # at the other's within-turn pause, when not backchannelling
    nod_with_backchannel_probability: float = 0.85
    nod_delay_seconds: tuple[float, float] = (0.2, 0.6)  # after the other's pause onset
    nod_amplitude_rad: tuple[float, float] = (0.04, 0.12)
    nod_frequency_hz: tuple[float, float] = (1.5, 2.5)
    nod_cycles: tuple[int, int] = (1, 2)
    spontaneous_nods_per_minute: float = 1.0  # while the other speaks, unrelated to pauses
    # --- smiles ---------------------------------------------------------------------------------------------
    smile_base: tuple[float, float] = (0.0, 0.12)
    smile_events_per_minute: tuple[float, float] = (1.0, 4.0)
    smile_amplitude: tuple[float, float] = (0.2, 0.6)
    smile_seconds: tuple[float, float] = (1.0, 3.0)
    mirror_probability: float = 0.7  # listener mirrors the other's smile ...
    mirror_lag_seconds: tuple[float, float] = (0.3, 0.9)  # ... this late ...
    mirror_gain: tuple[float, float] = (0.5, 0.9)  # ... this strongly
    # --- gaze -----------------------------------------------------------------------------------------------
    gaze_offset_rad: tuple[float, float] = (-0.03, 0.03)  # where "at the partner" is for this person
    fixation_seconds_speaking: float = 1.4  # mean, gamma(2)-distributed
    fixation_seconds_listening: float = 2.2
    saccade_yaw_rad: float = 0.06
    saccade_pitch_rad: float = 0.04
    turn_start_lookaway_probability: float = 0.7  # look away while starting a turn (thinking)
    lookaway_before_turn_seconds: tuple[float, float] = (0.2, 0.6)
    lookaway_after_turn_seconds: tuple[float, float] = (0.5, 1.5)
    lookaway_yaw_rad: tuple[float, float] = (0.15, 0.35)
    lookaway_pitch_rad: tuple[float, float] = (-0.15, 0.2)
    lookaways_per_minute_speaking: float = 3.0
    lookaways_per_minute_listening: float = 0.5
    lookaway_seconds: tuple[float, float] = (0.5, 1.5)
    thinking_brow_down: tuple[float, float] = (0.05, 0.25)  # browDown during turn-start look-aways
    head_follows_gaze: float = 0.25
    gaze_blendshape_full_rad: float = 0.5  # eyeLook* = |gaze angle| / this, clipped to 1
    # --- blinks -----------------------------------------------------------------------------------------------
    blinks_per_minute: tuple[float, float] = (15.0, 20.0)
    blink_seconds: tuple[float, float] = (0.10, 0.15)
    blink_min_interval_seconds: float = 0.5
    blink_interval_gamma_shape: float = 3.0
    # --- idle sway (both parties, always) ----------------------------------------------------------------
    sway_rotation_rad: tuple[float, float] = (0.01, 0.04)
    sway_translation_m: tuple[float, float] = (0.003, 0.01)
    sway_frequency_hz: tuple[float, float] = (0.05, 0.4)

    def to_dict(self) -> dict:
        return asdict(self)


def draw_persona(rules: BehaviourRules, rng: np.random.Generator) -> dict:
    """Per-party draws of every ranged parameter (same names as in BehaviourRules), plus gaze offsets and
    an overall expressiveness that scales brow-raise probability, beats and nods."""
    names = ["mouth_lead_seconds", "jaw_gain", "jaw_rest", "funnel_gain", "pucker_gain", "close_gain",
             "press_gain", "stretch_gain", "brow_stress_amplitude", "beat_amplitude_rad", "energy_head_gain_rad",
             "f0_head_gain_rad", "f0_brow_gain", "nod_amplitude_rad", "nod_frequency_hz", "smile_base",
             "smile_events_per_minute", "mirror_gain", "blinks_per_minute", "sway_rotation_rad", "sway_translation_m"]  # fmt: skip
    persona = {n: round(float(rng.uniform(*getattr(rules, n))), 4) for n in names}
    persona["gaze_offset_yaw"] = round(float(rng.uniform(*rules.gaze_offset_rad)), 4)
    persona["gaze_offset_pitch"] = round(float(rng.uniform(*rules.gaze_offset_rad)), 4)
    persona["expressiveness"] = round(float(rng.uniform(0.6, 1.4)), 4)
    return persona


def draw_smiles(rules: BehaviourRules, persona: dict, duration: float, rng: np.random.Generator) -> list[dict]:
    """A party's own (spontaneous) smile events: Poisson times, random height and length."""
    out = []
    t = float(rng.exponential(60.0 / persona["smile_events_per_minute"]))
    while t < duration:
        out.append({"start": round(t, 3), "seconds": round(float(rng.uniform(*rules.smile_seconds)), 3),
                    "amplitude": round(float(rng.uniform(*rules.smile_amplitude)), 3)})  # fmt: skip
        t += float(rng.exponential(60.0 / persona["smile_events_per_minute"]))
    return out


# --- shape helpers on the 100 Hz grid -----------------------------------------------------------------
def _bump(track: np.ndarray, start: float, attack: float, hold: float, release: float, amp: float,
          combine: str = "add") -> None:  # fmt: skip
    """Raised-cosine attack, flat hold, raised-cosine release, starting at ``start`` seconds."""
    t = np.arange(len(track)) / ENVELOPE_RATE - start
    total = attack + hold + release
    lo, hi = max(0, int(start * ENVELOPE_RATE)), min(len(track), int((start + total) * ENVELOPE_RATE) + 2)
    if hi <= lo:
        return
    tt = t[lo:hi]
    shape = np.where(tt < attack, 0.5 - 0.5 * np.cos(np.pi * np.clip(tt / max(attack, 1e-6), 0, 1)), 1.0)
    rel = np.clip((tt - attack - hold) / max(release, 1e-6), 0, 1)
    shape = np.where(tt > attack + hold, 0.5 + 0.5 * np.cos(np.pi * rel), shape)
    shape = np.where((tt < 0) | (tt > total), 0.0, shape)
    if combine == "max":
        track[lo:hi] = np.maximum(track[lo:hi], amp * shape)
    else:
        track[lo:hi] += amp * shape


def _nod(track: np.ndarray, start: float, amp: float, freq: float, cycles: int) -> None:
    """Damped oscillation, chin down first (negative headPitch)."""
    lo = int(start * ENVELOPE_RATE)
    n = int(cycles / freq * ENVELOPE_RATE)
    hi = min(len(track), lo + n)
    if hi <= lo:
        return
    tau = np.arange(hi - lo) / ENVELOPE_RATE
    track[lo:hi] += -amp * np.sin(2 * np.pi * freq * tau) * np.exp(-tau * freq * 0.8)


def _sway(n: int, amp: float, freq_range: tuple[float, float], rng: np.random.Generator) -> np.ndarray:
    t = np.arange(n) / ENVELOPE_RATE
    out = np.zeros(n)
    for w in (0.6, 0.3, 0.1):
        out += w * np.sin(2 * np.pi * rng.uniform(*freq_range) * t + rng.uniform(0, 2 * np.pi))
    return amp * out


def _phoneme_class(sym: str) -> int:
    c = sym[0]
    if sym == "_":
        return SILENCE
    if c in VOWEL_CHARS:
        if c in OPEN_VOWELS or sym in ("aI", "aU"):
            return OPEN
        if c in CLOSE_VOWELS:
            return CLOSE
        return MID
    if c in "mbp":
        return BILABIAL
    if c in "fv":
        return LABIODENTAL
    return CONSONANT


def _poisson_times(rate_per_minute: float, mask: np.ndarray, rng: np.random.Generator) -> list[float]:
    """Event times (s) of a Poisson process running only where ``mask`` (100 Hz) is True."""
    if rate_per_minute <= 0:
        return []
    out, t, n = [], 0.0, len(mask)
    while True:
        t += float(rng.exponential(60.0 / rate_per_minute))
        if t * ENVELOPE_RATE >= n:
            return out
        if mask[int(t * ENVELOPE_RATE)]:
            out.append(t)


# --- the rules ------------------------------------------------------------------------------------------
def synthesize_motion(
    plan: Plan,
    party: str,
    persona: dict,
    rules: BehaviourRules,
    rng: np.random.Generator,
    own_clean: np.ndarray,
    own_smiles: list[dict],
    other_smiles: list[dict],
) -> tuple[np.ndarray, dict]:
    """(frames, 62) float32 motion for ``party`` and the behaviour events it contains (for the timeline)."""
    n = plan.frames * HOPS_PER_FRAME
    hop = 1.0 / ENVELOPE_RATE
    track = {name: np.zeros(n) for name in CHANNELS}
    expr = persona["expressiveness"]
    events: dict[str, list] = {"nods": [], "blinks": [], "smiles": [], "lookaways": [], "brow_raises": []}

    mine = plan.for_party(party)
    theirs = plan.for_party(other(party))
    speaking = np.zeros(n, bool)
    for p in mine:
        speaking[int(p.start * ENVELOPE_RATE) : int(np.ceil(p.end * ENVELOPE_RATE))] = True
    other_speaking = np.zeros(n, bool)
    for p in theirs:
        other_speaking[int(p.start * ENVELOPE_RATE) : int(np.ceil(p.end * ENVELOPE_RATE))] = True

    # --- mouth: envelope × phoneme openness, with a lead --------------------------------------------------
    env = np.zeros(n)
    e = envelope(own_clean)[:n]
    env[: len(e)] = e
    cls = np.zeros(n, np.int8)
    rounded = np.zeros(n)
    close_rounded = np.zeros(n)
    spread = np.zeros(n)
    press = np.zeros(n)
    stressed: list[float] = []
    for p in mine:
        for sym, s, e_, is_stressed in p.utterance.phonemes:
            lo, hi = int((p.start + s) * ENVELOPE_RATE), int((p.start + e_) * ENVELOPE_RATE)
            hi = max(hi, lo + 1)
            cls[lo:hi] = _phoneme_class(sym)
            if sym[0] in ROUNDED and (sym[0] in VOWEL_CHARS or sym[0] == "w"):
                rounded[lo:hi] = 1.0
                if sym[0] in "uUyYw":
                    close_rounded[lo:hi] = 1.0
            if sym[0] in "iIeE" and sym not in ("e@", "I@"):
                spread[lo:hi] = 1.0
            if sym[0] in "bp":
                press[lo:hi] = 1.0
            if is_stressed:
                stressed.append(p.start + s)
    lead = int(round(persona["mouth_lead_seconds"] * ENVELOPE_RATE))

    def ahead(x: np.ndarray) -> np.ndarray:  # value at t+lead drives the face at t
        return np.concatenate([x[lead:], np.zeros(lead, x.dtype)]) if lead else x

    sig = rules.mouth_smoothing_seconds * ENVELOPE_RATE
    smooth = lambda x: gaussian_filter1d(ahead(x).astype(float), sig)  # noqa: E731
    ref = np.percentile(env[speaking], 95) if speaking.any() and env[speaking].max() > 0 else 1.0
    loud = np.clip(gaussian_filter1d(ahead(env), sig) / ref, 0, 1) ** rules.envelope_exponent
    op = rules.openness
    table = np.array([op["silence"], op["open_vowel"], op["mid_vowel"], op["close_vowel"], op["consonant"],
                      op["labiodental"], op["bilabial"]])  # fmt: skip
    openness = smooth(table[cls])
    voiced = np.clip(3 * loud, 0, 1)
    jaw = persona["jaw_gain"] * loud * openness
    track["jawOpen"] = persona["jaw_rest"] + jaw
    track["mouthFunnel"] = persona["funnel_gain"] * smooth(rounded) * voiced
    track["mouthPucker"] = persona["pucker_gain"] * smooth(close_rounded) * voiced
    bil = smooth((cls == BILABIAL).astype(float)) * gaussian_filter1d(ahead(speaking.astype(float)), 3)
    track["mouthClose"] = persona["close_gain"] * bil
    for side in ("Left", "Right"):
        track[f"mouthPress{side}"] = persona["press_gain"] * smooth(press)
        track[f"mouthLowerDown{side}"] = 0.5 * jaw
        track[f"mouthUpperUp{side}"] = 0.3 * smooth((cls == OPEN).astype(float)) * loud
        track[f"mouthStretch{side}"] = persona["stretch_gain"] * smooth(spread) * voiced

    # --- brows and head follow prosody (stress marks, loudness, questions) --------------------------------
    brow = np.zeros(n)
    for t0 in stressed:
        if rng.random() < rules.brow_stress_probability * expr:
            amp = persona["brow_stress_amplitude"]
            _bump(brow, t0 - 0.05, 0.08, 0.15, 0.3, amp, "max")
            events["brow_raises"].append(round(t0, 3))
        if rng.random() < rules.beat_probability:
            _bump(track["headPitch"], t0 - 0.05, rules.beat_seconds / 2, 0.0, rules.beat_seconds / 2,
                  -persona["beat_amplitude_rad"] * expr)  # fmt: skip
    for p in mine:
        if p.utterance.question:
            before, after = rules.brow_question_window_seconds
            amp = float(rng.uniform(*rules.brow_question_amplitude))
            _bump(brow, p.end - before, 0.15, before + after - 0.35, 0.2, amp, "max")
            tilt = float(rng.uniform(*rules.question_tilt_rad)) * (1 if rng.random() < 0.5 else -1)
            _bump(track["headRoll"], p.end - 1.0, 0.3, 0.7, 0.5, tilt)
            _bump(track["headPitch"], p.end - 0.6, 0.2, 0.4, 0.4, 0.3 * abs(tilt))
            events["brow_raises"].append(round(p.end - before, 3))
    # pitch (F0) contour: semitones from the speaker's median, ~0 where unvoiced, smoothed over 80 ms
    f0 = np.zeros(n)
    f0_raw = pitch_track(own_clean)[:n]
    f0[: len(f0_raw)] = f0_raw
    voiced_f0 = f0 > 0
    rise = np.zeros(n)
    if voiced_f0.sum() > 10:
        rise[voiced_f0] = np.clip(12 * np.log2(f0[voiced_f0] / np.median(f0[voiced_f0])) / 4.0, -2, 2)
    rise = gaussian_filter1d(rise, 8)
    track["headPitch"] += persona["f0_head_gain_rad"] * rise
    brow = brow + persona["f0_brow_gain"] * np.clip(rise, 0, None)
    track["browInnerUp"] = brow
    track["browOuterUpLeft"] = 0.85 * brow
    track["browOuterUpRight"] = 0.85 * brow
    track["eyeWideLeft"] = track["eyeWideRight"] = 0.25 * brow
    track["headPitch"] += persona["energy_head_gain_rad"] * gaussian_filter1d(loud, 30)

    # --- listener: nods at the other's pauses, 200-600 ms late ---------------------------------------------
    my_backchannels = [p for p in mine if p.kind == "backchannel"]
    for pause in plan.pauses:
        if pause["speaker"] == party:
            continue
        bc = [p for p in my_backchannels if pause["start"] <= p.start <= pause["start"] + 1.0]
        if bc:
            nod = rng.random() < rules.nod_with_backchannel_probability
            t0 = bc[0].start
        else:
            nod = rng.random() < rules.nod_probability
            t0 = pause["start"] + float(rng.uniform(*rules.nod_delay_seconds))
        if nod:
            cycles = int(rng.integers(rules.nod_cycles[0], rules.nod_cycles[1] + 1))
            _nod(track["headPitch"], t0, persona["nod_amplitude_rad"] * expr, persona["nod_frequency_hz"], cycles)
            events["nods"].append({"time": round(t0, 3), "pause_onset": round(pause["start"], 3)})
    for t0 in _poisson_times(rules.spontaneous_nods_per_minute, other_speaking & ~speaking, rng):
        _nod(track["headPitch"], t0, 0.6 * persona["nod_amplitude_rad"], persona["nod_frequency_hz"], 1)
        events["nods"].append({"time": round(t0, 3), "pause_onset": None})

    # --- smiles: own events plus mirrored ones -------------------------------------------------------------
    smile = np.zeros(n)
    for s in own_smiles:
        _bump(smile, s["start"], 0.3, max(0.0, s["seconds"] - 0.8), 0.5, s["amplitude"], "max")
        events["smiles"].append({"start": s["start"], "mirrored": False})
    for s in other_smiles:
        if rng.random() < rules.mirror_probability:
            t0 = s["start"] + float(rng.uniform(*rules.mirror_lag_seconds))
            amp = s["amplitude"] * persona["mirror_gain"]
            _bump(smile, t0, 0.35, max(0.0, s["seconds"] - 0.8), 0.6, amp, "max")
            events["smiles"].append({"start": round(t0, 3), "mirrored": True})
    smile = persona["smile_base"] + smile
    asym = float(rng.uniform(0.9, 1.1))
    track["mouthSmileLeft"] = smile * asym
    track["mouthSmileRight"] = smile / asym
    for side in ("Left", "Right"):
        track[f"cheekSquint{side}"] = 0.5 * smile
        track[f"eyeSquint{side}"] = 0.3 * smile
        track[f"mouthDimple{side}"] = 0.2 * smile
    # a smile spreads the lips a little even while talking
    track["jawOpen"] = track["jawOpen"] * (1 - 0.15 * smile)

    # --- gaze: fixations with saccades, look-aways when thinking/starting a turn ----------------------------
    gaze_yaw = np.full(n, persona["gaze_offset_yaw"])
    gaze_pitch = np.full(n, persona["gaze_offset_pitch"])
    t = 0.0
    while t < n * hop:
        i = int(t * ENVELOPE_RATE)
        mean = rules.fixation_seconds_speaking if speaking[min(i, n - 1)] else rules.fixation_seconds_listening
        length = max(0.2, float(rng.gamma(2.0, mean / 2.0)))
        j = min(n, int((t + length) * ENVELOPE_RATE))
        gaze_yaw[i:j] += rng.uniform(-rules.saccade_yaw_rad, rules.saccade_yaw_rad)
        gaze_pitch[i:j] += rng.uniform(-rules.saccade_pitch_rad, rules.saccade_pitch_rad)
        t += length
    lookaways: list[tuple[float, float, bool]] = []  # (start, end, thinking)
    for turn in plan.turns:
        if turn["speaker"] == party and rng.random() < rules.turn_start_lookaway_probability:
            s = turn["start"] - float(rng.uniform(*rules.lookaway_before_turn_seconds))
            lookaways.append((s, turn["start"] + float(rng.uniform(*rules.lookaway_after_turn_seconds)), True))
    for rate, mask in ((rules.lookaways_per_minute_speaking, speaking),
                       (rules.lookaways_per_minute_listening, ~speaking)):  # fmt: skip
        for s in _poisson_times(rate, mask, rng):
            lookaways.append((s, s + float(rng.uniform(*rules.lookaway_seconds)), False))
    brow_down = np.zeros(n)
    for s, e_, thinking in sorted(lookaways):
        i, j = max(0, int(s * ENVELOPE_RATE)), min(n, int(e_ * ENVELOPE_RATE))
        yaw = float(rng.uniform(*rules.lookaway_yaw_rad)) * (1 if rng.random() < 0.5 else -1)
        gaze_yaw[i:j] = yaw
        gaze_pitch[i:j] = float(rng.uniform(*rules.lookaway_pitch_rad))
        if thinking:
            _bump(brow_down, s, 0.2, max(0.0, e_ - s - 0.4), 0.2, float(rng.uniform(*rules.thinking_brow_down)),
                  "max")  # fmt: skip
        events["lookaways"].append({"start": round(s, 3), "end": round(e_, 3), "thinking": thinking})
    gaze_yaw = gaussian_filter1d(gaze_yaw, 1.5)  # saccades take ~30-40 ms
    gaze_pitch = gaussian_filter1d(gaze_pitch, 1.5)
    track["browDownLeft"] = track["browDownRight"] = brow_down
    track["headYaw"] += rules.head_follows_gaze * gaussian_filter1d(gaze_yaw, 15)
    track["headPitch"] += 0.8 * rules.head_follows_gaze * gaussian_filter1d(gaze_pitch, 15)
    for eye in ("left", "right"):
        track[f"{eye}EyeYaw"] = gaze_yaw
        track[f"{eye}EyePitch"] = gaze_pitch
    full = rules.gaze_blendshape_full_rad
    left_look, right_look = np.clip(gaze_yaw, 0, None) / full, np.clip(-gaze_yaw, 0, None) / full
    track["eyeLookOutLeft"] = track["eyeLookInRight"] = left_look  # looking toward own left
    track["eyeLookInLeft"] = track["eyeLookOutRight"] = right_look
    track["eyeLookUpLeft"] = track["eyeLookUpRight"] = np.clip(gaze_pitch, 0, None) / full
    down = np.clip(-gaze_pitch, 0, None) / full
    track["eyeLookDownLeft"] = track["eyeLookDownRight"] = down

    # --- blinks: gamma-distributed intervals at the persona's rate, 100-150 ms each -------------------------
    lid = np.zeros(n)
    mean_interval = 60.0 / persona["blinks_per_minute"]
    shape = rules.blink_interval_gamma_shape
    t = float(rng.uniform(0, mean_interval))
    while t < n * hop:
        length = float(rng.uniform(*rules.blink_seconds))
        _bump(lid, t, 0.35 * length, 0.1 * length, 0.55 * length, 1.0, "max")
        events["blinks"].append(round(t, 3))
        t += max(rules.blink_min_interval_seconds, float(rng.gamma(shape, mean_interval / shape)))
    track["eyeBlinkLeft"] = track["eyeBlinkRight"] = np.maximum(lid, 0.3 * down)

    # --- idle sway for everyone ------------------------------------------------------------------------------
    for name in ("headYaw", "headPitch", "headRoll"):
        track[name] = track[name] + _sway(n, persona["sway_rotation_rad"], rules.sway_frequency_hz, rng)
    for name in ("headX", "headY", "headZ"):
        track[name] = track[name] + _sway(n, persona["sway_translation_m"], rules.sway_frequency_hz, rng)

    return to_frames(track, plan.frames), events


def to_frames(track: dict[str, np.ndarray], frames: int) -> np.ndarray:
    """Pool the 100 Hz tracks to 25 fps frames (mean; max for eyelids) and clip to CHANNEL_RANGES."""
    out = np.zeros((frames, NUM_CHANNELS), np.float32)
    for name, x in track.items():
        x = np.asarray(x, float)[: frames * HOPS_PER_FRAME].reshape(frames, HOPS_PER_FRAME)
        pooled = x.max(axis=1) if name.startswith("eyeBlink") else x.mean(axis=1)
        lo, hi = CHANNEL_RANGES[name]
        out[:, CHANNEL_INDEX[name]] = np.clip(pooled, lo, hi)
    return out
