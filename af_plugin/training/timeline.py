"""Turn-taking timeline of a synthetic two-party conversation: turns, pauses, overlaps, backchannels.

The planner is pure: it asks a ``speak(party, text, question)`` callable for each utterance's audio (so
tests can pass a fake), and places utterances on one clock. Parties are ``"a"`` and ``"b"``.

Rules (parameters in ``TimelineRules``, recorded in the manifest):

* a conversation lasts ``conversation_seconds`` (uniform), starting after a short lead-in;
* speakers alternate turns; a turn is 1..N sentences separated by within-turn pauses;
* the gap between turns is normal(mean, sd), clipped; a negative gap is an overlap (the next speaker
  starts before the current one ends), the most common case in real conversation being a short gap;
* at each within-turn pause the listener backchannels ("mm-hm", "yeah", ...) with some probability,
  after a delay of 200-600 ms from the pause onset (the speaker may resume over it: an overlap).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np

from af_plugin.constants import FPS, SAMPLE_RATE, SAMPLES_PER_FRAME
from af_plugin.training.synth_speech import Utterance
from af_plugin.training.synth_text import make_backchannel, make_sentence

PARTIES = ("a", "b")


def other(party: str) -> str:
    return "b" if party == "a" else "a"


@dataclass(frozen=True)
class TimelineRules:
    conversation_seconds: tuple[float, float] = (30.0, 90.0)
    lead_in_seconds: tuple[float, float] = (0.3, 1.2)
    tail_seconds: tuple[float, float] = (0.5, 1.2)
    sentences_per_turn: tuple[int, int] = (1, 4)  # inclusive
    within_turn_pause_seconds: tuple[float, float] = (0.3, 0.9)
    turn_gap_mean_seconds: float = 0.2
    turn_gap_sd_seconds: float = 0.35
    turn_gap_clip_seconds: tuple[float, float] = (-0.8, 1.5)
    question_probability: float = 0.3
    backchannel_probability: float = 0.45
    backchannel_delay_seconds: tuple[float, float] = (0.2, 0.6)
    languages: dict[str, float] = field(default_factory=lambda: {"en": 0.7, "de": 0.1, "es": 0.1, "fr": 0.1})

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Placed:
    """An utterance placed on the conversation clock."""

    party: str
    start: float
    utterance: Utterance
    kind: str  # "speech" | "backchannel"
    turn: int  # index of the turn it belongs to (for backchannels: the turn it responds to)

    @property
    def end(self) -> float:
        return self.start + self.utterance.duration


@dataclass
class Plan:
    """Everything the audio mixer and the behaviour rules need about one conversation."""

    placed: list[Placed]
    pauses: list[dict]  # within-turn pauses: {"speaker", "start", "end"}
    turns: list[dict]  # {"speaker", "start", "end"}
    duration: float
    frames: int

    def for_party(self, party: str) -> list[Placed]:
        return [p for p in self.placed if p.party == party]

    def to_timeline(self, language: str) -> dict:
        """The JSON-able timeline written next to the audio (times in seconds, 3 decimals)."""
        r = lambda x: round(float(x), 3)  # noqa: E731
        turns = []
        for k, t in enumerate(self.turns):
            utts = [p for p in self.placed if p.kind == "speech" and p.turn == k]
            turns.append({
                "speaker": t["speaker"], "start": r(t["start"]), "end": r(t["end"]),
                "utterances": [{"text": p.utterance.text, "start": r(p.start), "end": r(p.end),
                                "question": p.utterance.question} for p in utts],
            })  # fmt: skip
        backchannels = [{"speaker": p.party, "start": r(p.start), "end": r(p.end), "text": p.utterance.text}
                        for p in self.placed if p.kind == "backchannel"]  # fmt: skip
        return {
            "fps": FPS,
            "sample_rate": SAMPLE_RATE,
            "frames": self.frames,
            "duration": r(self.duration),
            "language": language,
            "turns": turns,
            "pauses": [{"speaker": p["speaker"], "start": r(p["start"]), "end": r(p["end"])} for p in self.pauses],
            "backchannels": backchannels,
            "overlaps": [{"start": r(s), "end": r(e)} for s, e in overlaps(self.placed)],
        }


def overlaps(placed: list[Placed]) -> list[tuple[float, float]]:
    """Intervals where both parties make sound."""
    out = []
    a = [p for p in placed if p.party == "a"]
    b = [p for p in placed if p.party == "b"]
    for pa in a:
        for pb in b:
            s, e = max(pa.start, pb.start), min(pa.end, pb.end)
            if e > s:
                out.append((s, e))
    return sorted(out)


Speak = Callable[[str, str, bool], Utterance]


def plan_conversation(
    rules: TimelineRules, rng: np.random.Generator, language: str, speak: Speak, target_seconds: float
) -> Plan:
    """Place turns until ``target_seconds`` is reached; returns the plan with frame-aligned duration."""
    placed: list[Placed] = []
    pauses: list[dict] = []
    turns: list[dict] = []
    t = float(rng.uniform(*rules.lead_in_seconds))
    speaker = PARTIES[int(rng.integers(2))]
    while True:
        turn_index = len(turns)
        n_sent = int(rng.integers(rules.sentences_per_turn[0], rules.sentences_per_turn[1] + 1))
        turn_start = t
        for k in range(n_sent):
            # A question ends the turn: the other party answers it.
            text, question = make_sentence(language, rng, rules.question_probability if k == n_sent - 1 else 0.0)
            utt = speak(speaker, text, question)
            placed.append(Placed(speaker, t, utt, "speech", turn_index))
            t += utt.duration
            if k < n_sent - 1:
                gap = float(rng.uniform(*rules.within_turn_pause_seconds))
                pauses.append({"speaker": speaker, "start": t, "end": t + gap})
                if rng.random() < rules.backchannel_probability:
                    delay = float(rng.uniform(*rules.backchannel_delay_seconds))
                    bc = speak(other(speaker), make_backchannel(language, rng), False)
                    placed.append(Placed(other(speaker), t + delay, bc, "backchannel", turn_index))
                t += gap
        turns.append({"speaker": speaker, "start": turn_start, "end": t})
        if t >= target_seconds:
            break
        gap = float(np.clip(rng.normal(rules.turn_gap_mean_seconds, rules.turn_gap_sd_seconds),
                            *rules.turn_gap_clip_seconds))  # fmt: skip
        # Never start a turn before the previous turn's last sentence has begun plus 0.3 s.
        t = max(t + gap, placed_last_start(placed, speaker) + 0.3)
        speaker = other(speaker)
    end = max(p.end for p in placed) + float(rng.uniform(*rules.tail_seconds))
    frames = int(np.ceil(end * FPS))
    return Plan(placed=placed, pauses=pauses, turns=turns, duration=frames / FPS, frames=frames)


def placed_last_start(placed: list[Placed], party: str) -> float:
    return max(p.start for p in placed if p.party == party and p.kind == "speech")


def mix_clean(plan: Plan, party: str) -> np.ndarray:
    """The party's own dry speech on the conversation clock: frames × 640 samples, float32."""
    out = np.zeros(plan.frames * SAMPLES_PER_FRAME, np.float32)
    for p in plan.for_party(party):
        i = int(round(p.start * SAMPLE_RATE))
        seg = p.utterance.audio[: max(0, len(out) - i)]
        out[i : i + len(seg)] += seg
    return out
