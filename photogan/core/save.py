"""Writing photos safely: a temporary file in the target folder, verified, then renamed into place.

A failed save leaves nothing behind and never touches an existing file at the target path. Metadata written:
ICC profile, EXIF (orientation already reset), XMP and DPI wherever the format holds them. 16-bit photos stay
16-bit in PNG and TIFF (colour 16-bit PNG is encoded by OpenCV and gets its metadata chunks added here; TIFF is
written by :mod:`photogan.core.tiff`).
"""

from __future__ import annotations

import errno
import io
import logging
import os
import secrets
import stat
import struct
import time
import zlib
from dataclasses import replace
from pathlib import Path

import numpy as np
from PIL import Image, PngImagePlugin

from photogan.core.errors import ImageWriteError, OutputFolderError
from photogan.core.formats import PHOTOSHOP_HEADER, SIXTEEN_BIT_FORMATS, TEMP_PREFIX, format_for_path, register_heif
from photogan.core.image import Photo, samples_of
from photogan.core.tiff import encode_tiff
from photogan.core.xmp import jpeg_segments

log = logging.getLogger(__name__)

DEFAULT_JPEG_QUALITY = 95
#: zlib level of PNG outputs. Measured on 2040 px photos (README, "Output encoding"): level 3 encodes in about
#: 110 ms/MP against 310 ms/MP at level 6, for files 2–12 % larger; at ×4 the encoder otherwise takes as long as
#: the network itself.
PNG_COMPRESS_LEVEL = 3
_EXIF_IFD = 0x8769
_EXIF_DIMENSIONS = (0xA002, 0xA003)  # PixelXDimension, PixelYDimension


def _flatten_alpha(photo: Photo) -> Photo:
    """Composites over white, for formats without alpha (JPEG)."""
    if photo.alpha is None:
        return photo
    log.warning("the output format has no alpha channel: transparent areas are flattened onto white")
    a = photo.alpha[..., None]
    return photo.with_pixels(photo.pixels * a + (1.0 - a), None)


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def _png_metadata_chunks(photo: Photo) -> bytes:
    chunks = b""
    if photo.icc_profile:
        chunks += _png_chunk(b"iCCP", b"ICC Profile\x00\x00" + zlib.compress(photo.icc_profile))
    if photo.dpi:
        ppm = [round(d / 0.0254) for d in photo.dpi]
        chunks += _png_chunk(b"pHYs", struct.pack(">IIB", ppm[0], ppm[1], 1))
    if photo.exif:
        exif = photo.exif[6:] if photo.exif.startswith(b"Exif\x00\x00") else photo.exif
        chunks += _png_chunk(b"eXIf", exif)
    if photo.xmp:
        chunks += _png_chunk(b"iTXt", b"XML:com.adobe.xmp\x00\x00\x00\x00\x00" + photo.xmp)
    return chunks


def _encode_png16(photo: Photo, level: int = PNG_COMPRESS_LEVEL) -> bytes:
    """Encodes a 16-bit colour (or gray+alpha) PNG with OpenCV and splices in the metadata chunks."""
    import cv2  # only 16-bit colour output needs it

    samples = samples_of(photo, 16, keep_alpha=True)
    if samples.shape[2] == 2:  # OpenCV writes no gray+alpha: store as RGBA
        samples = samples[..., [0, 0, 0, 1]]
    order = [2, 1, 0, 3][: samples.shape[2]]
    ok, encoded = cv2.imencode(".png", np.ascontiguousarray(samples[..., order]), [cv2.IMWRITE_PNG_COMPRESSION, level])
    if not ok:
        raise ImageWriteError("OpenCV could not encode the 16-bit PNG")
    data = encoded.tobytes()
    ihdr_end = 8 + 25  # signature + IHDR chunk (length, type, 13 bytes, crc)
    return data[:ihdr_end] + _png_metadata_chunks(photo) + data[ihdr_end:]


