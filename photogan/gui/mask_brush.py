"""The damage-mask brush: what the photographer paints for the inpainter to fill, with undo, as an overlay.

The mask is kept at the photo's own size as a numpy uint8 array of coverage (255 = fill, 0 = keep, between = a
soft edge, where the fill is blended into the photo), so it is exactly what ``photogan.core.masks`` saves as the
``NAME.mask.png`` sidecar and what the inpainter reads. Strokes are round stamps joined along the pointer's path,
hard-edged or, with less hardness, fading out over the outer part of the radius; each stroke can be undone (and
redone). The overlay is a red, half-transparent image of the mask that the viewer draws over every pane.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QImage

from photogan.core.masks import levels

MAX_UNDO = 30
OVERLAY = (255, 40, 40, 120)  # RGBA of painted pixels in the overlay
MIN_RADIUS, MAX_RADIUS = 1, 400


class MaskBrush:
    """A mask of ``width × height`` photo pixels, painted with round strokes.

    Args:
        width, height: The photo's size.
        mask: A mask to start from (e.g. the sidecar's or the damage found), H×W bool, uint8 or float coverage.
    """

    def __init__(self, width: int, height: int, mask: np.ndarray | None = None) -> None:
        self.mask = np.zeros((height, width), np.uint8) if mask is None else levels(mask).copy()
        if self.mask.shape != (height, width):
            raise ValueError(f"a {self.mask.shape[1]}×{self.mask.shape[0]} mask for a {width}×{height} photo")
        self.radius = 12
        self.hardness = 1.0  # 1: a hard edge; 0: the stamp fades out from its centre
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
        distance = np.sqrt((yy + 0.5 - y) ** 2 + (xx + 0.5 - x) ** 2)
        stamp = stamp_levels(distance, r, self.hardness)
        region = self.mask[y0:y1, x0:x1]
        if self._erase:
            np.minimum(region, 255 - stamp, out=region)
        else:
            np.maximum(region, stamp, out=region)
        if self._rgba is not None:  # only the stamped square is redrawn (a stroke on a 24 MP scan stays fluid)
            self._rgba[y0:y1, x0:x1] = _overlay_pixels(region)

    # -- whole-mask edits and history ----------------------------------------------------------------------------

    def set_mask(self, mask: np.ndarray, add: bool = False) -> None:
        """Replaces the mask (or adds to it), as one undoable step."""
        if mask.shape != self.mask.shape:
            raise ValueError("the mask does not fit the photo")
        self._push_undo()
        self.mask = np.maximum(self.mask, levels(mask)) if add else levels(mask).copy()
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

    def set_hardness(self, hardness: float) -> float:
        """How much of the radius is painted at full strength (1: all of it, a hard edge; 0: none, a soft dab)."""
        self.hardness = float(min(1.0, max(0.0, hardness)))
        return self.hardness

    # -- drawing ------------------------------------------------------------------------------------------------

    def overlay(self) -> QImage:
        """The mask as a half-transparent red image of the photo's size; it shares this brush's pixel buffer, so
        draw it at once (do not keep it)."""
        if self._rgba is None:
            self._rgba = _overlay_pixels(self.mask)
        h, w = self.mask.shape
        return QImage(self._rgba.data, w, h, 4 * w, QImage.Format.Format_RGBA8888)


def stamp_levels(distance: np.ndarray, radius: float, hardness: float) -> np.ndarray:
    """A round stamp's coverage (uint8) at ``distance`` from its centre: 255 out to ``hardness × radius``, then
    falling smoothly to 0 at the radius."""
    inner = hardness * radius
    if inner >= radius:
        return np.where(distance <= radius, 255, 0).astype(np.uint8)
    t = np.clip((radius - distance) / (radius - inner), 0.0, 1.0)
    return np.rint(255 * t * t * (3 - 2 * t)).astype(np.uint8)


def _overlay_pixels(mask: np.ndarray) -> np.ndarray:
    """The overlay's RGBA for a coverage mask: red, as opaque as the overlay's alpha times the coverage."""
    rgba = np.zeros((*mask.shape, 4), np.uint8)
    rgba[..., :3] = OVERLAY[:3]
    rgba[..., 3] = (mask.astype(np.uint16) * OVERLAY[3] // 255).astype(np.uint8)
    rgba[mask == 0, :3] = 0
    return rgba
