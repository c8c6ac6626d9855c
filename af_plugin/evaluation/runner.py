"""Run methods on held-out conversations and score them with the paper's metrics.

``score`` is the one place the metric definitions of ``metrics.py`` are applied to a set of
conversations, so the main table, the baselines and the drift windows are computed identically.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from af_plugin.evaluation import metrics as M
from af_plugin.evaluation.baselines import Method, RealAvatar
from af_plugin.evaluation.heldout import Conversation

METRIC_KEYS = ("rpcc_exp", "rpcc_pose", "sid", "var", "fd", "lipsync_r")
"""The headline keys every method's scores carry (the `af eval --json` contract)."""


@dataclass
class Reference:
    """What generated motion is scored against: the real avatar's frames, the user and the avatar's voice."""

    real: list[np.ndarray]
    user: list[np.ndarray]
    energy: list[np.ndarray]
    codebook: M.ClusterCodebook
    real_features: np.ndarray
    real_exp: np.ndarray
    real_pose: np.ndarray

    @classmethod
    def build(
        cls,
        real: Sequence[np.ndarray],
        user: Sequence[np.ndarray],
        energy: Sequence[np.ndarray],
        *,
        sid_clusters: int = M.DEFAULT_SID_CLUSTERS,
        seed: int = 0,
    ) -> Reference:
        real_features = np.concatenate([M.motion_features(r) for r in real])
        return cls(
            real=list(real),
            user=list(user),
            energy=list(energy),
            codebook=M.ClusterCodebook(real_features, k=sid_clusters, seed=seed),
            real_features=real_features,
            real_exp=np.concatenate([M.expression(r) for r in real]),
            real_pose=np.concatenate([M.pose(r) for r in real]),
        )

    @classmethod
    def from_conversations(cls, convs: Sequence[Conversation], **kw) -> Reference:
        return cls.build(
            [c.avatar_motion for c in convs],
            [c.user_motion for c in convs],
            [M.speech_energy(c.avatar_audio, c.frames) for c in convs],
            **kw,
        )


def score(generated: Sequence[np.ndarray], ref: Reference) -> dict[str, float]:
    """All metrics of one method over the reference's conversations (lists align by conversation)."""
    if len(generated) != len(ref.real):
        raise ValueError(f"{len(generated)} generated sequences for {len(ref.real)} conversations")
    gen_exp = [M.expression(g) for g in generated]
    gen_pose = [M.pose(g) for g in generated]
    user_exp = [M.expression(u) for u in ref.user]
    user_pose = [M.pose(u) for u in ref.user]
    gen_features = [M.motion_features(g) for g in generated]
    return {
        "rpcc_exp": M.rpcc(gen_exp, [M.expression(r) for r in ref.real], user_exp),
        "rpcc_pose": M.rpcc(gen_pose, [M.pose(r) for r in ref.real], user_pose),
        "sid": M.sid(gen_features, ref.codebook),
        "var": M.variance(gen_features),
        "fd": M.frechet_distance(np.concatenate(gen_features), ref.real_features),
        "lipsync_r": float(np.mean([M.lipsync_r(g, e) for g, e in zip(generated, ref.energy)])),
        # the parts, for readers of the JSON
        "pcc_exp": float(np.mean([M.pcc(g, u) for g, u in zip(gen_exp, user_exp)])),
        "pcc_pose": float(np.mean([M.pcc(g, u) for g, u in zip(gen_pose, user_pose)])),
        "fd_exp": M.frechet_distance(np.concatenate(gen_exp), ref.real_exp),
        "fd_pose": M.frechet_distance(np.concatenate(gen_pose), ref.real_pose),
    }


