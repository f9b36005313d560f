"""Batch enhancement: plan output paths for many inputs, then enhance them one by one, each file isolated.

Planning refuses outright any run that would write over an input. Running never stops at a bad file: a corrupt,
truncated, empty, non-image or over-limit file is reported with its reason and the batch goes on. Outputs are
written atomically, so an interrupted run leaves whole files or none.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import numpy as np

from photogan import __version__
from photogan.app.chain import chain_budget, enhance_chain
from photogan.app.outputs import NameClashError, OutputPlanner, PlanError, check_format, free_name
from photogan.app.sizing import SizeRequest, describe_print, resize_photo
from photogan.core.errors import Cancelled, OutputFolderError, PhotoganError
from photogan.core.formats import (
    find_images,
    is_image_name,
    not_read_reason,
)
from photogan.core.hints import Hint, load_hints, sidecar_for
from photogan.core.image import Photo
from photogan.core.load import DEFAULT_MAX_PIXELS, load_image
from photogan.core.masks import load_mask, mask_sidecar_for
from photogan.core.progress import Progress
from photogan.core.save import (
    DEFAULT_JPEG_QUALITY,
    PNG_COMPRESS_LEVEL,
    check_output_folder,
    ensure_folder,
    remove_stale_temp_files,
    save_image,
)
from photogan.core.tiling import TileOptions
from photogan.core.xmp import with_history
from photogan.inference.model_info import ModelInfo
from photogan.inference.session import ModelSession

log = logging.getLogger(__name__)

Status = Literal["done", "skipped", "failed"]


@dataclass(frozen=True)
class Job:
    """One input file, the output it becomes, its colour hints for a colorizer and its mask for an inpainter (the
    ``NAME.hints.json`` and ``NAME.mask.png`` sidecars beside it, or files given for it)."""

    source: Path
    target: Path
    hints: Path | None = None
    mask: Path | None = None
    output: OutputOptions | None = None  # this photo's own output options (a queue row's); None: the batch's


@dataclass(frozen=True)
class FileResult:
    """What happened to one input."""

    source: Path
    target: Path | None
    status: Status
    reason: str = ""
    seconds: float = 0.0
    detail: str = ""  # e.g. the output's pixels and print size when a size was asked for


@dataclass(frozen=True)
class OutputOptions:
    """How outputs are written.

    Attributes:
        format: ``same`` keeps each input's format, or one of ``png``, ``jpg``, ``tiff``, ``webp``.
        quality: JPEG and WebP quality.
        skip_existing: Leave inputs whose output already exists alone (reported as skipped); the same as
            ``existing="skip"``.
        existing: What to do when an output file is already there: ``replace`` it, ``skip`` the photo, or
            ``rename`` the new output (``photo-x4-2.jpg``, the first free name).
        keep_metadata: Keep EXIF, XMP and IPTC (the ICC profile is always kept: the pixels are in its space).
        bit_depth: ``same`` keeps each photo's depth; ``8`` or ``16`` forces it (16 only where the format has it).
        name_suffix: Added to each output's file name before its extension (``photo-enhanced.jpg``).
        size: The output size asked for (a factor, pixels or a print size): the result is resized to it.
        png_compression: zlib level of PNG outputs, 0 (fastest, largest) to 9 (smallest, slowest).
    """

    format: str = "same"
    quality: int = DEFAULT_JPEG_QUALITY
    skip_existing: bool = False
    existing: Literal["replace", "skip", "rename"] = "replace"
    keep_metadata: bool = True
    bit_depth: str = "same"
    name_suffix: str = ""
    size: SizeRequest | None = None
    png_compression: int = PNG_COMPRESS_LEVEL

    def __post_init__(self) -> None:
        check_format(self.format)
        if not 1 <= self.quality <= 100:
            raise PlanError(f"quality must be between 1 and 100, got {self.quality}")
        if self.existing not in ("replace", "skip", "rename"):
            raise PlanError(f"an existing output is replaced, skipped or renamed, not {self.existing!r}")
        if not 0 <= self.png_compression <= 9:
            raise PlanError(f"the PNG compression level must be 0 to 9, got {self.png_compression}")
        if self.bit_depth not in ("same", "8", "16"):
            raise PlanError(f"bit depth must be same, 8 or 16, got {self.bit_depth!r}")
        if any(c in self.name_suffix for c in "/\\\0"):
            raise PlanError(f"the name suffix {self.name_suffix!r} may not contain a path separator")

    def sized(self, result: Photo, width: int, height: int) -> tuple[Photo, str]:
        """The result of a ``width``×``height`` photo at the size asked for (resized from the model's scale, its DPI
        set), and what that size is in words (empty when no size was asked for)."""
        if self.size is None or self.size.empty:
            return result, ""
        target = self.size.target(width, height)
        result = resize_photo(result, *target, self.size.output_dpi())
        dpi = result.dpi[0] if result.dpi else None
        return result, describe_print(*target, dpi) if dpi else f"{target[0]}×{target[1]} px"

    def apply(self, photo: Photo, history: str | None = None) -> Photo:
        """The photo as it is to be written: metadata dropped and bit depth changed as asked; ``history`` (see
        :func:`provenance`) added to its XMP when metadata is kept."""
        changes: dict[str, object] = {}
        if not self.keep_metadata:
            changes.update(exif=None, xmp=None, iptc=None)
        elif history:
            changes["xmp"] = with_history(photo.xmp, history)
        if self.bit_depth != "same":
            changes["bit_depth"] = int(self.bit_depth)
        return replace(photo, **changes) if changes else photo  # type: ignore[arg-type]


def provenance(models: ModelSession | Sequence[ModelSession] | Sequence[ModelInfo], width: int, height: int) -> str:
    """The processing-history entry of a result (its XMP keeps it): when, photogan's version, what ran, the size."""
    steps: list[ModelSession | ModelInfo] = [models] if isinstance(models, ModelSession) else list(models)
    infos = [s.info if isinstance(s, ModelSession) else s for s in steps]
    when = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    chain = " → ".join(f"{i.id} ({i.task} ×{i.scale})" for i in infos)
    return f"{when} photogan {__version__}: {chain}; {width}×{height} px"


