"""View → Photo info: the photo's file, pixels, camera EXIF and colour profile, and its histogram."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPolygonF
from PySide6.QtWidgets import QDialog, QFormLayout, QLabel, QVBoxLayout, QWidget

from photogan.app.photo_info import histogram, photo_facts
from photogan.core.image import Photo

_COLOURS = ((220, 60, 60, 110), (60, 180, 70, 110), (60, 110, 230, 110))


class Histogram(QWidget):
    """Per-channel histogram (gray for a grayscale photo), on a square-root scale so shadows stay visible."""

    def __init__(self, counts: np.ndarray, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.counts = counts
        self.setMinimumSize(320, 120)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(30, 30, 30))
        w, h = self.width(), self.height()
        scaled = np.sqrt(self.counts.astype(np.float64))
        top = max(float(scaled.max()), 1.0)
        colours = [(200, 200, 200, 170)] if len(scaled) == 1 else _COLOURS
        for channel, colour in zip(scaled, colours, strict=False):
            points = [QPointF(0, h)]
            points += [QPointF(i * w / (len(channel) - 1), h - v / top * (h - 4)) for i, v in enumerate(channel)]
            points.append(QPointF(w, h))
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor(*colour))
            painter.drawPolygon(QPolygonF(points))
        painter.end()


class PhotoInfoDialog(QDialog):
    def __init__(self, photo: Photo, path: Path | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"{path.name if path else 'Photo'} — info")
        self.rows = photo_facts(photo, path)
        form = QFormLayout()
        for label, value in self.rows:
            text = QLabel(value)
            text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            form.addRow(f"{label}:", text)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(Histogram(histogram(photo)))
