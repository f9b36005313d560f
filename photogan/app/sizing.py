"""Output sizes a photographer asks for: any factor ("3× bigger"), a width or height in pixels, or a print size
at a DPI ("40×60 cm at 300 DPI"); the model scale that gets there and the final high-quality resize.

The model upscales by its own factor (×2 or ×4); the result is then resized to the exact size asked, downward
from the smallest model scale that reaches it (a reduced ×4 result is sharper than an enlarged ×2 one), so
any factor gives the detail of a real upscale. A print size sets the output's DPI.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace

import numpy as np

from photogan.core.errors import UsageError
from photogan.core.image import Photo

_UNITS = {"cm": 1 / 2.54, "mm": 1 / 25.4, "in": 1.0, '"': 1.0}
_PRINT = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)\s*[x×]\s*([0-9]+(?:\.[0-9]+)?)\s*(cm|mm|in|\")\s*", re.IGNORECASE)
#: The DPI of a print size when none is given: what photo labs print at.
DEFAULT_DPI = 300.0


def parse_print(text: str) -> tuple[float, float]:
    """``40x60cm``, ``400x600mm``, ``16x20in`` → (width, height) in inches.

    Raises:
        UsageError: Not a size with a unit.
    """
    match = _PRINT.fullmatch(text)
    if match is None:
        raise UsageError(f"{text!r} is not a print size like 40x60cm, 400x600mm or 16x20in")
    a, b, unit = float(match.group(1)), float(match.group(2)), match.group(3).lower()
    if a <= 0 or b <= 0:
        raise UsageError(f"a print size needs two positive sides, got {text!r}")
    return a * _UNITS[unit], b * _UNITS[unit]


@dataclass(frozen=True)
class SizeRequest:
    """What size the output should be: exactly one of ``factor``, ``width``/``height`` (either or both: the photo
    is fitted inside, its proportions kept) or ``print_inches`` (at ``dpi``, turned to match the photo's
    orientation, the photo fitted inside the print)."""

    factor: float | None = None
    width: int | None = None
    height: int | None = None
    print_inches: tuple[float, float] | None = None
    dpi: float | None = None

    def __post_init__(self) -> None:
        kinds = sum(x is not None for x in (self.factor, self.width or self.height, self.print_inches))
        if kinds > 1:
            raise UsageError("ask for one output size: a factor, a width/height, or a print size")
        if self.factor is not None and not 0 < self.factor <= 16:
            raise UsageError(f"the output factor must be above 0 and at most 16, got {self.factor:g}")
        for side in (self.width, self.height):
            if side is not None and not 1 <= side <= 100_000:
                raise UsageError(f"an output side must be 1 to 100000 pixels, got {side}")
        if self.dpi is not None and not 1 <= self.dpi <= 10_000:
            raise UsageError(f"the DPI must be 1 to 10000, got {self.dpi:g}")

    @property
    def empty(self) -> bool:
        return self.factor is None and not self.width and not self.height and self.print_inches is None

    def output_dpi(self) -> float | None:
        """The DPI the output carries: the print's, or the one asked for."""
        if self.print_inches is not None:
            return self.dpi or DEFAULT_DPI
        return self.dpi

    def target(self, width: int, height: int) -> tuple[int, int]:
        """The output (width, height) for a photo of that size."""
        factor = self.factor_for(width, height)
        return max(1, round(width * factor)), max(1, round(height * factor))

    def factor_for(self, width: int, height: int) -> float:
        """The enlargement a photo of that size needs."""
        if self.factor is not None:
            return self.factor
        if self.print_inches is not None:
            long_in, short_in = max(self.print_inches), min(self.print_inches)
            dpi = self.output_dpi() or DEFAULT_DPI
            if width >= height:
                return min(long_in * dpi / width, short_in * dpi / height)
            return min(short_in * dpi / width, long_in * dpi / height)
        factors = [s / w for s, w in ((self.width, width), (self.height, height)) if s]
        return min(factors) if factors else 1.0


def model_scale(factors: Iterable[float], scales: Iterable[int]) -> int:
    """The model scale to run for these enlargements: the smallest available one that reaches the largest of
    them (the results are reduced to size), else the largest available."""
    needed, available = max(factors, default=1.0), sorted(set(scales))
    if not available:
        raise UsageError("no upscaling model is installed")
    return next((s for s in available if s >= needed - 1e-9), available[-1])


def resize_photo(photo: Photo, width: int, height: int, dpi: float | None = None) -> Photo:
    """The photo at exactly width × height (Lanczos up, area-averaged down; alpha alike), its DPI set when given."""
    import cv2  # imported here (40 ms): only a print size needs it

    changes: dict[str, object] = {} if dpi is None else {"dpi": (dpi, dpi)}
    if (photo.width, photo.height) == (width, height):
        return replace(photo, **changes) if changes else photo  # type: ignore[arg-type]
    shrink = width < photo.width
    method = cv2.INTER_AREA if shrink else cv2.INTER_LANCZOS4

    def fit(plane: np.ndarray) -> np.ndarray:
        out = cv2.resize(np.ascontiguousarray(plane), (width, height), interpolation=method)
        return np.clip(out.reshape(height, width, *plane.shape[2:]), 0.0, 1.0).astype(np.float32, copy=False)

    pixels = fit(photo.pixels)
    if pixels.ndim == 2:
        pixels = pixels[..., None]
    alpha = None if photo.alpha is None else fit(photo.alpha)
    return photo.with_pixels(pixels, alpha, **changes)


def describe_print(width: int, height: int, dpi: float) -> str:
    """``6000×4000 px: 50.8×33.9 cm at 300 DPI``."""
    cm = 2.54 / dpi
    return f"{width}×{height} px: {width * cm:.1f}×{height * cm:.1f} cm at {round(dpi, 1):g} DPI"
