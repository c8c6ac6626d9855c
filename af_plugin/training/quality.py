"""Behavioural checks of a trained model, the numbers in docs/model-card.md.

    python -m af_plugin.training.quality --checkpoint CKPT [--data CORPUS] [--out quality.json]

* **Talking** (avatar audio only, real speech): does the mouth open when the voice speaks and rest in
  pauses? ROC AUC of mouth opening (jawOpen, 200 ms mean) for speech vs silence frames; labels from
  perception's voice_activity (> 0.5) and from level (within 20 dB of loud speech), which also marks the short
  pauses between phrases. Target >= 0.9.
* **Lip sync** on the real talking-head video: Pearson r of generated jawOpen vs the jawOpen tracked from
  the real speaker (perception's face tracker).
* **Listening** (user audio only, avatar silent): head + expression activity while the user speaks vs while
  the user is silent, and head-pitch activity (nods) in the second after the user pauses vs elsewhere.
  On real speech and on held-out synthetic conversations (never trained on).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from scipy.ndimage import maximum_filter1d
from scipy.stats import rankdata

from af_plugin.constants import FPS
from af_plugin.motion.contract import ARKIT_BLENDSHAPES, CHANNEL_INDEX, HEAD_ROTATION, channel_slice

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"
JAW = CHANNEL_INDEX["jawOpen"]


def roc_auc(score: np.ndarray, label: np.ndarray) -> float:
    """Probability that a random positive frame scores above a random negative one (Mann-Whitney U)."""
    label = np.asarray(label, bool)
    pos, neg = label.sum(), (~label).sum()
    if pos == 0 or neg == 0:
        return float("nan")
    ranks = rankdata(score)
    return float((ranks[label].sum() - pos * (pos + 1) / 2) / (pos * neg))


def head_activity(values: np.ndarray) -> np.ndarray:
    """Per-frame speed of the head (rad/frame, L2 over yaw/pitch/roll)."""
    rot = values[:, channel_slice(HEAD_ROTATION)]
    return np.r_[0.0, np.linalg.norm(np.diff(rot, axis=0), axis=1)]


def expression_activity(values: np.ndarray) -> np.ndarray:
    """Per-frame change of the non-mouth expression blendshapes (brows, eyes squint, smile, cheeks)."""
    names = [n for n in ARKIT_BLENDSHAPES if n.startswith(("brow", "mouthSmile", "cheek", "eyeSquint", "eyeWide"))]
    idx = [CHANNEL_INDEX[n] for n in names]
    return np.r_[0.0, np.abs(np.diff(values[:, idx], axis=0)).sum(1)]


def smooth(x: np.ndarray, frames: int = 5) -> np.ndarray:
    return np.convolve(x, np.ones(frames) / frames, mode="same")


def pause_onsets(speech: np.ndarray, min_speech: int = 12, min_pause: int = 8) -> list[int]:
    """Frames where at least ``min_speech`` frames of speech end and at least ``min_pause`` frames of silence follow."""
    out, run = [], 0
    for t in range(1, len(speech)):
        run = run + 1 if speech[t - 1] else 0
        if speech[t - 1] and not speech[t] and run >= min_speech and not speech[t : t + min_pause].any():
            out.append(t)
    return out


def energy_speech(audio: np.ndarray, below_loud_db: float = 20.0) -> np.ndarray:
    """Per-frame speech labels from level: within ``below_loud_db`` of the clip's loud speech (95th pct).

    Catches the short pauses between phrases that a VAD (tuned to bridge them) labels as speech."""
    from af_plugin.evaluation.metrics import speech_energy

    e = speech_energy(audio)
    return e > np.percentile(e, 95) - below_loud_db


def talking(gen, audio_path: Path, seed: int = 0) -> dict:
    """Mouth opening vs speech, three scores: jawOpen per frame; its 200 ms mean; its maximum within ±160 ms
    (did the mouth open during this syllable? within speech the jaw also closes for m/b/p and between
    syllables, which a per-frame score counts against the model)."""
    from af_plugin.model.streaming import generate_offline
    from af_plugin.perception.audio import load_audio
    from af_plugin.perception.features import logmel_frames, voice_activity

    audio = load_audio(audio_path)
    clip = generate_offline(gen, avatar_audio=logmel_frames(audio), seed=seed)
    vad, level = voice_activity(audio) > 0.5, energy_speech(audio)
    n = min(len(clip), len(vad), len(level))
    jaw = clip.values[:n, JAW]
    mouth = smooth(jaw, 5)
    activity = maximum_filter1d(jaw, 9, mode="nearest")  # opened within ±160 ms: about one syllable period
    out = {"source": audio_path.name, "frames": int(n)}
    for name, lab in (("vad", vad[:n]), ("energy", level[:n])):
        out[f"{name}_speech_fraction"] = round(float(lab.mean()), 3)
        out[f"mouth_auc_{name}"] = round(roc_auc(mouth, lab), 4)
        out[f"mouth_auc_{name}_per_frame"] = round(roc_auc(jaw, lab), 4)
        out[f"mouth_auc_{name}_syllable_max"] = round(roc_auc(activity, lab), 4)
        if lab.any() and (~lab).any():
            out[f"jaw_mean_speech_{name}"] = round(float(jaw[lab].mean()), 4)
            out[f"jaw_mean_silence_{name}"] = round(float(jaw[~lab].mean()), 4)
    return out


def listening(gen, user_audio: np.ndarray, seed: int = 0, name: str = "") -> dict:
    """User audio only (the avatar is silent): motion while the user speaks vs is silent, nods after pauses."""
    from af_plugin.model.streaming import generate_offline
    from af_plugin.perception.features import logmel_frames, voice_activity

    vad = voice_activity(user_audio)
    clip = generate_offline(gen, user_audio=logmel_frames(user_audio), seed=seed)
    n = min(len(clip), len(vad))
    v, speech = clip.values[:n], vad[:n] > 0.5
    head, expr = smooth(head_activity(v)), smooth(expression_activity(v))
    pitch_speed = smooth(np.abs(np.r_[0.0, np.diff(v[:, CHANNEL_INDEX["headPitch"]])]))
    onsets = pause_onsets(speech)
    after = np.zeros(n, bool)
    for t in onsets:
        after[t : t + FPS] = True
    out = {"source": name, "frames": int(n), "speech_fraction": round(float(speech.mean()), 3),
           "pause_onsets": len(onsets), "jaw_mean": round(float(v[:, JAW].mean()), 4)}  # fmt: skip
    if speech.any() and (~speech).any():
        out["head_activity_speech_over_silence"] = round(
            float(head[speech].mean() / max(head[~speech].mean(), 1e-9)), 3
        )
        out["expression_activity_speech_over_silence"] = round(
            float(expr[speech].mean() / max(expr[~speech].mean(), 1e-9)), 3
        )
    if after.any() and (~after).any():
        out["nod_activity_after_pause_over_elsewhere"] = round(
            float(pitch_speed[after].mean() / max(pitch_speed[~after].mean(), 1e-9)), 3
        )
    return out


def _mask(intervals, n: int, shift: float = 0.0, length: float | None = None) -> np.ndarray:
    m = np.zeros(n, bool)
    for a, b in intervals:
        a = a + shift
        b = a + length if length is not None else b
        m[max(0, int(round(a * FPS))) : max(0, int(round(b * FPS)))] = True
    return m


def timeline_masks(tl: dict, n: int, user: str, avatar: str) -> dict[str, np.ndarray]:
    """Frame masks from a corpus timeline: who speaks, and the second after the user's within-turn pauses."""

    def speech(party):
        iv = [(u["start"], u["end"]) for t in tl["turns"] if t["speaker"] == party for u in t["utterances"]]
        return iv + [(b["start"], b["end"]) for b in tl["backchannels"] if b["speaker"] == party]

    pauses = [(p["start"], p["end"]) for p in tl["pauses"] if p["speaker"] == user]
    return {"user_speaks": _mask(speech(user), n), "avatar_speaks": _mask(speech(avatar), n),
            "after_pause": _mask(pauses, n, shift=0.2, length=0.8)}  # fmt: skip


