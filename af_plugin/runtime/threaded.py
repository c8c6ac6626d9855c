"""Run a blocking sink on its own thread behind a bounded queue, so it can never delay the clock.

When the sink falls ``max_queue`` frames behind, the oldest queued frame is dropped (and counted); a sink
whose ``send`` raises keeps receiving later frames, and its error count is reported.
"""

from __future__ import annotations

import logging
import queue
import threading

from af_plugin.sinks.base import MotionFrame, Sink

log = logging.getLogger(__name__)
_CLOSE = object()


class ThreadedSink(Sink):
    def __init__(self, inner: Sink, max_queue: int = 50, *, lossless: bool = False) -> None:
        """``lossless`` sinks (recorders) get an unbounded queue: they must see every frame, late or not."""
        self.inner = inner
        self.name = inner.name
        self._q: queue.Queue = queue.Queue(0 if lossless else max_queue)
        self.dropped = 0
        self.errors = 0
        self.last_error: str | None = None
        self._thread: threading.Thread | None = None

    def open(self) -> None:
        self.inner.open()
        self._thread = threading.Thread(target=self._run, name=f"af-sink-{self.name}", daemon=True)
        self._thread.start()

    def send(self, frame: MotionFrame) -> None:
        self._put_dropping_oldest(frame)

    def _put_dropping_oldest(self, item: object) -> None:
        """Queue ``item`` without ever blocking the caller: a full queue loses its oldest frame."""
        while True:
            try:
                self._q.put_nowait(item)
                return
            except queue.Full:
                try:
                    self._q.get_nowait()
                    self.dropped += 1
                except queue.Empty:
                    pass

    def _run(self) -> None:
        while True:
            frame = self._q.get()
            if frame is _CLOSE:
                return
            try:
                self.inner.send(frame)
            except Exception as e:  # noqa: BLE001 - count, report rarely, carry on
                self.errors += 1
                self.last_error = str(e)
                if self.errors == 1 or self.errors % 250 == 0:
                    log.warning("output %s failed (%d times): %s", self.name, self.errors, e)

    def close(self, timeout: float | None = 5.0, grace: float = 0.5) -> None:
        """Stop the thread and close the inner sink. A lossless sink (recorder) first gets every queued frame;
        a lossy one gets ``grace`` seconds to finish its queue, then the rest is dropped, so a slow output
        cannot hold up shutdown."""
        if self._thread is not None:
            if self._q.maxsize == 0:
                self._q.put(_CLOSE)
                self._thread.join()
            else:
                self._put_dropping_oldest(_CLOSE)
                self._thread.join(grace)
                if self._thread.is_alive():
                    while True:
                        try:
                            if self._q.get_nowait() is not _CLOSE:
                                self.dropped += 1
                        except queue.Empty:
                            break
                    self._put_dropping_oldest(_CLOSE)
                    self._thread.join(timeout)
            self._thread = None
        self.inner.close()

