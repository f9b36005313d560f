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
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import IO, Any, Literal

import platformdirs

from photogan.app.batch import FileResult, OutputOptions, Pipeline, job_for
from photogan.app.outputs import OutputPlanner, PlanError, chain_suffix
from photogan.app.settings import Settings
from photogan.core.errors import Cancelled, OutputFolderError, PhotoganError
from photogan.core.formats import find_images
from photogan.core.load import DEFAULT_MAX_PIXELS
from photogan.core.progress import Progress
from photogan.core.save import check_output_folder, discard
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
        chain: The model ids it runs through, chosen when it was added (empty: the run's own, for items saved
            by an older photogan).
        output: Its output settings (folder, format, quality, suffix, size...: the
            :data:`photogan.app.settings.OUTPUT_FIELDS`), chosen when it was added and editable until it is done
            (empty: the run's own).
    """

    source: str
    relative: str
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    status: ItemStatus = "pending"
    reason: str = ""
    target: str = ""
    seconds: float = 0.0
    chain: tuple[str, ...] = ()
    output: dict[str, Any] = field(default_factory=dict)

    def output_settings(self) -> Settings | None:
        """Its own output settings, or None when it takes the run's."""
        return Settings.from_output_fields(self.output) if self.output else None


_STATUSES = ("pending", "running", "done", "failed", "skipped")


def _item_from(entry: object) -> QueueItem | None:
    """A queue item from its saved form; None when it is not one (missing or mistyped fields). Keys it does not
    know (a newer photogan's) are ignored, not fatal."""
    if not isinstance(entry, dict):
        return None
    known = {f.name: f for f in fields(QueueItem)}
    values = {k: v for k, v in entry.items() if k in known}
    if not isinstance(values.get("source"), str) or not isinstance(values.get("relative"), str):
        return None
    for key in ("id", "reason", "target"):
        if key in values and not isinstance(values[key], str):
            return None
    if "seconds" in values and (isinstance(values["seconds"], bool) or not isinstance(values["seconds"], int | float)):
        return None
    if values.get("status", "pending") not in _STATUSES:
        return None
    if "chain" in values:
        chain = values["chain"]
        if not isinstance(chain, list | tuple) or not all(isinstance(m, str) for m in chain):
            return None
        values["chain"] = tuple(chain)
    if "output" in values:
        if not isinstance(values["output"], dict):
            return None
        try:
            Settings.from_output_fields(values["output"])
        except (TypeError, ValueError):  # UsageError is a ValueError
            return None
    return QueueItem(**values)


def _key(output: dict[str, Any]) -> str:
    """Output settings as something to compare rows by."""
    return json.dumps(output, sort_keys=True)


def default_state_path() -> Path:
    return Path(platformdirs.user_state_dir("photogan")) / "queue.json"


QueueListener = Callable[[QueueItem], None]


class BatchQueue:
    """An ordered, persistent list of photos to enhance. Thread-safe; every change is saved at once."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or default_state_path()
        self._lock = threading.RLock()
        self._items: list[QueueItem] = []
        self._owner: IO[str] | None = None
        self.read_only = False
        #: What went wrong with the saved queue, in words for the user (shown by the GUI); nothing is dropped
        #: without a line here.
        self.problems: list[str] = []
        self._load()

    # -- persistence ----------------------------------------------------------------------------------------

    def claim(self) -> bool:
        """Makes this queue the only one that saves to its file (a lock held while the process lives). When
        another photogan owns it, this queue is read-only (changes are kept in memory, not saved) and False is
        returned; :attr:`problems` says so."""
        try:
            import fcntl
        except ImportError:  # no advisory locks on this platform: every instance saves, as before
            return True
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            owner = open(self.path.with_name(self.path.name + ".lock"), "a+", encoding="utf-8")  # noqa: SIM115
        except OSError as exc:
            self.problems.append(f"the batch queue's folder {self.path.parent} is not writable ({exc.strerror})")
            return False
        try:
            fcntl.flock(owner.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            owner.close()
            self.read_only = True
            self.problems.append(
                "another photogan window owns the batch queue: this window shows it, but its changes are not saved"
            )
            return False
        self._owner = owner
        return True

    def _set_aside(self, text: str, why: str) -> Path | None:
        """Keeps unreadable queue content beside the queue under a new name (never over an earlier one)."""
        stamp = time.strftime("%Y%m%d-%H%M%S")
        for n in range(1000):
            aside = self.path.with_name(f"{self.path.stem}.damaged-{stamp}{f'-{n}' if n else ''}.json")
            try:
                with open(aside, "x", encoding="utf-8") as f:
                    f.write(text)
            except FileExistsError:
                continue
            except OSError as exc:
                self.problems.append(f"{why}; it could not be kept aside either ({exc.strerror})")
                return None
            self.problems.append(f"{why}; kept as {aside}")
            log.warning("%s; kept as %s", why, aside)
            return aside
        return None

    def _load(self) -> None:
        try:
            text = self.path.read_text(encoding="utf-8")
        except (FileNotFoundError, NotADirectoryError):  # nothing saved yet (saving will say if it cannot)
            return
        except (OSError, UnicodeDecodeError) as exc:
            self.problems.append(f"the saved batch queue {self.path} could not be read ({exc})")
            return
        try:
            data = json.loads(text)
        except ValueError as exc:
            self._set_aside(text, f"the saved batch queue was damaged ({exc}) and could not be restored")
            self._items = []
            return
        entries = data.get("items") if isinstance(data, dict) else None
        if not isinstance(entries, list):
            self._set_aside(text, "the saved batch queue was not a queue (no list of items) and could not be restored")
            return
        items, bad = [], []
        for entry in entries:
            item = _item_from(entry)
            if item is None:
                bad.append(entry)
            else:
                items.append(item)
        if bad:
            self._set_aside(
                json.dumps({"items": bad}, indent=1), f"{len(bad)} damaged item(s) of the batch queue were left out"
            )
        # an item that was running when the app stopped is simply pending again
        self._items = [replace(i, status="pending") if i.status == "running" else i for i in items]

    def _save(self) -> None:
        if self.read_only:
            return
        payload = json.dumps({"version": STATE_VERSION, "items": [asdict(i) for i in self._items]}, indent=1)
        tmp = self.path.with_name(f".{self.path.name}.{secrets.token_hex(6)}.tmp")  # one per save: no sharing
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(payload, encoding="utf-8")
            os.replace(tmp, self.path)
        except OSError as exc:
            discard(tmp)
            reason = exc.strerror or str(exc)
            problem = f"the batch queue cannot be saved in {self.path.parent} ({reason}): it lasts until you quit"
            if problem not in self.problems:
                self.problems.append(problem)
                log.warning("%s", problem)

    # -- editing --------------------------------------------------------------------------------------------

    @property
    def items(self) -> list[QueueItem]:
        with self._lock:
            return list(self._items)

    def add(
        self,
        paths: Iterable[Path],
        recursive: bool = True,
        chain: Sequence[str] = (),
        others: list[Path] | None = None,
        output: Settings | None = None,
    ) -> list[QueueItem]:
        """Adds photos and the photos in folders, to run through ``chain`` and be written as ``output`` says (its
        output fields are kept with each row); a photo already in the queue with the same chain and output settings
        (waiting, done or failed: Retry failed runs those again) is not added twice. The files in the folders that
        are not photos photogan reads are appended to ``others``."""
        new: list[QueueItem] = []
        chain = tuple(chain)
        kept = output.output_fields() if output is not None else {}
        with self._lock:
            waiting = {(i.source, i.chain, _key(i.output)) for i in self._items}
            for path in paths:
                found = (
                    [(f, f.relative_to(path)) for f in find_images(path, recursive, others)]
                    if path.is_dir()
                    else [(path, Path(path.name))]
                )
                for source, relative in found:
                    key = str(source.resolve())
                    if (key, chain, _key(kept)) not in waiting:
                        waiting.add((key, chain, _key(kept)))
                        new.append(QueueItem(source=key, relative=str(relative), chain=chain, output=dict(kept)))
            self._items += new
            self._save()
        return new

    def set_output(self, ids: Iterable[str], output: Settings) -> int:
        """Gives rows new output settings; rows done or running keep theirs (what they wrote was written with
        them). Returns how many changed."""
        wanted, fields_ = set(ids), output.output_fields()
        with self._lock:
            changed = 0
            for k, item in enumerate(self._items):
                if item.id in wanted and item.status not in ("done", "running"):
                    self._items[k] = replace(item, output=dict(fields_))
                    changed += 1
            self._save()
        return changed

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
            # a failed item's output was never written: it is not shown as its output
            self._items = [
                replace(i, status="pending", reason="", target="") if i.status == "failed" else i for i in self._items
            ]
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
        sessions_for: Callable[[tuple[str, ...]], Sequence[ModelSession]] | None = None,
    ) -> None:
        """Processes pending items in order until none is left or ``progress`` is cancelled. Each item runs
        through its own chain (``sessions_for`` opens it) or, without one, through ``session``.

        Raises:
            Cancelled: ``progress`` was cancelled.
            OutputFolderError: The output folder takes no file (full, read-only, not a folder); the item is
                pending again and the queue stops.

        ``on_item`` is called whenever an item changes status; ``on_progress`` with the running item's fraction.
        Pause with ``progress.token.pause()``; cancel with ``progress.cancel()`` (the current item goes back to
        pending, nothing partial is written).
        """

        def where(item: QueueItem) -> tuple[Path, OutputOptions]:
            """An item's output folder and options: its own, or the run's."""
            own = item.output_settings()
            if own is None:
                return output_dir, output
            return Path(own.output_dir), replace(own.output_options(), png_compression=output.png_compression)

        for folder in sorted({where(i)[0] for i in self._items if i.status == "pending"}):
            check_output_folder(folder)  # before any photo is enhanced
        # outputs already written by other photos of the queue: a/x.png and b/x.png must not both become out/x.png
        planner = OutputPlanner(output_dir, inputs=[Path(i.source) for i in self._items])
        for done in self._items:
            if done.status == "done" and done.target:
                planner.reserve(Path(done.source), Path(done.target))

        def tell(item: QueueItem | None) -> None:
            if item is not None and on_item:
                on_item(item)

        def plan(item: QueueItem) -> tuple[ModelSession | Sequence[ModelSession], Path, OutputOptions] | str:
            """The models, the output file and options of an item, or why it cannot run."""
            try:
                models = sessions_for(item.chain) if item.chain and sessions_for is not None else session
            except (PhotoganError, ValueError) as exc:  # a model of its chain is gone or does not load
                return f"its models ({' → '.join(item.chain)}): {exc}"
            # the name says what was done (-x4, -restored...) unless the options set a suffix: the same photo
            # through two chains gives two files
            steps = [models] if isinstance(models, ModelSession) else list(models)
            folder, options = where(item)
            suffix = options.name_suffix or chain_suffix([s.info for s in steps])
            source = Path(item.source)
            target = OutputPlanner(folder, options.format).target(source, Path(item.relative), suffix)
            try:
                planner.check(source, target)
            except PlanError as exc:
                return str(exc)
            return models, target, options

        def finish(item: QueueItem, written: Future[FileResult]) -> None:
            try:
                result = written.result()
            except OutputFolderError:  # it goes back to the queue; the queue stops
                tell(self._update(item.id, status="pending"))
                raise
            tell(
                self._update(
                    item.id,
                    status=result.status,
                    reason=result.reason,
                    target=str(result.target or ""),
                    seconds=result.seconds,
                )
            )

        # the photo after the current one is decoded, and the one before written, while the current one runs
        writing: tuple[QueueItem, Future[FileResult]] | None = None
        with Pipeline(session, tile, output, max_pixels) as pipeline:
            while (item := self._next_pending()) is not None:
                progress.check_cancelled()
                planned = plan(item)
                if isinstance(planned, str):
                    tell(self._update(item.id, status="failed", reason=planned))
                    continue
                models, target, options = planned
                planner.reserve(Path(item.source), target)
                running = self._update(item.id, status="running", reason="")
                tell(running)
                following = self._next_pending()
                ahead = plan(following) if following is not None else None
                if following is not None and isinstance(ahead, tuple):
                    pipeline.prefetch(replace(job_for(Path(following.source), ahead[1]), output=ahead[2]), ahead[0])
                report = (lambda f, it=running: on_progress(it, f)) if on_progress else None
                try:
                    job = replace(job_for(Path(item.source), target), output=options)
                    now = pipeline.run(job, Progress(report, progress.token), models)
                except (Cancelled, OutputFolderError):  # the second stops the queue: no item after could be saved
                    tell(self._update(item.id, status="pending"))
                    if writing is not None:
                        finish(*writing)  # the photo before is written whole: it is done
                    raise
                if writing is not None:
                    finish(*writing)
                writing = (item, now)
            if writing is not None:
                finish(*writing)
