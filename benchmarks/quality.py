"""Quality of the bundled models through photogan's own inference path, with the baselines in the same run.

Usage::

    python benchmarks/quality.py ../shared/data/val/Set5 ../shared/data/val/Set14            # upscale models
    python benchmarks/quality.py ../shared/data/val/McMaster --task restore [--cbm3d] [--limit 6]
    python benchmarks/quality.py ../shared/data/val/McMaster ../shared/data/val/Set5 --task colorize
    python benchmarks/quality.py ../shared/data/val/McMaster --task generate

Every model runs through ``photogan.inference.enhancer.enhance`` (ONNX, not torch); outputs are rounded to 8
bits as a saved file would be.

- ``upscale`` (paper protocol): each photo is cropped to a multiple of the scale and downscaled with Pillow's
  bicubic filter; PSNR/SSIM on the BT.601 Y channel with ``scale`` pixels of border excluded, bicubic upscaling
  as the baseline. *Sharpness* is the mean gradient magnitude of the output over the original's (1.00: as
  crisp as the real photo; bicubic is far below).
- ``restore``: Gaussian noise σ = 25 (seeded per photo, clipped 8-bit), JPEG quality 20, Gaussian blur σ = 1.2,
  and the clean photo itself (a restore model must not damage it); PSNR/SSIM on RGB against the clean photo, the
  untouched input as the baseline, and with ``--cbm3d`` CBM3D on the noisy photos (it needs ``pip install bm3d``,
  kept out of photogan's dependencies, and takes about half a minute per photo here). Seconds per megapixel
  are printed for every method.
- ``colorize``: the photo's BT.601 luminance as the input; PSNR/SSIM on RGB, the gray input as the baseline;
  *colourfulness ratio*: Hasler and Süsstrunk's M of the output over the true photo's (gray is 0, 1.00 is as
  colourful as the original), averaged over the colour photos (gray ones are left out); a model that takes
  colour hints also runs with 20 points of the true photo's colours at seeded places (``--hints N``); MP/s of
  the enhance call.
- ``generate``: 64 seeded samples per model; their mean pairwise distance (*diversity*: near 0 is mode
  collapse) beside that of 64 random crops of the same size from the folders' photos, and the *seam ratio*
  (the step across a tile's wrap-around edges over the step between neighbouring pixels: about 1 is seamless).
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import modelspec  # benchmarks/modelspec.py, beside this script
import numpy as np
from PIL import Image, ImageFilter

from photogan.app.models import ModelService
from photogan.core.formats import find_images
from photogan.core.hints import POINT_SIDE, Hint, square
from photogan.core.image import Photo, to_uint
from photogan.core.load import load_image
from photogan.core.tiling import TileOptions
from photogan.inference.enhancer import enhance
from photogan.inference.session import ModelSession


def y_channel(rgb8: np.ndarray) -> np.ndarray:
    """BT.601 luma in [16, 235] from uint8 RGB (or H×W×1 gray), as float64."""
    rgb = rgb8.astype(np.float64)
    if rgb.shape[2] == 1:
        rgb = np.repeat(rgb, 3, axis=2)
    return rgb @ (np.array([65.481, 128.553, 24.966]) / 255.0) + 16.0


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a - b) ** 2))
    return float("inf") if mse == 0 else 10.0 * np.log10(255.0**2 / mse)


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


def sharpness(out8: np.ndarray, ref8: np.ndarray, border: int) -> float:
    """Mean gradient magnitude of the output's Y over the reference's."""

    def energy(image: np.ndarray) -> float:
        y = y_channel(image)
        if border:
            y = y[border:-border, border:-border]
        return float(np.mean(np.hypot(np.diff(y, axis=0)[:, :-1], np.diff(y, axis=1)[:-1, :])))

    return energy(out8) / max(energy(ref8), 1e-9)


def rgb_score(out8: np.ndarray, ref8: np.ndarray) -> tuple[float, float]:
    """PSNR over all RGB samples; SSIM averaged over the three channels."""
    a, b = out8.astype(np.float64), ref8.astype(np.float64)
    return psnr(a, b), float(np.mean([ssim(a[..., c], b[..., c]) for c in range(3)]))


def run_model(session: ModelSession, pixels8: np.ndarray, hints: Sequence[Hint] = ()) -> tuple[np.ndarray, float]:
    """The model's 8-bit output and its seconds."""
    start = time.perf_counter()
    out = enhance(Photo(pixels8.astype(np.float32) / 255.0), session, TileOptions(tile_size=512), hints=hints)
    return to_uint(out.pixels, 8), time.perf_counter() - start


