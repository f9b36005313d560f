"""Camera RAW files, developed through LibRaw (rawpy): camera white balance, LibRaw's default AHD demosaic, the
exposure as shot, 16 bits in sRGB with the sRGB profile embedded, the camera's orientation applied, and the
camera's EXIF (camera, lens, exposure, date, GPS) carried to the result.

The EXIF of TIFF-based RAWs (DNG, CR2, NEF, ARW, PEF, ORF, RW2, ...) is read with Pillow from the RAW's own IFDs and
rebuilt with only the fields that describe the photo: none of the RAW's pixel layout, maker note or DNG colour
tags, which would be false for the developed image.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from struct import error as struct_error
from typing import Any  # Pillow raises it on a truncated IFD

import numpy as np
from PIL import Image, ImageCms

from photogan.core.errors import ImageReadError, UnsupportedFormatError
from photogan.core.image import Photo, from_uint

log = logging.getLogger(__name__)

_EXIF_IFD = 0x8769
_GPS_IFD = 0x8825
#: IFD0 fields kept from the RAW: Make, Model, DateTime, Artist, Copyright, ImageDescription.
_IFD0_KEPT = (0x010F, 0x0110, 0x0132, 0x013B, 0x8298, 0x010E)
#: Exif-IFD fields left out: MakerNote (private offsets into the RAW), the interoperability pointer, the pixel
#: dimensions (set from the developed image when it is written) and the CFA pattern.
_EXIF_DROPPED = (0x927C, 0xA005, 0xA002, 0xA003, 0xA302, 0x828E)
#: First bytes of TIFF-based RAWs whose headers differ from TIFF's only in the magic number (Olympus, Panasonic).
_TIFF_LIKE = {b"IIRO": b"II*\x00", b"IIRS": b"II*\x00", b"MMOR": b"MM\x00*", b"IIU\x00": b"II*\x00"}


@dataclass(frozen=True)
class RawHeader:
    """The developed image's size, known before developing."""

    width: int
    height: int


def _import_rawpy() -> Any:
    try:
        import rawpy
    except ImportError:  # a build without it: say what to install
        raise UnsupportedFormatError("camera RAW files need the rawpy package (pip install rawpy)") from None
    return rawpy


def _open(data: bytes) -> Any:
    rawpy = _import_rawpy()
    try:
        return rawpy.imread(io.BytesIO(data))
    except rawpy.LibRawFileUnsupportedError:
        raise UnsupportedFormatError("LibRaw does not know this RAW format or camera") from None
    except (rawpy.LibRawError, OSError) as exc:
        raise ImageReadError(f"the RAW file is damaged or truncated ({exc})") from exc


def raw_header(data: bytes) -> RawHeader:
    """The size of the developed image (after the camera's orientation), from the RAW's header alone."""
    with _open(data) as raw:
        sizes = raw.sizes
        swap = sizes.flip in (5, 6)  # LibRaw's flip codes for a quarter turn
        width, height = sizes.width, sizes.height
        return RawHeader(height, width) if swap else RawHeader(width, height)


def raw_exif(data: bytes) -> bytes | None:
    """The photo's EXIF rebuilt from a TIFF-based RAW's IFDs (orientation 1: the developed image is upright), or
    None where the RAW is not TIFF-based (CR3, RAF) or holds no EXIF."""
    head = _TIFF_LIKE.get(data[:4], data[:4])
    if head not in (b"II*\x00", b"MM\x00*"):
        return None
    source = Image.Exif()
    try:
        source.load(head + data[4:])
        exif_ifd = dict(source.get_ifd(_EXIF_IFD))
        gps_ifd = dict(source.get_ifd(_GPS_IFD))
    except (OSError, ValueError, SyntaxError, struct_error) as exc:
        log.warning("the RAW's EXIF could not be read (%s); the result has none", exc)
        return None
    out = Image.Exif()
    for tag in _IFD0_KEPT:
        if tag in source:
            out[tag] = source[tag]
    out[0x0112] = 1
    kept = {tag: value for tag, value in exif_ifd.items() if tag not in _EXIF_DROPPED and not _is_blob(value)}
    if kept:
        out[_EXIF_IFD] = kept
    if gps_ifd:
        out[_GPS_IFD] = gps_ifd
    return out.tobytes() if len(out) > 1 else None


def _is_blob(value: object) -> bool:
    """A large binary field (a private block some cameras put in the Exif IFD): not carried."""
    return isinstance(value, bytes) and len(value) > 4096


def develop(data: bytes, name: str) -> Photo:
    """Develops a RAW file's bytes into a 16-bit sRGB photo with its EXIF.

    Raises:
        UnsupportedFormatError: Not a RAW LibRaw knows (or rawpy is missing).
        ImageReadError: The RAW is damaged.
    """
    rawpy = _import_rawpy()
    with _open(data) as raw:
        try:
            rgb = raw.postprocess(
                use_camera_wb=True,  # the white balance the photographer shot with
                output_bps=16,
                output_color=rawpy.ColorSpace.sRGB,
                gamma=(2.4, 12.92),  # the sRGB curve, to match the embedded profile
                # the exposure the photographer chose: LibRaw's automatic brightening would push 1 % of every photo
                # to white and lift night scenes (and turn a flat grey card white)
                no_auto_bright=True,
            )
        except (rawpy.LibRawError, OSError, ValueError) as exc:
            raise ImageReadError(f"the RAW file could not be developed ({exc})") from exc
    exif = raw_exif(data)
    if exif is None:
        log.warning("%s: the camera's EXIF is not carried over from this kind of RAW file", name)
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    return Photo(
        pixels=from_uint(np.ascontiguousarray(rgb), 65535.0),
        alpha=None,
        bit_depth=16,
        icc_profile=srgb,
        exif=exif,
        xmp=None,
        iptc=None,
        source_format="RAW",
        dpi=None,
    )


def preview(data: bytes, side: int) -> Image.Image:
    """A quick upright look at a RAW: its embedded JPEG preview when it has one, else a half-size develop."""
    rawpy = _import_rawpy()
    with _open(data) as raw:
        try:
            thumb = raw.extract_thumb()
        except (rawpy.LibRawError, OSError):
            thumb = None
        if thumb is not None and thumb.format == rawpy.ThumbFormat.JPEG:
            image = Image.open(io.BytesIO(bytes(thumb.data)))
            image.draft("RGB", (side, side))
            # the preview is stored as the sensor saw it; LibRaw's flip says how the camera was held
            turn = {3: 180, 5: 90, 6: -90}.get(raw.sizes.flip, 0)
            return image.convert("RGB").rotate(turn, expand=True) if turn else image.convert("RGB")
        try:
            rgb = raw.postprocess(half_size=True, use_camera_wb=True, no_auto_bright=True, output_bps=8)
        except (rawpy.LibRawError, OSError, ValueError) as exc:
            raise ImageReadError(f"the RAW file could not be developed ({exc})") from exc
    return Image.fromarray(rgb)
