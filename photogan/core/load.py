"""Reading photos: every common mode and bit depth, orientation applied, metadata kept.

Pixels come out upright (EXIF orientation applied) as float32 in [0, 1]. The EXIF and XMP kept with them have
their orientation reset to 1, so a saved result is not rotated a second time by viewers. 16-bit colour PNG and
TIFF files are decoded with OpenCV because Pillow reduces them to 8 bits; their metadata still comes from Pillow.
"""

from __future__ import annotations

import io
import logging
import os
import re
import stat
import struct
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, cast

import numpy as np
from PIL import Image, ImageCms, ImageOps, PngImagePlugin, UnidentifiedImageError

from photogan.core.errors import ImageReadError, ImageTooLargeError, UnsupportedFormatError
from photogan.core.formats import (
    PHOTOSHOP_HEADER,
    READ_FORMATS,
    READABLE,
    TIFF_PHOTOSHOP_TAG,
    is_raw_name,
    normalize_format,
    register_heif,
    sniff_format,
)
from photogan.core.image import Photo, from_uint
from photogan.core.iptc import TIFF_IPTC_TAG, resources_from_record
from photogan.core.memory import require_memory
from photogan.core.xmp import with_extended

log = logging.getLogger(__name__)

#: Default limit on decoded pixels (250 megapixels: above any current camera, far below a decompression bomb).
DEFAULT_MAX_PIXELS = 250_000_000
#: Largest decompressed PNG metadata chunk read (ICC profiles of a few MB exist; Pillow's default is 1 MB).
PNG_CHUNK_LIMIT = 64 * 2**20
EXIF_ORIENTATION = 0x0112
#: Pillow modes that hold more than 8 bits per sample (gray only: Pillow has no 16-bit colour mode).
_HIGH_BIT_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I", "F")

_XMP_ORIENTATION = [
    re.compile(rb'(tiff:Orientation=")[1-8](")'),
    re.compile(rb"(<tiff:Orientation>)[1-8](</tiff:Orientation>)"),
]


def orient(array: np.ndarray, orientation: int) -> np.ndarray:
    """Applies an EXIF orientation (1-8) to an H×W or H×W×C array, returning the upright view."""
    if orientation in (2, 4, 5, 7):  # the mirrored ones: mirror first, then rotate
        array = array[:, ::-1]
        orientation = {2: 1, 4: 3, 5: 8, 7: 6}[orientation]
    turns = {1: 0, 3: 2, 6: 3, 8: 1}.get(orientation, 0)  # counter-clockwise quarter turns
    return np.rot90(array, turns)


def _orientation(value: object) -> int:
    """The EXIF orientation 1-8 as an int; written as text ("6") or a rational (6/1) by some software. A value
    that is none of these (6/0, "top") is ignored with a warning, never fatal."""
    try:
        number = int(value) if not isinstance(value, bytes) else int(value.strip(b"\x00 "))  # type: ignore[call-overload]
    except (TypeError, ValueError, ZeroDivisionError, OverflowError):
        log.warning("the EXIF orientation %r is not a number; the photo is read as it is stored", value)
        return 1
    return number if 1 <= number <= 8 else 1


def _reset_xmp_orientation(xmp: bytes) -> bytes:
    for pattern in _XMP_ORIENTATION:
        xmp = pattern.sub(rb"\g<1>1\g<2>", xmp)
    return xmp


def _photoshop_resources(im: Image.Image) -> bytes | None:
    """The Photoshop image resources (where IPTC lives) of a JPEG's APP13 segment or a TIFF's tag 34377."""
    for marker, payload in getattr(im, "applist", []):
        if marker == "APP13" and payload.startswith(PHOTOSHOP_HEADER):
            return bytes(payload[len(PHOTOSHOP_HEADER) :]) or None
    tags = getattr(im, "tag_v2", {})
    value = tags.get(TIFF_PHOTOSHOP_TAG)
    if isinstance(value, bytes) and value:
        return value
    record = tags.get(TIFF_IPTC_TAG)
    if isinstance(record, tuple):  # stored as LONGs by some writers
        record = b"".join(struct.pack(">I", v) for v in record)
    return resources_from_record(record) if isinstance(record, bytes) and record else None


