"""Worker threads that report every outcome: a result, a cancellation, or an error with its traceback.

Each worker runs one function of a :class:`~photogan.core.progress.Progress` in its own ``QThread``; its signals
reach the GUI thread queued. Nothing is swallowed: expected errors (:class:`PhotoganError`, ``OSError``,
``MemoryError``) arrive as plain words, anything else with its traceback (and is logged). Every running worker is
tracked, so the window can cancel and join them on close and tests can fail on threads left behind.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from PySide6.QtCore import QObject, QThread, Signal

from photogan.core.errors import Cancelled, PhotoganError
from photogan.core.progress import CancelToken, Progress

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WorkerError:
    """Why a worker failed: a message for people and, for unexpected errors, the traceback."""

    message: str
    details: str = ""
    expected: bool = True


def describe_error(exc: BaseException) -> WorkerError:
    """Plain words for an exception; unexpected ones keep their traceback."""
    if isinstance(exc, PhotoganError):
        return WorkerError(str(exc))
    if isinstance(exc, MemoryError):
        return WorkerError("Not enough memory. Try a smaller tile size in Output settings, or close other programs.")
    if isinstance(exc, OSError):
        where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
        return WorkerError(f"{exc.strerror or exc}{where}")
    details = "".join(traceback.format_exception(exc))
    return WorkerError(f"Unexpected error: {exc!r}", details, expected=False)


class Worker(QThread):
    """Runs ``job(progress)`` in a thread.

    Signals:
        progressed(float): fraction done.
        succeeded(object): the job's return value.
        failed(WorkerError): the job raised.
        cancelled(): the job stopped because :meth:`cancel` was called.
    """

    progressed = Signal(float)
    succeeded = Signal(object)
    failed = Signal(object)
    cancelled = Signal()

    active: ClassVar[set[Worker]] = set()

    def __init__(self, job: Callable[[Progress], Any], name: str = "worker", parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self._job = job
        self.token = CancelToken()
        self.progress = Progress(self.progressed.emit, self.token)
        self.finished.connect(self._forget)

    def start_job(self) -> Worker:
        Worker.active.add(self)
        self.start()
        return self

    def _forget(self) -> None:
        Worker.active.discard(self)

    def cancel(self) -> None:
        """Asks the job to stop at its next check (within one tile); a paused job wakes up to stop."""
        self.token.cancel()

    def pause(self) -> None:
        self.token.pause()

    def resume(self) -> None:
        self.token.resume()

    def run(self) -> None:
        try:
            result = self._job(self.progress)
        except Cancelled:
            self.cancelled.emit()
        except BaseException as exc:  # reported, never swallowed
            error = describe_error(exc)
            if not error.expected:
                log.error("%s failed:\n%s", self.objectName(), error.details)
            self.failed.emit(error)
        else:
            self.succeeded.emit(result)

    @classmethod
    def stop_all(cls, timeout_ms: int = 10000) -> bool:
        """Cancels every running worker and waits for them; False if one did not stop in time."""
        workers = list(cls.active)
        for worker in workers:
            worker.cancel()
        stopped = all(worker.wait(timeout_ms) for worker in workers)
        cls.active.difference_update(w for w in workers if w.isFinished())
        return stopped
