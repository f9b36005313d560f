"""Colour hints for colorizing: the photographer's colour points, their sidecar file, and the planes a model reads.

A hint says "this spot was this colour" (the dress was red). Only its chroma is used: the photo's own
luminance is always kept, so a hint gives the hue and saturation, not the brightness. The file format, beside a
photo as ``NAME.hints.json`` or given with ``--hints``::

    {"hints": [{"x": 120, "y": 48, "color": "#b03a2e"}, ...]}

with ``x``/``y`` in the photo's pixels as displayed (after EXIF orientation), origin at the top left.

A hint-taking colorizer reads three planes beside the photo (:func:`render_planes`): Cb and Cr (BT.601, no
offset, in [-0.5, 0.5]) where a hint is, and a mask that is 1 there and 0 elsewhere. Each point is a small square
of :data:`POINT_SIDE` pixels at the model's working resolution, as in training.
"""

from __future__ import annotations

import functools
import json
import math
import os
import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from photogan.core.chroma import edge_aware_smooth, rgb_to_chroma
from photogan.core.errors import UsageError

#: The sidecar beside a photo: ``portrait.jpg`` → ``portrait.hints.json``.
HINTS_SUFFIX = ".hints.json"
#: Side, in working-resolution pixels, of the square one colour point covers.
POINT_SIDE = 5
#: More points than this is not a hint any more.
MAX_HINTS = 1000
_HEX = re.compile(r"#?([0-9a-fA-F]{6})")


class HintsError(UsageError):
    """A hints file cannot be read or does not fit its photo."""


@dataclass(frozen=True)
class Hint:
    """One colour point: where (photo pixels, after orientation) and which 8-bit sRGB colour."""

    x: float
    y: float
    color: tuple[int, int, int]

    @property
    def hex(self) -> str:
        return "#{:02x}{:02x}{:02x}".format(*self.color)

    def chroma(self) -> tuple[float, float]:
        """The colour's BT.601 (Cb, Cr), the part of it a colorizer uses."""
        cb, cr = rgb_to_chroma(np.array(self.color, np.float32) / 255.0)
        return float(cb), float(cr)


def parse_color(text: str) -> tuple[int, int, int]:
    """``"#b03a2e"`` (or without ``#``) → (176, 58, 46)."""
    match = _HEX.fullmatch(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"{text!r} is not a colour like '#b03a2e'")
    value = match.group(1)
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


def sidecar_for(photo: Path) -> Path:
    """Where a photo's hints live: ``NAME.hints.json`` beside it."""
    return photo.with_name(photo.stem + HINTS_SUFFIX)


def is_sidecar(path: Path) -> bool:
    return path.name.lower().endswith(HINTS_SUFFIX)


def parse_hints(text: str, where: str = "hints") -> list[Hint]:
    """The hints of a hints file's text.

    Raises:
        HintsError: Not JSON, not the expected shape, or a point without valid x, y and color.
    """
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise HintsError(f"{where} is not valid JSON: {exc}") from exc
    points = data.get("hints") if isinstance(data, dict) else None
    if not isinstance(points, list):
        raise HintsError(f'{where}: expected {{"hints": [{{"x": 120, "y": 48, "color": "#b03a2e"}}, ...]}}')
    if len(points) > MAX_HINTS:
        raise HintsError(f"{where} holds {len(points)} points; at most {MAX_HINTS} are used")
    hints = []
    for number, point in enumerate(points, start=1):
        try:
            if not isinstance(point, dict):
                raise ValueError("not an object")
            x, y = point["x"], point["y"]
            if (
                isinstance(x, bool)
                or isinstance(y, bool)
                or not isinstance(x, int | float)
                or not isinstance(y, int | float)
            ):
                raise ValueError("x and y must be numbers")
            if not (math.isfinite(x) and math.isfinite(y)):
                raise ValueError("x and y must be finite")
            hints.append(Hint(float(x), float(y), parse_color(point["color"])))
        except KeyError as exc:
            raise HintsError(f"{where}: point {number} has no {exc.args[0]!r}") from None
        except ValueError as exc:
            raise HintsError(f"{where}: point {number}: {exc}") from None
    return hints


def load_hints(path: Path) -> list[Hint]:
    """The hints in a hints file.

    Raises:
        HintsError: The file cannot be read or is not a hints file.
    """
    try:
        size = path.stat().st_size
        if size > 4 * 1024 * 1024:
            raise HintsError(f"{path} is {size / 1e6:.0f} MB; a hints file is a few KB")
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise HintsError(f"cannot read hints {path}: {exc}") from exc
    return parse_hints(text, str(path))


def moved(hints: Sequence[Hint], factor: float = 1.0, dx: float = 0.0, dy: float = 0.0) -> list[Hint]:
    """The hints in another frame: pixel centres scaled by ``factor`` (the photo resized), then shifted by
    (dx, dy) (a region cut out of it)."""
    return [Hint((h.x + 0.5) * factor - 0.5 + dx, (h.y + 0.5) * factor - 0.5 + dy, h.color) for h in hints]


def inside(hints: Sequence[Hint], width: int, height: int) -> list[Hint]:
    """The hints that lie on a photo of that size."""
    return [h for h in hints if 0 <= h.x < width and 0 <= h.y < height]