def _encode_pillow(photo: Photo, fmt: str, quality: int, png_level: int = PNG_COMPRESS_LEVEL) -> bytes:
    bits = 16 if photo.bit_depth == 16 and fmt in SIXTEEN_BIT_FORMATS else 8
    samples = samples_of(photo, bits, keep_alpha=True)
    # uint16 single-channel becomes mode I;16 (only 16-bit gray without alpha reaches here)
    im = Image.fromarray(samples[..., 0] if samples.shape[2] == 1 else samples)
    params: dict[str, object] = {}
    if photo.icc_profile:
        params["icc_profile"] = photo.icc_profile
    if photo.exif and fmt != "BMP":
        params["exif"] = photo.exif
    if photo.dpi and fmt in ("JPEG", "PNG", "BMP"):
        params["dpi"] = photo.dpi
    if fmt == "JPEG":
        params.update(quality=quality, optimize=True, subsampling=0 if quality >= 90 else 2)
        extra = jpeg_segments(photo.xmp) if photo.xmp else b""  # more than one segment when it is long
        if photo.iptc and len(photo.iptc) + len(PHOTOSHOP_HEADER) + 2 <= 0xFFFF:
            payload = PHOTOSHOP_HEADER + photo.iptc
            extra += b"\xff\xed" + struct.pack(">H", len(payload) + 2) + payload
        params["extra"] = extra
    elif fmt == "WEBP":
        params.update(quality=quality, method=4)
    elif fmt == "HEIF":
        register_heif()
        params["quality"] = quality
    elif fmt == "AVIF":
        params.update(quality=quality, speed=6)
    elif fmt == "PNG":
        params["compress_level"] = png_level
    if photo.xmp:
        if fmt in ("WEBP", "HEIF", "AVIF"):
            params["xmp"] = photo.xmp
        elif fmt == "PNG":
            info = PngImagePlugin.PngInfo()
            try:
                text = photo.xmp.decode("utf-8")
            except UnicodeDecodeError:  # a PNG's XMP must be UTF-8: mend it, and say so
                text = photo.xmp.decode("utf-8", "replace")
                log.warning("the XMP is not valid UTF-8; its invalid bytes were replaced in the PNG file")
            info.add_itxt("XML:com.adobe.xmp", text)
            params["pnginfo"] = info
    buffer = io.BytesIO()
    im.save(buffer, format=fmt, **params)
    return buffer.getvalue()


def _exif_for_size(exif_bytes: bytes, width: int, height: int) -> bytes:
    """The EXIF with its pixel-dimension fields (if any) set to the size actually written."""
    exif = Image.Exif()
    exif.load(exif_bytes)
    sub = exif.get_ifd(_EXIF_IFD)
    if any(tag in sub for tag in _EXIF_DIMENSIONS) and (sub.get(0xA002), sub.get(0xA003)) != (width, height):
        sub[0xA002], sub[0xA003] = width, height
        return exif.tobytes()
    return exif_bytes


#: Largest payload of one JPEG marker segment (APP1 holds EXIF or XMP).
JPEG_SEGMENT = 65533
#: Metadata dropped one kind at a time, least valuable first, when a format cannot take it.
_DROP_ORDER = ("xmp", "iptc", "exif", "icc_profile")