class _Moments:
    """Per-conversation count, sum and sum of outer products of frames: pooled mean/cov of any subset."""

    def __init__(self, seqs: Sequence[np.ndarray]):
        x = [np.asarray(q, np.float64) for q in seqs]
        self.n = np.array([len(q) for q in x], np.float64)
        self.s = np.stack([q.sum(axis=0) for q in x])
        self.ss = np.stack([q.T @ q for q in x])

    def gaussian(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n = self.n[idx].sum()
        mu = self.s[idx].sum(axis=0) / n
        cov = (self.ss[idx].sum(axis=0) - n * np.outer(mu, mu)) / max(n - 1, 1)
        return mu, cov


def bootstrap_intervals(
    generated: Sequence[np.ndarray], ref: Reference, *, resamples: int = 200, seed: int = 0
) -> dict[str, list[float]]:
    """95 % percentile intervals of the headline metrics when the conversations are resampled with
    replacement: how much the figures depend on which conversations were held out."""
    k = len(generated)
    pcc_e = np.array([M.pcc(M.expression(g), M.expression(u)) for g, u in zip(generated, ref.user)])
    pcc_e_real = np.array([M.pcc(M.expression(r), M.expression(u)) for r, u in zip(ref.real, ref.user)])
    pcc_p = np.array([M.pcc(M.pose(g), M.pose(u)) for g, u in zip(generated, ref.user)])
    pcc_p_real = np.array([M.pcc(M.pose(r), M.pose(u)) for r, u in zip(ref.real, ref.user)])
    feats = [M.motion_features(g) for g in generated]
    sid_k = np.array([M.shannon_entropy(ref.codebook.histogram(f)) for f in feats])
    var_k = np.array([M.total_variance(f) for f in feats])
    lip_k = np.array([M.lipsync_r(g, e) for g, e in zip(generated, ref.energy)])
    gen_m, real_m = _Moments(feats), _Moments([M.motion_features(r) for r in ref.real])
    rng = np.random.default_rng(seed)
    draws: dict[str, list[float]] = {key: [] for key in METRIC_KEYS}
    for _ in range(resamples):
        i = rng.integers(0, k, k)
        draws["rpcc_exp"].append(abs(pcc_e[i].mean() - pcc_e_real[i].mean()))
        draws["rpcc_pose"].append(abs(pcc_p[i].mean() - pcc_p_real[i].mean()))
        draws["sid"].append(sid_k[i].mean())
        draws["var"].append(var_k[i].mean())
        draws["lipsync_r"].append(lip_k[i].mean())
        draws["fd"].append(M.frechet_from_stats(*gen_m.gaussian(i), *real_m.gaussian(i)))
    return {key: [float(np.percentile(v, 2.5)), float(np.percentile(v, 97.5))] for key, v in draws.items()}


@dataclass
class EvalRun:
    """Scores and generated motion of every method on one set of conversations."""

    conversations: list[Conversation]
    scores: dict[str, dict[str, float]] = field(default_factory=dict)
    outputs: dict[str, list[np.ndarray]] = field(default_factory=dict)
    descriptions: dict[str, str] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


def evaluate(
    convs: Sequence[Conversation],
    methods: Sequence[Method],
    *,
    sid_clusters: int = M.DEFAULT_SID_CLUSTERS,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> EvalRun:
    """Generate with each method on every conversation and score it; ``real`` is always included."""
    import time

    convs = list(convs)
    if not convs:
        raise ValueError("no conversations to evaluate")
    ref = Reference.from_conversations(convs, sid_clusters=sid_clusters, seed=seed)
    run = EvalRun(conversations=convs)
    memo: dict[tuple, list[np.ndarray]] = {}
    all_methods = [RealAvatar(), *[m for m in methods if m.name != "real"]]
    for method in all_methods:
        key = getattr(method, "cache_key", None)
        t0 = time.perf_counter()
        if key is not None and key in memo:
            outs = memo[key]
        else:
            outs = []
            for i, conv in enumerate(convs):
                if progress:
                    progress(f"{method.name}: conversation {i + 1}/{len(convs)} ({conv.id}, {conv.frames} frames)")
                outs.append(np.asarray(method.generate(conv), np.float32))
            if key is not None:
                memo[key] = outs
        run.seconds[method.name] = time.perf_counter() - t0
        run.outputs[method.name] = outs
        run.scores[method.name] = score(outs, ref)
        if len(convs) > 1:
            run.scores[method.name]["ci95"] = bootstrap_intervals(outs, ref, seed=seed)
        run.descriptions[method.name] = method.description
    return run