def listening_stats(values: np.ndarray, m: dict[str, np.ndarray]) -> dict:
    """On frames where the avatar is silent: head/expression activity while the user speaks vs not, and
    head-pitch (nod) activity in [0.2, 1.0] s after the user's within-turn pauses vs during user speech."""
    head, expr = smooth(head_activity(values)), smooth(expression_activity(values))
    pitch = smooth(np.abs(np.r_[0.0, np.diff(values[:, CHANNEL_INDEX["headPitch"]])]))
    quiet = ~m["avatar_speaks"]
    talk, silent = quiet & m["user_speaks"] & ~m["after_pause"], quiet & ~m["user_speaks"] & ~m["after_pause"]
    after = quiet & m["after_pause"]

    def ratio(x, a, b):
        return float(x[a].mean() / max(x[b].mean(), 1e-9)) if a.any() and b.any() else float("nan")

    return {"head_speech_over_silence": ratio(head, talk, silent), "expr_speech_over_silence": ratio(expr, talk, silent),
            "nod_after_pause_over_during_speech": ratio(pitch, after, talk)}  # fmt: skip


def heldout_listening(gen, data: Path, max_conversations: int = 4, seed: int = 0) -> dict:
    """Held-out synthetic conversations (never trained on), party a as the avatar, b as the user.

    Three motions are scored on the same frames: generated from the user's audio alone (avatar audio
    absent), generated from both parties' audio (a real conversation), and the corpus' own rule motion of a
    (the reference the model learns from)."""
    from af_plugin.model.streaming import generate_offline
    from af_plugin.perception.features import logmel_frames
    from af_plugin.training import shards

    manifest = shards.read_manifest(data)
    rows: dict[str, list[dict]] = {"user_audio_only": [], "both_audio": [], "reference_rule_motion": []}
    ids = shards.conversation_ids(manifest, "heldout")[:max_conversations]
    for cid in ids:
        a_audio, b_audio, a_mot, _, tl = shards.load_conversation(data, cid)
        fa, fb = logmel_frames(a_audio), logmel_frames(b_audio)
        n = len(a_mot)
        m = timeline_masks(tl, n, user="b", avatar="a")
        user_only = generate_offline(gen, user_audio=fb, seed=seed).values[:n]
        both = generate_offline(gen, avatar_audio=fa, user_audio=fb, seed=seed).values[:n]
        for key, v in (("user_audio_only", user_only), ("both_audio", both), ("reference_rule_motion", a_mot.values)):
            rows[key].append(listening_stats(v, m))
    out: dict = {"conversations": ids}
    for key, r in rows.items():
        out[key] = {k: round(float(np.nanmean([x[k] for x in r])), 3) for k in r[0]}
    return out


