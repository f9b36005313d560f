"""Specific exceptions of photogan. Every message says what went wrong and, where it helps, what to do."""

from __future__ import annotations


class PhotoganError(Exception):
    """Base class of the errors photogan reports to users."""


class UsageError(PhotoganError, ValueError):
    """What the user asked for cannot be done as asked (a bad option, a clash of outputs): the one family of
    usage errors. A ValueError too, so every ``except ValueError`` of a front end catches it; the CLI exits 2."""


class ImageReadError(PhotoganError):
    """A file could not be read as an image (missing, empty, truncated, corrupt, or not an image)."""


class UnsupportedFormatError(ImageReadError):
    """The file is an image in a format photogan does not read or write."""


class ImageTooLargeError(ImageReadError):
    """The image has more pixels than the configured limit (protects against decompression bombs)."""


class ImageWriteError(PhotoganError):
    """An output file could not be written; nothing was left behind."""


class OutputFolderError(ImageWriteError):
    """The output folder cannot take any file (read-only, full, not a folder): every photo after would fail too,
    so a batch stops here instead of enhancing photos it cannot save."""


class ModelError(PhotoganError):
    """A model file is missing, invalid, or unsuitable for the requested task."""


class OutOfMemoryError(PhotoganError):
    """The inference engine ran out of memory for one tile; the tiler splits the tile and retries."""


class Cancelled(PhotoganError):  # noqa: N818 - the name is the contract ("raise Cancelled")
    """The user cancelled the operation."""


class InsufficientMemoryError(PhotoganError):
    """The result would not fit in the memory available; refused before any large allocation."""
