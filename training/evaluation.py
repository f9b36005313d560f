"""Validation metrics (paper protocol) and sample grids."""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from training.losses import ssim

_Y_WEIGHTS = torch.tensor([65.481, 128.553, 24.966]) / 255.0


def quantize(x: torch.Tensor) -> torch.Tensor:
    """Rounds [0, 1] values to 8-bit levels (as a saved file would hold), kept in [0, 255] floats."""
    return torch.round(x.clamp(0, 1) * 255.0)


def y_channel(x255: torch.Tensor) -> torch.Tensor:
    """BT.601 luma (16-235) of N×3×H×W values in [0, 255]."""
    return torch.einsum("c,nchw->nhw", _Y_WEIGHTS.to(x255), x255)[:, None] + 16.0


def psnr_ssim(pred: torch.Tensor, target: torch.Tensor, border: int, on_y: bool = True) -> tuple[float, float]:
    """PSNR and SSIM of 8-bit-quantized images, on Y (paper protocol) or on RGB, ``border`` pixels excluded."""
    a, b = quantize(pred), quantize(target)
    if on_y:
        a, b = y_channel(a), y_channel(b)
    if border:
        a, b = a[..., border:-border, border:-border], b[..., border:-border, border:-border]
    mse = float(((a - b) ** 2).mean())
    value = 10.0 * math.log10(255.0**2 / max(mse, 1e-10))
    return value, float(ssim(a / 255.0, b / 255.0))


def baseline(inputs: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """What the model has to beat: the input itself, bicubically resized to the target size when smaller (the
    photo's three channels: a hint-taking colorizer's input holds hint planes after them)."""
    inputs = inputs[:, :3]
    if inputs.shape[-2:] == size:
        return inputs
    return F.interpolate(inputs, size=size, mode="bicubic", align_corners=False).clamp(0, 1)


def _to_image(x: torch.Tensor) -> np.ndarray:
    return quantize(x).to(torch.uint8).permute(1, 2, 0).cpu().numpy()


def save_pair_grid(rows: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]], path: Path, side: int = 160) -> None:
    """Rows of (input, output, target), each 3×H×W, centre-cropped to ``side`` target pixels."""
    tiles = []
    for inputs, output, target in rows:
        h, w = target.shape[-2:]
        s = min(side, h, w)
        y, x = (h - s) // 2, (w - s) // 2
        up = baseline(inputs[None], (h, w))[0]
        tiles.append(np.concatenate([_to_image(t[:, y : y + s, x : x + s]) for t in (up, output, target)], axis=1))
    width = max(t.shape[1] for t in tiles)
    grid = np.concatenate([np.pad(t, ((0, 0), (0, width - t.shape[1]), (0, 0))) for t in tiles], axis=0)
    Image.fromarray(grid).save(path)


def save_sample_grid(samples: torch.Tensor, path: Path, columns: int = 8) -> None:
    """A grid of N×3×H×W samples (the ``generate`` task's fixed-noise images)."""
    n, _, h, w = samples.shape
    rows = math.ceil(n / columns)
    grid = np.zeros((rows * h, columns * w, 3), np.uint8)
    for i in range(n):
        r, c = divmod(i, columns)
        grid[r * h : (r + 1) * h, c * w : (c + 1) * w] = _to_image(samples[i])
    Image.fromarray(grid).save(path)


def mean_pairwise_distance(samples: torch.Tensor) -> float:
    """Mean L2 distance between distinct samples, per pixel (low values mean mode collapse)."""
    flat = samples.flatten(1)
    dist = torch.cdist(flat, flat) / math.sqrt(flat.shape[1])
    n = flat.shape[0]
    return float(dist.sum() / (n * (n - 1))) if n > 1 else 0.0


Pairs = Iterable[tuple[torch.Tensor, torch.Tensor]]
Rows = list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]


@torch.no_grad()
def inpaint_scores(model: torch.nn.Module, pairs: Pairs) -> tuple[dict[str, float], Rows]:
    """PSNR inside the holes (8-bit RGB, all holes of all pairs pooled) of the model and of the Telea fill it
    starts from; inputs are N×4 (filled photo, mask). Also (fill, output, original) rows for a sample sheet."""
    errors = telea = hole = 0.0
    rows: Rows = []
    for inputs, target in pairs:
        output = model(inputs).float().clamp(0, 1)
        mask = inputs[:, 3:4]
        errors += float((((quantize(output) - quantize(target)) / 255) ** 2 * mask).sum())
        telea += float((((quantize(inputs[:, :3]) - quantize(target)) / 255) ** 2 * mask).sum())
        hole += 3 * float(mask.sum())
        rows.append((inputs[0, :3].cpu(), output[0].cpu(), target[0].cpu()))
    if not hole:
        return {}, rows
    return {
        "psnr": -10 * math.log10(max(errors, 1e-12) / hole),
        "input_psnr": -10 * math.log10(max(telea, 1e-12) / hole),
    }, rows


@torch.no_grad()
def detect_scores(model: torch.nn.Module, pairs: Pairs, threshold: float = 0.5) -> tuple[dict[str, float], Rows]:
    """F1 and IoU of the thresholded damage map against the true mask (inputs N×4: damaged photo, mask), and the
    share of undamaged pixels taken for damage (``false``). Also (photo, found, true) rows for a sample sheet."""
    hit = predicted = truth = false = clean = 0.0
    rows: Rows = []
    for inputs, _ in pairs:
        found = (model(inputs[:, :3]).float() > threshold).float()
        mask = inputs[:, 3:4]
        hit += float((found * mask).sum())
        predicted, truth = predicted + float(found.sum()), truth + float(mask.sum())
        false, clean = false + float((found * (1 - mask)).sum()), clean + float((1 - mask).sum())
        rows.append((inputs[0, :3].cpu(), found[0].expand(3, -1, -1).cpu(), mask[0].expand(3, -1, -1).cpu()))
    f1 = 2 * hit / max(1.0, predicted + truth)
    return {"f1": f1, "iou": hit / max(1.0, predicted + truth - hit), "false": false / max(1.0, clean)}, rows