def heldout_talking(gen, data: Path, max_conversations: int = 4, seed: int = 0) -> list[dict]:
    """Held-out synthetic conversations with both parties' audio (party a is the avatar): mouth AUC with the
    timeline's own labels of when a speaks (a microphone VAD would also fire on the partner's crosstalk),
    and Pearson r of generated vs the corpus' rule jawOpen."""
    from af_plugin.model.streaming import generate_offline
    from af_plugin.perception.features import logmel_frames
    from af_plugin.training import shards

    manifest = shards.read_manifest(data)
    out = []
    for cid in shards.conversation_ids(manifest, "heldout")[:max_conversations]:
        a_audio, b_audio, a_mot, _, tl = shards.load_conversation(data, cid)
        n = len(a_mot)
        clip = generate_offline(gen, avatar_audio=logmel_frames(a_audio), user_audio=logmel_frames(b_audio), seed=seed)
        speaks = timeline_masks(tl, n, user="b", avatar="a")["avatar_speaks"]
        jaw = clip.values[:n, JAW]
        out.append({"source": cid, "mouth_auc": round(roc_auc(smooth(jaw, 5), speaks), 4),
                    "mouth_auc_per_frame": round(roc_auc(jaw, speaks), 4),
                    "mouth_auc_rule_motion": round(roc_auc(smooth(a_mot.values[:n, JAW], 5), speaks), 4),
                    "jaw_r_vs_rule_motion": round(float(np.corrcoef(jaw, a_mot.values[:n, JAW])[0, 1]), 4)})  # fmt: skip
    return out


def evaluate(checkpoint: str | None, data: Path | None = None, seed: int = 0) -> dict:
    import torch

    from af_plugin.model.streaming import StreamingGenerator
    from af_plugin.perception.audio import load_audio

    torch.set_num_threads(1)
    gen = StreamingGenerator.load(checkpoint, device="cpu")
    res: dict = {"checkpoint": str(checkpoint or "shipped default"), "block_size": gen.block_size,
                 "lookahead": gen.lookahead, "steps": gen.steps, "cfg_avatar": gen.cfg_avatar, "cfg_user": gen.cfg_user}  # fmt: skip
    radio, video = SHARED / "hdtf_radio31_16k.wav", SHARED / "hdtf_katiehill_25fps.mp4"
    if radio.exists():
        res["talking_radio31"] = talking(gen, radio, seed)
        res["listening_radio31"] = listening(gen, load_audio(radio), seed, radio.name)
    if video.exists():
        res["talking_katiehill"] = talking(gen, video, seed)
        try:
            from af_plugin.evaluation.lipsync import hdtf_lipsync

            lip = hdtf_lipsync(gen, video, seed=seed)
            res["lipsync_katiehill"] = {k: round(v, 4) if isinstance(v, float) else v for k, v in lip.items()
                                        if k in ("frames", "lipsync_hdtf_r", "generated_energy_r", "tracked_energy_r")}  # fmt: skip
        except Exception as e:  # tracking needs MediaPipe; report rather than fail the whole evaluation
            res["lipsync_katiehill"] = {"error": f"{type(e).__name__}: {e}"}
    if data is not None:
        res["heldout_talking"] = heldout_talking(gen, data, seed=seed)
        res["heldout_listening"] = heldout_listening(gen, data, seed=seed)
    return res


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", default=None)
    p.add_argument("--data", type=Path, default=None, help="corpus whose held-out split to use")
    p.add_argument("--out", type=Path, default=None)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    res = evaluate(args.checkpoint, args.data, args.seed)
    text = json.dumps(res, indent=1)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
