"""Upscaling quality through photogan's own inference path, with bicubic in the same run.

Usage::

    python benchmarks/quality.py ../shared/data/val/Set5 ../shared/data/val/Set14 [--models upscale-x4 upscale-x2]

Paper protocol: each clean photo is cropped to a multiple of the scale and downscaled with Pillow's bicubic
filter; the model's output (run by ``photogan.inference.enhancer.enhance``, ONNX, not torch) is scored against
the original with PSNR and SSIM on the BT.601 Y channel, ``scale`` pixels of border excluded, after rounding to
8 bits as a saved file would be.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image

from photogan.app.models import ModelService
from photogan.core.formats import find_images
from photogan.core.image import Photo, to_uint
from photogan.core.load import load_image
from photogan.core.tiling import TileOptions
from photogan.inference.enhancer import enhance


def y_channel(rgb8: np.ndarray) -> np.ndarray:
    """BT.601 luma in [16, 235] from uint8 RGB (or H×W×1 gray), as float64."""
    rgb = rgb8.astype(np.float64)
    if rgb.shape[2] == 1:
        rgb = np.repeat(rgb, 3, axis=2)
    return rgb @ (np.array([65.481, 128.553, 24.966]) / 255.0) + 16.0


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a - b) ** 2))
    return 10.0 * np.log10(255.0**2 / max(mse, 1e-10))


def _gaussian_filter(x: np.ndarray, sigma: float = 1.5, radius: int = 5) -> np.ndarray:
    t = np.arange(-radius, radius + 1)
    k = np.exp(-(t**2) / (2 * sigma**2))
    k /= k.sum()
    rows = np.apply_along_axis(lambda r: np.convolve(r, k, mode="valid"), 1, x)
    return np.apply_along_axis(lambda c: np.convolve(c, k, mode="valid"), 0, rows)


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """SSIM (Wang et al. 2004: 11×11 Gaussian window, σ = 1.5) of two 8-bit-range images."""
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    mu_a, mu_b = _gaussian_filter(a), _gaussian_filter(b)
    var_a = _gaussian_filter(a * a) - mu_a**2
    var_b = _gaussian_filter(b * b) - mu_b**2
    cov = _gaussian_filter(a * b) - mu_a * mu_b
    score = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))
    return float(score.mean())


def score(sr8: np.ndarray, hr8: np.ndarray, border: int) -> tuple[float, float]:
    ys, yh = y_channel(sr8), y_channel(hr8)
    if border:
        ys, yh = ys[border:-border, border:-border], yh[border:-border, border:-border]
    return psnr(ys, yh), ssim(ys, yh)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folders", nargs="+", type=Path)
    parser.add_argument("--models", nargs="+", help="model ids or .onnx paths (default: every upscale model)")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    service = ModelService()
    ids = args.models or [e.info.id for e in service.list() if e.info.task == "upscale"]
    sessions = [service.open(service.resolve(None, None, m), args.device) for m in ids]
    print("| data | scale | method | PSNR-Y dB | SSIM-Y |")
    print("|---|---|---|---|---|")
    for folder in args.folders:
        photos = [load_image(p) for p in find_images(folder, recursive=True)]
        for scale in sorted({s.info.scale for s in sessions}):
            results: dict[str, list[tuple[float, float]]] = {"bicubic": []}
            for photo in photos:
                h, w = photo.height // scale * scale, photo.width // scale * scale
                hr8 = to_uint(photo.pixels[:h, :w], 8)
                lr_image = Image.fromarray(hr8[..., 0] if photo.grayscale else hr8)
                lr_image = lr_image.resize((w // scale, h // scale), Image.Resampling.BICUBIC)
                bicubic = np.asarray(lr_image.resize((w, h), Image.Resampling.BICUBIC))
                results["bicubic"].append(score(bicubic.reshape(h, w, -1), hr8, scale))
                lr = np.asarray(lr_image, dtype=np.float32).reshape(h // scale, w // scale, -1) / 255.0
                for session in (s for s in sessions if s.info.scale == scale):
                    out = enhance(Photo(lr), session, TileOptions(tile_size=0))
                    results.setdefault(session.info.id, []).append(score(to_uint(out.pixels, 8), hr8, scale))
            for method, values in results.items():
                p, s = np.mean(values, axis=0)
                print(f"| {folder.name} ({len(photos)}) | ×{scale} | {method} | {p:.2f} | {s:.4f} |")


if __name__ == "__main__":
    main()
