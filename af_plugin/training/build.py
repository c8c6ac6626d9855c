"""`af data build`: a dataset in the shard format (shards.py) from real recordings of two parties.

Motion per party comes from (a) one video each, (b) one side-by-side video cut in two halves, or (c) Live
Link Face CSV takes; audio per party from separate files (or the videos' own tracks) or from the two
channels of one stereo file (channel 0 = a, 1 = b). One conversation per set of inputs; many with
``--batch FILE.jsonl`` (one JSON object per line with the same keys as the options, e.g.
``{"id": "take1", "livelink_a": "a.csv", "livelink_b": "b.csv", "stereo_audio": "take1.wav"}``).

User mistakes (a missing file, a mono file given as stereo, inputs whose lengths disagree) raise
BuildInputError before anything is written. Recordings that are readable but unusable (no face in most
frames, too short, undecodable) are *skipped* and reported with the reason; the rest of a batch goes on.
Finished conversations have a done marker (shards.DONE_MARKER) recording their inputs' sizes, so a
re-run skips them unless an input changed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from af_plugin.constants import FPS, SAMPLE_RATE, SAMPLES_PER_FRAME
from af_plugin.errors import AFError, AudioFormatError, MotionFormatError, VideoFormatError
from af_plugin.motion.clip import MotionClip
from af_plugin.training import shards

INPUT_KEYS = ("video_a", "video_b", "side_by_side", "livelink_a", "livelink_b", "audio_a", "audio_b",
              "stereo_audio")  # fmt: skip
LENGTH_TOLERANCE_SECONDS = 0.5  # party streams of one take may differ by this much; longer ones are trimmed
MIN_FACE_FRACTION = 0.5  # a party's motion must have a face in at least this share of frames


class BuildInputError(AFError):
    """The inputs of `af data build` are missing, of the wrong kind, or disagree with each other."""


class SkipConversation(Exception):
    """A readable recording that cannot become training data; carries the reason shown to the user."""


@dataclass
class BuildJob:
    """One conversation's inputs (paths) and where it goes."""

    conv_id: str | None = None
    split_name: str = "train"
    split: str = "left-right"  # for side_by_side: a = left/top, b = right/bottom
    inputs: dict[str, Path] = field(default_factory=dict)

    def mode(self) -> str:
        has = {k for k, v in self.inputs.items() if v is not None}
        modes = {
            "video": {"video_a", "video_b"} <= has,
            "side_by_side": "side_by_side" in has,
            "livelink": {"livelink_a", "livelink_b"} <= has,
        }
        chosen = [m for m, ok in modes.items() if ok]
        if len(chosen) != 1:
            half = [k for k in ("video_a", "video_b", "livelink_a", "livelink_b") if k in has]
            raise BuildInputError(
                "give exactly one motion source: --video-a and --video-b, or --side-by-side V --split S, "
                f"or --livelink-a and --livelink-b (got {', '.join(sorted(has)) or 'none'}"
                + (f"; {', '.join(half)} needs its partner" if half and not chosen else "")
                + ")"
            )
        return chosen[0]

    def audio_mode(self) -> str:
        has = {k for k, v in self.inputs.items() if v is not None}
        if "stereo_audio" in has:
            if has & {"audio_a", "audio_b"}:
                raise BuildInputError("give either --stereo-audio or --audio-a/--audio-b, not both")
            return "stereo"
        if {"audio_a", "audio_b"} <= has:
            return "separate"
        if has & {"audio_a", "audio_b"}:
            raise BuildInputError("--audio-a and --audio-b go together (or use --stereo-audio FILE)")
        if self.mode() == "video":
            return "video_tracks"
        raise BuildInputError(
            "no audio: give --audio-a and --audio-b, or --stereo-audio FILE (channel 0 = a, channel 1 = b)"
            + (
                "; a side-by-side video's one mixed track cannot be split into the two parties"
                if self.mode() == "side_by_side"
                else ""
            )  # fmt: skip
        )

    def check_files(self) -> None:
        for key, path in self.inputs.items():
            if path is None:
                continue
            flag = "--" + key.replace("_", "-")
            if not Path(path).exists():
                raise BuildInputError(f"{flag} {path}: no such file")
            if not Path(path).is_file():
                raise BuildInputError(f"{flag} {path}: not a file")
        if self.split not in ("left-right", "top-bottom"):
            raise BuildInputError(f"--split must be left-right or top-bottom, got {self.split!r}")
        if self.split_name not in ("train", "heldout"):
            raise BuildInputError(f"split name must be train or heldout, got {self.split_name!r}")

    def signature(self) -> dict:
        """What the done marker remembers about the inputs: resolved path, size and mtime of each."""
        return {k: {"path": str(Path(v).resolve()), "bytes": Path(v).stat().st_size,
                    "mtime_ns": Path(v).stat().st_mtime_ns}
                for k, v in sorted(self.inputs.items()) if v is not None}  # fmt: skip

    def default_id(self) -> str:
        paths = [str(Path(v).resolve()) for _, v in sorted(self.inputs.items()) if v is not None]
        first = Path(paths[0]).stem if paths else "rec"
        safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in first)[:40]
        return f"{safe}_{hashlib.sha1('|'.join(paths).encode()).hexdigest()[:8]}"


