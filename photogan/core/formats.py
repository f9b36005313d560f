"""File formats photogan reads and writes, and how to find images in folders."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from photogan.core.errors import UnsupportedFormatError
from photogan.core.hints import is_sidecar as is_hints_sidecar
from photogan.core.masks import is_mask_sidecar

#: Pillow format name -> file suffixes, first one preferred for new files.
FORMAT_SUFFIXES: dict[str, tuple[str, ...]] = {
    "JPEG": (".jpg", ".jpeg", ".jpe"),
    "PNG": (".png",),
    "TIFF": (".tif", ".tiff"),
    "WEBP": (".webp",),
    "BMP": (".bmp",),
    "HEIF": (".heic", ".heif", ".hif"),  # through pillow-heif (iPhone photos)
    "AVIF": (".avif",),
}
#: Camera RAW files, read through LibRaw (rawpy): the formats its users bring most, by their usual suffixes.
_RAW_NAMES = "dng cr2 cr3 crw nef nrw arw srf sr2 raf orf rw2 rwl pef srw x3f 3fr fff iiq erf kdc dcr mrw mos"
RAW_SUFFIXES = frozenset("." + name for name in _RAW_NAMES.split())
#: Suffixes photogan reads but does not write -> the format their results are written in by default: a RAW's
#: developed 16 bits go into a TIFF, a GIF's first frame into a PNG (no 256-colour palette).
READ_ONLY_SUFFIXES: dict[str, str] = {".gif": "PNG", **{suffix: "TIFF" for suffix in RAW_SUFFIXES}}
#: Formats Pillow may report for files we read (MPO is a multi-picture JPEG from some cameras).
READ_FORMATS = ("JPEG", "MPO", "PNG", "TIFF", "WEBP", "BMP", "HEIF", "AVIF", "GIF")
#: What photogan reads, for messages.
READABLE = "JPEG, PNG, TIFF, WebP, BMP, HEIC/HEIF, AVIF, GIF (first frame) and camera RAW"
#: How each readable format's files begin (checked before a file is read whole).
MAGIC = (
    (b"\xff\xd8\xff", "JPEG"),
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"BM", "BMP"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
)


#: Image formats photogan recognises but does not read, so it can name them.
OTHER_MAGIC = ((b"8BPS", "Photoshop PSD"), (b"\xff\x0a", "JPEG XL"), (b"\x00\x00\x00\x0cJXL ", "JPEG XL"))
#: ISO base media file brands (``ftyp``) of HEIF stills (HEIC from phones, generic HEIF) and of AVIF.
_HEIF_BRANDS = {
    **dict.fromkeys((b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"), "HEIF"),
    **dict.fromkeys((b"avif", b"avis"), "AVIF"),
}


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
FORMAT_CHOICES = {
    "png": "PNG",
    "jpg": "JPEG",
    "jpeg": "JPEG",
    "tiff": "TIFF",
    "tif": "TIFF",
    "webp": "WEBP",
    "heic": "HEIF",
    "avif": "AVIF",
}

#: Suffixes photogan writes.
WRITE_SUFFIXES = frozenset(s for suffixes in FORMAT_SUFFIXES.values() for s in suffixes)
#: Suffixes photogan reads.
IMAGE_SUFFIXES = WRITE_SUFFIXES | READ_ONLY_SUFFIXES.keys()
#: File-dialog filter for the photos photogan opens.
IMAGE_FILTER = "Photos (" + " ".join(f"*{s}" for s in sorted(IMAGE_SUFFIXES)) + ");;All files (*)"
#: File-dialog filter for the files photogan saves.
SAVE_FILTER = "Photos (" + " ".join(f"*{s}" for s in sorted(WRITE_SUFFIXES)) + ")"
#: Header of a JPEG APP13 segment holding Photoshop image resources (IPTC lives in resource 0x0404).
PHOTOSHOP_HEADER = b"Photoshop 3.0\x00"
#: TIFF tag holding the same Photoshop image resources.
TIFF_PHOTOSHOP_TAG = 34377
#: Prefix of the temporary files written next to an output before it is renamed into place.
TEMP_PREFIX = ".photogan-tmp-"


def register_heif() -> None:
    """Lets Pillow read and write HEIC/HEIF through pillow-heif (imported only when such a file comes)."""
    try:
        import pillow_heif
    except ImportError:  # a build without it: say what to install
        raise UnsupportedFormatError("HEIC/HEIF photos need the pillow-heif package: pip install pillow-heif") from None
    pillow_heif.register_heif_opener()


def normalize_format(name: str) -> str:
    """Maps Pillow's read format to the format we write back (MPO is written as JPEG)."""
    return "JPEG" if name == "MPO" else name


def is_raw_name(path: Path) -> bool:
    """True for a camera RAW file's name (decoded by LibRaw, not Pillow)."""
    return path.suffix.lower() in RAW_SUFFIXES


def same_format_suffix(source: Path) -> str:
    """The suffix of a result written "in the same format" as ``source``: its own, or for a file photogan only
    reads (RAW, GIF) that of the format its results are written in (``.tif``, ``.png``)."""
    fmt = READ_ONLY_SUFFIXES.get(source.suffix.lower())
    return FORMAT_SUFFIXES[fmt][0] if fmt else source.suffix


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
        + ", ".join(sorted(WRITE_SUFFIXES))
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


def is_writable_name(path: Path) -> bool:
    """True for a file name whose suffix photogan writes."""
    return path.suffix.lower() in WRITE_SUFFIXES


def find_images(folder: Path, recursive: bool, others: list[Path] | None = None) -> Iterator[Path]:
    """Image files in ``folder`` (and its sub-folders when ``recursive``), in a stable sorted order.

    Hidden files and folders are skipped; symlinked folders are not followed (no loops). The other files found
    (not a photo photogan reads; a photo's hints and mask sidecars excepted) are appended to ``others``, so that a
    batch can say what it left out.
    """
    entries = sorted(folder.iterdir(), key=lambda p: p.name.lower())
    for entry in entries:
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            if recursive and not entry.is_symlink():
                yield from find_images(entry, recursive, others)
        elif is_image_name(entry):
            yield entry
        elif others is not None and not is_mask_sidecar(entry) and not is_hints_sidecar(entry):
            others.append(entry)


def not_read_reason(path: Path) -> str:
    """Why a file found in a folder is not a photo photogan reads, in words."""
    suffix = path.suffix.lower()
    return f"not a photo photogan reads ({suffix or 'no suffix'}; it reads {READABLE})"
