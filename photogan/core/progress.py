"""A Qt-free progress and cancellation object shared by every long operation.

The GUI adapts it to queued Qt signals, the CLI to a progress bar. Long loops call :meth:`Progress.set_progress`
and :meth:`Progress.check_cancelled` between units of work (one tile, one file), so cancelling and pausing take
effect within one unit.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from photogan.core.errors import Cancelled

ProgressCallback = Callable[[float], None]


class CancelToken:
    """Thread-safe cancel and pause flags shared by a progress object and all its sub-progresses."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._running = threading.Event()
        self._running.set()
        self._listeners: list[Callable[[], None]] = []
        self._lock = threading.Lock()

    def cancel(self) -> None:
        self._event.set()
        self._running.set()  # a paused operation wakes up to see the cancellation
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:  # e.g. stop a model run inside onnxruntime, mid-tile
            listener()

    def add_listener(self, listener: Callable[[], None]) -> None:
        """Calls ``listener`` (from the cancelling thread) when this token is cancelled; at once if it is."""
        with self._lock:
            self._listeners.append(listener)
        if self.cancelled:
            listener()

    def remove_listener(self, listener: Callable[[], None]) -> None:
        with self._lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def pause(self) -> None:
        """Holds the operation at its next check until :meth:`resume` (or :meth:`cancel`)."""
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def wait_while_paused(self) -> None:
        self._running.wait()


class Progress:
    """Reports a fraction in [0, 1] of one operation and carries its cancellation flag.

    Args:
        callback: Called with the overall fraction done (of the root operation); may be None.
        token: Cancellation flag; a new one when omitted.
        offset: Start of this part within the root operation (used by :meth:`sub_progress`).
        length: Share of the root operation this part covers.
    """

    def __init__(
        self,
        callback: ProgressCallback | None = None,
        token: CancelToken | None = None,
        offset: float = 0.0,
        length: float = 1.0,
    ) -> None:
        self._callback = callback
        self.token = token or CancelToken()
        self._offset = offset
        self._length = length

    def set_progress(self, fraction: float) -> None:
        """Reports that ``fraction`` (clamped to [0, 1]) of this part is done."""
        if self._callback is not None:
            self._callback(self._offset + self._length * min(max(fraction, 0.0), 1.0))

    def sub_progress(self, offset: float, length: float) -> Progress:
        """A progress for the part of this operation from ``offset`` to ``offset + length`` (both in [0, 1])."""
        return Progress(self._callback, self.token, self._offset + self._length * offset, self._length * length)

    def cancel(self) -> None:
        """Asks the operation (and every sub-progress) to stop at its next check."""
        self.token.cancel()

    @property
    def cancelled(self) -> bool:
        return self.token.cancelled

    def check_cancelled(self) -> None:
        """Waits while paused; raises :class:`Cancelled` once :meth:`cancel` was called."""
        self.token.wait_while_paused()
        if self.token.cancelled:
            raise Cancelled("cancelled")


def time_left(fraction: float, elapsed: float) -> str | None:
    """The time a job that is ``fraction`` done after ``elapsed`` seconds still needs, in words ("about 40 s",
    "about 3 min"), or None while too little is done to tell (under 3 % or 2 seconds in)."""
    if not 0.03 <= fraction < 1.0 or elapsed < 2.0:
        return None
    seconds = elapsed * (1.0 - fraction) / fraction
    if seconds < 60:
        return f"about {max(5, round(seconds / 5) * 5)} s"
    if seconds < 3600:
        return f"about {round(seconds / 60)} min"
    return f"about {seconds / 3600:.1f} h"