def check_fits(hints: Sequence[Hint], width: int, height: int, where: str = "hints") -> None:
    """Raises HintsError when a point lies outside a photo of that size (hints made for another photo, or for
    the photo before it was rotated)."""
    for number, hint in enumerate(hints, start=1):
        if not (0 <= hint.x < width and 0 <= hint.y < height):
            raise HintsError(
                f"{where}: point {number} at ({hint.x:g}, {hint.y:g}) lies outside the {width}×{height} photo"
            )


def dump_hints(hints: Iterable[Hint]) -> str:
    points = [{"x": round(h.x, 2), "y": round(h.y, 2), "color": h.hex} for h in hints]
    return json.dumps({"hints": points}, indent=1) + "\n"


def save_hints(path: Path, hints: Sequence[Hint]) -> Path:
    """Writes a hints file atomically (a new file renamed over the old one); no points removes the file."""
    if not hints:
        path.unlink(missing_ok=True)
        return path
    tmp = path.with_name(f".photogan-tmp-{secrets.token_hex(6)}.json")
    try:
        tmp.write_text(dump_hints(hints), encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def square(cy: float, cx: float, side: int, height: int, width: int) -> tuple[slice, slice]:
    """The rows and columns a point of ``side`` pixels centred at (cy, cx) covers, clipped to the image."""
    y0, x0 = math.floor(cy + 0.5) - (side - 1) // 2, math.floor(cx + 0.5) - (side - 1) // 2
    return slice(max(0, y0), min(height, max(0, y0 + side))), slice(max(0, x0), min(width, max(0, x0 + side)))


#: The hint planes a hint-taking colorizer reads beside the photo: Cb, Cr and the mask.
HINT_PLANES = 3


def render_planes(
    height: int, width: int, centres: np.ndarray, chroma: np.ndarray, sides: np.ndarray | int = POINT_SIDE
) -> np.ndarray:
    """The H×W×3 hint planes (Cb, Cr, mask) of points at ``centres`` (K×2 rows of (y, x) pixels) with K×2
    ``chroma`` values, each a square of ``sides`` pixels; a later point covers an earlier one where they meet."""
    planes = np.zeros((height, width, HINT_PLANES), np.float32)
    sides = np.broadcast_to(np.asarray(sides, np.int64), (len(centres),))
    for (cy, cx), (cb, cr), side in zip(np.asarray(centres), np.asarray(chroma), sides, strict=True):
        planes[square(cy, cx, int(side), height, width)] = (cb, cr, 1.0)
    return planes


def hint_planes(hints: Sequence[Hint], height: int, width: int, scale: float = 1.0) -> np.ndarray:
    """The planes of a photo's hints for a model running at ``scale`` × the photo's size (height × width is the
    size the model sees)."""
    if not hints:
        return np.zeros((height, width, HINT_PLANES), np.float32)
    centres = np.array([((h.y + 0.5) * scale - 0.5, (h.x + 0.5) * scale - 0.5) for h in hints])
    chroma = np.array([h.chroma() for h in hints], np.float32)
    return render_planes(height, width, centres, chroma)


#: How far a colour point reaches along a region of even brightness, as a share of the photo's longer side,
#: and the brightness step (0-1) that stops it: a point colours its region, not the whole photo (measured with
#: benchmarks/quality.py's hint rows on Set14: wider and softer spreads score higher, but bleed more).
REACH, EDGE = 0.6, 0.3


@functools.lru_cache(maxsize=16)
def _point_mass(sigma_s: float, side: int) -> float:
    """What the edge-aware smoothing leaves at the centre of one isolated point on a flat photo. On a flat guide
    the filter is separable: the square of its response at the centre of a ``side``-pixel run in one row."""
    length = int(8 * sigma_s) + side
    row = np.zeros((1, length, 1), np.float32)
    start = (length - side) // 2
    row[0, start : start + side] = 1.0
    smooth = edge_aware_smooth(row, np.zeros((1, length), np.float32), sigma_s)
    return float(smooth[0, start + side // 2, 0]) ** 2


def propagate_hints(chroma: np.ndarray, planes: np.ndarray, guide: np.ndarray, side: int | None = None) -> np.ndarray:
    """The predicted H×W×2 chroma with the hints spread over their regions (Levin, Lischinski and Weiss's
    "Colorization using Optimization", 2004, done as edge-aware normalized convolution): the points' colours are
    carried by smoothing along the H×W luminance ``guide`` and blended over the prediction with a confidence
    that fades with the distance from the points and drops across strong edges. At a point the result is the
    hint's colour; far from every point, the prediction. ``side`` is the whole photo's longer side at this size
    when ``guide`` is a region of it (a preview): the spread is the whole photo's."""
    mask = planes[..., 2:3]
    if not mask.any():
        return chroma
    sigma_s = REACH * (side or max(guide.shape))
    smooth = edge_aware_smooth(planes * np.concatenate([mask, mask, np.ones_like(mask)], axis=2), guide, sigma_s, EDGE)
    mass = smooth[..., 2:3]
    fill = smooth[..., :2] / np.maximum(mass, 1e-12)
    confidence = np.clip(mass / _point_mass(sigma_s, POINT_SIDE), 0.0, 1.0)
    return (chroma + (fill - chroma) * confidence).astype(np.float32)
