"""File formats photogan reads and writes, and how to find images in folders."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from photogan.core.errors import UnsupportedFormatError
from photogan.core.masks import is_mask_sidecar

#: Pillow format name -> file suffixes, first one preferred for new files.
FORMAT_SUFFIXES: dict[str, tuple[str, ...]] = {
    "JPEG": (".jpg", ".jpeg", ".jpe"),
    "PNG": (".png",),
    "TIFF": (".tif", ".tiff"),
    "WEBP": (".webp",),
    "BMP": (".bmp",),
}
#: Formats Pillow may report for files we read (MPO is a multi-picture JPEG from some cameras).
READ_FORMATS = ("JPEG", "MPO", "PNG", "TIFF", "WEBP", "BMP")
#: How each readable format's files begin (checked before a file is read whole).
MAGIC = (
    (b"\xff\xd8\xff", "JPEG"),
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"BM", "BMP"),
)


#: Image formats photogan recognises but does not read, so it can name them.
OTHER_MAGIC = ((b"GIF87a", "GIF"), (b"GIF89a", "GIF"), (b"8BPS", "Photoshop PSD"), (b"\xff\x0a", "JPEG XL"))
_HEIF_BRANDS = {b"heic": "HEIC", b"heix": "HEIC", b"mif1": "HEIF", b"msf1": "HEIF", b"avif": "AVIF"}


def sniff_format(head: bytes) -> str | None:
    """The format a file's first bytes (16 or more) announce: one of :data:`READ_FORMATS`, the name of another
    image format photogan knows of (GIF, HEIC, AVIF, PSD, JPEG XL), or None."""
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    if head[4:8] == b"ftyp" and head[8:12] in _HEIF_BRANDS:
        return _HEIF_BRANDS[head[8:12]]
    return next((fmt for magic, fmt in MAGIC + OTHER_MAGIC if head.startswith(magic)), None)


#: Formats that store 16 bits per sample.
SIXTEEN_BIT_FORMATS = ("PNG", "TIFF")
#: Command-line names of output formats.
FORMAT_CHOICES = {"png": "PNG", "jpg": "JPEG", "jpeg": "JPEG", "tiff": "TIFF", "tif": "TIFF", "webp": "WEBP"}

IMAGE_SUFFIXES = frozenset(s for suffixes in FORMAT_SUFFIXES.values() for s in suffixes)
#: File-dialog filter for the photos photogan opens.
IMAGE_FILTER = "Photos (" + " ".join(f"*{s}" for s in sorted(IMAGE_SUFFIXES)) + ");;All files (*)"
#: Header of a JPEG APP13 segment holding Photoshop image resources (IPTC lives in resource 0x0404).
PHOTOSHOP_HEADER = b"Photoshop 3.0\x00"
#: TIFF tag holding the same Photoshop image resources.
TIFF_PHOTOSHOP_TAG = 34377
#: Prefix of the temporary files written next to an output before it is renamed into place.
TEMP_PREFIX = ".photogan-tmp-"


def normalize_format(name: str) -> str:
    """Maps Pillow's read format to the format we write back (MPO is written as JPEG)."""
    return "JPEG" if name == "MPO" else name


def format_for_path(path: Path) -> str:
    """The output format implied by a file name's suffix.

    Raises:
        UnsupportedFormatError: The suffix is not one photogan writes.
    """
    suffix = path.suffix.lower()
    for fmt, suffixes in FORMAT_SUFFIXES.items():
        if suffix in suffixes:
            return fmt
    raise UnsupportedFormatError(
        f"cannot write {path.name!r}: unknown suffix {suffix or '(none)'}; use one of "
        + ", ".join(sorted(IMAGE_SUFFIXES))
    )


def suffix_for_format(fmt: str, original: Path | None = None) -> str:
    """The suffix for ``fmt``, keeping the original's spelling (``.JPG``, ``.jpeg``) when it already fits."""
    fmt = normalize_format(fmt)
    if original is not None and original.suffix.lower() in FORMAT_SUFFIXES[fmt]:
        return original.suffix
    return FORMAT_SUFFIXES[fmt][0]


def is_image_name(path: Path) -> bool:
    """True for a visible file with an image suffix (hidden files, our temporary files and a photo's mask sidecar
    ``NAME.mask.png`` excluded)."""
    return path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith(".") and not is_mask_sidecar(path)


def find_images(folder: Path, recursive: bool) -> Iterator[Path]:
    """Image files in ``folder`` (and its sub-folders when ``recursive``), in a stable sorted order.

    Hidden files and folders are skipped; symlinked folders are not followed (no loops).
    """
    entries = sorted(folder.iterdir(), key=lambda p: p.name.lower())
    for entry in entries:
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            if recursive and not entry.is_symlink():
                yield from find_images(entry, recursive)
        elif is_image_name(entry):
            yield entry
