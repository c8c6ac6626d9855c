"""One avatar: its inputs, feature extractors, generator session, playout queue and latency statistics.

Frame k of a session is the k-th 40 ms tick since it started. Each tick the session turns one frame of every
input into conditions (log-mel features, tracked user motion) and queues them for the generator thread; the
generator's blocks come back as MotionFrames that are played out in order, one per tick.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from af_plugin.constants import FPS
from af_plugin.runtime.sources import AudioInput, PushAudioInput
from af_plugin.runtime.stats import LatencyStats
from af_plugin.sinks.base import MotionFrame

ROLES = ("user", "avatar")
VOICE_ON, VOICE_OFF = 0.6, 0.35  # hysteresis on smoothed voice activity


@dataclass
class Conditions:
    """One frame of model input (None = that input is absent and its condition is dropped)."""

    user_audio: np.ndarray | None
    avatar_audio: np.ndarray | None
    user_motion: np.ndarray | None
    avatar_samples: np.ndarray | None
    index: int = 0
    stamps: dict[str, float] = field(default_factory=dict)


class AvatarSession:
    """Inputs → conditions on the engine's thread; ``gen_session`` is touched only by the generator thread."""

    def __init__(self, name: str, gen, *, seed: int = 0, audio: dict[str, AudioInput | None] | None = None,
                 video=None, vad_backend: str = "energy") -> None:  # fmt: skip
        from af_plugin.perception.features import StreamingLogMel, VoiceActivity

        self.name = name
        self.gen = gen
        self.gen_session = gen.open_session(seed=seed, session_id=name)
        self.audio: dict[str, AudioInput | None] = {r: None for r in ROLES} | dict(audio or {})
        self.video = video
        self._mel = {r: StreamingLogMel() for r in ROLES}
        self._vad = {r: VoiceActivity(vad_backend) for r in ROLES}
        self._voice = {r: 0.0 for r in ROLES}
        self.speaking = {r: False for r in ROLES}
        self.pending: list[Conditions] = []  # conditions not yet handed to the generator thread
        self.in_flight: dict[int, Conditions] = {}  # condition index → its audio/stamps, until emitted
        self.pushed = 0  # conditions created since the last reset (gen-session frame index)
        self.generated = 0
        self.index_offset = 0  # emitted index = offset + gen-session index (monotonic across resets)
        self.playout: deque[MotionFrame] = deque()
        self.paused = False
        self.reset_requested = False
        self.guidance: dict[str, float] = {}
        self.guidance_dirty = False
        self.end_index: int | None = None  # gen-session frame count when every input had ended
        self.flushed = False  # after flush_tail, frames at or beyond end_index are padding (not emitted)
        self.emitted = 0
        self.last_emitted_index = -1
        self.last_emit_tick = -1  # engine tick of the last emitted frame (one frame per tick when paced)
        self.stats = LatencyStats()
        self.created = time.perf_counter()
        self.client_created = False  # made by a websocket client naming it (closed again when left idle)
        self.last_activity = self.created  # last subscribe/push/control by a client

    # --- inputs ----------------------------------------------------------------------------------------
    def push_input(self, role: str) -> PushAudioInput:
        """The push buffer for ``role``, created on first use; ValueError if the role has another source."""
        current = self.audio.get(role)
        if current is None:
            current = self.audio[role] = PushAudioInput()
        if not isinstance(current, PushAudioInput):
            raise ValueError(f"session {self.name!r} takes its {role} audio from {current.describe}")
        return current

    @property
    def mode(self) -> str:
        u, a = self.speaking["user"], self.speaking["avatar"]
        return "both" if u and a else "talking" if a else "listening" if u else "idle"

    @property
    def finished(self) -> bool:
        """Every configured input is a file that has ended (and at least one input is configured)."""
        inputs = [i for i in (*self.audio.values(), self.video) if i is not None]
        return bool(inputs) and all(i.finished for i in inputs)

    @property
    def has_inputs(self) -> bool:
        return any(i is not None for i in (*self.audio.values(), self.video))

    def mark_end(self) -> None:
        """Every input has ended: the conversation is over once the frames up to here have played."""
        if self.end_index is None:
            self.end_index = self.pushed

    @property
    def done_playing(self) -> bool:
        """After ``mark_end``: every frame of the conversation has been generated and played out."""
        if self.end_index is None:
            return False
        played = self.last_emitted_index - self.index_offset + 1
        return played >= self.end_index or (self.flushed and self.generated >= self.end_index and not self.playout)

    def flush_tail(self) -> None:
        """Stop reading inputs; queue inputless padding so the last real frames' block and lookahead complete."""
        self.mark_end()
        if self.flushed:
            return
        self.flushed = True
        now = time.perf_counter()
        for _ in range(self.gen.block_size + self.gen.lookahead):
            self.pending.append(Conditions(None, None, None, None, self.pushed, {"audio_in": now, "features": now}))
            self.pushed += 1

    def tick(self) -> None:
        """Read one frame from every input and queue its conditions (discarded while paused)."""
        now = time.perf_counter()
        feats: dict[str, np.ndarray | None] = {}
        samples: dict[str, np.ndarray | None] = {}
        arrived = []
        for role in ROLES:
            src = self.audio[role]
            x, stamp = src.read_frame() if src is not None else (None, now)
            samples[role] = x
            if x is None:
                feats[role] = None
                self._voice[role] *= 0.8
            else:
                arrived.append(stamp)
                f = self._mel[role].push(x)
                feats[role] = f[-1] if len(f) else None
                act = self._vad[role].push(x)
                if len(act):
                    self._voice[role] = 0.7 * self._voice[role] + 0.3 * float(act[-1])
            v = self._voice[role]
            self.speaking[role] = v > VOICE_ON or (self.speaking[role] and v > VOICE_OFF)
        motion = self.video.read_frame() if self.video is not None else None
        if self.paused:
            return
        stamps = {"audio_in": max(arrived) if arrived else now, "features": time.perf_counter()}
        self.pending.append(Conditions(feats["user"], feats["avatar"], motion, samples["avatar"], self.pushed, stamps))
        self.pushed += 1

    def take_pending(self) -> list[Conditions]:
        batch, self.pending = self.pending, []
        for c in batch:
            self.in_flight[c.index] = c
        return batch

    def reset_timeline(self) -> None:
        """Forget queued work after a reset; emitted indices keep increasing."""
        self.index_offset = max(self.index_offset + self.pushed, self.last_emitted_index + 1)
        self.pending.clear()
        self.in_flight.clear()
        self.playout.clear()
        self.pushed = self.generated = 0
        for role in ROLES:
            self._mel[role].reset()

    def ready_to_generate(self) -> bool:
        return not self.paused and self.pushed >= self.generated + self.gen.block_size + self.gen.lookahead

    # --- outputs ---------------------------------------------------------------------------------------
    def frames_from_block(self, block, generated_at: float) -> list[MotionFrame]:
        frames = []
        latents = getattr(block, "latents", None)
        for j, values in enumerate(np.asarray(block.values, dtype=np.float32)):
            k = int(block.first_index) + j
            cond = self.in_flight.pop(k, None)
            if self.flushed and k >= self.end_index:
                continue
            stamps = dict(cond.stamps) if cond else {}
            stamps["generated"] = generated_at
            index = self.index_offset + k
            frames.append(MotionFrame(
                index=index, t=index / FPS, values=values, session=self.name,
                latent=None if latents is None else np.asarray(latents[j], dtype=np.float32),
                stamps=stamps, audio=cond.avatar_samples if cond else None,
            ))  # fmt: skip
        self.generated = max(self.generated, int(block.first_index) + len(block.values))
        return frames

    def record_emitted(self, frame: MotionFrame) -> None:
        self.emitted += 1
        self.last_emitted_index = frame.index
        self.stats.add(frame.stamps)

    def status(self) -> dict:
        return {
            "mode": self.mode,
            "paused": self.paused,
            "frames": self.emitted,
            "last_frame": self.last_emitted_index,
            "inputs": {r: (self.audio[r].describe if self.audio[r] is not None else None) for r in ROLES}
            | {"user_motion": getattr(self.video, "describe", None)},
            "inputs_alive": {r: bool(self.audio[r] is not None and self.audio[r].alive) for r in ROLES},
            "latency_ms": self.stats.summary(),
            "backlog_frames": self.pushed - self.generated,
            "guidance": self.guidance,
        }
