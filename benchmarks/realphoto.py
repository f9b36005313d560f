"""Upscalers on realistically degraded photos: photogan's models beside bicubic and the anchor network, one run.

Usage::

    python benchmarks/realphoto.py ../shared/data/val/Set5 ../shared/data/val/Set14 ../shared/data/val/McMaster
    python benchmarks/realphoto.py FOLDER --models upscale-x4 upscale-x4-photo --cases moderate clean --limit 6
    python benchmarks/realphoto.py FOLDER --scale 2                  # the ×2 models (no anchor: it is a ×4 network)

Every held-out photo is degraded by this script's own recipes, seeded per photo and written independently of the
training pipeline (``training/degradations.py`` is never imported, so a model cannot have seen these exact
steps), then upscaled by each method through ``photogan.inference.enhancer.enhance`` (8-bit outputs); ``s`` is
the scale (4, or 2 with ``--scale 2``):

- ``moderate`` (the headline case): Gaussian blur σ s/4, bicubic ÷s, colour Gaussian noise σ 5, JPEG q75 4:2:0.
- ``phone``: area ÷s, luma noise σ 4 plus chroma noise σ 2, an unsharp mask (radius 1.5, 80 %), JPEG q60.
- ``web``: bicubic ÷2, JPEG q80, bilinear ÷(s/2), JPEG q50 (an image saved again after resizing).
- ``clean``: bicubic ÷s only (the paper protocol: a real-photo model must stay safe on clean sources).

Scores: PSNR-Y and SSIM-Y (BT.601, 4 px border) against the original, and BRISQUE (no reference; lower is better)
with OpenCV's LIVE model from ``../shared/anchors/brisque`` when ``cv2.quality`` is importable: install
``opencv-contrib-python-headless`` of the same version in place of ``opencv-python-headless`` in a benchmark
environment (it is a superset; photogan itself does not need it). BRISQUE rewards clean natural statistics and can
be fooled by fake fine texture: read it beside the full-reference scores. The anchor
(``../shared/anchors/realesr-general-x4v3.onnx``) runs through the same tiling path (``--no-anchor`` leaves it out).
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

import cv2
import numpy as np
import quality  # benchmarks/quality.py, beside this script
from anchor import DEFAULT_ANCHOR, open_anchor
from PIL import Image, ImageFilter

from photogan.app.models import ModelService
from photogan.core.formats import find_images
from photogan.core.image import to_uint
from photogan.core.load import load_image
from photogan.inference.session import ModelSession

CASES = ("moderate", "phone", "web", "clean")
DEFAULT_BRISQUE = DEFAULT_ANCHOR.parent / "brisque"


def _jpeg(rgb8: np.ndarray, q: int) -> np.ndarray:
    buffer = io.BytesIO()
    Image.fromarray(rgb8).save(buffer, "JPEG", quality=q, subsampling=2)
    return np.asarray(Image.open(buffer).convert("RGB"))


def _u8(x: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)


def degrade(hr8: np.ndarray, case: str, seed: int, scale: int = 4) -> np.ndarray:
    """The low-resolution input of ``case`` (÷``scale``, 2 or 4) for a clean uint8 RGB photo (sides multiples of
    ``scale``)."""
    rng = np.random.default_rng(seed)
    h, w = hr8.shape[0] // scale, hr8.shape[1] // scale
    image = Image.fromarray(hr8)
    if case == "clean":
        return np.asarray(image.resize((w, h), Image.Resampling.BICUBIC))
    if case == "moderate":
        blurred = cv2.GaussianBlur(hr8, (0, 0), scale / 4, borderType=cv2.BORDER_REFLECT)
        small = np.asarray(Image.fromarray(blurred).resize((w, h), Image.Resampling.BICUBIC), np.float64)
        return _jpeg(_u8(small + rng.normal(0, 5.0, small.shape)), 75)
    if case == "phone":
        small = np.asarray(image.resize((w, h), Image.Resampling.BOX), np.float64)
        luma = rng.normal(0, 4.0, (h, w, 1))
        chroma = rng.normal(0, 2.0, (h, w, 3))
        noisy = Image.fromarray(_u8(small + luma + chroma))
        return _jpeg(np.asarray(noisy.filter(ImageFilter.UnsharpMask(radius=1.5, percent=80, threshold=2))), 60)
    if case == "web":
        half = _jpeg(np.asarray(image.resize((hr8.shape[1] // 2, hr8.shape[0] // 2), Image.Resampling.BICUBIC)), 80)
        return _jpeg(np.asarray(Image.fromarray(half).resize((w, h), Image.Resampling.BILINEAR)), 50)
    raise ValueError(f"unknown case {case!r}: use {', '.join(CASES)}")


class Brisque:
    """OpenCV's BRISQUE with the LIVE model, or nothing (with one note) when ``cv2.quality`` is missing."""

    def __init__(self, folder: Path) -> None:
        self.model = folder / "brisque_model_live.yml"
        self.range = folder / "brisque_range_live.yml"
        self.available = hasattr(cv2, "quality") and self.model.exists() and self.range.exists()
        if not self.available:
            print(
                "note: no BRISQUE column (needs cv2.quality from opencv-contrib-python-headless and the LIVE model "
                f"files in {folder})",
                file=sys.stderr,
            )

    def __call__(self, rgb8: np.ndarray) -> float:
        bgr = np.ascontiguousarray(rgb8[..., ::-1])
        return float(cv2.quality.QualityBRISQUE_compute(bgr, str(self.model), str(self.range))[0])