def _png_header(data: bytes) -> tuple[int, int]:
    """(bit depth, colour type) from a PNG's IHDR."""
    return data[24], data[25]


def _sixteen_bit(im: Image.Image, data: bytes) -> bool:
    if im.format == "PNG":
        return _png_header(data)[0] == 16
    if im.format == "TIFF":
        bits = cast(tuple[int, ...] | int, getattr(im, "tag_v2", {}).get(258, 8))
        return 16 in (bits if isinstance(bits, tuple) else (bits,))
    return False


def _decode_opencv(data: bytes, path: Path) -> np.ndarray:
    """16-bit colour pixels (H×W×3 or H×W×4, RGB order) through OpenCV."""
    import cv2  # imported here: only 16-bit colour files need it

    array = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if array is None:
        raise ImageReadError("the 16-bit image data is corrupt or truncated")
    if array.ndim == 2:
        return array[..., None]
    order = [2, 1, 0, 3][: array.shape[2]]  # BGR(A) -> RGB(A)
    return np.ascontiguousarray(array[..., order])


def _split_alpha(samples: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """(colour or gray planes, alpha or None) of decoded H×W×C samples (C 2 or 4 has alpha last)."""
    if samples.shape[2] in (2, 4):
        return samples[..., :-1].copy(), samples[..., -1].copy()
    return samples, None


def _pixels_from_pillow(im: Image.Image) -> tuple[np.ndarray, np.ndarray | None, int, bytes | None]:
    """Decodes a Pillow image into (pixels, alpha, bit depth, replacement ICC profile or None)."""
    mode = im.mode
    new_icc: bytes | None = None
    if mode in _HIGH_BIT_MODES and mode != "F":
        return from_uint(np.asarray(im), 65535.0)[..., None], None, 16, None
    if mode == "F":
        return np.clip(np.asarray(im, dtype=np.float32), 0.0, 1.0)[..., None], None, 16, None
    if mode == "1":
        im = im.convert("L")
    elif mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
    elif mode == "PA" or mode == "RGBa":
        im = im.convert("RGBA")
    elif mode == "La":
        im = im.convert("LA")
    elif mode == "CMYK":
        icc = im.info.get("icc_profile")
        srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
        converted = None
        if icc:
            try:
                source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
                converted = cast(Image.Image, ImageCms.profileToProfile(im, source, srgb, outputMode="RGB"))
            except (ImageCms.PyCMSError, OSError, ValueError) as exc:  # a damaged profile, or not a CMYK one
                log.warning("the photo's CMYK colour profile cannot be used (%s); its colours are approximate", exc)
        im = converted if converted is not None else im.convert("RGB")
        new_icc = srgb.tobytes()
    elif mode not in ("L", "LA", "RGB", "RGBA"):
        im = im.convert("RGB")
    array = np.asarray(im)
    if array.ndim == 2:
        array = array[..., None]
    pixels, alpha = _split_alpha(from_uint(array, 255.0))
    return pixels, alpha, 8, new_icc


def max_file_bytes(max_pixels: int) -> int:
    """The largest file read for a pixel limit: uncompressed 16-bit RGBA of that many pixels, plus metadata."""
    return max_pixels * 8 + 64 * 2**20


def _read_up_to(f: BinaryIO, head: bytes, most: int) -> bytes:
    """``head`` and the rest of ``f``, at most ``most`` bytes in all. ``f.read(most)`` would ask for ``most``
    bytes of memory (2 GB at the default limit) whatever the file's size: ask for the file's size (and one byte
    more, to see a file that grows while it is read, which is then read on in blocks)."""
    size = os.fstat(f.fileno()).st_size
    data = head + f.read(max(0, min(size + 1, most) - len(head)))
    if len(data) <= size or len(data) >= most:
        return data
    blocks = [data]
    total = len(data)
    while total < most and (block := f.read(min(16 * 2**20, most - total))):
        blocks.append(block)
        total += len(block)
    return b"".join(blocks)


def _read(path: Path, max_pixels: int, raw: bool = False) -> bytes:
    """The file's bytes, read only from a regular file (a FIFO would hang, a device never ends) whose first
    bytes announce an image format photogan reads (any for a ``raw`` file: LibRaw tells) and whose size fits the
    pixel limit."""
    try:
        info = path.stat()  # follows a link: a link to /dev/zero is a device
    except FileNotFoundError:
        raise ImageReadError("file not found") from None
    except OSError as exc:
        raise ImageReadError(f"cannot read the file: {exc.strerror or exc}") from exc
    if stat.S_ISDIR(info.st_mode):
        raise ImageReadError("is a folder, not an image")
    if not stat.S_ISREG(info.st_mode):
        raise ImageReadError("not a regular file (a pipe, device or socket): photogan reads only files")
    if info.st_size == 0:
        raise ImageReadError("the file is empty (0 bytes)")
    try:
        with path.open("rb") as f:
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):  # replaced since the check above
                raise ImageReadError("not a regular file: photogan reads only files")
            head = f.read(16)
            fmt = sniff_format(head)
            if fmt is None and not raw:
                raise UnsupportedFormatError(f"not an image, or in a format photogan does not read (reads {READABLE})")
            if fmt not in READ_FORMATS and not raw:
                raise UnsupportedFormatError(f"{fmt} images are not supported (photogan reads {READABLE})")
            limit = max_file_bytes(max_pixels)
            if info.st_size > limit:
                raise ImageTooLargeError(
                    f"the file is {info.st_size / 2**30:.1f} GiB, more than an image under the limit of "
                    f"{max_pixels / 1e6:.0f} MP can take (raise it with the max-pixels setting if the file is genuine)"
                )
            data = _read_up_to(f, head, limit + 1)
    except OSError as exc:
        raise ImageReadError(f"cannot read the file: {exc.strerror or exc}") from exc
    if len(data) > limit:  # it grew while being read
        raise ImageTooLargeError(f"the file grew past {limit / 2**30:.1f} GiB while it was read")
    return data


