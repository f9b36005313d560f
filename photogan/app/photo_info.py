"""What the Photo info panel shows: the file, the pixels, the camera's EXIF, the colour profile, a histogram."""

from __future__ import annotations

import contextlib
import io
from fractions import Fraction
from pathlib import Path

import numpy as np
from PIL import ExifTags, Image

from photogan.core.image import Photo

_TAGS = {  # (IFD, tag) → label; in the order shown
    (None, 0x010F): "Camera maker",
    (None, 0x0110): "Camera",
    (ExifTags.IFD.Exif, 0xA434): "Lens",
    (ExifTags.IFD.Exif, 0x9003): "Taken",
    (ExifTags.IFD.Exif, 0x829A): "Exposure",
    (ExifTags.IFD.Exif, 0x829D): "Aperture",
    (ExifTags.IFD.Exif, 0x8827): "ISO",
    (ExifTags.IFD.Exif, 0x920A): "Focal length",
    (None, 0x0131): "Software",
    (None, 0x8298): "Copyright",
    (None, 0x013B): "Artist",
}


def _exposure(value: object, label: str) -> str:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return str(value)
    if label == "Exposure":
        return f"1/{round(1 / number)} s" if 0 < number < 1 else f"{number:g} s"
    if label == "Aperture":
        return f"f/{number:.1f}"
    if label == "Focal length":
        return f"{number:g} mm"
    return f"{number:g}"


def exif_facts(exif: bytes | None) -> list[tuple[str, str]]:
    """Camera, lens, date and exposure from EXIF bytes (what is there; unreadable EXIF gives nothing)."""
    if not exif:
        return []
    try:
        data = Image.Exif()
        data.load(exif)
    except Exception:  # a damaged EXIF block: the photo itself is still fine
        return []
    facts = []
    for (ifd, tag), label in _TAGS.items():
        source = data if ifd is None else data.get_ifd(ifd)
        value = source.get(tag)
        if value in (None, "", b""):
            continue
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace").strip("\x00 ")
        if isinstance(value, tuple | Fraction) or label in ("Exposure", "Aperture", "Focal length", "ISO"):
            value = _exposure(value[0] if isinstance(value, tuple) and value else value, label)
        facts.append((label, str(value).strip()))
    if data.get_ifd(ExifTags.IFD.GPSInfo):
        facts.append(("GPS", "position recorded"))
    return facts


def profile_name(icc: bytes | None) -> str:
    if not icc:
        return "none (sRGB assumed)"
    try:
        from PIL import ImageCms

        return ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(icc))).strip() or "embedded"
    except Exception:  # an unreadable profile is kept as it is; it only has no name here
        return f"embedded ({len(icc)} bytes, unreadable)"


def photo_facts(photo: Photo, path: Path | None = None) -> list[tuple[str, str]]:
    """(label, value) rows for the Photo info panel."""
    rows: list[tuple[str, str]] = []
    if path is not None:
        rows.append(("File", path.name))
        with contextlib.suppress(OSError):  # gone since it was opened: the rest is still worth showing
            rows.append(("File size", f"{path.stat().st_size / 1e6:.2f} MB"))
    rows += [
        ("Format", photo.source_format or "—"),
        ("Pixels", f"{photo.width}×{photo.height} ({photo.width * photo.height / 1e6:.1f} MP)"),
        (
            "Samples",
            f"{photo.bit_depth}-bit {'grayscale' if photo.grayscale else 'RGB'}"
            + (" + alpha" if photo.alpha is not None else ""),
        ),
        ("Colour profile", profile_name(photo.icc_profile)),
    ]
    if photo.dpi:
        dpi = photo.dpi[0]
        rows.append(
            ("Resolution", f"{dpi:g} DPI: prints {photo.width / dpi * 2.54:.1f}×{photo.height / dpi * 2.54:.1f} cm")
        )
    rows += exif_facts(photo.exif)
    rows.append(("XMP / IPTC", ", ".join(k for k, v in (("XMP", photo.xmp), ("IPTC", photo.iptc)) if v) or "none"))
    return rows


def histogram(photo: Photo, bins: int = 256) -> np.ndarray:
    """C×bins counts of the photo's channels (1 for gray, 3 for RGB), from at most about a million pixels."""
    pixels = photo.pixels
    step = max(1, int(np.sqrt(pixels.shape[0] * pixels.shape[1] / 1e6)))
    sample = pixels[::step, ::step].reshape(-1, pixels.shape[2])
    return np.stack([np.histogram(sample[:, c], bins=bins, range=(0.0, 1.0))[0] for c in range(sample.shape[1])])
