"""TIFF output through tifffile, with the metadata photographers expect (EXIF and GPS included).

Pillow cannot write 16-bit colour TIFF, and its libtiff path drops the EXIF sub-directory when compressing, so
all TIFF output goes through tifffile. tifffile does not write EXIF itself: the EXIF and GPS directories are
appended here after it has written the image.
"""

from __future__ import annotations

import io
import struct

from PIL import Image, TiffImagePlugin

from photogan.core.formats import TIFF_PHOTOSHOP_TAG
from photogan.core.image import Photo, samples_of
from photogan.core.iptc import TIFF_IPTC_TAG, iptc_record

#: EXIF IFD0 text fields copied into TIFF files (description, make, model, software, date, artist, copyright).
_TIFF_TEXT_TAGS = (270, 271, 272, 305, 306, 315, 33432)
#: EXIF and GPS sub-directory pointer tags, attached after tifffile wrote the file.
_SUB_IFDS = (0x8769, 0x8825)


def _attach_sub_ifds(data: bytes, exif: Image.Exif, placeholders: dict[int, int]) -> bytes:
    """Appends the EXIF and GPS sub-directories to a TIFF written by tifffile.

    tifffile does not write EXIF; it writes a LONG placeholder tag one below each pointer tag (so the entry
    already sits where the real tag sorts), which is renamed here and pointed at the appended directory.
    """
    out = bytearray(data)
    order = "<" if out[:2] == b"II" else ">"
    (ifd0,) = struct.unpack_from(order + "I", out, 4)
    (count,) = struct.unpack_from(order + "H", out, ifd0)
    entries = {struct.unpack_from(order + "H", out, ifd0 + 2 + 12 * i)[0]: ifd0 + 2 + 12 * i for i in range(count)}
    for pointer_tag, placeholder in placeholders.items():
        if placeholder not in entries:
            continue
        if len(out) % 2:
            out += b"\x00"
        directory = TiffImagePlugin.ImageFileDirectory_v2(prefix=bytes(out[:2]))
        for tag, value in exif.get_ifd(pointer_tag).items():
            directory[tag] = value
        offset = len(out)
        struct.pack_into(order + "HHII", out, entries[placeholder], pointer_tag, 4, 1, offset)
        out += directory.tobytes(offset)
    return bytes(out)


def encode_tiff(photo: Photo) -> bytes:
    """Encodes a TIFF (8- or 16-bit as the photo, deflate with predictor) with ICC, XMP, IPTC, EXIF, GPS, DPI."""
    samples = samples_of(photo, photo.bit_depth)
    extratags: list[tuple[int, str, int, object, bool]] = []
    if photo.icc_profile:
        extratags.append((34675, "B", len(photo.icc_profile), photo.icc_profile, True))
    if photo.xmp:
        extratags.append((700, "B", len(photo.xmp), photo.xmp, True))
    if photo.iptc:
        extratags.append((TIFF_PHOTOSHOP_TAG, "B", len(photo.iptc), photo.iptc, True))
        record = iptc_record(photo.iptc)
        if record:
            extratags.append((TIFF_IPTC_TAG, "B", len(record), record, True))
    exif = Image.Exif()
    placeholders: dict[int, int] = {}
    if photo.exif:
        exif.load(photo.exif)
        for tag in _TIFF_TEXT_TAGS:
            value = exif.get(tag)
            if isinstance(value, str) and value:
                extratags.append((tag, "s", 0, value, True))
        for pointer_tag in _SUB_IFDS:
            if exif.get_ifd(pointer_tag):
                placeholders[pointer_tag] = pointer_tag - 1
                extratags.append((pointer_tag - 1, "I", 1, 0, True))
    import tifffile  # imported here (16 ms): only TIFF output needs it

    buffer = io.BytesIO()
    tifffile.imwrite(
        buffer,
        samples if samples.shape[2] > 1 else samples[..., 0],
        photometric="minisblack" if photo.grayscale else "rgb",
        extrasamples=["unassalpha"] if photo.alpha is not None else None,
        compression="zlib",
        predictor=True,
        resolution=(photo.dpi[0], photo.dpi[1]) if photo.dpi else None,
        resolutionunit="INCH" if photo.dpi else None,
        extratags=extratags,
        metadata=None,
    )
    return _attach_sub_ifds(buffer.getvalue(), exif, placeholders) if placeholders else buffer.getvalue()
