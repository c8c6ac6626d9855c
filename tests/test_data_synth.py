"""`af data synth`: real espeak speech, consistent timelines, behaviour rules measurable in the motion."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from af_plugin.constants import FPS, SAMPLE_RATE, SAMPLES_PER_FRAME
from af_plugin.motion.contract import CHANNEL_RANGES, CHANNELS
from af_plugin.training import shards
from af_plugin.training.synth import SynthRules, synth_corpus
from af_plugin.training.synth_speech import envelope

pytestmark = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng not installed")

SEED = 11


def short_rules() -> SynthRules:
    base = SynthRules()
    return dataclasses.replace(base, timeline=dataclasses.replace(base.timeline, conversation_seconds=(20.0, 30.0)))


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("synth") / "corpus"
    synth_corpus(out, hours=0.012, seed=SEED, heldout_fraction=0.5, rules=short_rules())
    return out


@pytest.fixture(scope="module")
def conversations(corpus):
    m = shards.read_manifest(corpus)
    return [(cid, *shards.load_conversation(corpus, cid)) for cid in shards.conversation_ids(m)]


def speech_mask(timeline: dict, party: str, frames: int, margin_s: float = 0.0) -> np.ndarray:
    """Frames during which ``party`` makes sound (utterances and backchannels), widened by margin_s."""
    mask = np.zeros(frames, bool)
    spans = [(u["start"], u["end"]) for t in timeline["turns"] if t["speaker"] == party for u in t["utterances"]]
    spans += [(b["start"], b["end"]) for b in timeline["backchannels"] if b["speaker"] == party]
    for s, e in spans:
        mask[max(0, int((s - margin_s) * FPS)) : int(np.ceil((e + margin_s) * FPS))] = True
    return mask


def test_corpus_has_two_conversations_split_disjointly(corpus):
    m = shards.read_manifest(corpus)
    train = set(shards.conversation_ids(m, "train"))
    held = set(shards.conversation_ids(m, "heldout"))
    assert len(m["conversations"]) == 2
    assert train and held and not train & held
    assert train | held == {d.name for d in corpus.iterdir() if d.is_dir()}


def test_same_seed_gives_byte_identical_corpus_and_other_seed_differs(corpus, tmp_path):
    again = tmp_path / "again"
    synth_corpus(again, hours=0.012, seed=SEED, heldout_fraction=0.5, rules=short_rules(), workers=2)
    files = sorted(p.relative_to(corpus) for p in corpus.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(again) for p in again.rglob("*") if p.is_file())
    for rel in files:
        assert (corpus / rel).read_bytes() == (again / rel).read_bytes(), rel
    other = tmp_path / "other"
    synth_corpus(other, hours=0.006, seed=SEED + 1, heldout_fraction=0.0, rules=short_rules())
    assert (other / "conv_00000" / "a.wav").read_bytes() != (corpus / "conv_00000" / "a.wav").read_bytes()


def test_audio_is_speech_where_the_timeline_says_so(conversations):
    from af_plugin.perception.features import voice_activity

    for _cid, a, b, _ma, _mb, tl in conversations:
        for party, x in (("a", a), ("b", b)):
            assert x.dtype == np.float32 and len(x) == tl["frames"] * SAMPLES_PER_FRAME
            speaking = speech_mask(tl, party, tl["frames"])
            env = envelope(x).reshape(-1, 4).mean(axis=1)
            # loud while speaking, and the loudness varies (syllables), unlike a tone or noise
            assert env[speaking].mean() > 3 * np.median(env[~speaking])
            assert env[speaking].std() > 0.3 * env[speaking].mean()
    # An independent judge (the perception layer's voice-activity detector) on one party's first 20 s;
    # the detector runs in real time, so the whole corpus would make this test slow.
    _cid, a, _b, _ma, _mb, tl = conversations[0]
    frames = 20 * FPS
    vad = np.asarray(voice_activity(a[: frames * SAMPLES_PER_FRAME])) > 0.5
    assert vad[speech_mask(tl, "a", tl["frames"])[:frames]].mean() > 0.6, "the detector hears no speech"
    assert vad[~speech_mask(tl, "a", tl["frames"], margin_s=0.5)[:frames]].mean() < 0.3


def test_timeline_is_consistent(conversations):
    for _cid, _a, _b, ma, mb, tl in conversations:
        assert len(ma) == len(mb) == tl["frames"] and tl["duration"] == pytest.approx(tl["frames"] / FPS)
        assert tl["fps"] == FPS and tl["sample_rate"] == SAMPLE_RATE
        turns = tl["turns"]
        assert len(turns) >= 2
        for prev, nxt in zip(turns, turns[1:]):
            assert prev["speaker"] != nxt["speaker"]  # turns alternate
            assert nxt["start"] >= prev["start"]
        for t in turns:
            assert t["utterances"] and t["start"] == t["utterances"][0]["start"]
            for u in t["utterances"]:
                assert t["start"] <= u["start"] < u["end"] <= t["end"] + 1e-6 <= tl["duration"]
            if any(u["question"] for u in t["utterances"]):
                assert t["utterances"][-1]["question"]  # only a turn's last sentence is a question
        for p in tl["pauses"]:
            owner = [t for t in turns if t["speaker"] == p["speaker"] and t["start"] <= p["start"] < t["end"]]
            assert owner and p["end"] > p["start"]
        for bc in tl["backchannels"]:
            # a backchannel answers the other party's pause, 200-600 ms after it begins
            pause = [
                p for p in tl["pauses"] if p["speaker"] != bc["speaker"] and 0.19 <= bc["start"] - p["start"] <= 0.61
            ]
            assert pause, bc
        for o in tl["overlaps"]:
            both = speech_mask(tl, "a", tl["frames"]) & speech_mask(tl, "b", tl["frames"])
            assert both[int(o["start"] * FPS) : max(int(o["start"] * FPS) + 1, int(o["end"] * FPS))].any()


def test_motion_values_are_finite_and_within_channel_ranges(conversations):
    for _cid, _a, _b, ma, mb, _tl in conversations:
        for clip in (ma, mb):
            assert clip.values.shape[1] == len(CHANNELS) and np.isfinite(clip.values).all()
            for i, name in enumerate(CHANNELS):
                lo, hi = CHANNEL_RANGES[name]
                assert lo <= clip.values[:, i].min() and clip.values[:, i].max() <= hi, name


def test_jaw_follows_own_speech_energy_and_rests_in_silence(conversations):
    from scipy.stats import spearmanr

    for _cid, a, b, ma, mb, tl in conversations:
        for party, x, clip, other in (("a", a, ma, mb), ("b", b, mb, ma)):
            jaw = clip.channel("jawOpen")
            # energy of the *recorded* channel (noise, reverb, phone line, crosstalk): rank correlation,
            # since the phone line's soft clipping compresses loudness
            energy = envelope(x).reshape(-1, 4).mean(axis=1)
            own = spearmanr(jaw, energy).statistic
            assert own > 0.5 and own > spearmanr(other.channel("jawOpen"), energy).statistic + 0.5
            silent = ~speech_mask(tl, party, tl["frames"], margin_s=0.15)
            assert silent.sum() > 25 and jaw[silent].max() < 0.05
            assert jaw[speech_mask(tl, party, tl["frames"])].max() > 0.2


def test_listener_nods_come_200_to_600_ms_after_the_other_partys_pause(conversations):
    """Measured in the motion: the listener's headPitch, averaged around the other's pause onsets, dips
    (chin down) inside the window, deeper than around random times."""
    rng = np.random.default_rng(0)
    triggered, baseline, delays = [], [], []
    for _cid, _a, _b, ma, mb, tl in conversations:
        for party, clip in (("a", ma), ("b", mb)):
            pitch = clip.channel("headPitch")
            pitch = pitch - np.convolve(pitch, np.ones(25) / 25, mode="same")  # remove slow sway
            onsets = [p["start"] for p in tl["pauses"] if p["speaker"] != party]
            for t0 in onsets:
                i = int(t0 * FPS)
                if i + 30 <= len(pitch):
                    triggered.append(pitch[i : i + 30])
            for i in rng.integers(0, len(pitch) - 30, size=40):
                baseline.append(pitch[i : i + 30])
            delays += [n["time"] - n["pause_onset"] for n in tl["behaviour"][party]["nods"] if n["pause_onset"]]
    assert len(triggered) >= 4
    avg = np.mean(triggered, axis=0)
    dip_frame = int(np.argmin(avg))
    # nod onset 0.2-0.6 s, chin lowest a quarter cycle (0.1-0.17 s) later
    assert 0.25 <= dip_frame / FPS <= 0.85
    assert avg.min() < np.mean(baseline, axis=0).min() - 0.01
    assert delays and all(0.19 <= d <= 0.61 for d in delays)


def test_blinks_at_human_rate_and_length(conversations):
    count, seconds, lengths = 0, 0.0, []
    for _cid, _a, _b, ma, mb, _tl in conversations:
        for clip in (ma, mb):
            closed = clip.channel("eyeBlinkLeft") > 0.5
            runs = np.diff(np.concatenate([[0], closed.astype(int), [0]]))
            starts, ends = np.flatnonzero(runs == 1), np.flatnonzero(runs == -1)
            count += len(starts)
            lengths += list(ends - starts)
            seconds += clip.duration
    rate = count / seconds * 60
    assert 12 <= rate <= 23, rate
    assert max(lengths) <= 4  # frames above half-closed: a blink is 100-150 ms, never a long closure


def test_brows_rise_on_questions_and_gaze_looks_away_when_starting_a_turn(conversations):
    near_q, elsewhere, look_start, look_listen = [], [], [], []
    for _cid, _a, _b, ma, mb, tl in conversations:
        for party, clip in (("a", ma), ("b", mb)):
            brow = clip.channel("browInnerUp")
            yaw = np.abs(clip.channel("leftEyeYaw"))
            qmask = np.zeros(len(brow), bool)
            for t in tl["turns"]:
                if t["speaker"] != party:
                    continue
                for u in t["utterances"]:
                    if u["question"]:
                        qmask[int((u["end"] - 0.5) * FPS) : int(u["end"] * FPS)] = True
                look_start.append(yaw[int(t["start"] * FPS) : int((t["start"] + 0.4) * FPS)].mean())
            near_q += list(brow[qmask])
            elsewhere += list(brow[~qmask])
            look_listen.append(yaw[~speech_mask(tl, party, len(yaw), margin_s=1.5)].mean())
    if near_q:
        assert np.mean(near_q) > np.mean(elsewhere) + 0.15
    assert np.mean(look_start) > 1.5 * np.mean(look_listen)


def test_manifest_records_every_rule_and_conversation(corpus):
    m = shards.read_manifest(corpus)
    rules = SynthRules()
    assert m["seed"] == SEED and m["format"] == 1 and m["layout_version"] == 1
    for section in ("timeline", "acoustics", "behaviour"):
        recorded = m["rules"][section]
        expected = json.loads(json.dumps(getattr(rules, section).to_dict()))
        assert set(recorded) == set(expected)
    assert m["rules"]["behaviour"] == json.loads(json.dumps(rules.behaviour.to_dict()))
    for c in m["conversations"]:
        assert {"id", "split", "frames", "duration", "language", "voices", "channels", "personas"} <= set(c)
        assert c["frames"] == round(c["duration"] * FPS)
        assert set(c["personas"]) == {"a", "b"} and c["voices"]["a"]["voice"] != c["voices"]["b"]["voice"]


def test_load_conversation_rejects_incomplete_conversation(corpus, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(corpus, broken)
    cid = shards.conversation_ids(shards.read_manifest(broken))[0]
    (broken / cid / shards.DONE_MARKER).unlink()
    with pytest.raises(shards.DatasetFormatError, match="incomplete"):
        shards.load_conversation(broken, cid)
    with pytest.raises(shards.DatasetFormatError, match="manifest"):
        shards.read_manifest(tmp_path)


def test_cli_synth_and_sample(tmp_path):
    from af_plugin.cli import main

    assert main(["data", "synth", "--out", str(tmp_path / "c"), "--hours", "0.005", "--seed", "3"]) == 0
    assert shards.read_manifest(tmp_path / "c")["conversations"]
    assert main(["data", "synth", "--out", str(tmp_path / "c"), "--hours", "-1"]) == 2
    stamp = (tmp_path / "c" / "conv_00000" / "a.wav").stat().st_mtime_ns
    assert main(["data", "synth", "--out", str(tmp_path / "c"), "--hours", "0.005", "--seed", "3"]) == 0
    assert (tmp_path / "c" / "conv_00000" / "a.wav").stat().st_mtime_ns == stamp  # resumed, not remade
    assert main(["data", "info", str(tmp_path / "c")]) == 0
    assert main(["data", "sample", "--out", str(tmp_path / "s"), "--seconds", "12"]) == 0
    names = sorted(p.name for p in (tmp_path / "s").iterdir())
    assert names == ["a.flac", "a.npz", "b.flac", "b.npz", "timeline.json"]


def test_shipped_sample_conversation_is_small_and_complete():
    import soundfile as sf

    d = Path(__file__).resolve().parents[1] / "af_plugin" / "assets" / "sample_conversation"
    if not d.is_dir():
        pytest.skip("sample conversation not generated yet")
    assert sum(p.stat().st_size for p in d.iterdir()) <= 2_000_000
    tl = json.loads((d / "timeline.json").read_text())
    for party in ("a", "b"):
        x, rate = sf.read(d / f"{party}.flac")
        assert rate == SAMPLE_RATE and x.ndim == 1 and 20 <= len(x) / rate <= 30
        assert len(x) == tl["frames"] * SAMPLES_PER_FRAME


def test_pitch_track_finds_the_fundamental():
    from af_plugin.training.synth_speech import pitch_track

    t = np.arange(SAMPLE_RATE) / SAMPLE_RATE
    f0 = np.where(t < 0.5, 120.0, 210.0)
    phase = 2 * np.pi * np.cumsum(f0) / SAMPLE_RATE
    voice = sum(np.sin(k * phase) / k for k in range(1, 8)).astype(np.float32)
    voice[int(0.8 * SAMPLE_RATE) :] = 0.0  # silence is unvoiced
    est = pitch_track(voice)
    assert np.median(est[10:40]) == pytest.approx(120, rel=0.03)
    assert np.median(est[55:75]) == pytest.approx(210, rel=0.03)
    assert (est[85:] == 0).all()


def test_lips_close_on_bilabials_and_round_on_rounded_vowels():
    """One real utterance through the rules: mouthClose peaks in m/b/p, mouthPucker in u/w, jaw in a."""
    from af_plugin.training.behaviour import BehaviourRules, draw_persona, synthesize_motion
    from af_plugin.training.synth_speech import EspeakSession, random_voice, synthesize
    from af_plugin.training.timeline import Placed, Plan, mix_clean

    rng = np.random.default_rng(1)
    text = "Bob, my mum may buy a map. Who knew you would move?"
    with EspeakSession.start() as session:
        utt = synthesize(text, random_voice("en", rng), session=session)
    frames = int(np.ceil((utt.duration + 1.0) * FPS))
    plan = Plan(placed=[Placed("a", 0.5, utt, "speech", 0)], pauses=[], turns=[{"speaker": "a", "start": 0.5,
                "end": 0.5 + utt.duration}], duration=frames / FPS, frames=frames)  # fmt: skip
    rules = BehaviourRules()
    persona = draw_persona(rules, rng)
    values, _ = synthesize_motion(plan, "a", persona, rules, rng, mix_clean(plan, "a"), [], [])
    from af_plugin.motion.clip import MotionClip

    clip = MotionClip(values)

    def mean_during(channel: str, symbols: set[str]) -> float:
        idx = [int((0.5 + (s + e) / 2) * FPS) for sym, s, e, _ in utt.phonemes if sym in symbols]
        assert idx, symbols
        return float(clip.channel(channel)[idx].mean())

    vowels = {"a", "aI", "A:", "eI", "oU", "u:", "U", "I", "i:", "@", "V", "3:", "0", "O:", "aU", "e@"}
    assert mean_during("mouthClose", {"m", "b", "p"}) > 2 * mean_during("mouthClose", vowels)
    assert mean_during("mouthPucker", {"u:", "w", "U"}) > 2 * mean_during("mouthPucker", {"a", "aI", "eI", "i:"})
    assert mean_during("jawOpen", {"a", "aI"}) > mean_during("jawOpen", {"m", "b", "p"})


def test_docs_manifest_example_matches_a_real_manifest(corpus):
    """docs/data.md shows the manifest; its keys (top level and per conversation) must be the real ones."""
    import re

    doc = (Path(__file__).resolve().parents[1] / "docs" / "data.md").read_text()
    block = re.search(r"`manifest.json`:\s*```json\n(.*?)```", doc, re.S).group(1)
    top = set(re.findall(r'^ ?\{?"(\w+)":', block, re.M)) | set(re.findall(r', "(\w+)": ', block.splitlines()[0]))
    conv_keys = set(re.findall(r'"(\w+)":', block.split('"conversations": [')[1].split("}],")[0]))
    m = shards.read_manifest(corpus)
    assert {"format", "fps", "sample_rate", "layout_version", "seed", "rules", "conversations"} <= top
    assert top <= set(m)
    for key in ("generator", "timeline", "acoustics", "behaviour", "speech"):
        assert key in m["rules"] and f'"{key}"' in block
    assert conv_keys - {"a", "b"} <= set(m["conversations"][0])  # "a"/"b" are the parties inside voices etc.


def test_fallback_without_the_library_estimates_phoneme_timing(tmp_path):
    """The espeak-ng command path (no libespeak-ng helper): still speech, phonemes spread over the audio."""
    from af_plugin.training.synth_speech import random_voice, synthesize

    utt = synthesize("Maybe we should book a boat for Monday?", random_voice("en", np.random.default_rng(2)), True)
    assert utt.duration > 1.0 and np.abs(utt.audio).max() > 0.1
    starts = [s for _, s, _, _ in utt.phonemes]
    assert starts == sorted(starts) and starts[0] < 0.1 and utt.phonemes[-1][2] > 0.8 * utt.duration
    assert any(stressed for *_, stressed in utt.phonemes)
    rules = dataclasses.replace(short_rules(), exact_phoneme_timing=False)
    manifest = synth_corpus(tmp_path / "c", hours=0.005, seed=4, heldout_fraction=0.0, rules=rules)
    assert manifest["conversations"][0]["phoneme_timing"] == "estimated"
    assert "nominal weight" in manifest["rules"]["speech"]["phoneme_timing"]


def test_listener_mirrors_the_other_partys_smile_with_a_lag(conversations):
    rises = []
    for _cid, _a, _b, ma, mb, tl in conversations:
        for party, clip in (("a", ma), ("b", mb)):
            smile = clip.channel("mouthSmileLeft") + clip.channel("mouthSmileRight")
            for ev in tl["behaviour"][party]["smiles"]:
                if ev["mirrored"]:
                    i = int(ev["start"] * FPS)
                    if i + 15 < len(smile):
                        rises.append(smile[i + 15] - smile[max(0, i - 10)])
                    other = [s for s in tl["behaviour"]["b" if party == "a" else "a"]["smiles"] if not s["mirrored"]]
                    assert any(0.29 <= ev["start"] - s["start"] <= 0.91 for s in other)
    if not rises:
        pytest.skip("no mirrored smile in this small corpus")
    assert np.mean(rises) > 0.1
