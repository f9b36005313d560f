"""Synthetic damage of old prints, drawn on the fly: the masks an inpainter fills and a detector finds.

Every function takes float32 H×W×3 RGB in [0, 1] (or a size) and a ``numpy.random.Generator``; all randomness
comes from it, so a seed gives the same damage (resumable training).

Kinds, each at many sizes (sides relative to the crop, widths in pixels of the scan):

- scratches: long, gently curving lines 1–6 px wide, often several roughly parallel (a print dragged over grit);
- cracks: jagged random walks that branch (cracked emulsion), 1–3 px;
- dust and hairs: specks of 1–4 px and short curly hairs;
- folds: long, nearly straight bands 3–12 px wide, the paper showing through;
- blobs: irregular missing patches (flaked emulsion, stains), up to a third of the crop side;
- torn corners and edges: a jagged polygon cut from a side or corner;
- craquelure: a network of fine branching cracks over the whole crop (off unless a recipe asks for it).

How the damage looks: paper white (slightly warm), dark (dirt, the negative's scratches), or a flat tone, with
soft edges and a little noise; a part of the crops are faded, sepia-toned or gray first, so the detector learns
damage on the backgrounds old prints have. :class:`InpaintDamage` makes an inpainter's input (the photo with its
holes pre-filled by Telea's method and the mask); :class:`DetectDamage` makes a detector's (the damaged photo
with the true mask as a fourth plane, which the detector's own loss reads).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from photogan.core.image import LUMA_WEIGHTS
from training.degradations import _dataclass_params, fade, gaussian_blur

KINDS = ("scratch", "crack", "dust", "fold", "blob", "tear", "craquelure")


def _polyline(mask: np.ndarray, points: np.ndarray, width: int) -> None:
    pts = np.round(points).astype(np.int32).reshape(-1, 1, 2)
    cv2.polylines(mask, [pts], False, 1.0, thickness=max(1, int(width)), lineType=cv2.LINE_AA)


def _curve(rng: np.random.Generator, h: int, w: int, length: float, bend: float, steps: int) -> np.ndarray:
    start = rng.uniform((-0.1 * w, -0.1 * h), (1.1 * w, 1.1 * h))
    angle = rng.uniform(0, 2 * np.pi)
    points = [start]
    for _ in range(steps):
        angle += rng.normal(0, bend)
        points.append(points[-1] + (length / steps) * np.array([np.cos(angle), np.sin(angle)]))
    return np.array(points)


def draw_scratches(mask: np.ndarray, rng: np.random.Generator) -> None:
    h, w = mask.shape
    side = max(h, w)
    base = _curve(rng, h, w, rng.uniform(0.4, 1.5) * side, rng.uniform(0.02, 0.15), 12)
    for _ in range(int(rng.integers(1, 4))):  # grit drags several roughly parallel lines
        shifted = base + rng.normal(0, 0.05 * side, 2) + rng.normal(0, 0.6, base.shape)
        _polyline(mask, shifted, int(rng.choice([1, 1, 2, 2, 3, 4, 6])))


def draw_cracks(mask: np.ndarray, rng: np.random.Generator) -> None:
    h, w = mask.shape
    side = max(h, w)
    stack = [(rng.uniform((0, 0), (w, h)), rng.uniform(0, 2 * np.pi), 0)]
    segments = 0
    while stack and segments < 40:
        point, angle, depth = stack.pop()
        points = [point]
        for _ in range(int(rng.integers(4, 12))):
            angle += rng.normal(0, 0.5)
            points.append(points[-1] + rng.uniform(0.01, 0.05) * side * np.array([np.cos(angle), np.sin(angle)]))
            if depth < 3 and rng.random() < 0.12:
                stack.append((points[-1], angle + rng.choice([-1, 1]) * rng.uniform(0.4, 1.2), depth + 1))
        _polyline(mask, np.array(points), int(rng.choice([1, 1, 2, 3])) if depth == 0 else 1)
        segments += 1


def draw_craquelure(mask: np.ndarray, rng: np.random.Generator) -> None:
    """A network of fine cracks over the whole crop (cracked emulsion of an old print)."""
    for _ in range(int(rng.integers(4, 12))):
        draw_cracks(mask, rng)


def draw_dust(mask: np.ndarray, rng: np.random.Generator) -> None:
    h, w = mask.shape
    for _ in range(int(rng.integers(3, 40))):
        centre = (int(rng.integers(0, w)), int(rng.integers(0, h)))
        axes = (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
        cv2.ellipse(mask, centre, axes, float(rng.uniform(0, 180)), 0, 360, 1.0, -1, cv2.LINE_AA)
    for _ in range(int(rng.integers(0, 4))):  # hairs: short, curly, thin
        _polyline(mask, _curve(rng, h, w, rng.uniform(0.05, 0.25) * max(h, w), 0.6, 8), 1)


def draw_fold(mask: np.ndarray, rng: np.random.Generator) -> None:
    h, w = mask.shape
    _polyline(mask, _curve(rng, h, w, 2.0 * max(h, w), 0.02, 6), int(rng.integers(3, 13)))


def _jagged_polygon(rng: np.random.Generator, centre: np.ndarray, radius: float, rough: float) -> np.ndarray:
    count = int(rng.integers(8, 24))
    angles = np.sort(rng.uniform(0, 2 * np.pi, count))
    radii = radius * np.exp(rng.normal(0, rough, count))
    return centre + np.stack([radii * np.cos(angles), radii * np.sin(angles)], axis=1)


def draw_blob(mask: np.ndarray, rng: np.random.Generator) -> None:
    h, w = mask.shape
    radius = rng.uniform(0.02, 0.17) * min(h, w)
    polygon = _jagged_polygon(rng, rng.uniform((0, 0), (w, h)), radius, 0.3)
    cv2.fillPoly(mask, [np.round(polygon).astype(np.int32)], 1.0, cv2.LINE_AA)


def draw_tear(mask: np.ndarray, rng: np.random.Generator) -> None:
    h, w = mask.shape
    corners = np.array([(0, 0), (w, 0), (w, h), (0, h)], np.float64)
    centre = corners[int(rng.integers(0, 4))] if rng.random() < 0.6 else rng.uniform((0, 0), (w, h)) * [1, 0]
    polygon = _jagged_polygon(rng, centre, rng.uniform(0.08, 0.35) * min(h, w), 0.15)
    cv2.fillPoly(mask, [np.round(polygon).astype(np.int32)], 1.0, cv2.LINE_AA)


_DRAW = {
    "scratch": draw_scratches,
    "crack": draw_cracks,
    "dust": draw_dust,
    "fold": draw_fold,
    "blob": draw_blob,
    "tear": draw_tear,
    "craquelure": draw_craquelure,
}


@dataclass(frozen=True)
class DamageMasks:
    """Random damage masks: each kind present with its probability, at least one kind per mask.

    Attributes:
        p_scratch, p_crack, p_dust, p_fold, p_blob, p_tear, p_craquelure: Probability of each kind.
        max_cover: Masks that cover more of the crop than this are drawn again (a crop that is all hole teaches
            nothing about filling from context).
    """

    p_scratch: float = 0.5
    p_crack: float = 0.3
    p_dust: float = 0.45
    p_fold: float = 0.15
    p_blob: float = 0.35
    p_tear: float = 0.12
    p_craquelure: float = 0.0
    max_cover: float = 0.4

    def __call__(self, shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
        """A soft mask H×W float32 in [0, 1] (anti-aliased edges)."""
        probabilities = [getattr(self, f"p_{kind}") for kind in KINDS]
        for _ in range(20):
            mask = np.zeros(shape, np.float32)
            chosen = [k for k, p in zip(KINDS, probabilities, strict=True) if rng.random() < p]
            if not chosen:
                chosen = [KINDS[int(rng.choice(len(KINDS), p=np.array(probabilities) / sum(probabilities)))]]
            for kind in chosen:
                _DRAW[kind](mask, rng)
            if 0 < float((mask > 0.5).mean()) <= self.max_cover:
                return mask
        return mask


def tone(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """An old print's background: faded, sepia-toned or gray (or left as it is)."""
    pick = rng.random()
    if pick < 0.2:
        return np.repeat((image @ LUMA_WEIGHTS)[..., None], 3, axis=2).astype(np.float32)
    if pick < 0.35:
        luma = (image @ LUMA_WEIGHTS)[..., None]
        return np.clip(luma * np.array([1.07, 0.95, 0.78], np.float32) + 0.03, 0, 1).astype(np.float32)
    if pick < 0.55:
        return np.clip(fade(image, rng, float(rng.uniform(0.3, 1.0))), 0, 1).astype(np.float32)
    return image


