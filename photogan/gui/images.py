"""Photo ↔ QImage for display only (the pixels of record stay in :class:`~photogan.core.image.Photo`)."""

from __future__ import annotations

from PySide6.QtGui import QImage

from photogan.core.image import Photo, display_rgba8


def to_qimage(photo: Photo) -> QImage:
    """An 8-bit RGBA copy of the photo for painting (16-bit reduced, gray replicated, alpha kept)."""
    rgba = display_rgba8(photo)
    height, width = rgba.shape[:2]
    image = QImage(rgba.data, width, height, width * 4, QImage.Format.Format_RGBA8888)
    return image.copy()  # own the pixels: ``rgba`` is freed when this function returns
