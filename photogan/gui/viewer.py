"""The before/after viewer: split view with a draggable divider, side by side, or one of the two; synchronized
zoom and pan; fit, 100 % and zoom steps; the pixel grid at high zoom.

Both images are painted in the *original's* coordinates: the result (any size, e.g. ×4) is drawn into the
original's rectangle, so the two line up at every zoom. A preview of a region is drawn over the original in that
region only. All geometry lives in :class:`ViewState` (no Qt painting needed to test it).

With colour points on (:meth:`CompareView.set_hint_mode`), a click on the photo places a colour point for the
colorizer (in the current point colour), dragging a point moves it, a right-click removes it and a double-click
asks for its colour; the points are drawn on every pane.

With the damage mask on (:meth:`CompareView.set_mask_mode`, a :class:`photogan.gui.mask_brush.MaskBrush` set),
the left button paints what the inpainter fills and the right button (or Shift) erases; the mask shows as a red
overlay and the brush as a circle of its size.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QEvent, QPointF, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QImage,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
    QPixmap,
    QResizeEvent,
    QWheelEvent,
)
from PySide6.QtWidgets import QSizePolicy, QWidget

from photogan.app.chain import Region
from photogan.core.hints import Hint
from photogan.gui.mask_brush import MaskBrush

MODES = ("split", "side", "before", "after")
ZOOM_STEPS = (
    0.03125,
    0.0625,
    0.125,
    0.25,
    1 / 3,
    0.5,
    2 / 3,
    1.0,
    1.5,
    2.0,
    3.0,
    4.0,
    6.0,
    8.0,
    12.0,
    16.0,
    24.0,
    32.0,
)
GRID_ZOOM = 8.0  # the pixel grid appears from this zoom on
DIVIDER_GRAB = 8  # px either side of the divider that grab it
POINT_RADIUS = 7  # screen px of a drawn colour point; a click this close grabs it


@dataclass
class ViewState:
    """Zoom (screen px per image px), the image point at the centre of each pane, and the divider position."""

    image: QSize
    pane: QSize
    zoom: float = 1.0
    center: QPointF | None = None
    fit: bool = True

    def fit_zoom(self) -> float:
        if self.image.isEmpty() or self.pane.isEmpty():
            return 1.0
        # a small photo is enlarged to fill the pane too (up to the largest zoom step), as photo viewers do
        return min(self.pane.width() / self.image.width(), self.pane.height() / self.image.height(), ZOOM_STEPS[-1])

    def effective_zoom(self) -> float:
        return self.fit_zoom() if self.fit else self.zoom

    def effective_center(self) -> QPointF:
        if self.fit or self.center is None:
            return QPointF(self.image.width() / 2, self.image.height() / 2)
        return self.center

    def image_rect_in_pane(self) -> QRectF:
        """Where the whole image lies, in pane coordinates."""
        z, c = self.effective_zoom(), self.effective_center()
        left = self.pane.width() / 2 - c.x() * z
        top = self.pane.height() / 2 - c.y() * z
        return QRectF(left, top, self.image.width() * z, self.image.height() * z)

    def to_image(self, point: QPointF) -> QPointF:
        """A pane point in image coordinates."""
        rect, z = self.image_rect_in_pane(), self.effective_zoom()
        return QPointF((point.x() - rect.left()) / z, (point.y() - rect.top()) / z)

    def to_pane(self, point: QPointF) -> QPointF:
        """An image point in pane coordinates."""
        rect, z = self.image_rect_in_pane(), self.effective_zoom()
        return QPointF(rect.left() + point.x() * z, rect.top() + point.y() * z)

    def visible_region(self) -> Region:
        """The part of the image visible in the pane (whole pixels, clamped to the image)."""
        z, rect = self.effective_zoom(), self.image_rect_in_pane()
        x0, y0 = max(0.0, -rect.left() / z), max(0.0, -rect.top() / z)
        x1 = min(float(self.image.width()), (self.pane.width() - rect.left()) / z)
        y1 = min(float(self.image.height()), (self.pane.height() - rect.top()) / z)
        ix0, iy0 = int(x0), int(y0)
        return Region(ix0, iy0, max(0, int(x1 + 0.999) - ix0), max(0, int(y1 + 0.999) - iy0))

    def set_zoom(self, zoom: float, anchor: QPointF | None = None) -> None:
        """Zooms to ``zoom`` keeping the image point under pane point ``anchor`` (default: the centre) in place."""
        zoom = min(max(zoom, ZOOM_STEPS[0]), ZOOM_STEPS[-1])
        anchor = anchor if anchor is not None else QPointF(self.pane.width() / 2, self.pane.height() / 2)
        fixed = self.to_image(anchor)
        self.fit, self.zoom = False, zoom
        # the centre that keeps ``fixed`` under ``anchor``
        self.center = QPointF(
            fixed.x() - (anchor.x() - self.pane.width() / 2) / zoom,
            fixed.y() - (anchor.y() - self.pane.height() / 2) / zoom,
        )
        self._clamp()

    def step_zoom(self, steps: int, anchor: QPointF | None = None) -> None:
        current = self.effective_zoom()
        if steps > 0:
            target = next((z for z in ZOOM_STEPS if z > current * 1.001), ZOOM_STEPS[-1])
        else:
            target = next((z for z in reversed(ZOOM_STEPS) if z < current / 1.001), ZOOM_STEPS[0])
        self.set_zoom(target, anchor)

    def pan(self, dx: float, dy: float) -> None:
        """Moves the image by (dx, dy) screen pixels."""
        if self.fit:
            self.zoom, self.center, self.fit = self.fit_zoom(), self.effective_center(), False
        z = self.zoom
        c = self.effective_center()
        self.center = QPointF(c.x() - dx / z, c.y() - dy / z)
        self._clamp()

    def _clamp(self) -> None:
        """Keeps the image centred on an axis where it is smaller than the pane, and on screen otherwise."""
        if self.center is None:
            return
        z = self.zoom
        half_w, half_h = self.pane.width() / 2 / z, self.pane.height() / 2 / z
        w, h = self.image.width(), self.image.height()
        x = w / 2 if 2 * half_w >= w else min(max(self.center.x(), half_w), w - half_w)
        y = h / 2 if 2 * half_h >= h else min(max(self.center.y(), half_h), h - half_h)
        self.center = QPointF(x, y)


class CompareView(QWidget):
    """Paints the original and the result.

    Modes: ``split`` (original left of the divider, result right), ``side`` (two panes, same zoom and pan),
    ``before``, ``after``. Holding Space (or calling :meth:`hold_original`) shows the original.

    Signals:
        view_changed(): zoom, pan or divider moved (the window updates its zoom label).
        hints_changed(): a colour point was placed, moved or removed (``hints`` holds them all).
        hint_color_requested(int): the point of that index was double-clicked (the window asks for a colour).
        mask_changed(): a brush stroke ended (``brush.mask`` holds the mask).
    """

    view_changed = Signal()
    hints_changed = Signal()
    hint_color_requested = Signal(int)
    mask_changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(320, 240)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMouseTracking(True)
        self._before: QPixmap | None = None
        self._after: QPixmap | None = None
        self._preview: tuple[Region, QPixmap] | None = None
        self.mode = "split"
        self.divider = 0.5  # fraction of the pane width
        self.holding = False
        self.state = ViewState(QSize(0, 0), self._pane_size())
        self._drag: str | None = None
        self._last = QPointF()
        self._checker = self._checker_pixmap()
        self.hints: list[Hint] = []
        self.hint_mode = False
        self.hint_color: tuple[int, int, int] = (176, 58, 46)
        self._moving: int | None = None
        self.result_label = ""  # what made the result shown (the window sets it: model chain)
        self._reference: tuple[QPixmap, str] | None = None  # A/B: an earlier result in the original's place
        self.brush: MaskBrush | None = None
        self.mask_mode = False
        self._pointer: QPointF | None = None

    # -- damage mask --------------------------------------------------------------------------------------------

    def set_brush(self, brush: MaskBrush | None) -> None:
        """The mask being painted (None: no photo)."""
        self.brush = brush
        self.update()

    def set_mask_mode(self, on: bool) -> None:
        """The mouse paints the damage mask (on) or pans (off); the mask is shown while on."""
        self.mask_mode = on
        if on:
            self.setCursor(Qt.CursorShape.BlankCursor)
        else:
            self.unsetCursor()
        self.update()

    def _draw_mask(self, painter: QPainter, image_rect: QRectF) -> None:
        if self.brush is None or not self.mask_mode:
            return
        painter.drawImage(image_rect, self.brush.overlay())
        if self._pointer is not None:
            radius = self.brush.radius * image_rect.width() / max(1, self.state.image.width())
            centre = self._pane_point(self._pointer)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.setPen(QPen(QColor(0, 0, 0), 3))
            painter.drawEllipse(centre, radius, radius)
            painter.setPen(QPen(QColor(255, 255, 255), 1.5))
            painter.drawEllipse(centre, radius, radius)

    # -- colour points ------------------------------------------------------------------------------------------

    def set_hints(self, hints: list[Hint]) -> None:
        """Shows these colour points (without signalling a change)."""
        self.hints = list(hints)
        self.update()

    def set_hint_mode(self, on: bool) -> None:
        """Clicks place colour points (on) or pan (off)."""
        self.hint_mode = on
        if on:
            self.setCursor(Qt.CursorShape.CrossCursor)
        else:
            self.unsetCursor()
        self.update()

    def _image_point(self, pos: QPointF) -> QPointF:
        return self.state.to_image(self._pane_point(pos))

    def hint_at(self, pos: QPointF) -> int | None:
        """The index of the colour point drawn under widget point ``pos``, or None."""
        pane = self._pane_point(pos)
        for index in reversed(range(len(self.hints))):
            hint = self.hints[index]
            spot = self.state.to_pane(QPointF(hint.x + 0.5, hint.y + 0.5))
            if (spot.x() - pane.x()) ** 2 + (spot.y() - pane.y()) ** 2 <= POINT_RADIUS**2:
                return index
        return None

    def _on_photo(self, point: QPointF) -> bool:
        return 0 <= point.x() < self.state.image.width() and 0 <= point.y() < self.state.image.height()

    def _draw_hints(self, painter: QPainter) -> None:
        for hint in self.hints:
            spot = self.state.to_pane(QPointF(hint.x + 0.5, hint.y + 0.5))
            painter.setBrush(QColor(*hint.color))
            painter.setPen(QPen(QColor(0, 0, 0), 3))
            painter.drawEllipse(spot, POINT_RADIUS, POINT_RADIUS)
            painter.setPen(QPen(QColor(255, 255, 255), 1.5))
            painter.drawEllipse(spot, POINT_RADIUS, POINT_RADIUS)

    # -- content ----------------------------------------------------------------------------------------------

    def set_images(self, before: QImage | None, after: QImage | None = None, keep_view: bool = False) -> None:
        """Shows a new original (and result); the view fits the image unless ``keep_view``."""
        self._before = None if before is None else QPixmap.fromImage(before)
        self._after = None if after is None else QPixmap.fromImage(after)
        self._preview = None
        self._reference = None
        size = QSize(0, 0) if before is None else before.size()
        if not keep_view or size != self.state.image:
            self.state = ViewState(size, self._pane_size())
        self.update()
        self.view_changed.emit()

    def set_result(self, after: QImage | None) -> None:
        """Shows the full result (any size; drawn over the original's area)."""
        self._after = None if after is None else QPixmap.fromImage(after)
        self._preview = None
        self.update()
        self.view_changed.emit()  # the zoom label speaks of the result now

    def set_reference(self, image: QImage | None, label: str = "") -> None:
        """A/B: shows ``image`` (an earlier result, any size) where the original is shown, named ``label``;
        None shows the original again. Holding Space still shows the original."""
        self._reference = None if image is None else (QPixmap.fromImage(image), label)
        self.update()

    def _left_pixmap(self) -> QPixmap:
        assert self._before is not None
        return self._reference[0] if self._reference is not None and not self.holding else self._before

    def _left_label(self) -> str:
        return self._reference[1] if self._reference is not None and not self.holding else "Original"

    def set_preview(self, region: Region, image: QImage) -> None:
        """Shows the result of ``region`` only (a preview); a full result shown before is dropped (it was made
        with other settings, and would hide the preview)."""
        self._after = None
        self._preview = (region, QPixmap.fromImage(image))
        self.update()

    @property
    def has_result(self) -> bool:
        return self._after is not None or self._preview is not None

    def set_mode(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown view mode {mode!r}")
        self.mode = mode
        self.state.pane = self._pane_size()
        self.update()
        self.view_changed.emit()

    def hold_original(self, hold: bool) -> None:
        self.holding = hold
        self.update()

    # -- zoom ---------------------------------------------------------------------------------------------------

    def fit(self) -> None:
        self.state.fit = True
        self.state.center = None
        self._changed()

    def actual_size(self) -> None:
        """One pixel of what is shown per screen pixel: of the result when one is shown (a ×4 result at 100 %
        is the original at 25 %), else of the original."""
        self.state.set_zoom(1.0 / self.result_scale())
        self._changed()

    def result_scale(self) -> float:
        """The full result's size over the original's (1 without one, or while the original is shown)."""
        if self._after is None or self._before is None or self.mode == "before" or self._before.width() == 0:
            return 1.0
        return self._after.width() / self._before.width()

    def zoom_in(self) -> None:
        self.state.step_zoom(+1)
        self._changed()

    def zoom_out(self) -> None:
        self.state.step_zoom(-1)
        self._changed()

    def zoom(self) -> float:
        return self.state.effective_zoom()

    def visible_region(self) -> Region:
        return self.state.visible_region()

    def _changed(self) -> None:
        self.update()
        self.view_changed.emit()

    # -- geometry -----------------------------------------------------------------------------------------------

    def _pane_size(self) -> QSize:
        if self.mode == "side":
            return QSize(max(1, (self.width() - 2) // 2), max(1, self.height()))
        return QSize(max(1, self.width()), max(1, self.height()))

    def pane_rects(self) -> list[QRect]:
        """The panes in widget coordinates (two side by side, one otherwise)."""
        if self.mode == "side":
            w = self.state.pane.width()
            return [QRect(0, 0, w, self.height()), QRect(w + 2, 0, w, self.height())]
        return [QRect(0, 0, self.width(), self.height())]

    def divider_x(self) -> float:
        return self.divider * self.width()

    def set_divider(self, fraction: float) -> None:
        self.divider = min(max(fraction, 0.0), 1.0)
        self.update()
        self.view_changed.emit()

    def _pane_point(self, pos: QPointF) -> QPointF:
        for rect in self.pane_rects():
            if rect.contains(pos.toPoint()):
                return QPointF(pos.x() - rect.left(), pos.y() - rect.top())
        return pos

    # -- painting -----------------------------------------------------------------------------------------------

    @staticmethod
    def _checker_pixmap() -> QPixmap:
        tile = QPixmap(16, 16)
        tile.fill(QColor(200, 200, 200))
        painter = QPainter(tile)
        painter.fillRect(0, 0, 8, 8, QColor(150, 150, 150))
        painter.fillRect(8, 8, 8, 8, QColor(150, 150, 150))
        painter.end()
        return tile

    def _draw_image(self, painter: QPainter, pixmap: QPixmap, target: QRectF, source: QRectF | None = None) -> None:
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, self.state.effective_zoom() < 2.0)
        painter.drawPixmap(target, pixmap, source if source is not None else QRectF(pixmap.rect()))

    def _draw_result(self, painter: QPainter, image_rect: QRectF) -> None:
        """The result (or the original under a region preview) in the original's rectangle."""
        if self._after is not None:
            self._draw_image(painter, self._after, image_rect)
            return
        if self._before is not None:
            self._draw_image(painter, self._before, image_rect)
        if self._preview is not None:
            region, pixmap = self._preview
            z = self.state.effective_zoom()
            target = QRectF(
                image_rect.left() + region.x * z, image_rect.top() + region.y * z, region.width * z, region.height * z
            )
            self._draw_image(painter, pixmap, target)
            painter.setPen(QPen(QColor(255, 200, 0), 1, Qt.PenStyle.DashLine))
            painter.drawRect(target)

    def _draw_grid(self, painter: QPainter, image_rect: QRectF, pane: QRect) -> None:
        z = self.state.effective_zoom()
        if z < GRID_ZOOM:
            return
        painter.setPen(QPen(QColor(128, 128, 128, 90), 1))
        visible = image_rect.intersected(QRectF(0, 0, pane.width(), pane.height()))
        first_x = int((visible.left() - image_rect.left()) / z)
        last_x = int((visible.right() - image_rect.left()) / z) + 1
        for i in range(first_x, last_x + 1):
            x = image_rect.left() + i * z
            painter.drawLine(QPointF(x, visible.top()), QPointF(x, visible.bottom()))
        first_y = int((visible.top() - image_rect.top()) / z)
        last_y = int((visible.bottom() - image_rect.top()) / z) + 1
        for j in range(first_y, last_y + 1):
            y = image_rect.top() + j * z
            painter.drawLine(QPointF(visible.left(), y), QPointF(visible.right(), y))

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 (Qt override)
        painter = QPainter(self)
        painter.fillRect(self.rect(), self.palette().window().color().darker(115))
        if self._before is None:
            painter.setPen(self.palette().text().color())
            painter.drawText(
                self.rect(),
                Qt.AlignmentFlag.AlignCenter,
                "Open a photo (Ctrl+O) or drop photos here.\nDrop several photos or a folder to fill the batch queue.",
            )
            painter.end()
            return
        self.state.pane = self._pane_size()
        image_rect = self.state.image_rect_in_pane()
        show_result = self.has_result and not self.holding
        for index, pane in enumerate(self.pane_rects()):
            painter.save()
            painter.setClipRect(pane)
            painter.translate(pane.topLeft())
            painter.drawTiledPixmap(image_rect.intersected(QRectF(0, 0, pane.width(), pane.height())), self._checker)
            left = self._left_pixmap()
            if self.mode == "side":
                if index == 0 or not show_result:
                    self._draw_image(painter, left, image_rect)
                else:
                    self._draw_result(painter, image_rect)
            elif self.mode == "before" or not show_result:
                self._draw_image(painter, left, image_rect)
            elif self.mode == "after":
                self._draw_result(painter, image_rect)
            else:  # split
                split = self.divider_x()
                painter.save()
                painter.setClipRect(QRectF(0, 0, split, pane.height()))
                self._draw_image(painter, left, image_rect)
                painter.restore()
                painter.save()
                painter.setClipRect(QRectF(split, 0, pane.width() - split, pane.height()))
                self._draw_result(painter, image_rect)
                painter.restore()
            self._draw_grid(painter, image_rect, pane)
            self._draw_mask(painter, image_rect)
            self._draw_hints(painter)
            painter.restore()
        self._draw_labels(painter, show_result)
        painter.end()

    def _draw_labels(self, painter: QPainter, show_result: bool) -> None:
        def label(text: str, x: float, align_right: bool = False) -> None:
            metrics = painter.fontMetrics()
            w, h = metrics.horizontalAdvance(text) + 12, metrics.height() + 6
            left = x - w - 8 if align_right else x + 8
            box = QRectF(left, 8, w, h)
            painter.fillRect(box, QColor(0, 0, 0, 150))
            painter.setPen(QColor(255, 255, 255))
            painter.drawText(box, Qt.AlignmentFlag.AlignCenter, text)

        result_name = ("Result" if self._after is not None else "Preview") + (
            f" — {self.result_label}" if self.result_label else ""
        )
        original = self._left_label()
        if self.mode == "side":
            w = self.state.pane.width()
            label(original, 0)
            label(result_name if show_result else "Original (no result yet)", w + 2)
            painter.fillRect(QRectF(w, 0, 2, self.height()), self.palette().window())
        elif self.mode == "split" and show_result:
            split = self.divider_x()
            label(original, split, align_right=True)
            label(result_name, split)
            painter.setPen(QPen(QColor(255, 255, 255), 2))
            painter.drawLine(QPointF(split, 0), QPointF(split, self.height()))
            handle = QRectF(split - 7, self.height() / 2 - 18, 14, 36)
            painter.setBrush(QColor(255, 255, 255))
            painter.setPen(QPen(QColor(0, 0, 0, 120), 1))
            painter.drawRoundedRect(handle, 5, 5)
        elif self.mode == "after" and show_result:
            label(result_name, 0)
        else:
            label(original, 0)

    # -- interaction --------------------------------------------------------------------------------------------

    def _near_divider(self, pos: QPointF) -> bool:
        return self.mode == "split" and self.has_result and abs(pos.x() - self.divider_x()) <= DIVIDER_GRAB

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        pos = event.position()
        paints = event.button() in (Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton)
        if self.mask_mode and self.brush is not None and self._before is not None and paints:
            point = self._image_point(pos)
            shift = bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
            self.brush.begin(point.x(), point.y(), erase=event.button() == Qt.MouseButton.RightButton or shift)
            self._drag = "mask"
            self.update()
            return
        grabs_point = self.hint_mode and (self.hint_at(pos) is not None or not self._near_divider(pos))
        if grabs_point and self._before is not None and self._press_hint(event.button(), pos):
            return  # a point under the cursor wins over the divider
        if event.button() == Qt.MouseButton.LeftButton and self._before is not None:
            self._drag = "divider" if self._near_divider(pos) else "pan"
            self._last = pos
            if self._drag == "pan":
                self.setCursor(Qt.CursorShape.ClosedHandCursor)
        elif event.button() == Qt.MouseButton.MiddleButton:
            self.hold_original(True)
        super().mousePressEvent(event)

    def _press_hint(self, button: Qt.MouseButton, pos: QPointF) -> bool:
        """Places, grabs or removes a colour point; True when the click was one."""
        index = self.hint_at(pos)
        if button == Qt.MouseButton.RightButton and index is not None:
            del self.hints[index]
            self.update()
            self.hints_changed.emit()
            return True
        if button != Qt.MouseButton.LeftButton:
            return False
        if index is None:
            point = self._image_point(pos)
            if not self._on_photo(point):
                return False
            self.hints.append(Hint(int(point.x()), int(point.y()), self.hint_color))
            index = len(self.hints) - 1
            self.update()
            self.hints_changed.emit()
        self._drag, self._moving = "hint", index
        return True

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        pos = event.position()
        if self.mask_mode:
            self._pointer = pos
        if self._drag == "mask" and self.brush is not None:
            point = self._image_point(pos)
            self.brush.extend(point.x(), point.y())
            self.update()
        elif self.mask_mode:
            self.update()  # the brush circle follows the pointer
        elif self._drag == "hint" and self._moving is not None:
            point = self._image_point(pos)
            w, h = self.state.image.width(), self.state.image.height()
            x, y = min(max(int(point.x()), 0), w - 1), min(max(int(point.y()), 0), h - 1)
            old = self.hints[self._moving]
            if (x, y) != (old.x, old.y):
                self.hints[self._moving] = Hint(x, y, old.color)
                self.update()
        elif self._drag == "divider":
            self.set_divider(pos.x() / max(1, self.width()))
        elif self._drag == "pan":
            self.state.pan(pos.x() - self._last.x(), pos.y() - self._last.y())
            self._last = pos
            self._changed()
        elif self.hint_mode:
            self.setCursor(
                Qt.CursorShape.PointingHandCursor if self.hint_at(pos) is not None else Qt.CursorShape.CrossCursor
            )
        else:
            shape = Qt.CursorShape.SplitHCursor if self._near_divider(pos) else Qt.CursorShape.OpenHandCursor
            self.setCursor(shape)
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if event.button() == Qt.MouseButton.MiddleButton:
            self.hold_original(False)
        moved, painted = self._drag == "hint", self._drag == "mask"
        self._drag, self._moving = None, None
        if painted and self.brush is not None:
            self.brush.end()
            self.mask_changed.emit()
            super().mouseReleaseEvent(event)
            return
        self.set_hint_mode(self.hint_mode)  # the cursor of the mode
        if moved:
            self.hints_changed.emit()
        super().mouseReleaseEvent(event)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        index = self.hint_at(event.position()) if self.hint_mode else None
        if index is not None:
            self.hint_color_requested.emit(index)
            return
        if self.hint_mode or self.mask_mode:
            return  # the first click of the pair placed a point (or paint); zooming on it too would be a surprise
        if self.state.fit:
            self.state.set_zoom(1.0, self._pane_point(event.position()))
        else:
            self.state.fit, self.state.center = True, None
        self._changed()

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802
        if self._before is None:
            return
        steps = 1 if event.angleDelta().y() > 0 else -1 if event.angleDelta().y() < 0 else 0
        if steps:
            self.state.step_zoom(steps, self._pane_point(event.position()))
            self._changed()

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self.hold_original(True)
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self.hold_original(False)
            return
        super().keyReleaseEvent(event)

    def leaveEvent(self, event: QEvent) -> None:  # noqa: N802
        self._pointer = None  # no brush circle where the pointer is not
        self.update()
        super().leaveEvent(event)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802
        self.state.pane = self._pane_size()
        self.state._clamp()
        super().resizeEvent(event)
        self.view_changed.emit()
