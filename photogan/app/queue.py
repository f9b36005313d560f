"""The persistent batch queue behind the desktop app (Qt-free; the GUI runs :meth:`BatchQueue.run` in a worker).

Items are photos with a status. The queue is saved (atomically, as JSON in the platformdirs state folder) after
every change, so it survives restarts and crashes: an item that was running when the app died is pending again
on load, and finished items are never redone. Cancelling stops within one tile and leaves the current item
pending; pausing holds the worker at its next tile.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Literal

import platformdirs

from photogan.app.batch import Job, OutputOptions, enhance_file, output_path
from photogan.core.errors import Cancelled
from photogan.core.formats import find_images
from photogan.core.load import DEFAULT_MAX_PIXELS
from photogan.core.progress import Progress
from photogan.core.tiling import TileOptions
from photogan.inference.session import ModelSession

log = logging.getLogger(__name__)

ItemStatus = Literal["pending", "running", "done", "failed", "skipped"]
STATE_VERSION = 1


@dataclass(frozen=True)
class QueueItem:
    """One photo in the queue.

    Attributes:
        id: Stable identifier (for the GUI's rows).
        source: The input photo.
        relative: Its path relative to the folder it was added with (mirrored in the output folder).
        status: ``pending``, ``running``, ``done``, ``failed`` or ``skipped``.
        reason: Why it failed or was skipped.
        target: The output written (once done).
        seconds: Processing time of the last attempt.
    """

    source: str
    relative: str
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    status: ItemStatus = "pending"
    reason: str = ""
    target: str = ""
    seconds: float = 0.0


def default_state_path() -> Path:
    return Path(platformdirs.user_state_dir("photogan")) / "queue.json"


QueueListener = Callable[[QueueItem], None]


class BatchQueue:
    """An ordered, persistent list of photos to enhance. Thread-safe; every change is saved at once."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or default_state_path()
        self._lock = threading.RLock()
        self._items: list[QueueItem] = []
        self._load()

    # -- persistence ----------------------------------------------------------------------------------------

    def _load(self) -> None:
        if not self.path.exists():
            return
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            items = [QueueItem(**entry) for entry in data.get("items", [])]
        except (OSError, ValueError, TypeError) as exc:
            backup = self.path.with_suffix(".damaged.json")
            log.warning("the saved queue %s is unreadable (%s); keeping it as %s", self.path, exc, backup.name)
            os.replace(self.path, backup)
            return
        # an item that was running when the app stopped is simply pending again
        self._items = [replace(i, status="pending") if i.status == "running" else i for i in items]

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps({"version": STATE_VERSION, "items": [asdict(i) for i in self._items]}, indent=1))
        os.replace(tmp, self.path)

    # -- editing --------------------------------------------------------------------------------------------

    @property
    def items(self) -> list[QueueItem]:
        with self._lock:
            return list(self._items)

    def add(self, paths: Iterable[Path], recursive: bool = True) -> list[QueueItem]:
        """Adds photos and the photos in folders; a photo already waiting in the queue is not added twice."""
        new: list[QueueItem] = []
        with self._lock:
            waiting = {i.source for i in self._items if i.status in ("pending", "running")}
            for path in paths:
                found = (
                    [(f, f.relative_to(path)) for f in find_images(path, recursive)]
                    if path.is_dir()
                    else [(path, Path(path.name))]
                )
                for source, relative in found:
                    key = str(source.resolve())
                    if key not in waiting:
                        waiting.add(key)
                        new.append(QueueItem(source=key, relative=str(relative)))
            self._items += new
            self._save()
        return new

    def remove(self, ids: Iterable[str]) -> None:
        """Removes items (a running item is left alone: cancel it first)."""
        drop = set(ids)
        with self._lock:
            self._items = [i for i in self._items if i.id not in drop or i.status == "running"]
            self._save()

    def move(self, item_id: str, index: int) -> None:
        """Moves an item to ``index`` (clamped), changing the processing order."""
        with self._lock:
            item = next(i for i in self._items if i.id == item_id)
            self._items.remove(item)
            self._items.insert(max(0, min(index, len(self._items))), item)
            self._save()

    def retry_failed(self) -> int:
        """Makes failed items pending again; returns how many."""
        with self._lock:
            count = sum(i.status == "failed" for i in self._items)
            self._items = [replace(i, status="pending", reason="") if i.status == "failed" else i for i in self._items]
            self._save()
        return count

    def clear_finished(self) -> None:
        with self._lock:
            self._items = [i for i in self._items if i.status not in ("done", "skipped")]
            self._save()

    def _update(self, item_id: str, **changes: object) -> QueueItem:
        with self._lock:
            for k, item in enumerate(self._items):
                if item.id == item_id:
                    self._items[k] = replace(item, **changes)  # type: ignore[arg-type]
                    self._save()
                    return self._items[k]
        raise KeyError(item_id)

    def _next_pending(self) -> QueueItem | None:
        with self._lock:
            return next((i for i in self._items if i.status == "pending"), None)

    def counts(self) -> dict[str, int]:
        with self._lock:
            result: dict[str, int] = {}
            for item in self._items:
                result[item.status] = result.get(item.status, 0) + 1
            return result

    # -- running --------------------------------------------------------------------------------------------

    def run(
        self,
        session: ModelSession | Sequence[ModelSession],
        output_dir: Path,
        output: OutputOptions,
        tile: TileOptions,
        progress: Progress,
        on_item: QueueListener | None = None,
        on_progress: Callable[[QueueItem, float], None] | None = None,
        max_pixels: int = DEFAULT_MAX_PIXELS,
    ) -> None:
        """Processes pending items in order until none is left or ``progress`` is cancelled.

        ``on_item`` is called whenever an item changes status; ``on_progress`` with the running item's fraction.
        Pause with ``progress.token.pause()``; cancel with ``progress.cancel()`` (the current item goes back to
        pending, nothing partial is written).
        """
        while (item := self._next_pending()) is not None:
            progress.check_cancelled()
            target = output_path(Path(item.source), Path(item.relative), output_dir, output.format, output.name_suffix)
            if target.resolve() == Path(item.source).resolve():
                done = self._update(item.id, status="failed", reason="the output would overwrite the input")
                if on_item:
                    on_item(done)
                continue
            running = self._update(item.id, status="running", reason="")
            if on_item:
                on_item(running)
            report = (lambda f, it=running: on_progress(it, f)) if on_progress else None
            try:
                result = enhance_file(
                    Job(Path(item.source), target), session, tile, output, Progress(report, progress.token), max_pixels
                )
            except Cancelled:
                self._update(item.id, status="pending")
                raise
            finished = self._update(
                item.id,
                status=result.status,
                reason=result.reason,
                target=str(result.target or ""),
                seconds=result.seconds,
            )
            if on_item:
                on_item(finished)
