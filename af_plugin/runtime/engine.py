"""The real-time engine: a 25 fps clock on asyncio, generation on one worker thread, fan-out to sinks.

Per tick: every session reads one frame from each input and queues its conditions. Whenever the generator
thread is free it receives all queued conditions and steps every ready session in ONE batched
``gen.step([...])``; its blocks come back to the event loop and are played out one frame per tick per
session (a backlog beyond one block is caught up at once). Sinks get frames on the event loop thread and
must return at once (the websocket sink queues per client; other sinks run behind ``ThreadedSink``), so
neither a slow client nor a slow output ever delays the clock.

With ``realtime=False`` the clock does not sleep: file sources play as fast as the generator runs.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from af_plugin.constants import FPS
from af_plugin.errors import AFError
from af_plugin.runtime.generator import GeneratorInfo
from af_plugin.runtime.session import AvatarSession, Conditions
from af_plugin.runtime.sources import AudioInput
from af_plugin.sinks.base import MotionFrame, Sink

log = logging.getLogger(__name__)

PERIOD = 1.0 / FPS
MAX_CATCH_UP = 2 * FPS
BEHIND_FRAMES = FPS  # a second of queued conditions: generation is not keeping up
"""Ticks the clock replays after a stall; beyond this (seconds of suspension) it skips ahead instead."""


class TooManySessions(AFError):
    pass


@dataclass
class _Work:
    session: AvatarSession
    epoch: int
    batch: list[Conditions]
    reset: bool
    guidance: dict[str, float] | None


def _runs(batch: list[Conditions]):
    """Split a batch into runs where the same inputs are present, so each run is one ``push``."""
    start = 0
    key = None
    for i, c in enumerate(batch):
        k = (c.user_audio is None, c.avatar_audio is None, c.user_motion is None)
        if key is not None and k != key:
            yield batch[start:i]
            start = i
        key = k
    if start < len(batch):
        yield batch[start:]


def _stack(values: list[np.ndarray | None]) -> np.ndarray | None:
    return None if values[0] is None else np.stack(values).astype(np.float32)


class Engine:
    def __init__(self, generator, info: GeneratorInfo, *, realtime: bool = True, pace: bool = True,
                 max_sessions: int = 8, seed: int = 0, vad_backend: str = "energy") -> None:  # fmt: skip
        self.gen = generator
        self.info = info
        self.realtime = realtime
        self.pace = pace and realtime
        self.max_sessions = max_sessions
        self.seed = seed
        self.vad_backend = vad_backend
        self.sessions: dict[str, AvatarSession] = {}
        self.sinks: list[Sink] = []
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="af-generate")
        self._job: asyncio.Future | None = None
        self._stopping = False
        self._epochs: dict[str, int] = {}
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.ticks = 0
        self.late_ticks = 0  # ticks that ran late and were caught up
        self.skipped_ticks = 0  # ticks skipped after a stall longer than MAX_CATCH_UP
        self._last_behind_warning = -1e9
        self.steps = 0
        self.sink_errors: dict[str, int] = {}
        self.error: BaseException | None = None
        self.started_at = time.perf_counter()

    # --- sessions ---------------------------------------------------------------------------------------
    def add_session(self, name: str = "default", *, user_audio: AudioInput | None = None,
                    avatar_audio: AudioInput | None = None, user_video=None) -> AvatarSession:  # fmt: skip
        """Create a session with its inputs and start them (DeviceError/AudioFormatError surface here)."""
        if name in self.sessions:
            raise ValueError(f"session {name!r} exists")
        if len(self.sessions) >= self.max_sessions:
            raise TooManySessions(f"this server runs at most {self.max_sessions} sessions")
        started = []
        try:
            for inp in (user_audio, avatar_audio, user_video):
                if inp is not None:
                    inp.start()
                    started.append(inp)
        except BaseException:
            for inp in started:
                inp.close()
            raise
        sess = AvatarSession(name, self.gen, seed=self.seed + len(self.sessions),
                             audio={"user": user_audio, "avatar": avatar_audio}, video=user_video,
                             vad_backend=self.vad_backend)  # fmt: skip
        self.sessions[name] = sess
        self._epochs[name] = 0
        return sess

    def session(self, name: str, *, create: bool = False) -> AvatarSession:
        """An existing session, or (``create``) a new one fed only by pushed audio."""
        sess = self.sessions.get(name)
        if sess is None:
            if not create:
                raise KeyError(name)
            sess = self.add_session(name)
            sess.client_created = True
        return sess

    def remove_session(self, name: str) -> None:
        """Forget a session: no more ticks or blocks; its generator state is freed on the generator thread."""
        sess = self.sessions.pop(name, None)
        if sess is None:
            return
        self._epochs[name] = self._epochs.get(name, 0) + 1  # blocks in flight for it are dropped
        for inp in (*sess.audio.values(), sess.video):
            if inp is not None:
                inp.close()
        try:
            self._executor.submit(self.gen.close_session, sess.gen_session)
        except RuntimeError:  # the engine is shutting down: nothing left to free
            pass

    def add_sink(self, sink: Sink) -> None:
        self.sinks.append(sink)

    # --- control ----------------------------------------------------------------------------------------
    def control(self, name: str, action: str, params: dict[str, float] | None = None) -> dict:
        """pause / resume / reset / guidance / status on one session; returns what the ack reports."""
        sess = self.session(name)
        if action == "pause":
            sess.paused = True
        elif action == "resume":
            sess.paused = False
        elif action == "reset":
            sess.reset_timeline()
            sess.reset_requested = True
            self._epochs[name] += 1
        elif action == "guidance":
            if not self.supports_guidance:
                raise NotImplementedError("this generator takes no guidance settings")
            sess.guidance.update(params or {})
            sess.guidance_dirty = True
        return self.session_status(name)

    @property
    def supports_guidance(self) -> bool:
        return hasattr(self.gen, "cfg_avatar") and hasattr(self.gen, "cfg_user")

    @property
    def guidance_scope(self) -> str:
        """'session' when each session has its own guidance, else 'server' (one setting for all)."""
        probe = next(iter(self.sessions.values()), None)
        return "session" if probe is not None and hasattr(probe.gen_session, "set_guidance") else "server"

    def request_stop(self) -> None:
        if self._stop is not None and self._loop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)

    # --- status -----------------------------------------------------------------------------------------
    def session_status(self, name: str) -> dict:
        sess = self.sessions[name]
        return sess.status() | {
            "uptime_s": round(time.perf_counter() - self.started_at, 3),
            "late_ticks": self.late_ticks,
            "model": self.info.as_dict(),
        }

    # --- the loop ---------------------------------------------------------------------------------------
    async def run(self, duration: float | None = None, *, stop_when_finished: bool = True,
                  on_finished: Callable[[], None] | None = None) -> None:  # fmt: skip
        """Tick until stopped or ``duration`` seconds of frames have been made.

        When every session's inputs are files that have ended and their frames have played, the
        conversation is over: ``on_finished`` is called once, and with ``stop_when_finished`` the run ends
        (the last block is completed with inputless padding). Otherwise the avatars idle on.
        """
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self._stopping = False
        max_ticks = None if duration is None else int(round(duration * FPS))
        t0 = time.perf_counter() - self.ticks * PERIOD  # tick n is due at t0 + n * PERIOD
        finished_reported = False
        try:
            while not self._stop.is_set():
                if self.error is not None:
                    raise self.error
                n = 1
                if self.realtime:
                    n = int((time.perf_counter() - t0) / PERIOD) + 1 - self.ticks
                    if n < 1:  # woke a hair early
                        await asyncio.sleep(max(0.0, t0 + self.ticks * PERIOD - time.perf_counter()))
                        continue
                    if n > MAX_CATCH_UP:  # stalled for seconds (suspend, overload): don't replay the past
                        self.skipped_ticks += n - 1
                        t0 += (n - 1) * PERIOD
                        n = 1
                    elif n > 1:
                        self.late_ticks += n - 1
                    if max_ticks is not None:
                        n = min(n, max_ticks - self.ticks)
                # Missed ticks are caught up, so every input keeps pace with the wall clock.
                for _ in range(n):
                    for sess in list(self.sessions.values()):
                        if sess.flushed:
                            continue
                        sess.tick()
                        if sess.finished:
                            sess.flush_tail() if stop_when_finished else sess.mark_end()
                    self.ticks += 1
                self._start_job()
                if self.realtime:
                    self._warn_if_behind()
                if not self.realtime:
                    while self._job is not None:
                        await asyncio.shield(self._job)
                        await asyncio.sleep(0)
                self._playout(n)
                if max_ticks is not None and self.ticks >= max_ticks:
                    break
                with_inputs = [s for s in self.sessions.values() if s.has_inputs and not s.client_created]
                if with_inputs and not finished_reported and all(s.done_playing for s in with_inputs):
                    finished_reported = True
                    if on_finished is not None:
                        on_finished()
                    if stop_when_finished:
                        break
                if self.realtime:
                    await asyncio.sleep(max(0.0, t0 + self.ticks * PERIOD - time.perf_counter()))
                else:
                    await asyncio.sleep(0)
            self._stopping = True  # no new generation jobs from here on
            while self._job is not None:
                await asyncio.shield(self._job)
            self._playout(flush=True)
        finally:
            for sess in self.sessions.values():
                for inp in (*sess.audio.values(), sess.video):
                    if inp is not None:
                        inp.close()

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)

    def _warn_if_behind(self) -> None:
        """Say so (every 10 s at most) when the model cannot keep up and latency is growing."""
        worst = max((s.pushed - s.generated for s in self.sessions.values() if not s.paused), default=0)
        now = time.perf_counter()
        if worst > BEHIND_FRAMES and now - self._last_behind_warning > 10.0:
            self._last_behind_warning = now
            log.warning(
                "generation is %.1f s behind real time (this CPU cannot keep up with %d session(s)); latency grows. "
                "Fixes: --set model.steps=2, a larger model.block_size, fewer sessions, or a CUDA GPU",
                worst / FPS,
                len(self.sessions),
            )

    def warmup(self) -> None:
        """Generate one throwaway block, so first-call costs (lazy init, allocations) never stall the live clock."""
        import scipy.signal  # noqa: F401 - first imports on the live path would stall the clock

        from af_plugin.perception.features import StreamingLogMel, VoiceActivity

        silence = np.zeros(4 * 640, np.float32)
        feats = StreamingLogMel().push(silence)
        VoiceActivity(self.vad_backend).push(silence)
        sess = self.gen.open_session(seed=0, session_id="__warmup__")
        try:
            n = self.gen.block_size + self.gen.lookahead
            sess.push(avatar_audio=np.repeat(feats[:1], n, axis=0), frames=n)
            self.gen.step([sess])
        finally:
            self.gen.close_session(sess)

    # --- generation (worker thread) ---------------------------------------------------------------------
    def _start_job(self) -> None:
        if self._job is not None or self._stopping:
            return
        work = []
        for sess in self.sessions.values():
            guidance = None
            if getattr(sess, "guidance_dirty", False):
                guidance, sess.guidance_dirty = dict(sess.guidance), False
            if sess.pending or sess.reset_requested or guidance or sess.ready_to_generate():
                work.append(_Work(sess, self._epochs[sess.name], sess.take_pending(), sess.reset_requested, guidance))
                sess.reset_requested = False
        if not work:
            return
        self._job = self._loop.run_in_executor(self._executor, self._generate, work)
        self._job.add_done_callback(self._job_done)

    def _generate(self, work: list[_Work]) -> list[tuple[_Work, object, float]]:
        for w in work:
            gs = w.session.gen_session
            if w.reset:
                gs.reset()
            if w.guidance:
                if hasattr(gs, "set_guidance"):
                    gs.set_guidance(**w.guidance)
                else:  # the generator's guidance is shared by every session it serves
                    for name, value in w.guidance.items():
                        setattr(self.gen, name, float(value))
            for run in _runs(w.batch):
                gs.push(user_audio=_stack([c.user_audio for c in run]),
                        avatar_audio=_stack([c.avatar_audio for c in run]),
                        user_motion=_stack([c.user_motion for c in run]), frames=len(run))  # fmt: skip
        ready = [w for w in work if not w.session.paused and w.session.gen_session.ready()]
        if not ready:
            return []
        outs = self.gen.step([w.session.gen_session for w in ready])
        done = time.perf_counter()
        self.steps += 1
        return [(w, out, done) for w, out in zip(ready, outs)]

    def _job_done(self, fut: asyncio.Future) -> None:
        self._job = None
        if fut.cancelled():
            return
        if fut.exception() is not None:
            self.error = fut.exception()
            log.error("generation failed: %s", self.error)
            if self._stop is not None:
                self._stop.set()
            return
        for w, out, done in fut.result():
            if self._epochs.get(w.session.name) != w.epoch or w.session.name not in self.sessions:
                continue  # the session was reset while this block was generated
            w.session.playout.extend(w.session.frames_from_block(out, done))
        if not self.pace:
            self._playout(flush=True)
        else:  # a block that lands between ticks starts playing now if this tick has emitted nothing yet
            for sess in self.sessions.values():
                if sess.playout and sess.last_emit_tick < self.ticks:
                    self._emit(sess, sess.playout.popleft())
        if any(s.ready_to_generate() or s.pending for s in self.sessions.values()):
            self._start_job()

    # --- output -----------------------------------------------------------------------------------------
    def _playout(self, ticks: int = 1, flush: bool = False) -> None:
        """Emit what is due: one frame per session per tick (``ticks`` when catching up); a backlog beyond one
        block is emitted at once rather than let latency grow."""
        for sess in self.sessions.values():
            q = sess.playout
            if flush or not self.pace:
                n = len(q)
            else:
                n = min(len(q), ticks) + max(0, len(q) - ticks - self.gen.block_size)
            for _ in range(n):
                self._emit(sess, q.popleft())

    def _emit(self, sess: AvatarSession, frame: MotionFrame) -> None:
        frame.stamps["emitted"] = time.perf_counter()
        sess.record_emitted(frame)
        sess.last_emit_tick = self.ticks
        for sink in self.sinks:
            try:
                sink.send(frame)
            except Exception as e:  # noqa: BLE001 - one broken output must not stop the others
                n = self.sink_errors[sink.name] = self.sink_errors.get(sink.name, 0) + 1
                if n == 1 or n % 250 == 0:
                    log.warning("output %s failed (%d times): %s", sink.name, n, e)
