"""Training data for upscalers: clean photos from a folder tree, paired with bicubic-downscaled inputs.

Pairs follow the paper protocol: the photo is cropped to a multiple of the scale and downscaled once with
Pillow's bicubic filter; training crops are then taken at aligned positions, so what the model sees matches what
the benchmarks measure. Crops get random flips and 90° rotations.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from photogan.core.errors import ImageReadError
from photogan.core.formats import find_images
from photogan.core.load import load_image

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Pair:
    """One clean photo (HR) and its downscaled input (LR), uint8 HWC RGB."""

    hr: np.ndarray
    lr: np.ndarray


def _to_uint8_rgb(path: Path) -> np.ndarray:
    photo = load_image(path)
    rgb = photo.rgb_pixels()
    return np.clip(np.rint(rgb * 255.0), 0, 255).astype(np.uint8)


def make_pair(hr: np.ndarray, scale: int) -> Pair:
    """Crops ``hr`` to a multiple of ``scale`` and makes its bicubic-downscaled input."""
    h, w = (hr.shape[0] // scale) * scale, (hr.shape[1] // scale) * scale
    hr = np.ascontiguousarray(hr[:h, :w])
    lr = np.asarray(Image.fromarray(hr).resize((w // scale, h // scale), Image.Resampling.BICUBIC))
    return Pair(hr=hr, lr=lr)


def load_pairs(folders: list[Path], scale: int, min_size: int) -> list[Pair]:
    """Loads every readable image under ``folders`` whose sides are at least ``min_size`` pixels.

    Unreadable files are skipped with a warning.

    Raises:
        ValueError: No usable image was found.
    """
    pairs = []
    for folder in folders:
        for path in find_images(folder, recursive=True):
            try:
                hr = _to_uint8_rgb(path)
            except ImageReadError as exc:
                log.warning("skipping %s: %s", path, exc)
                continue
            if min(hr.shape[:2]) >= min_size:
                pairs.append(make_pair(hr, scale))
    if not pairs:
        raise ValueError(f"no usable images of at least {min_size} px in {', '.join(map(str, folders))}")
    return pairs


class PatchSampler:
    """Draws batches of aligned (LR, HR) patches with random flips and rotations, from a seeded generator."""

    def __init__(self, pairs: list[Pair], scale: int, lr_patch: int, seed: int) -> None:
        self.pairs = pairs
        self.scale = scale
        self.lr_patch = lr_patch
        self.rng = np.random.default_rng(seed)
        sizes = np.array([p.lr.shape[0] * p.lr.shape[1] for p in pairs], dtype=np.float64)
        self.weights = sizes / sizes.sum()  # big photos hold more distinct patches

    def batch(self, size: int) -> tuple[torch.Tensor, torch.Tensor]:
        s, p = self.scale, self.lr_patch
        lrs = np.empty((size, p, p, 3), np.uint8)
        hrs = np.empty((size, p * s, p * s, 3), np.uint8)
        for i, k in enumerate(self.rng.choice(len(self.pairs), size=size, p=self.weights)):
            pair = self.pairs[k]
            y = int(self.rng.integers(0, pair.lr.shape[0] - p + 1))
            x = int(self.rng.integers(0, pair.lr.shape[1] - p + 1))
            lr = pair.lr[y : y + p, x : x + p]
            hr = pair.hr[y * s : (y + p) * s, x * s : (x + p) * s]
            rot, flip = int(self.rng.integers(0, 4)), bool(self.rng.integers(0, 2))
            lr, hr = np.rot90(lr, rot), np.rot90(hr, rot)
            if flip:
                lr, hr = lr[:, ::-1], hr[:, ::-1]
            lrs[i], hrs[i] = lr, hr
        to_t = lambda a: torch.from_numpy(a).permute(0, 3, 1, 2).float().div_(255.0)  # noqa: E731
        return to_t(lrs), to_t(hrs)
