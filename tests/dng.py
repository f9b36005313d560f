"""Writes small DNG files for the tests: a Bayer (RGGB) mosaic with the camera's EXIF, built by hand."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

# TIFF field types
BYTE, ASCII, SHORT, LONG, RATIONAL, SRATIONAL = 1, 2, 3, 4, 5, 10
_SIZES = {BYTE: 1, ASCII: 1, SHORT: 2, LONG: 4, RATIONAL: 8, SRATIONAL: 8}
_FORMATS = {BYTE: "B", SHORT: "H", LONG: "I", RATIONAL: "II", SRATIONAL: "ii"}


def _value_bytes(kind: int, value: object) -> tuple[int, bytes]:
    if kind == ASCII:
        data = str(value).encode("ascii") + b"\x00"
        return len(data), data
    values = list(value) if isinstance(value, (list, tuple)) else [value]
    if kind in (RATIONAL, SRATIONAL):
        flat = [int(x) for pair in values for x in pair]
        return len(values), struct.pack("<" + _FORMATS[kind][0] * len(flat), *flat)
    return len(values), struct.pack("<" + _FORMATS[kind] * len(values), *values)


def _ifd(entries: dict[int, tuple[int, object]], offset: int) -> tuple[bytes, bytes]:
    """One IFD at ``offset`` (entries sorted by tag), with its out-of-line values right after it."""
    count = len(entries)
    table = struct.pack("<H", count)
    extra = b""
    extra_at = offset + 2 + 12 * count + 4
    for tag in sorted(entries):
        kind, value = entries[tag]
        n, data = _value_bytes(kind, value)
        if len(data) <= 4:
            table += struct.pack("<HHI", tag, kind, n) + data.ljust(4, b"\x00")
        else:
            table += struct.pack("<HHII", tag, kind, n, extra_at + len(extra))
            extra += data + (b"\x00" if len(data) % 2 else b"")
    return table + struct.pack("<I", 0), extra


def write_dng(
    path: Path,
    rgb: np.ndarray,
    exif: dict[int, tuple[int, object]],
    gps: dict[int, tuple[int, object]] | None = None,
    orientation: int = 1,
) -> Path:
    """A DNG whose RGGB mosaic samples ``rgb`` (H×W×3 floats in [0, 1], linear), white level 4095."""
    h, w = rgb.shape[:2]
    mosaic = np.empty((h, w), np.uint16)
    levels = np.clip(rgb * 4095, 0, 4095).astype(np.uint16)
    mosaic[0::2, 0::2] = levels[0::2, 0::2, 0]
    mosaic[0::2, 1::2] = levels[0::2, 1::2, 1]
    mosaic[1::2, 0::2] = levels[1::2, 0::2, 1]
    mosaic[1::2, 1::2] = levels[1::2, 1::2, 2]
    pixels = mosaic.astype("<u2").tobytes()
    # layout: header | pixels | exif ifd | gps ifd | ifd0
    pixel_at = 8
    exif_at = pixel_at + len(pixels)
    exif_ifd, exif_extra = _ifd(exif, exif_at)
    gps_at = exif_at + len(exif_ifd) + len(exif_extra)
    gps_ifd, gps_extra = _ifd(gps or {}, gps_at) if gps else (b"", b"")
    ifd0_at = gps_at + len(gps_ifd) + len(gps_extra)
    identity = [(10000, 10000) if i % 4 == 0 else (0, 10000) for i in range(9)]
    ifd0: dict[int, tuple[int, object]] = {
        254: (LONG, 0),
        256: (LONG, w),
        257: (LONG, h),
        258: (SHORT, 16),
        259: (SHORT, 1),
        262: (SHORT, 32803),
        271: (ASCII, "PhotoganTest"),
        272: (ASCII, "Bayer One"),
        273: (LONG, pixel_at),
        274: (SHORT, orientation),
        277: (SHORT, 1),
        278: (LONG, h),
        279: (LONG, len(pixels)),
        284: (SHORT, 1),
        33421: (SHORT, (2, 2)),
        33422: (BYTE, (0, 1, 1, 2)),
        34665: (LONG, exif_at),
        50706: (BYTE, (1, 4, 0, 0)),
        50708: (ASCII, "PhotoganTest Bayer One"),
        50714: (SHORT, 0),
        50717: (SHORT, 4095),
        50721: (SRATIONAL, identity),
        50728: (RATIONAL, [(1, 1), (1, 1), (1, 1)]),
        50778: (SHORT, 21),
    }
    if gps:
        ifd0[34853] = (LONG, gps_at)
    table, extra = _ifd(ifd0, ifd0_at)
    header = b"II*\x00" + struct.pack("<I", ifd0_at)
    path.write_bytes(header + pixels + exif_ifd + exif_extra + gps_ifd + gps_extra + table + extra)
    return path