def _fit_jpeg_metadata(photo: Photo) -> Photo:
    """EXIF that fits in one JPEG segment: a too-long EXIF loses its maker note first, and what still does not fit
    is dropped with a warning (the photo is never lost over its metadata). XMP of any length fits: what one segment
    cannot hold goes into extended XMP (:func:`photogan.core.xmp.jpeg_segments`)."""
    if photo.exif and len(photo.exif) > JPEG_SEGMENT:
        exif = Image.Exif()
        exif.load(photo.exif)
        exif.get_ifd(_EXIF_IFD).pop(0x927C, None)  # MakerNote
        slim = exif.tobytes()
        if len(slim) > JPEG_SEGMENT:
            slim = b""
            log.warning("the EXIF (%d KB) is too long for a JPEG file and was left out", len(photo.exif) // 1024)
        else:
            log.warning("the camera maker note was left out of the EXIF: it made it too long for a JPEG file")
        photo = replace(photo, exif=slim or None)
    return photo


def encode_image(
    photo: Photo, fmt: str, quality: int = DEFAULT_JPEG_QUALITY, png_level: int = PNG_COMPRESS_LEVEL
) -> bytes:
    """Encodes ``photo`` in ``fmt`` (``JPEG``, ``PNG``, ``TIFF``, ``WEBP``, ``HEIF``, ``AVIF``, ``BMP``) with its
    metadata; ``png_level`` is a PNG's zlib level (0-9).

    Metadata the format cannot take (a too-long EXIF or XMP for JPEG, a profile the encoder refuses) is left out
    with a warning, one kind at a time, rather than failing the photo.
    """
    if fmt == "JPEG":
        photo = _fit_jpeg_metadata(photo)
    while True:
        try:
            return _encode(photo, fmt, quality, png_level)
        except (ValueError, OSError, TypeError) as exc:
            kind = next((k for k in _DROP_ORDER if getattr(photo, k)), None)
            if kind is None:
                raise
            log.warning("the %s could not be written into the %s file (%s) and was left out", kind, fmt, exc)
            photo = _without(photo, kind)


def _without(photo: Photo, kind: str) -> Photo:
    if kind == "xmp":
        return replace(photo, xmp=None)
    if kind == "iptc":
        return replace(photo, iptc=None)
    if kind == "exif":
        return replace(photo, exif=None)
    return replace(photo, icc_profile=None)


def _encode(photo: Photo, fmt: str, quality: int, png_level: int = PNG_COMPRESS_LEVEL) -> bytes:
    if photo.exif:
        photo = replace(photo, exif=_exif_for_size(photo.exif, photo.width, photo.height))
    if fmt in ("JPEG", "BMP"):
        photo = _flatten_alpha(photo)
    if fmt == "TIFF":
        return encode_tiff(photo)
    sixteen = photo.bit_depth == 16 and fmt in SIXTEEN_BIT_FORMATS
    if sixteen and (not photo.grayscale or photo.alpha is not None):
        return _encode_png16(photo, png_level)
    return _encode_pillow(photo, fmt, quality, png_level)


def _write_new(path: Path, data: bytes) -> None:
    """Creates ``path`` (which must not exist) with the user's default permissions and syncs it to disk."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)


def discard(path: Path) -> None:
    """Removes a temporary file if it is there; never raises (a cleanup must not hide the error that caused it:
    on a read-only or vanished folder the unlink fails too)."""
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:
        log.debug("could not remove %s: %s", path, exc)


def save_image(
    photo: Photo,
    path: str | Path,
    fmt: str | None = None,
    quality: int = DEFAULT_JPEG_QUALITY,
    png_level: int = PNG_COMPRESS_LEVEL,
) -> Path:
    """Writes ``photo`` atomically: temporary file in the same folder, verify, rename over ``path``.

    Args:
        photo: The photo; grayscale stays grayscale, alpha is kept where the format allows.
        path: Target file. An existing file there is replaced only once the new one is complete.
        fmt: Output format; by default implied by the suffix of ``path``.
        quality: JPEG/WebP/HEIC/AVIF quality (1-100).
        png_level: zlib level of a PNG (0-9; :data:`PNG_COMPRESS_LEVEL` by default).

    Returns:
        The path written.

    Raises:
        ImageWriteError: Encoding or writing failed; no temporary file is left and ``path`` is untouched.
    """
    path = Path(path)
    fmt = fmt or format_for_path(path)
    tmp = path.parent / f"{TEMP_PREFIX}{secrets.token_hex(6)}{path.suffix}"
    try:
        data = encode_image(photo, fmt, quality, png_level)
        _write_new(tmp, data)
        with Image.open(tmp) as check:  # verify what is on disk before it replaces anything
            check.verify()
        os.replace(tmp, path)
    except BaseException as exc:  # Ctrl-C included: never leave a temporary file behind
        discard(tmp)
        if isinstance(exc, ImageWriteError) or not isinstance(exc, Exception):
            raise
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        kind = OutputFolderError if folder_problem(exc) else ImageWriteError  # full or read-only: all would fail
        raise kind(f"could not write {path}: {reason}") from exc
    return path


#: A temporary file of ours this much older than its last write belongs to a run that was killed (a live write
#: touches its file continuously and takes seconds).
STALE_TEMP_SECONDS = 600


def remove_stale_temp_files(folder: Path, older_than: float = STALE_TEMP_SECONDS) -> list[Path]:
    """Deletes photogan's own temporary files (``.photogan-tmp-*``) in ``folder`` that a killed run left behind,
    leaving a concurrent writer's fresh ones alone; returns what was removed. Never raises."""
    removed: list[Path] = []
    now = time.time()
    try:
        candidates = list(folder.glob(TEMP_PREFIX + "*"))
    except OSError:
        return removed
    for candidate in candidates:
        try:
            info = candidate.lstat()
            if stat.S_ISREG(info.st_mode) and now - info.st_mtime > older_than:
                candidate.unlink()
                removed.append(candidate)
        except OSError:
            continue
    if removed:
        log.info("removed %d temporary file(s) a stopped run left in %s", len(removed), folder)
    return removed


#: Write errors that no other photo can escape either: the folder, not the photo, is the problem.
FOLDER_ERRNOS = frozenset(
    getattr(errno, name) for name in ("ENOSPC", "EROFS", "ENOTDIR", "EDQUOT", "EACCES", "EPERM") if hasattr(errno, name)
)


def folder_problem(exc: BaseException) -> OSError | None:
    """The OSError behind ``exc`` (itself or its cause) when it is one of :data:`FOLDER_ERRNOS`, else None."""
    for candidate in (exc, exc.__cause__):
        if isinstance(candidate, OSError) and candidate.errno in FOLDER_ERRNOS:
            return candidate
    return None


def ensure_folder(folder: Path) -> None:
    """Creates ``folder`` (and its parents) if needed.

    Raises:
        OutputFolderError: It is a file, or cannot be created.
    """
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise OutputFolderError(f"the output folder {folder} is a file, not a folder") from None
    except OSError as exc:
        raise OutputFolderError(f"the output folder {folder} cannot be created: {exc.strerror or exc}") from exc


def check_output_folder(folder: Path) -> None:
    """Makes sure ``folder`` exists (created if needed) and takes a file, before any work is done for it.

    Raises:
        OutputFolderError: It is a file, or cannot be created or written (read-only, full, no permission).
    """
    ensure_folder(folder)
    probe = folder / f"{TEMP_PREFIX}probe-{secrets.token_hex(4)}"
    try:
        _write_new(probe, b"photogan")
    except OSError as exc:
        raise OutputFolderError(f"the output folder {folder} cannot be written: {exc.strerror or exc}") from exc
    finally:
        discard(probe)