def job_for(source: Path, target: Path) -> Job:
    """The job of one input: its colour hints and its mask are the ``NAME.hints.json`` and ``NAME.mask.png``
    beside it, when there are."""
    hints, mask = sidecar_for(source), mask_sidecar_for(source)
    return Job(source, target, hints if hints.is_file() else None, mask if mask.is_file() else None)


@dataclass
class Plan:
    """The jobs of a batch and the inputs that failed or were skipped before any work (missing, name clashes; the
    files in a folder that are not photos photogan reads)."""

    jobs: list[Job] = field(default_factory=list)
    failures: list[FileResult] = field(default_factory=list)


def plan_batch(
    inputs: Iterable[Path], output_dir: Path, fmt: str = "same", recursive: bool = False, name_suffix: str = ""
) -> Plan:
    """Maps inputs (files or folders) to output files in ``output_dir``.

    ``a/b/name.ext`` becomes ``output_dir/name.ext`` (``.ext`` changed by ``fmt``); files found in a folder with
    ``recursive`` keep their path relative to that folder. A ``name.hints.json`` beside an input is its colour
    hints, a ``name.mask.png`` its mask (never an input itself).

    Raises:
        PlanError: An output would overwrite an input file (:class:`photogan.app.outputs.OutputPlanner` decides
            where outputs go).
    """
    plan = Plan()
    sources: list[tuple[Path, Path]] = []
    out_root = output_dir.resolve()
    for item in inputs:
        if item.is_dir():
            # an output folder inside an input folder is not an input: a second run must not enhance outputs
            nested_output = out_root != item.resolve() and out_root.is_relative_to(item.resolve())
            others: list[Path] = []
            sources += [
                (f, f.relative_to(item))
                for f in find_images(item, recursive, others)
                if not (nested_output and f.resolve().is_relative_to(out_root))
            ]
            plan.failures += [
                FileResult(f, None, "skipped", not_read_reason(f))
                for f in others
                if not (nested_output and f.resolve().is_relative_to(out_root))
            ]
        elif item.is_file() or not item.exists():
            if item.exists() and not is_image_name(item):
                log.info("%s has an unusual suffix; trying it anyway", item)
            sources.append((item, Path(item.name)))
        else:
            plan.failures.append(FileResult(item, None, "failed", "not a regular file"))
    planner = OutputPlanner(output_dir, fmt, name_suffix, inputs=[src for src, _ in sources])
    for source, relative in sources:
        if not source.exists():
            plan.failures.append(FileResult(source, None, "failed", "file not found"))
            continue
        try:
            target = planner.claim(source, relative)
        except NameClashError as exc:
            plan.failures.append(FileResult(source, planner.target(source, relative), "failed", str(exc)))
            continue
        plan.jobs.append(job_for(source, target))
    return plan


