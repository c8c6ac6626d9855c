"""`af data synth`: a synthetic two-party conversation corpus in the shard format (see shards.py).

Per conversation: a language and two espeak-ng voices; a turn-taking plan (timeline.py); each party's dry
speech mixed on one clock and "recorded" through its own microphone (synth_acoustics.py); motion for both
parties from the behaviour rules (behaviour.py). Every random choice comes from one generator seeded by
(corpus seed, conversation index), so any conversation can be made alone, in any worker, in any order,
and the corpus is byte-identical for a seed.
"""

from __future__ import annotations

import multiprocessing as mp
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from af_plugin.errors import AFError
from af_plugin.training import shards
from af_plugin.training.behaviour import BehaviourRules, draw_persona, draw_smiles, synthesize_motion
from af_plugin.training.synth_acoustics import AcousticRules, draw_channel, render_channel, to_pcm16
from af_plugin.training.synth_speech import EspeakSession, Utterance, random_voice, synthesize
from af_plugin.training.timeline import PARTIES, TimelineRules, mix_clean, other, plan_conversation

GENERATOR = "af_plugin.training.synth/1"


@dataclass(frozen=True)
class SynthRules:
    timeline: TimelineRules = field(default_factory=TimelineRules)
    acoustics: AcousticRules = field(default_factory=AcousticRules)
    behaviour: BehaviourRules = field(default_factory=BehaviourRules)
    exact_phoneme_timing: bool = True  # libespeak-ng helper process; False (or no library): espeak-ng -x

    def to_dict(self) -> dict:
        return {"generator": GENERATOR, "timeline": self.timeline.to_dict(),
                "acoustics": self.acoustics.to_dict(), "behaviour": self.behaviour.to_dict(),
                "speech": {"engine": "espeak-ng", "phoneme_timing":
                           "libespeak-ng phoneme events (one helper process per conversation)"
                           if self.exact_phoneme_timing else
                           "espeak-ng -x mnemonics laid over the active 10 ms hops by nominal weight",
                           "rate_wpm": [135, 205], "pitch": [25, 75], "pitch_range": [30, 90],
                           "amplitude": [80, 160], "word_gap_10ms": [0, 2]}}  # fmt: skip


def conversation_id(index: int) -> str:
    return f"conv_{index:05d}"


def plan_corpus(hours: float, seed: int, rules: TimelineRules) -> list[float]:
    """Target lengths (s) of the conversations making ``hours``; drawn from the corpus seed alone."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0xC0]))
    targets, total = [], 0.0
    while total < hours * 3600.0:
        target = float(rng.uniform(*rules.conversation_seconds))
        targets.append(target)
        total += target
    return targets


def heldout_indices(n: int, fraction: float, seed: int) -> set[int]:
    """Conversation indices held out from training: round(fraction·n), at least one when fraction > 0 and
    n > 1, chosen by the seed. Split by conversation, so no audio or motion is shared across splits."""
    if fraction <= 0 or n < 2:
        return set()
    k = min(n - 1, max(1, int(round(fraction * n))))
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0x5E]))
    return set(int(i) for i in rng.choice(n, size=k, replace=False))


def synth_conversation(index: int, seed: int, target_seconds: float, rules: SynthRules) -> dict:
    """Make one conversation in memory: {"audio", "motion", "timeline", "entry"} (nothing written)."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, index]))
    langs = rules.timeline.languages
    names = sorted(langs)
    weights = np.array([langs[k] for k in names], float)
    language = names[int(rng.choice(len(names), p=weights / weights.sum()))]
    voices = {p: random_voice(language, rng) for p in PARTIES}
    if voices["a"].voice == voices["b"].voice:  # two different people
        voices["b"] = random_voice(language, rng)
    cache: dict[tuple[str, str, bool], Utterance] = {}
    session = EspeakSession.start() if rules.exact_phoneme_timing else None

    def speak(party: str, text: str, question: bool) -> Utterance:
        key = (party, text, question)
        if key not in cache:
            cache[key] = synthesize(text, voices[party], question, session)
        return cache[key]

    try:
        plan = plan_conversation(rules.timeline, rng, language, speak, target_seconds)
    finally:
        if session is not None:
            session.close()
    clean = {p: mix_clean(plan, p) for p in PARTIES}
    channels = {p: draw_channel(rules.acoustics, rng) for p in PARTIES}
    audio = {p: to_pcm16(render_channel(clean[p], clean[other(p)], channels[p], rng)) for p in PARTIES}
    personas = {p: draw_persona(rules.behaviour, rng) for p in PARTIES}
    smiles = {p: draw_smiles(rules.behaviour, personas[p], plan.duration, rng) for p in PARTIES}
    motion, events = {}, {}
    for p in PARTIES:
        motion[p], events[p] = synthesize_motion(plan, p, personas[p], rules.behaviour, rng, clean[p],
                                                 smiles[p], smiles[other(p)])  # fmt: skip
    timeline = plan.to_timeline(language)
    timeline["behaviour"] = events
    entry = {
        "duration": round(plan.duration, 3),
        "language": language,
        "voices": {p: voices[p].to_dict() for p in PARTIES},
        "channels": channels,
        "personas": personas,
        "phoneme_timing": "espeak events" if session is not None else "estimated",
        "turns": len(plan.turns),
        "backchannels": len(timeline["backchannels"]),
    }
    return {"audio": audio, "motion": motion, "timeline": timeline, "entry": entry, "frames": plan.frames}