class Table:
    """Collects scores per (data, case, method) and prints a Markdown table."""

    def __init__(self, columns: tuple[str, ...]) -> None:
        self.columns = columns
        self.rows: dict[tuple[str, str, str], list[tuple[float, ...]]] = {}

    def add(self, data: str, case: str, method: str, *values: float) -> None:
        self.rows.setdefault((data, case, method), []).append(values)

    def print(self) -> None:
        print("| data | case | method | " + " | ".join(self.columns) + " |")
        print("|---|---|---|" + "---|" * len(self.columns))
        for (data, case, method), values in self.rows.items():
            means = np.mean(values, axis=0)
            cells = [
                f"{v:.4f}" if "SSIM" in c or c in ("sharpness", "diversity") else "-" if np.isnan(v) else f"{v:.2f}"
                for c, v in zip(self.columns, means, strict=True)
            ]
            print(f"| {data} | {case} | {method} | " + " | ".join(cells) + " |")


def upscale(folders: list[Path], sessions: list[ModelSession]) -> Table:
    table = Table(("PSNR-Y dB", "SSIM-Y", "sharpness"))
    for folder in folders:
        photos = [load_image(p) for p in find_images(folder, recursive=True)]
        name = f"{folder.name} ({len(photos)})"
        for scale in sorted({s.info.scale for s in sessions}):
            for photo in photos:
                h, w = photo.height // scale * scale, photo.width // scale * scale
                hr8 = to_uint(photo.pixels[:h, :w], 8)
                lr_image = Image.fromarray(hr8[..., 0] if photo.grayscale else hr8)
                lr_image = lr_image.resize((w // scale, h // scale), Image.Resampling.BICUBIC)
                bicubic = np.asarray(lr_image.resize((w, h), Image.Resampling.BICUBIC)).reshape(h, w, -1)
                table.add(name, f"×{scale}", "bicubic", *score(bicubic, hr8, scale), sharpness(bicubic, hr8, scale))
                lr = np.asarray(lr_image).reshape(h // scale, w // scale, -1)
                for session in (s for s in sessions if s.info.scale == scale):
                    out, _ = run_model(session, lr)
                    table.add(
                        name, f"×{scale}", modelspec.label(session), *score(out, hr8, scale), sharpness(out, hr8, scale)
                    )
    return table


def damage(clean8: np.ndarray, case: str, seed: int) -> np.ndarray:
    """``clean8`` with one of the restore cases applied (``clean`` or an unknown case: unchanged)."""
    if case == "noise σ25":
        noise = np.random.default_rng(seed).normal(0.0, 25.0, clean8.shape)
        return np.clip(np.rint(clean8 + noise), 0, 255).astype(np.uint8)
    if case == "JPEG q20":
        buffer = io.BytesIO()
        Image.fromarray(clean8).save(buffer, "JPEG", quality=20)
        return np.asarray(Image.open(buffer).convert("RGB"))
    if case == "blur σ1.2":
        return np.asarray(Image.fromarray(clean8).filter(ImageFilter.GaussianBlur(1.2)))
    return clean8


def restore(folders: list[Path], sessions: list[ModelSession], cbm3d: bool, limit: int | None) -> Table:
    table = Table(("PSNR dB", "SSIM", "s/MP"))
    bm3d = _import_bm3d() if cbm3d else None
    for folder in folders:
        paths = sorted(find_images(folder, recursive=True))[:limit]
        name = f"{folder.name} ({len(paths)})"
        for seed, path in enumerate(paths):
            clean8 = to_uint(load_image(path).rgb_pixels(), 8)
            megapixels = clean8.shape[0] * clean8.shape[1] / 1e6
            for case in ("noise σ25", "JPEG q20", "blur σ1.2", "clean"):
                damaged = damage(clean8, case, seed)
                table.add(name, case, "input (untouched)", *rgb_score(damaged, clean8), 0.0)
                for session in sessions:
                    out, seconds = run_model(session, damaged)
                    table.add(name, case, modelspec.label(session), *rgb_score(out, clean8), seconds / megapixels)
                if bm3d is not None and case == "noise σ25":
                    start = time.perf_counter()
                    denoised = bm3d.bm3d_rgb(damaged.astype(np.float64) / 255.0, 25.0 / 255.0)
                    seconds = time.perf_counter() - start
                    out = np.clip(np.rint(denoised * 255.0), 0, 255).astype(np.uint8)
                    table.add(name, case, "CBM3D (σ known)", *rgb_score(out, clean8), seconds / megapixels)
            print(f"  {path.name} done", file=sys.stderr)
    return table


def colourfulness(rgb8: np.ndarray) -> float:
    """Hasler and Süsstrunk's colourfulness M (2003): spread and mean of the opponent channels R-G and Y-B."""
    rgb = rgb8.astype(np.float64)
    rg = rgb[..., 0] - rgb[..., 1]
    yb = 0.5 * (rgb[..., 0] + rgb[..., 1]) - rgb[..., 2]
    return float(np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean()))


#: Below this colourfulness a photo counts as black and white (Set14 holds two gray images): it has no colour
#: to recover. Hasler and Süsstrunk rate M < 15 "slightly colourful", 0 "not colourful".
GRAY_COLOURFULNESS = 3.0


def true_hints(clean8: np.ndarray, count: int, seed: int) -> list[Hint]:
    """``count`` colour points at seeded places, each with the true photo's mean colour over the point's square
    (what a photographer who knows the colours would click)."""
    rng = np.random.default_rng(seed)
    height, width = clean8.shape[:2]
    hints = []
    for _ in range(count):
        y, x = int(rng.integers(0, height)), int(rng.integers(0, width))
        mean = clean8[square(y, x, POINT_SIDE, height, width)].reshape(-1, 3).mean(axis=0)
        red, green, blue = (int(v) for v in np.rint(mean))
        hints.append(Hint(x, y, (red, green, blue)))
    return hints


def colorize(folders: list[Path], sessions: list[ModelSession], hints: int = 20) -> Table:
    """Gray input, each model on its own and (for a model that takes them) with ``hints`` true colour points:
    RGB PSNR/SSIM, colourfulness over the true photo's (1.00: as colourful), megapixels per second."""
    table = Table(("PSNR dB", "SSIM", "colourfulness ratio", "MP/s"))
    for folder in folders:
        photos = [to_uint(load_image(p).rgb_pixels(), 8) for p in sorted(find_images(folder, recursive=True))]
        photos = [p for p in photos if colourfulness(p) >= GRAY_COLOURFULNESS]  # colour photos only
        name = f"{folder.name} ({len(photos)})"
        for number, clean8 in enumerate(photos):
            true_m = colourfulness(clean8)
            gray = np.asarray(Image.fromarray(clean8).convert("L").convert("RGB"))
            table.add(name, "from luminance", "gray input", *rgb_score(gray, clean8), 0.0, float("nan"))
            points = true_hints(clean8, hints, number)
            for session in sessions:
                cases = [("no hints", [])] + ([(f"{hints} hints", points)] if session.takes_hints and hints else [])
                for case, given in cases:
                    out, seconds = run_model(session, gray, given)
                    mps = clean8.shape[0] * clean8.shape[1] / 1e6 / seconds
                    table.add(
                        name, case, modelspec.label(session), *rgb_score(out, clean8), colourfulness(out) / true_m, mps
                    )
    return table


def pairwise_distance(images: np.ndarray) -> float:
    """Mean L2 distance between distinct images of an N×H×W×C stack in [0, 1], per pixel (the training
    module's diversity measure: low values mean mode collapse)."""
    flat = images.reshape(len(images), -1).astype(np.float64)
    squared = (flat**2).sum(1)
    dist = np.sqrt(np.maximum(squared[:, None] + squared[None, :] - 2.0 * flat @ flat.T, 0.0) / flat.shape[1])
    return float(dist.sum() / (len(images) * (len(images) - 1)))


def seam_ratio(tile: np.ndarray) -> float:
    """The mean step across a tile's wrap-around edges (the seams of a mosaic of it) over the mean step between
    neighbouring pixels inside it: about 1 for a seamless tile, well above for a photo crop."""
    t = tile.astype(np.float64)
    inside = (np.abs(np.diff(t, axis=0)).mean() + np.abs(np.diff(t, axis=1)).mean()) / 2.0
    seams = (np.abs(t[0] - t[-1]).mean() + np.abs(t[:, 0] - t[:, -1]).mean()) / 2.0
    return float(seams / max(inside, 1e-12))


def generate(folders: list[Path], sessions: list[ModelSession], count: int = 64) -> Table:
    from photogan.app.generate import generate as draw
    from photogan.app.generate import noise

    table = Table(("diversity", "seam ratio"))
    size = 0
    for session in sessions:
        samples = np.stack([p.pixels for p in draw(session, noise(session, 0, count))])
        size = size or samples.shape[1]
        ratio = float(np.mean([seam_ratio(s) for s in samples]))
        table.add("samples", f"{count} seeds", modelspec.label(session), pairwise_distance(samples), ratio)
    rng = np.random.default_rng(0)
    for folder in folders:
        photos = [to_uint(load_image(p).rgb_pixels(), 8) for p in sorted(find_images(folder, recursive=True))]
        photos = [p for p in photos if min(p.shape[:2]) >= size]
        if not photos:
            continue
        crops = []
        for _ in range(count):
            photo = photos[int(rng.integers(len(photos)))]
            y, x = (int(rng.integers(0, photo.shape[k] - size + 1)) for k in (0, 1))
            crops.append(photo[y : y + size, x : x + size].astype(np.float32) / 255.0)
        crops_array = np.stack(crops)
        ratio = float(np.mean([seam_ratio(c) for c in crops_array]))
        table.add(
            f"{folder.name} ({len(photos)})",
            f"{count} crops of {size} px",
            "real photos",
            pairwise_distance(crops_array),
            ratio,
        )
    return table


def _import_bm3d():  # type: ignore[no-untyped-def]
    try:
        import bm3d
    except ImportError:
        sys.exit("--cbm3d needs the bm3d package (not a photogan dependency): .venv/bin/pip install bm3d")
    return bm3d


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folders", nargs="+", type=Path)
    parser.add_argument("--task", choices=("upscale", "restore", "colorize", "generate"), default="upscale")
    parser.add_argument("--models", nargs="+", help="model ids or .onnx paths (default: every model of the task)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--cbm3d", action="store_true", help="restore: run CBM3D on the noisy photos too")
    parser.add_argument("--limit", type=int, help="restore: only the first N photos of each folder")
    parser.add_argument("--hints", type=int, default=20, help="colorize: colour points per photo (default 20)")
    args = parser.parse_args()
    service = ModelService()
    ids = args.models or [e.info.id for e in service.list() if e.info.task == args.task]
    if not ids:
        sys.exit(f"no {args.task} model is installed")
    sessions = [modelspec.open_model(service, m, args.device) for m in ids]
    if args.task == "upscale":
        table = upscale(args.folders, sessions)
    elif args.task == "restore":
        table = restore(args.folders, sessions, args.cbm3d, args.limit)
    elif args.task == "generate":
        table = generate(args.folders, sessions)
    else:
        table = colorize(args.folders, sessions, args.hints)
    table.print()


if __name__ == "__main__":
    main()