class BatchObserver:
    """Receives batch events; the CLI and the GUI subclass it. All methods do nothing by default."""

    def file_started(self, job: Job, index: int, total: int) -> None:
        """``job`` (number ``index`` of ``total``, from 0) starts."""

    def file_progress(self, fraction: float) -> None:
        """The current file is ``fraction`` done."""

    def file_finished(self, result: FileResult) -> None:
        """A file is done, skipped or failed."""


def _has_task(session: ModelSession | Sequence[ModelSession], task: str) -> bool:
    return any(s.info.task == task for s in ([session] if isinstance(session, ModelSession) else session))


def _needs_mask(session: ModelSession | Sequence[ModelSession]) -> bool:
    """An inpainter with no damage detector before it: it has nothing to fill without a mask."""
    for step in [session] if isinstance(session, ModelSession) else session:
        if step.info.task in ("detect", "inpaint"):
            return step.info.task == "inpaint"
    return False


@dataclass(frozen=True)
class _Loaded:
    """A job's photo, decoded, with what goes with it."""

    photo: Photo
    hints: list[Hint]
    mask: np.ndarray | None


def _failed(job: Job, exc: BaseException, started: float) -> FileResult:
    """The ``failed`` result of an error while working on ``job`` (an unexpected one logged with its traceback).

    Raises:
        Cancelled, OutputFolderError: Raised on: they stop the batch, not one file.
    """
    seconds = time.monotonic() - started
    if isinstance(exc, Cancelled | OutputFolderError) or not isinstance(exc, Exception):
        raise exc
    if isinstance(exc, PhotoganError):
        reason = str(exc)
    elif isinstance(exc, MemoryError):
        reason = "not enough memory for this image (try a smaller --tile)"
    elif isinstance(exc, OSError):
        reason = f"{exc.strerror or exc}"
    else:  # a bug must not cost the rest of the batch
        log.error("unexpected error on %s", job.source, exc_info=exc)
        reason = f"internal error: {exc!r}"
    return FileResult(job.source, job.target, "failed", reason, seconds)


def read_job(
    job: Job, session: ModelSession | Sequence[ModelSession], output: OutputOptions, max_pixels: int
) -> _Loaded | FileResult:
    """Decodes a job's photo (and its hints and mask), or says why it is skipped or failed."""
    started = time.monotonic()
    if (output.skip_existing or output.existing == "skip") and job.target.exists():
        return FileResult(job.source, job.target, "skipped", "output exists")
    if job.mask is None and _needs_mask(session):
        return FileResult(job.source, job.target, "skipped", f"no mask to fill ({mask_sidecar_for(job.source).name})")
    try:
        hints = load_hints(job.hints) if job.hints is not None and _has_task(session, "colorize") else []
        photo = load_image(job.source, max_pixels=max_pixels, budget=chain_budget(session))
        inpaints = job.mask is not None and _has_task(session, "inpaint")
        mask = load_mask(job.mask, photo.width, photo.height) if inpaints and job.mask is not None else None
    except BaseException as exc:
        return _failed(job, exc, started)
    return _Loaded(photo, hints, mask)