def rules_fingerprint(rules: SynthRules) -> str:
    """Short hash of every rule parameter: a resumed run only reuses conversations made by the same rules."""
    import hashlib
    import json

    return hashlib.sha1(json.dumps(rules.to_dict(), sort_keys=True).encode()).hexdigest()[:12]


def _make_one(job: tuple) -> dict:
    out, index, seed, target, split, rules = job
    conv_id = conversation_id(index)
    fingerprint = rules_fingerprint(rules)
    if shards.is_done(out, conv_id):
        done = shards.read_done(out, conv_id)
        if done.get("seed") == seed and done.get("split") == split and done.get("rules_sha1") == fingerprint:
            return done  # resume: made earlier by the same seed and rules
    conv = synth_conversation(index, seed, target, rules)
    entry = {**conv["entry"], "split": split, "source": "synthetic", "seed": seed, "index": index,
             "rules_sha1": fingerprint}  # fmt: skip
    shards.write_conversation(out, conv_id, conv["audio"], conv["motion"], conv["timeline"], entry)
    return shards.read_done(out, conv_id)


def synth_corpus(
    out: str | Path,
    hours: float,
    seed: int = 0,
    heldout_fraction: float = 0.1,
    workers: int = 1,
    rules: SynthRules | None = None,
    progress: bool = False,
) -> dict:
    """Write the corpus and its manifest; returns the manifest. Finished conversations (done marker) are
    kept, so an interrupted run resumes."""
    if hours <= 0:
        raise AFError(f"--hours must be positive, got {hours}")
    if not 0 <= heldout_fraction < 1:
        raise AFError(f"--heldout-fraction must be in [0, 1), got {heldout_fraction}")
    rules = rules or SynthRules()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    targets = plan_corpus(hours, seed, rules.timeline)
    held = heldout_indices(len(targets), heldout_fraction, seed)
    jobs = [(out, i, seed, t, "heldout" if i in held else "train", rules) for i, t in enumerate(targets)]
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(jobs), unit="conv", desc="synth")
    entries = []
    if workers > 1:
        with mp.get_context("spawn").Pool(workers) as pool:
            for entry in pool.imap_unordered(_make_one, jobs):
                entries.append(entry)
                if bar:
                    bar.update()
    else:
        for job in jobs:
            entries.append(_make_one(job))
            if bar:
                bar.update()
    if bar:
        bar.close()
    total = sum(e["duration"] for e in entries)
    path = shards.write_manifest(out, seed, rules.to_dict(), entries, hours_requested=hours,
                                 hours=round(total / 3600, 4), heldout_fraction=heldout_fraction)  # fmt: skip
    return shards.read_manifest(path.parent)


def write_sample(out: str | Path, seed: int = 8, seconds: float = 25.0) -> Path:
    """The small English demo conversation shipped in af_plugin/assets/sample_conversation/:
    a.flac, b.flac (16 kHz mono), a.npz, b.npz (rule motion) and timeline.json.

    Made by ``af data sample --out af_plugin/assets/sample_conversation --seed 8 --seconds 25``; turns
    are kept short (1-3 sentences) so both parties speak several times.
    """
    import dataclasses

    import soundfile as sf

    base = SynthRules()
    rules = dataclasses.replace(
        base,
        timeline=dataclasses.replace(base.timeline, languages={"en": 1.0}, sentences_per_turn=(1, 3)),
        acoustics=dataclasses.replace(base.acoustics, phone_probability=0.0, crosstalk_probability=0.0),
    )
    # The planner stops after the turn that passes the target, so aim ~30 % short of the wanted length.
    conv = synth_conversation(0, seed, 0.7 * seconds, rules)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for p in PARTIES:
        sf.write(out / f"{p}.flac", conv["audio"][p], 16000, subtype="PCM_16", format="FLAC")
        shards.write_motion_npz(shards.MotionClip(conv["motion"][p]), out / f"{p}.npz")
    timeline = {**conv["timeline"], "made_by": f"af data sample --out DIR --seed {seed} --seconds {seconds}",
                "voices": conv["entry"]["voices"]}  # fmt: skip
    shards._write_json(out / "timeline.json", timeline)
    return out