def apply_damage(image: np.ndarray, soft: np.ndarray, rng: np.random.Generator, realistic: bool = False) -> np.ndarray:
    """The photo with the damage drawn where ``soft`` is: light (paper), dark or a flat tone, with soft edges and
    a little texture. ``realistic`` adds the looks of real cracks and scratches: lighter than what is around
    them (the print's base showing through, not pure white) and half transparent."""
    pick = rng.random()
    h, w = soft.shape
    if realistic and pick < 0.35:  # lifted: the surroundings, lighter, with the paper's warmth
        lift = np.float32(rng.uniform(0.12, 0.45))
        colour = np.clip(gaussian_blur(image, 3.0) + lift * np.array([1.0, 0.95, 0.8], np.float32), 0, 1)
    elif pick < 0.6 or (realistic and pick < 0.75):  # paper: white to cream
        colour = np.array([1.0, 0.98, 0.93], np.float32) * np.float32(rng.uniform(0.8, 1.0))
    elif pick < 0.85 or realistic:  # dirt, a scratched negative
        colour = np.full(3, rng.uniform(0.0, 0.25), np.float32)
    else:
        colour = rng.uniform(0.2, 0.9, 3).astype(np.float32)
    texture = gaussian_blur(rng.normal(0, 1, (h, w)).astype(np.float32), 1.0)[..., None] * np.float32(
        rng.uniform(0.0, 0.06)
    )
    strength = rng.uniform(0.45, 1.0) if realistic else rng.uniform(0.8, 1.0)
    alpha = gaussian_blur(soft, float(rng.uniform(0.3, 1.2)))[..., None] * np.float32(strength)
    return np.clip(image * (1 - alpha) + (colour + texture) * alpha, 0, 1).astype(np.float32)


