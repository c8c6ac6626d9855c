"""Motion metrics of the Avatar Forcing paper, on the motion contract's channels.

Every function takes plain ``(T, C)`` float arrays (frames × channels) so the definitions can be read
and tested without any model. Exact definitions (also in ``docs/evaluation.md``):

* **PCC(x, y)** for two multi-channel sequences of one conversation = the mean over channels of the
  per-channel Pearson correlation between ``x[:, c]`` and ``y[:, c]``. A channel that is constant in
  either sequence has no defined correlation; it counts as 0 (no linear relation), so the result is
  never NaN.
* **rPCC** over a set of conversations = ``| mean_k PCC(gen_k, user_k) − mean_k PCC(real_k, user_k) |``
  (the L2L/DIM/Avatar Forcing definition: the generated avatar should correlate with the user as much
  as the real avatar did; lower is better). Exp uses the 52 blendshapes; Pose the 6 head channels.
* **SID** = Shannon entropy (natural log) of the histogram of k-means cluster ids over one
  sequence's frames, averaged over conversations. The k-means codebook (k = 40 by default) is fitted
  once on the *real* avatar frames, in per-channel standardised features, and shared by every method.
* **Var** = total variance (trace of the frames' covariance, i.e. the sum over channels of the
  temporal variance) of one sequence, averaged over conversations, in the contract's raw units.
* **FD** = Fréchet distance between Gaussians fitted to the per-frame features of all generated and
  all real frames: ``|μ₁−μ₂|² + Tr(Σ₁ + Σ₂ − 2 (Σ₁Σ₂)^½)``.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import scipy.linalg
from scipy.cluster.vq import kmeans2

from af_plugin.constants import SAMPLES_PER_FRAME
from af_plugin.motion.contract import (
    ARKIT_BLENDSHAPES,
    CHANNEL_INDEX,
    HEAD_ROTATION,
    HEAD_TRANSLATION,
    channel_slice,
)

# --- channel groups the metrics use ---------------------------------------------------------------
EXP_SLICE = channel_slice(ARKIT_BLENDSHAPES)
"""Expression = the 52 ARKit blendshapes (0..1)."""
POSE_INDICES = list(range(CHANNEL_INDEX[HEAD_ROTATION[0]], CHANNEL_INDEX[HEAD_TRANSLATION[-1]] + 1))
"""Pose = head rotation (rad) + head translation (m): 6 channels."""
MOTION_INDICES = list(range(EXP_SLICE.start, EXP_SLICE.stop)) + POSE_INDICES
"""The 58 channels SID/Var/FD use: expression + pose (gaze is left out, as in the paper's 3DMM)."""
MOUTH_CHANNEL = "jawOpen"
"""The mouth channel lip-sync correlates with speech energy."""

DEFAULT_SID_CLUSTERS = 40
_EPS = 1e-8


def expression(values: np.ndarray) -> np.ndarray:
    """(T, 62) → (T, 52) blendshapes."""
    return np.asarray(values)[:, EXP_SLICE]


def pose(values: np.ndarray) -> np.ndarray:
    """(T, 62) → (T, 6) head rotation + translation."""
    return np.asarray(values)[:, POSE_INDICES]


def motion_features(values: np.ndarray) -> np.ndarray:
    """(T, 62) → (T, 58) expression + pose, the features of SID, Var and FD."""
    return np.asarray(values)[:, MOTION_INDICES]


# --- correlation ------------------------------------------------------------------------------------
def pearson_per_channel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Pearson r of each column of x with the same column of y: (T, C), (T, C) → (C,).

    Columns constant in x or y (variance below 1e-12 of their scale) give 0, never NaN.
    """
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64)
    if x.ndim == 1:
        x, y = x[:, None], y[:, None]
    if x.shape != y.shape:
        raise ValueError(f"sequences differ in shape: {x.shape} vs {y.shape}")
    if len(x) < 2:
        return np.zeros(x.shape[1])
    xc = x - x.mean(axis=0)
    yc = y - y.mean(axis=0)
    sx = np.sqrt((xc**2).sum(axis=0))
    sy = np.sqrt((yc**2).sum(axis=0))
    # "constant" relative to the signal's magnitude, so float32 round-off on a constant is still constant
    tol_x = 1e-6 * (np.abs(x).max(axis=0) + 1e-12) * np.sqrt(len(x))
    tol_y = 1e-6 * (np.abs(y).max(axis=0) + 1e-12) * np.sqrt(len(y))
    ok = (sx > tol_x) & (sy > tol_y)
    r = np.zeros(x.shape[1])
    r[ok] = (xc[:, ok] * yc[:, ok]).sum(axis=0) / (sx[ok] * sy[ok])
    return np.clip(r, -1.0, 1.0)


def pcc(x: np.ndarray, y: np.ndarray) -> float:
    """Mean over channels of the per-channel Pearson r of two (T, C) sequences (constant → 0)."""
    return float(pearson_per_channel(x, y).mean())


def rpcc(generated: Sequence[np.ndarray], real: Sequence[np.ndarray], user: Sequence[np.ndarray]) -> float:
    """|mean_k PCC(generated_k, user_k) − mean_k PCC(real_k, user_k)| over conversations k.

    Each item is one conversation's (T, C) sequence in the same channel group; the three lists align.
    """
    if not (len(generated) == len(real) == len(user)) or not generated:
        raise ValueError("rpcc needs equally many (≥ 1) generated, real and user sequences")
    gen_r = np.mean([pcc(g, u) for g, u in zip(generated, user)])
    real_r = np.mean([pcc(r, u) for r, u in zip(real, user)])
    return float(abs(gen_r - real_r))


# --- richness ----------------------------------------------------------------------------------------
class ClusterCodebook:
    """k-means centres fitted on reference (real) frames, in per-channel standardised units.

    Standardising (with the reference's mean and std; channels that never move get std 1) keeps small-
    unit channels (head translation in metres) from being ignored by the Euclidean k-means.
    """

    def __init__(self, reference: np.ndarray, k: int = DEFAULT_SID_CLUSTERS, seed: int = 0):
        reference = np.asarray(reference, np.float64)
        if reference.ndim != 2 or len(reference) == 0:
            raise ValueError(f"reference frames must be (N, C) with N ≥ 1, got {reference.shape}")
        self.mean = reference.mean(axis=0)
        std = reference.std(axis=0)
        self.std = np.where(std > 1e-6, std, 1.0)
        z = self._standardise(reference)
        self.k = int(min(k, len(np.unique(z.round(9), axis=0))))  # no more clusters than distinct points
        with warnings.catch_warnings():  # an empty cluster on tiny inputs is fine: its centre stays put
            warnings.simplefilter("ignore")
            self.centres, _ = kmeans2(z, self.k, minit="++", rng=np.random.default_rng(seed), iter=30)

    def _standardise(self, frames: np.ndarray) -> np.ndarray:
        return (np.asarray(frames, np.float64) - self.mean) / self.std

    def assign(self, frames: np.ndarray) -> np.ndarray:
        """Nearest-centre cluster id of each frame: (T, C) → (T,) int."""
        z = self._standardise(frames)
        d = ((z[:, None, :] - self.centres[None, :, :]) ** 2).sum(axis=-1)
        return d.argmin(axis=1)

    def histogram(self, frames: np.ndarray) -> np.ndarray:
        """Fraction of frames in each cluster: (k,) summing to 1."""
        counts = np.bincount(self.assign(frames), minlength=self.k).astype(np.float64)
        return counts / max(counts.sum(), 1.0)


def shannon_entropy(p: np.ndarray) -> float:
    """−Σ p log p (natural log), with 0 log 0 = 0."""
    p = np.asarray(p, np.float64)
    p = p[p > 0]
    return float(-(p * np.log(p)).sum()) if len(p) else 0.0


def sid(sequences: Sequence[np.ndarray], codebook: ClusterCodebook) -> float:
    """Mean over sequences of the Shannon entropy of their k-means cluster histograms."""
    return float(np.mean([shannon_entropy(codebook.histogram(s)) for s in sequences]))


def total_variance(x: np.ndarray) -> float:
    """Sum over channels of the temporal variance of one (T, C) sequence (population variance)."""
    x = np.asarray(x, np.float64)
    return float(x.var(axis=0).sum()) if len(x) else 0.0


def variance(sequences: Sequence[np.ndarray]) -> float:
    """Mean over sequences of their total variance."""
    return float(np.mean([total_variance(s) for s in sequences]))


# --- distribution distance -----------------------------------------------------------------------------
def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to the rows of a (N, C) and b (M, C).

    Tiny negative results of round-off are clipped to 0.
    Constant inputs have zero covariance and give just the squared distance of the means.
    """
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"feature sets must be (N, C) with the same C, got {a.shape} and {b.shape}")
    cov_a = np.atleast_2d(np.cov(a, rowvar=False)) if len(a) > 1 else np.zeros((a.shape[1],) * 2)
    cov_b = np.atleast_2d(np.cov(b, rowvar=False)) if len(b) > 1 else np.zeros((b.shape[1],) * 2)
    return frechet_from_stats(a.mean(axis=0), cov_a, b.mean(axis=0), cov_b)


def frechet_from_stats(mu_a: np.ndarray, cov_a: np.ndarray, mu_b: np.ndarray, cov_b: np.ndarray) -> float:
    """Fréchet distance of two Gaussians given by mean and covariance."""
    # Tr((Σa Σb)^½) = Σ √λ of the symmetric PSD matrix Σa^½ Σb Σa^½: stable for singular covariances
    # (channels that never move), unlike a general sqrtm of Σa Σb.
    w, v = scipy.linalg.eigh(cov_a)
    sqrt_a = (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T
    inner = scipy.linalg.eigvalsh(sqrt_a @ cov_b @ sqrt_a)
    tr_covmean = float(np.sqrt(np.clip(inner, 0.0, None)).sum())
    fd = float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a) + np.trace(cov_b) - 2.0 * tr_covmean)
    return max(fd, 0.0)


# --- lip sync ----------------------------------------------------------------------------------------
def speech_energy(samples16k: np.ndarray, frames: int | None = None) -> np.ndarray:
    """Per-frame log energy (dB of RMS, floored at −80 dB) of 16 kHz mono audio: (T,) float64.

    Frame t covers samples [t·640, (t+1)·640), the same grid as the motion frames.
    """
    samples = np.asarray(samples16k, np.float64)
    n = len(samples) // SAMPLES_PER_FRAME if frames is None else frames
    padded = np.zeros(n * SAMPLES_PER_FRAME)
    m = min(len(samples), len(padded))
    padded[:m] = samples[:m]
    rms = np.sqrt((padded.reshape(n, SAMPLES_PER_FRAME) ** 2).mean(axis=1))
    return 20.0 * np.log10(np.maximum(rms, 1e-4))


def lipsync_r(values: np.ndarray, energy: np.ndarray) -> float:
    """Pearson r between the mouth channel (jawOpen) of (T, 62) motion and (T,) speech energy."""
    n = min(len(values), len(energy))
    mouth = np.asarray(values)[:n, CHANNEL_INDEX[MOUTH_CHANNEL]]
    return float(pearson_per_channel(mouth, np.asarray(energy)[:n])[0])
