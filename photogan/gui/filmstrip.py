"""The filmstrip: thumbnails of the photos in the open photo's folder, under the viewer; click one to open it.

Thumbnails are made in a background thread (:func:`photogan.core.load.load_thumbnail`: JPEGs decoded at reduced
size, RAW previews), newest folder only, so a folder of hundreds of photos never holds up the window.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QImage, QPixmap
from PySide6.QtWidgets import QAbstractItemView, QListView, QListWidget, QListWidgetItem, QWidget

from photogan.core.errors import PhotoganError
from photogan.core.formats import find_images
from photogan.core.load import load_thumbnail

log = logging.getLogger(__name__)

#: Thumbnail side in pixels, and the most photos of one folder shown.
THUMB = 96
MAX_PHOTOS = 2000


def _qimage(rgb: np.ndarray) -> QImage:
    rgb = np.ascontiguousarray(rgb)
    height, width = rgb.shape[:2]
    return QImage(rgb.data, width, height, width * 3, QImage.Format.Format_RGB888).copy()


class Filmstrip(QListWidget):
    """One row of thumbnails; ``chosen`` carries the photo clicked."""

    chosen = Signal(object)  # Path
    _loaded = Signal(int, int, QImage)  # generation, row, thumbnail

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setFlow(QListView.Flow.LeftToRight)
        self.setWrapping(False)
        self.setMovement(QListView.Movement.Static)
        self.setIconSize(QSize(THUMB, THUMB))
        self.setGridSize(QSize(THUMB + 16, THUMB + 24))
        self.setFixedHeight(THUMB + 48)
        self.setUniformItemSizes(True)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setToolTip("The photos in this folder: click one to open it")
        self.folder: Path | None = None
        self.made = 0  # thumbnails shown for the current folder
        self._generation = 0
        placeholder = QPixmap(THUMB, THUMB)
        placeholder.fill(QColor(200, 200, 200))
        self._placeholder = QIcon(placeholder)
        self._loaded.connect(self._set_icon)
        self.itemClicked.connect(lambda item: self.chosen.emit(Path(item.data(Qt.ItemDataRole.UserRole))))

    def show_photo(self, path: Path) -> None:
        """Shows ``path``'s folder (listed again only when it is another folder) with ``path`` selected."""
        folder = path.parent
        if folder != self.folder:
            self.folder = folder
            self._generation += 1
            self.made = 0
            self.clear()
            try:
                photos = list(find_images(folder, recursive=False))[:MAX_PHOTOS]
            except OSError as exc:
                log.warning("the folder %s cannot be listed: %s", folder, exc)
                photos = [path]
            for photo in photos:
                item = QListWidgetItem(self._placeholder, photo.name)
                item.setData(Qt.ItemDataRole.UserRole, str(photo))
                item.setToolTip(photo.name)
                self.addItem(item)
            threading.Thread(
                target=self._make_thumbnails, args=(self._generation, photos), name="photogan-thumbnails", daemon=True
            ).start()
        for row in range(self.count()):
            if Path(self.item(row).data(Qt.ItemDataRole.UserRole)) == path:
                self.setCurrentRow(row)
                self.scrollToItem(self.item(row))
                break

    def paths(self) -> list[Path]:
        return [Path(self.item(row).data(Qt.ItemDataRole.UserRole)) for row in range(self.count())]

    def stop(self) -> None:
        """Stops making thumbnails (the window closes)."""
        self._generation += 1

    def _make_thumbnails(self, generation: int, photos: list[Path]) -> None:
        for row, photo in enumerate(photos):
            if generation != self._generation:  # another folder is shown now
                return
            try:
                image = _qimage(load_thumbnail(photo, THUMB))
            except (PhotoganError, OSError, MemoryError, ValueError) as exc:
                log.info("no thumbnail for %s: %s", photo.name, exc)
                continue
            try:
                self._loaded.emit(generation, row, image)
            except RuntimeError:  # the widget is gone
                return

    def _set_icon(self, generation: int, row: int, image: QImage) -> None:
        if generation == self._generation and row < self.count():
            self.item(row).setIcon(QIcon(QPixmap.fromImage(image)))
            self.made += 1