def glare(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Not damage, though bright: a soft-edged overexposed patch (a lit face, a white collar) that keeps the
    photo's texture. The detector sees these unmarked, so brightness alone does not say damage."""
    h, w = image.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    cy, cx = rng.uniform(0, h), rng.uniform(0, w)
    sy, sx = rng.uniform(0.08, 0.35, 2) * np.array([h, w])
    bump = np.exp(-0.5 * (((yy - cy) / sy) ** 2 + ((xx - cx) / sx) ** 2))[..., None] * np.float32(rng.uniform(0.3, 0.9))
    return np.clip(image + bump * (0.97 - image) * 0.9, 0, 1).astype(np.float32)


def hard_mask(soft: np.ndarray) -> np.ndarray:
    """The pixels to fill: where the damage shows at all (soft edges included, one pixel of margin)."""
    return cv2.dilate((soft > 0.1).astype(np.uint8), np.ones((3, 3), np.uint8)).astype(np.float32)


def telea(image: np.ndarray, mask: np.ndarray, radius: int = 5) -> np.ndarray:
    """Telea's fast-marching fill of ``mask`` (1 = fill) in float RGB: the inpainter's starting point."""
    u8 = np.clip(np.rint(image * 255.0), 0, 255).astype(np.uint8)
    filled = cv2.inpaint(u8, (mask > 0.5).astype(np.uint8), radius, cv2.INPAINT_TELEA)
    out = image.copy()
    hole = mask > 0.5
    out[hole] = filled[hole].astype(np.float32) / 255.0
    return out


@dataclass(frozen=True)
class InpaintDamage:
    """An inpainter's training input from a clean crop: H×W×4, the photo with the mask pre-filled by Telea's
    method (which the network refines) and the mask (1 = fill). The target is the clean crop."""

    masks: DamageMasks = DamageMasks()

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> InpaintDamage:
        return cls(DamageMasks(**_dataclass_params(DamageMasks, params)))

    def __call__(self, clean: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        mask = hard_mask(self.masks(clean.shape[:2], rng))
        return np.concatenate([telea(clean, mask), mask[..., None]], axis=2).astype(np.float32)


@dataclass(frozen=True)
class DetectDamage:
    """A detector's training input: H×W×4, the damaged photo (on a faded, toned or gray background for some) and
    the true mask; ``clean_fraction`` of the crops have no damage, so the detector learns to leave real detail
    (eyelashes, wires, text) alone. ``realistic`` adds half-transparent damage lighter than its surroundings
    (not only paper white) and bright unmarked glare (:func:`glare`)."""

    masks: DamageMasks = DamageMasks()
    clean_fraction: float = 0.25
    realistic: bool = False

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> DetectDamage:
        values = dict(params)
        clean = float(values.pop("clean_fraction", 0.25))
        realistic = bool(values.pop("realistic", False))
        return cls(DamageMasks(**_dataclass_params(DamageMasks, values)), clean, realistic)

    def __call__(self, clean: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        image = tone(clean, rng)
        if self.realistic and rng.random() < 0.35:
            image = glare(image, rng)
        if rng.random() < self.clean_fraction:
            mask = np.zeros(clean.shape[:2], np.float32)
        else:
            soft = self.masks(clean.shape[:2], rng)
            image = apply_damage(image, soft, rng, self.realistic)
            mask = (soft > 0.25).astype(np.float32)
        return np.concatenate([image, mask[..., None]], axis=2).astype(np.float32)