def _process(
    loaded: _Loaded,
    session: ModelSession | Sequence[ModelSession],
    tile: TileOptions,
    output: OutputOptions,
    progress: Progress,
) -> tuple[Photo, str]:
    """The network's part: the enhanced photo at the size asked for, and that size in words."""
    progress.set_progress(0.02)
    result = enhance_chain(
        loaded.photo, session, tile, progress.sub_progress(0.02, 0.93), loaded.hints, mask=loaded.mask
    )
    return output.sized(result, loaded.photo.width, loaded.photo.height)  # the exact size asked, from the model's


def write_job(
    job: Job, result: Photo, detail: str, output: OutputOptions, started: float, history: str | None = None
) -> FileResult:
    """Encodes and writes an enhanced photo atomically, ``history`` (:func:`provenance`) added to its XMP.

    Raises:
        OutputFolderError: The output folder takes no file (full, read-only, not a folder).
    """
    target = job.target
    try:
        ensure_folder(target.parent)
        if output.existing == "rename":  # never over a file that is there: the first free name
            target = free_name(target)
        photo = output.apply(result, history)
        save_image(photo, target, quality=output.quality, png_level=output.png_compression)
    except BaseException as exc:
        return _failed(replace(job, target=target), exc, started)
    return FileResult(job.source, target, "done", "", time.monotonic() - started, detail)