def run(
    folders: list[Path],
    sessions: list[ModelSession],
    cases: list[str],
    brisque: Brisque,
    limit: int | None,
    scale: int = 4,
) -> quality.Table:
    columns = ("PSNR-Y dB", "SSIM-Y", "BRISQUE") if brisque.available else ("PSNR-Y dB", "SSIM-Y")
    table = quality.Table(columns)
    for folder in folders:
        paths = list(find_images(folder, recursive=True))[:limit]
        photos = [load_image(p) for p in paths]
        name = f"{folder.name} ({len(photos)})"
        for case in cases:
            for index, photo in enumerate(photos):
                h, w = photo.height // scale * scale, photo.width // scale * scale
                hr8 = to_uint(photo.rgb_pixels()[:h, :w], 8)
                lr8 = degrade(hr8, case, seed=1000 + index, scale=scale)
                bicubic = np.asarray(Image.fromarray(lr8).resize((w, h), Image.Resampling.BICUBIC))
                outputs = [("bicubic", bicubic)]
                outputs += [(s.info.id, quality.run_model(s, lr8)[0]) for s in sessions]
                for method, out in outputs:
                    values = quality.score(out, hr8, scale)
                    table.add(name, case, method, *values, *((brisque(out),) if brisque.available else ()))
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folders", nargs="+", type=Path)
    parser.add_argument("--models", nargs="+", help="model ids or .onnx paths (default: every upscaler of --scale)")
    parser.add_argument("--scale", type=int, choices=(2, 4), default=4)
    parser.add_argument("--cases", nargs="+", choices=CASES, default=list(CASES))
    parser.add_argument("--anchor", type=Path, default=DEFAULT_ANCHOR, help="the anchor network (.onnx)")
    parser.add_argument("--no-anchor", action="store_true", help="leave the anchor out")
    parser.add_argument("--brisque", type=Path, default=DEFAULT_BRISQUE, help="folder of the BRISQUE LIVE model")
    parser.add_argument("--limit", type=int, help="only the first N photos of each folder")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    service = ModelService()
    scale = args.scale
    ids = args.models or [e.info.id for e in service.list() if e.info.task == "upscale" and e.info.scale == scale]
    sessions = [service.open(service.resolve(None, None, m), args.device) for m in ids]
    if any(s.info.scale != scale for s in sessions):
        sys.exit(f"give ×{scale} models (or --scale to match them)")
    if not args.no_anchor and scale == 4:
        sessions.append(open_anchor(args.anchor, args.device))
    run(args.folders, sessions, args.cases, Brisque(args.brisque), args.limit, scale).print()


if __name__ == "__main__":
    main()