@dataclass
class BuildReport:
    written: list[str] = field(default_factory=list)
    already_done: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"wrote {len(self.written)}, already done {len(self.already_done)}, skipped {len(self.skipped)}"]
        out += [f"skipped {cid}: {why}" for cid, why in self.skipped]
        return out


# --- audio ---------------------------------------------------------------------------------------------
def read_stereo(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Channels 0 and 1 of a stereo file (or video track) as float32 16 kHz: (party a, party b)."""
    from af_plugin.perception import audio as pa

    try:
        samples, rate = pa._read_soundfile(path)
    except pa._NotForSoundfile:
        samples, rate = pa._read_pyav(path)
    if samples.ndim != 2 or samples.shape[1] < 2:
        n = 1 if samples.ndim == 1 else samples.shape[1]
        raise BuildInputError(
            f"--stereo-audio {path}: has {n} channel(s); it needs 2 (channel 0 = party a, channel 1 = party b). "
            "For one file per party use --audio-a/--audio-b"
        )
    if samples.shape[1] > 2:
        raise BuildInputError(f"--stereo-audio {path}: has {samples.shape[1]} channels; expected exactly 2")
    return pa.to_mono_16k(samples[:, 0], rate), pa.to_mono_16k(samples[:, 1], rate)


def read_party_audio(job: BuildJob) -> tuple[np.ndarray, np.ndarray]:
    from af_plugin.perception.audio import load_audio

    mode = job.audio_mode()
    if mode == "stereo":
        return read_stereo(job.inputs["stereo_audio"])
    if mode == "separate":
        return load_audio(job.inputs["audio_a"]), load_audio(job.inputs["audio_b"])
    return load_audio(job.inputs["video_a"]), load_audio(job.inputs["video_b"])


# --- motion --------------------------------------------------------------------------------------------
def crop_half(frame: np.ndarray, split: str, which: int) -> np.ndarray:
    """Half ``which`` (0 = a: left/top, 1 = b: right/bottom) of a side-by-side frame."""
    h, w = frame.shape[:2]
    if split == "left-right":
        return np.ascontiguousarray(frame[:, : w // 2] if which == 0 else frame[:, w // 2 :])
    return np.ascontiguousarray(frame[: h // 2] if which == 0 else frame[h // 2 :])


def track_side_by_side(path: Path, split: str, progress: bool = False) -> tuple[MotionClip, MotionClip]:
    """Each half through the perception layer's offline path (Face Mesh landmarks, then the solver
    calibrated on the take's first seconds), exactly as ``track_video`` does for a whole frame. The video
    is decoded once per half, so nothing is buffered."""
    from af_plugin.perception.tracker import probe_video, read_video
    from af_plugin.perception.tracking import solve_track, track_landmarks

    info = probe_video(path)
    clips = []
    for which in (0, 1):
        frames = (crop_half(f, split, which) for f in read_video(path))
        landmarks, size = track_landmarks(frames, total=info.frames, progress=progress)
        if not landmarks:
            raise SkipConversation(f"{path.name} has no decodable frames")
        clip = solve_track(landmarks, size, info.fps)
        clip.meta.update(
            source=f"{path}#{('left', 'right')[which] if split == 'left-right' else ('top', 'bottom')[which]}"
        )
        clips.append(clip)
    return clips[0], clips[1]


def read_party_motion(job: BuildJob, progress: bool = False) -> tuple[MotionClip, MotionClip]:
    """Both parties' motion at 25 fps; unreadable inputs become SkipConversation."""
    mode = job.mode()
    try:
        if mode == "livelink":
            return MotionClip.read(job.inputs["livelink_a"]), MotionClip.read(job.inputs["livelink_b"])
        if mode == "side_by_side":
            return track_side_by_side(job.inputs["side_by_side"], job.split, progress)
        from af_plugin.perception.tracking import track_video

        return track_video(job.inputs["video_a"], progress=progress), track_video(
            job.inputs["video_b"], progress=progress
        )
    except (MotionFormatError, VideoFormatError) as e:
        raise SkipConversation(f"unreadable motion input ({e})") from None


# --- one conversation ------------------------------------------------------------------------------------
def align_lengths(audio: list[np.ndarray], motion: list[MotionClip], names: list[str]) -> int:
    """Common frame count of the four streams; BuildInputError when any two differ by more than the
    tolerance (they are probably not the same take)."""
    seconds = [len(x) / SAMPLE_RATE for x in audio] + [m.duration for m in motion]
    if max(seconds) - min(seconds) > LENGTH_TOLERANCE_SECONDS:
        listing = ", ".join(f"{n} {s:.2f} s" for n, s in zip(names, seconds))
        raise BuildInputError(
            f"input lengths disagree by more than {LENGTH_TOLERANCE_SECONDS} s ({listing}); "
            "are they the same take? Trim them to a common start and end"
        )
    return min(min(len(x) // SAMPLES_PER_FRAME for x in audio), min(len(m) for m in motion))


def build_one(root: Path, job: BuildJob, min_seconds: float = 2.0, progress: bool = False) -> tuple[str, str]:
    """Build one conversation; returns (id, "written" | "done"). Raises SkipConversation or BuildInputError."""
    job.check_files()
    job.mode()
    job.audio_mode()
    conv_id = job.conv_id or job.default_id()
    signature = job.signature()
    if shards.is_done(root, conv_id):
        done = shards.read_done(root, conv_id)
        if done.get("inputs") == signature and done.get("split") == job.split_name:
            return conv_id, "done"
    try:
        audio_a, audio_b = read_party_audio(job)
    except AudioFormatError as e:
        raise SkipConversation(f"unreadable audio ({e})") from None
    motion_a, motion_b = read_party_motion(job, progress)
    names = ["audio a", "audio b", "motion a", "motion b"]
    frames = align_lengths([audio_a, audio_b], [motion_a, motion_b], names)
    if frames / FPS < min_seconds:
        raise SkipConversation(f"too short: {frames / FPS:.2f} s < {min_seconds} s")
    for party, clip in (("a", motion_a), ("b", motion_b)):
        share = float(clip.valid[:frames].mean())
        if share < MIN_FACE_FRACTION:
            raise SkipConversation(f"no face: party {party} has a face in only {share:.0%} of frames")
    n = frames * SAMPLES_PER_FRAME
    audio = {"a": audio_a[:n], "b": audio_b[:n]}
    peak = max(float(np.abs(x).max()) for x in audio.values())
    if peak > 1.0:  # float sources may exceed full scale; scale both parties alike to keep their balance
        audio = {k: v / peak for k, v in audio.items()}
    motion = {
        "a": MotionClip(motion_a.values[:frames], fps=FPS, valid=motion_a.valid[:frames]),
        "b": MotionClip(motion_b.values[:frames], fps=FPS, valid=motion_b.valid[:frames]),
    }
    timeline = speech_timeline(audio, frames)
    entry = {"split": job.split_name, "source": "recording", "mode": job.mode(), "audio": job.audio_mode(),
             "duration": round(frames / FPS, 3), "inputs": signature,
             "face_fraction": {p: round(float(motion[p].valid.mean()), 4) for p in ("a", "b")}}  # fmt: skip
    shards.write_conversation(root, conv_id, audio, motion, timeline, entry)
    return conv_id, "written"


def speech_timeline(audio: dict[str, np.ndarray], frames: int) -> dict:
    """Turns of real recordings from each party's voice activity (the perception layer's detector):
    runs of speech frames, merged across gaps under 300 ms; backchannels are runs under 1 s."""
    from af_plugin.perception.features import voice_activity

    out: dict = {"fps": FPS, "sample_rate": SAMPLE_RATE, "frames": frames, "duration": round(frames / FPS, 3),
                 "language": None, "turns": [], "pauses": [], "backchannels": [], "overlaps": [],
                 "source": "voice activity"}  # fmt: skip
    active = {}
    for party, x in audio.items():
        vad = np.asarray(voice_activity(np.asarray(x, np.float32)))[:frames] > 0.5
        gap = int(0.3 * FPS)
        runs = _runs(vad)
        merged: list[list[int]] = []
        for s, e in runs:
            if merged and s - merged[-1][1] < gap:
                merged[-1][1] = e
            else:
                merged.append([s, e])
        active[party] = np.zeros(frames, bool)
        for s, e in merged:
            active[party][s:e] = True
            rec = {"speaker": party, "start": round(s / FPS, 3), "end": round(e / FPS, 3)}
            (out["backchannels"] if (e - s) < FPS else out["turns"]).append(rec)
    out["turns"].sort(key=lambda t: t["start"])
    both = active["a"] & active["b"]
    out["overlaps"] = [{"start": round(s / FPS, 3), "end": round(e / FPS, 3)} for s, e in _runs(both)]
    return out


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist()))


# --- many conversations -------------------------------------------------------------------------------------
def jobs_from_args(args: argparse.Namespace) -> list[BuildJob]:
    if getattr(args, "batch", None):
        return read_batch(Path(args.batch))
    inputs = {k: getattr(args, k, None) for k in INPUT_KEYS}
    return [BuildJob(conv_id=args.id, split_name=args.split_name, split=args.split,
                     inputs={k: Path(v) for k, v in inputs.items() if v is not None})]  # fmt: skip


def read_batch(path: Path) -> list[BuildJob]:
    """JSON lines: {"id"?, "split_name"?, "split"?, and input keys}; relative paths are relative to the file."""
    if not path.is_file():
        raise BuildInputError(f"--batch {path}: no such file")
    jobs = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            raise BuildInputError(f"--batch {path} line {n}: not JSON ({e})") from None
        unknown = set(obj) - set(INPUT_KEYS) - {"id", "split_name", "split"}
        if unknown:
            raise BuildInputError(f"--batch {path} line {n}: unknown keys {sorted(unknown)}; allowed {INPUT_KEYS}")
        inputs = {k: (path.parent / obj[k]) for k in INPUT_KEYS if obj.get(k)}
        jobs.append(BuildJob(conv_id=obj.get("id"), split_name=obj.get("split_name", "train"),
                             split=obj.get("split", "left-right"), inputs=inputs))  # fmt: skip
    if not jobs:
        raise BuildInputError(f"--batch {path}: no conversations listed")
    return jobs


def build_dataset(
    root: str | Path, jobs: list[BuildJob], min_seconds: float = 2.0, progress: bool = False
) -> BuildReport:
    """Build every job (skipping finished ones), then rewrite the manifest from all done markers."""
    root = Path(root)
    for job in jobs:  # every user mistake is reported before any work starts
        job.check_files()
        job.mode()
        job.audio_mode()
    report = BuildReport()
    bar = None
    if progress and len(jobs) > 1:
        from tqdm import tqdm

        bar = tqdm(total=len(jobs), unit="conv", desc="build")
    for job in jobs:
        conv_id = job.conv_id or job.default_id()
        try:
            conv_id, status = build_one(root, job, min_seconds, progress)
            (report.written if status == "written" else report.already_done).append(conv_id)
        except SkipConversation as e:
            report.skipped.append((conv_id, str(e)))
        if bar:
            bar.update()
    if bar:
        bar.close()
    if report.written or report.already_done:
        refresh_manifest(root)
    return report


def refresh_manifest(root: Path) -> Path:
    """manifest.json listing every finished conversation in ``root`` (keeps an existing manifest's seed/rules)."""
    entries = [shards.read_done(root, d.name) for d in sorted(root.iterdir())
               if d.is_dir() and shards.is_done(root, d.name)]  # fmt: skip
    seed, rules = None, {"source": "recordings", "motion": "face tracker (af_plugin.perception) or Live Link Face",
                         "timeline": "per-party voice activity; runs < 1 s are backchannels"}  # fmt: skip
    existing = root / "manifest.json"
    if existing.is_file():
        try:
            old = json.loads(existing.read_text(encoding="utf-8"))
            seed, rules = old.get("seed", seed), old.get("rules", rules)
        except json.JSONDecodeError:
            pass
    return shards.write_manifest(root, seed, rules, entries)


def build_from_args(args: argparse.Namespace) -> BuildReport:
    import sys

    jobs = jobs_from_args(args)
    return build_dataset(args.out, jobs, min_seconds=args.min_seconds, progress=sys.stderr.isatty())