def _open(path: Path, max_pixels: int) -> tuple[Image.Image, bytes]:
    data = _read(path, max_pixels)
    if sniff_format(data[:16]) == "HEIF":
        register_heif()
    try:
        # photogan enforces its own, configurable limit below; Pillow's global check would refuse first.
        Image.MAX_IMAGE_PIXELS = None
        # Pillow's 1 MB cap on decompressed PNG chunks refuses genuine wide-gamut ICC profiles (and the whole
        # photo with them); the file size is bounded already (max_file_bytes)
        PngImagePlugin.MAX_TEXT_CHUNK = max(PngImagePlugin.MAX_TEXT_CHUNK, PNG_CHUNK_LIMIT)
        im = Image.open(io.BytesIO(data))
    except UnidentifiedImageError:  # the first bytes said it is one (checked while reading): a damaged header
        fmt = sniff_format(data[:16]) or "image"
        raise ImageReadError(f"the {fmt} file is damaged: its header cannot be read (a bad checksum?)") from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise ImageReadError(f"the image header is corrupt ({exc})") from exc
    if im.format not in READ_FORMATS:
        raise UnsupportedFormatError(f"{im.format} images are not supported (photogan reads {READABLE})")
    _check_pixels(*im.size, max_pixels)
    return im, data


def _check_pixels(width: int, height: int, max_pixels: int) -> None:
    if width * height > max_pixels:
        raise ImageTooLargeError(
            f"{width}×{height} is {width * height / 1e6:.0f} megapixels, over the limit of "
            f"{max_pixels / 1e6:.0f} MP (raise it with the max-pixels setting if the file is genuine)"
        )


