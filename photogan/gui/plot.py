"""A small line plot for training curves (no plotting library needed)."""

from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPen, QPolygonF
from PySide6.QtWidgets import QSizePolicy, QWidget

Series = tuple[str, QColor, list[tuple[int, float]]]


class LinePlot(QWidget):
    """Plots named series of (iteration, value) points with a shared y range; an optional dashed reference line."""

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = title
        self.series: list[Series] = []
        self.reference: tuple[str, float] | None = None
        self.setMinimumSize(240, 140)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def set_data(self, series: list[Series], reference: tuple[str, float] | None = None) -> None:
        self.series, self.reference = series, reference
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 (Qt override)
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        palette = self.palette()
        painter.fillRect(self.rect(), palette.base())
        text = palette.text().color()
        metrics = painter.fontMetrics()
        area = QRectF(48, metrics.height() + 10, self.width() - 58, self.height() - metrics.height() * 2 - 18)
        painter.setPen(text)
        painter.drawText(QRectF(0, 2, self.width(), metrics.height() + 4), Qt.AlignmentFlag.AlignCenter, self.title)
        points = [p for _, _, data in self.series for p in data]
        if not points or area.width() < 10 or area.height() < 10:
            painter.drawText(area, Qt.AlignmentFlag.AlignCenter, "waiting for the first numbers…")
            painter.end()
            return
        values = [v for _, v in points if math.isfinite(v)] + ([self.reference[1]] if self.reference else [])
        x_max = max(max(i for i, _ in points), 1)
        y_min, y_max = min(values), max(values)
        if y_max - y_min < 1e-9:
            y_min, y_max = y_min - 0.5, y_max + 0.5
        margin = (y_max - y_min) * 0.08
        y_min, y_max = y_min - margin, y_max + margin

        def to_screen(i: float, v: float) -> QPointF:
            return QPointF(
                area.left() + area.width() * i / x_max, area.bottom() - area.height() * (v - y_min) / (y_max - y_min)
            )

        painter.setPen(QPen(palette.mid().color(), 1))
        painter.drawRect(area)
        painter.setPen(text)
        for v in (y_min + margin, y_max - margin):
            p = to_screen(0, v)
            painter.drawText(QRectF(0, p.y() - 8, 44, 16), Qt.AlignmentFlag.AlignRight, f"{v:.3g}")
        painter.drawText(
            QRectF(area.left(), area.bottom() + 2, area.width(), metrics.height() + 4),
            Qt.AlignmentFlag.AlignRight,
            f"iteration {x_max}",
        )
        if self.reference is not None:
            label, value = self.reference
            painter.setPen(QPen(palette.mid().color(), 1, Qt.PenStyle.DashLine))
            y = to_screen(0, value).y()
            painter.drawLine(QPointF(area.left(), y), QPointF(area.right(), y))
            painter.drawText(QPointF(area.left() + 4, y - 3), label)
        legend_x = area.left() + 6
        for name, colour, data in self.series:
            if not data:
                continue
            painter.setPen(QPen(colour, 1.6))
            painter.drawPolyline(QPolygonF([to_screen(i, v) for i, v in data if math.isfinite(v)]))
            painter.drawText(QPointF(legend_x, area.top() + metrics.height()), name)
            legend_x += metrics.horizontalAdvance(name) + 16
        painter.end()
