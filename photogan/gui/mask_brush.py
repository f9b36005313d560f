"""The damage-mask brush: what the photographer paints for the inpainter to fill, with undo, as an overlay.

The mask is kept at the photo's own size as a numpy bool array (True = fill), so it is exactly what
``photogan.core.masks`` saves as the ``NAME.mask.png`` sidecar and what the inpainter reads. Strokes are round
stamps joined along the pointer's path; each stroke can be undone (and redone). The overlay is a red,
half-transparent image of the mask that the viewer draws over every pane.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QImage

MAX_UNDO = 30
OVERLAY = (255, 40, 40, 120)  # RGBA of painted pixels in the overlay
MIN_RADIUS, MAX_RADIUS = 1, 400


class MaskBrush:
    """A mask of ``width × height`` photo pixels, painted with round strokes.

    Args:
        width, height: The photo's size.
        mask: A mask to start from (e.g. the sidecar's or the damage found), H×W bool.
    """

    def __init__(self, width: int, height: int, mask: np.ndarray | None = None) -> None:
        self.mask = np.zeros((height, width), bool) if mask is None else mask.astype(bool).copy()
        if self.mask.shape != (height, width):
            raise ValueError(f"a {self.mask.shape[1]}×{self.mask.shape[0]} mask for a {width}×{height} photo")
        self.radius = 12
        self._undo: list[np.ndarray] = []
        self._redo: list[np.ndarray] = []
        self._last: tuple[float, float] | None = None
        self._erase = False
        self._rgba: np.ndarray | None = None  # the overlay's pixels, kept in step with the mask

    # -- strokes ------------------------------------------------------------------------------------------------

    def begin(self, x: float, y: float, erase: bool = False) -> None:
        """Starts a stroke at photo point (x, y): paints (or erases) a round stamp there."""
        self._push_undo()
        self._erase = erase
        self._last = (x, y)
        self._stamp(x, y)

    def extend(self, x: float, y: float) -> None:
        """Continues the stroke to (x, y), stamping along the way so fast moves leave no gaps."""
        if self._last is None:
            return
        x0, y0 = self._last
        steps = max(1, int(np.hypot(x - x0, y - y0) / max(1.0, self.radius / 2)))
        for t in np.linspace(1 / steps, 1.0, steps):
            self._stamp(x0 + (x - x0) * t, y0 + (y - y0) * t)
        self._last = (x, y)

    def end(self) -> None:
        self._last = None

    def _stamp(self, x: float, y: float) -> None:
        h, w = self.mask.shape
        r = self.radius
        y0, y1 = max(0, int(y - r)), min(h, int(y + r) + 1)
        x0, x1 = max(0, int(x - r)), min(w, int(x + r) + 1)
        if y0 >= y1 or x0 >= x1:
            return
        yy, xx = np.ogrid[y0:y1, x0:x1]
        disc = (yy + 0.5 - y) ** 2 + (xx + 0.5 - x) ** 2 <= r * r
        region = self.mask[y0:y1, x0:x1]
        if self._erase:
            region &= ~disc
        else:
            region |= disc
        if self._rgba is not None:  # only the stamped square is redrawn (a stroke on a 24 MP scan stays fluid)
            self._rgba[y0:y1, x0:x1] = np.where(region[..., None], np.array(OVERLAY, np.uint8), 0)

    # -- whole-mask edits and history ----------------------------------------------------------------------------

    def set_mask(self, mask: np.ndarray, add: bool = False) -> None:
        """Replaces the mask (or adds to it), as one undoable step."""
        if mask.shape != self.mask.shape:
            raise ValueError("the mask does not fit the photo")
        self._push_undo()
        self.mask = self.mask | mask if add else mask.astype(bool).copy()
        self._rgba = None

    def clear(self) -> None:
        if self.mask.any():
            self.set_mask(np.zeros_like(self.mask))

    def _push_undo(self) -> None:
        self._undo.append(self.mask.copy())
        del self._undo[:-MAX_UNDO]
        self._redo.clear()

    def can_undo(self) -> bool:
        return bool(self._undo)

    def can_redo(self) -> bool:
        return bool(self._redo)

    def undo(self) -> bool:
        if not self._undo:
            return False
        self._redo.append(self.mask)
        self.mask = self._undo.pop()
        self._rgba = None
        return True

    def redo(self) -> bool:
        if not self._redo:
            return False
        self._undo.append(self.mask)
        self.mask = self._redo.pop()
        self._rgba = None
        return True

    def set_radius(self, radius: int) -> int:
        self.radius = int(min(MAX_RADIUS, max(MIN_RADIUS, radius)))
        return self.radius

    # -- drawing ------------------------------------------------------------------------------------------------

    def overlay(self) -> QImage:
        """The mask as a half-transparent red image of the photo's size; it shares this brush's pixel buffer, so
        draw it at once (do not keep it)."""
        if self._rgba is None:
            h, w = self.mask.shape
            self._rgba = np.zeros((h, w, 4), np.uint8)
            self._rgba[self.mask] = OVERLAY
        h, w = self.mask.shape
        return QImage(self._rgba.data, w, h, 4 * w, QImage.Format.Format_RGBA8888)