@dataclass(frozen=True)
class ImageHeader:
    """What a file's header says, before any pixel is decoded."""

    width: int
    height: int
    channels: int  # colour channels: 1 (gray) or 3
    alpha: bool
    bit_depth: int  # 8 or 16

    @property
    def decoded_bytes(self) -> int:
        """Memory the decoded photo takes at its peak: the decoder's buffer and the float32 pixels."""
        samples = self.width * self.height * (self.channels + int(self.alpha))
        return samples * (4 + self.bit_depth // 8 * 2)


#: Given a file's header, the bytes the work after decoding will need (see :func:`load_image`).
MemoryBudget = Callable[[ImageHeader], int]


def load_image(path: str | Path, max_pixels: int = DEFAULT_MAX_PIXELS, budget: MemoryBudget | None = None) -> Photo:
    """Reads a photo, applying its EXIF orientation and keeping ICC profile, EXIF, XMP and DPI.

    Args:
        path: JPEG, PNG (1-16 bit, palette, gray, alpha), TIFF (8/16-bit), WebP, BMP, HEIC/HEIF (8-12 bit),
            AVIF or GIF file (the first frame of an animation or page of a multi-page file, with a warning), or a
            camera RAW (by its suffix; developed by :mod:`photogan.core.raw`).
        max_pixels: Files with more pixels are refused before decoding (decompression-bomb guard).
        budget: The memory the work on the photo will need after decoding, from its header: the decoded photo
            and that together must fit in the available memory, checked before decoding (a 0.7 MB PNG of
            240 MP must be refused, not decoded into 7 GB).

    Returns:
        The photo, upright, as float32 in [0, 1]; grayscale files stay single-channel.

    Raises:
        ImageReadError: The file is missing, empty, truncated or corrupt (UnsupportedFormatError and
            ImageTooLargeError are subclasses for a non-image or unsupported file and an over-limit one).
        InsufficientMemoryError: With ``budget``: the photo and its work would not fit in memory.
    """
    path = Path(path)
    with warnings.catch_warnings(record=True) as caught:  # Pillow's own warnings name its source files
        warnings.simplefilter("always")
        photo = _load(path, max_pixels, budget)
    for warning in caught:
        log.warning("%s: %s", path.name, warning.message)
    return photo


def _load_raw(path: Path, max_pixels: int, budget: MemoryBudget | None) -> Photo:
    from photogan.core import raw  # LibRaw only for RAW files

    data = _read(path, max_pixels, raw=True)
    size = raw.raw_header(data)
    _check_pixels(size.width, size.height, max_pixels)
    if budget is not None:
        header = ImageHeader(size.width, size.height, 3, False, 16)
        megapixels = size.width * size.height / 1e6
        # LibRaw's own buffers (the mosaic and its 16-bit RGBA working image) come on top of the decoded photo
        working = size.width * size.height * 10
        require_memory(header.decoded_bytes + working + budget(header), f"a {megapixels:.0f} MP RAW and its result")
    return raw.develop(data, path.name)


def _frames(im: Image.Image) -> int:
    try:
        return int(getattr(im, "n_frames", 1))
    except (OSError, ValueError, EOFError):  # counting walks the file: a damaged later frame
        return 1


def _decode_heif16(data: bytes) -> np.ndarray:
    """A 10- or 12-bit HEIF's pixels at full depth (Pillow's plugin gives 8 bits), scaled to 16 bits."""
    import pillow_heif

    heif = pillow_heif.open_heif(io.BytesIO(data), convert_hdr_to_8bit=False)
    array = np.asarray(heif)
    return array[..., None] if array.ndim == 2 else array


def _load(path: Path, max_pixels: int, budget: MemoryBudget | None) -> Photo:
    if is_raw_name(path):
        return _load_raw(path, max_pixels, budget)
    im, data = _open(path, max_pixels)
    fmt = normalize_format(cast(str, im.format))
    heif16 = im.format == "HEIF" and int(im.info.get("bit_depth", 8)) > 8
    sixteen = _sixteen_bit(im, data) or heif16
    frames = _frames(im)
    if frames > 1:
        what = "pages" if im.format == "TIFF" else "frames"
        log.warning("%s holds %d %s: only the first is enhanced", path.name, frames, what)
    if budget is not None:
        transparent = "A" in im.getbands() or im.info.get("transparency") is not None
        channels = 1 if Image.getmodebase(im.mode) == "L" else 3  # palette and colour modes decode to RGB
        header = ImageHeader(im.width, im.height, channels, transparent, 16 if sixteen else 8)
        megapixels = im.width * im.height / 1e6
        require_memory(header.decoded_bytes + budget(header), f"a {megapixels:.0f} MP photo and its result")
    try:
        exif = im.getexif()
        orientation = _orientation(exif.get(EXIF_ORIENTATION, 1))
        icc = cast(bytes | None, im.info.get("icc_profile")) or None
        xmp = cast(bytes | str | None, im.info.get("xmp") or im.info.get("XML:com.adobe.xmp"))
        if heif16:
            pixels, alpha = _split_alpha(from_uint(_decode_heif16(data), 65535.0))
            bit_depth, new_icc = 16, None
        elif sixteen and im.mode not in _HIGH_BIT_MODES:
            raw = _decode_opencv(data, path)
            if fmt == "PNG" and _png_header(data)[1] == 4 and raw.shape[2] == 4:  # gray + alpha
                raw = raw[..., [0, 3]]
            pixels, alpha = _split_alpha(from_uint(raw, 65535.0))
            bit_depth, new_icc = 16, None
        else:
            im.load()
            pixels, alpha, bit_depth, new_icc = _pixels_from_pillow(im)
    except ImageReadError:
        raise
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        raise ImageReadError(f"the image data is truncated or corrupt ({exc})") from exc
    if orientation in range(2, 9):
        pixels = np.ascontiguousarray(orient(pixels, orientation))
        alpha = None if alpha is None else np.ascontiguousarray(orient(alpha, orientation))
    exif_bytes: bytes | None = None
    if len(exif):
        if EXIF_ORIENTATION in exif:
            exif[EXIF_ORIENTATION] = 1
        exif_bytes = exif.tobytes()
    if isinstance(xmp, str):
        xmp = xmp.encode("utf-8")
    if xmp and fmt == "JPEG":  # a long XMP continues in extended-XMP segments
        xmp = with_extended(xmp, [payload for marker, payload in getattr(im, "applist", []) if marker == "APP1"])
    dpi = im.info.get("dpi")
    return Photo(
        pixels=pixels,
        alpha=alpha,
        bit_depth=bit_depth,
        icc_profile=new_icc or icc,
        exif=exif_bytes,
        xmp=_reset_xmp_orientation(xmp) if xmp else None,
        iptc=_photoshop_resources(im),
        source_format=fmt,
        dpi=(float(dpi[0]), float(dpi[1])) if dpi else None,
    )


def load_thumbnail(path: str | Path, side: int = 160, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """A small upright 8-bit RGB copy of a photo, its longer side at most ``side``, made cheaply: a JPEG decoded
    at reduced size (Pillow's draft mode), a RAW's embedded preview where it has one.

    Raises:
        ImageReadError: As :func:`load_image` (UnsupportedFormatError, ImageTooLargeError included).
    """
    path = Path(path)
    if is_raw_name(path):
        from photogan.core import raw

        image = raw.preview(_read(path, max_pixels, raw=True), side)
    else:
        im, _ = _open(path, max_pixels)
        try:
            im.draft("RGB", (side, side))  # JPEG: decoded at 1/2, 1/4 or 1/8 size
            image = ImageOps.exif_transpose(im).convert("RGB")
        except (OSError, ValueError, SyntaxError, EOFError) as exc:
            raise ImageReadError(f"the image data is truncated or corrupt ({exc})") from exc
    image.thumbnail((side, side), Image.Resampling.BILINEAR)
    return np.asarray(image)