def enhance_file(
    job: Job,
    session: ModelSession | Sequence[ModelSession],
    tile: TileOptions,
    output: OutputOptions,
    progress: Progress,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> FileResult:
    """Enhances one file with a model or a chain of models; every failure (an unexpected one too, logged with its
    traceback) becomes a ``failed`` result with a reason, so a batch always goes on.

    Raises:
        Cancelled: The user cancelled (the output is not written).
        OutputFolderError: The output folder takes no file (full, read-only, not a folder).
    """
    started = time.monotonic()
    loaded = read_job(job, session, output, max_pixels)
    if isinstance(loaded, FileResult):
        return loaded
    try:
        result, detail = _process(loaded, session, tile, output, progress)
    except BaseException as exc:
        return _failed(job, exc, started)
    written = write_job(job, result, detail, output, started, provenance(session, result.width, result.height))
    progress.set_progress(1.0)
    return written


class Pipeline:
    """Overlaps consecutive photos of a batch: while one runs through the network in the caller's thread, the next
    is decoded in a reader thread and the previous one encoded and written in a writer thread (Pillow, OpenCV and
    onnxruntime release the GIL while they work). One photo at most waits decoded and one waits to be written, so
    memory holds three photos at most. Every photo's result is exactly what :func:`enhance_file` gives.
    """

    def __init__(
        self,
        session: ModelSession | Sequence[ModelSession],
        tile: TileOptions,
        output: OutputOptions,
        max_pixels: int = DEFAULT_MAX_PIXELS,
    ) -> None:
        self.session, self.tile, self.output, self.max_pixels = session, tile, output, max_pixels
        self._reader = ThreadPoolExecutor(1, thread_name_prefix="photogan-read")
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="photogan-write")
        self._next: tuple[Job, Future[_Loaded | FileResult]] | None = None
        self._stopped: OutputFolderError | None = None  # the output folder took no file: nothing more is written

    def _options(self, job: Job) -> OutputOptions:
        return job.output or self.output

    def _write(self, job: Job, result: Photo, detail: str, started: float, history: str) -> FileResult:
        if self._stopped is not None:  # a photo enhanced while the one before found the disk full
            raise self._stopped
        try:
            return write_job(job, result, detail, self._options(job), started, history)
        except OutputFolderError as exc:
            self._stopped = exc
            raise

    def prefetch(self, job: Job, session: ModelSession | Sequence[ModelSession] | None = None) -> None:
        """Starts decoding ``job`` (the one after the current) in the reader thread."""
        models = self.session if session is None else session
        self._next = (job, self._reader.submit(read_job, job, models, self._options(job), self.max_pixels))

    def run(
        self, job: Job, progress: Progress, session: ModelSession | Sequence[ModelSession] | None = None
    ) -> Future[FileResult]:
        """Runs ``job`` through the network now (its photo decoded ahead when it was prefetched) and hands it to
        the writer; the returned future gives its result once written.

        Raises:
            Cancelled: The user cancelled (this photo is not written; the one before is, and stays).
            OutputFolderError: An earlier write found the output folder full or read-only.
        """
        if self._stopped is not None:
            raise self._stopped
        models = self.session if session is None else session
        started = time.monotonic()
        ahead, self._next = self._next, None
        if ahead is not None and ahead[0] == job:
            loaded = ahead[1].result()
        else:
            if ahead is not None:  # decoded for a job that is not run next (the queue changed): let it go
                ahead[1].cancel()
            loaded = read_job(job, models, self._options(job), self.max_pixels)
        done: Future[FileResult] = Future()
        if isinstance(loaded, FileResult):
            done.set_result(loaded)
            return done
        try:
            result, detail = _process(loaded, models, self.tile, self._options(job), progress)
        except BaseException as exc:
            done.set_result(_failed(job, exc, started))
            return done
        del loaded  # the decoded photo is not kept while the next one runs
        history = provenance(models, result.width, result.height)
        return self._writer.submit(self._write, job, result, detail, started, history)

    def close(self) -> None:
        """Waits for the writes handed over and stops the threads."""
        if self._next is not None:
            self._next[1].cancel()
            self._next = None
        self._writer.shutdown(wait=True)
        self._reader.shutdown(wait=True)

    def __enter__(self) -> Pipeline:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def run_batch(
    plan: Plan,
    session: ModelSession | Sequence[ModelSession],
    tile: TileOptions,
    output: OutputOptions,
    observer: BatchObserver | None = None,
    progress: Progress | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> list[FileResult]:
    """Runs every job of ``plan`` through a :class:`Pipeline`; returns the results in the plan's order, planning
    failures first.

    Cancelling ``progress`` stops after the current tile; finished outputs stay, nothing partial is written.

    Raises:
        OutputFolderError: An output folder cannot take files (checked before any work, and when a write finds
            the disk full or read-only): the batch stops, since every photo after would fail the same way.
    """
    observer = observer or BatchObserver()
    progress = progress or Progress()
    results = list(plan.failures)
    for failure in plan.failures:
        observer.file_finished(failure)
    total = len(plan.jobs)
    for folder in sorted({job.target.parent for job in plan.jobs}):
        check_output_folder(folder)  # before any photo is enhanced: read-only, a file, no space, no permission
        remove_stale_temp_files(folder)  # what a killed earlier run left there

    def finish(written: Future[FileResult]) -> None:
        result = written.result()  # raises OutputFolderError: the batch stops
        if result.status == "failed":
            log.info("%s failed: %s", result.source, result.reason)
        results.append(result)
        observer.file_finished(result)
        progress.set_progress(len(results) / (total + len(plan.failures)))

    writing: Future[FileResult] | None = None
    with Pipeline(session, tile, output, max_pixels) as pipeline:
        for index, job in enumerate(plan.jobs):
            try:
                progress.check_cancelled()
                observer.file_started(job, index, total)
                if index + 1 < total:
                    pipeline.prefetch(plan.jobs[index + 1])
                running = pipeline.run(job, Progress(observer.file_progress, progress.token))
            except Cancelled:  # the photo written before is complete: it counts
                if writing is not None:
                    finish(writing)
                raise
            if writing is not None:  # the previous photo, written while this one ran
                finish(writing)
            writing = running
        if writing is not None:
            finish(writing)
    return results
