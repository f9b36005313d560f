"""Old-photo repair through photogan's own inference path, with OpenCV's Telea fill in the same table.

Usage::

    python benchmarks/repair.py ../shared/data/val/McMaster ../shared/data/val/Set14 [--limit 6]
        [--inpaint ID] [--detect ID] [--restore ID]

Every photo (whole, RGB) gets damage drawn by this script's own recipe, which is not the training one
(``training/damage.py``): three bright curved scratches 1–4 px wide, one dark branching crack, 40 dust specks,
two missing blobs (paper-white ellipses of 3–7 % of the shorter side) and a torn corner, seeded per photo. The
true damage mask is known. Rows:

- *damaged*: the input as it is;
- *Telea, true mask* / *inpaint, true mask*: the given-mask case (``--task inpaint``); PSNR inside the mask is the
  number that matters (the rest of the photo is unchanged by construction);
- *Telea, found mask* / *repair*: no mask given: photogan's detector finds the damage, then Telea or the inpainter
  fills it; *repair + restore* is ``--task repair`` as the CLI runs it (detect → inpaint → restore);
- *restore*: the restore model alone (what photogan offered for scratches before).

Also per method: whole-photo PSNR on RGB, and for the detector the recall (share of true damage found) and the
*false* rate (share of undamaged pixels taken for damage) on the damaged photos and on the clean photos
themselves (real detail such as eyelashes, text or wires must not be eaten). Seconds per megapixel of the whole
step are printed.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import cv2
import numpy as np

from photogan.app.chain import detect_damage, enhance_chain
from photogan.app.models import ModelService
from photogan.core.formats import find_images
from photogan.core.image import Photo, to_uint
from photogan.core.load import load_image
from photogan.core.tiling import TileOptions
from photogan.inference.enhancer import classical_fill, enhance
from photogan.inference.session import ModelSession

TILE = TileOptions(tile_size=512)


def _curve(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """A smooth quadratic Bézier across the photo."""
    p0, p1, p2 = rng.uniform((0, 0), (w, h), (3, 2))
    t = np.linspace(0, 1, 64)[:, None]
    return ((1 - t) ** 2 * p0 + 2 * (1 - t) * t * p1 + t**2 * p2).astype(np.int32)


def held_out_damage(clean8: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(damaged uint8 RGB, true mask) with this benchmark's own recipe (see the module docstring)."""
    rng = np.random.default_rng(1000 + seed)
    h, w = clean8.shape[:2]
    light = np.zeros((h, w), np.uint8)
    dark = np.zeros((h, w), np.uint8)
    for _ in range(3):
        cv2.polylines(light, [_curve(rng, h, w)], False, 255, int(rng.integers(1, 5)))
    point, angle = rng.uniform((0, 0), (w, h)), rng.uniform(0, 2 * np.pi)
    branches = [(point, angle)]
    for _ in range(5):
        point, angle = branches[int(rng.integers(0, len(branches)))]
        pts = [point]
        for _ in range(12):
            angle += rng.normal(0, 0.6)
            pts.append(pts[-1] + 0.015 * max(h, w) * np.array([np.cos(angle), np.sin(angle)]))
        cv2.polylines(dark, [np.array(pts, np.int32)], False, 255, 1)
        branches.append((pts[-1], angle + 0.8))
    for _ in range(40):
        cv2.circle(
            light if rng.random() < 0.6 else dark,
            tuple(int(v) for v in rng.uniform((0, 0), (w, h))),
            int(rng.integers(1, 4)),
            255,
            -1,
        )
    side = min(h, w)
    for _ in range(2):
        axes = tuple(int(side * rng.uniform(0.03, 0.07)) for _ in range(2))
        centre = tuple(int(v) for v in rng.uniform((0.1 * w, 0.1 * h), (0.9 * w, 0.9 * h)))
        cv2.ellipse(light, centre, axes, float(rng.uniform(0, 180)), 0, 360, 255, -1)
    corner = int(side * rng.uniform(0.08, 0.15))
    cv2.fillPoly(light, [np.array([(w - corner, h), (w, h - corner), (w, h)], np.int32)], 255)
    out = clean8.astype(np.float32)
    paper = np.array([242, 238, 226], np.float32)
    soft_light = cv2.GaussianBlur(light.astype(np.float32) / 255, (0, 0), 0.7)[..., None]
    soft_dark = cv2.GaussianBlur(dark.astype(np.float32) / 255, (0, 0), 0.7)[..., None]
    out = out * (1 - soft_light) + paper * soft_light
    out = out * (1 - soft_dark) + 30.0 * soft_dark
    mask = cv2.dilate(((soft_light[..., 0] > 0.05) | (soft_dark[..., 0] > 0.05)).astype(np.uint8), np.ones((3, 3)))
    return np.clip(np.rint(out), 0, 255).astype(np.uint8), mask.astype(bool)


def _sheet_row(images: list[np.ndarray], mask: np.ndarray, crop: int) -> np.ndarray:
    """The ``crop`` square holding the most damage, cut from each image, side by side with 4 px gaps."""
    h, w = mask.shape
    c = min(crop, h, w)
    sums = np.pad(mask.astype(np.float64).cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    box = sums[c:, c:] - sums[:-c, c:] - sums[c:, :-c] + sums[:-c, :-c]
    y, x = np.unravel_index(int(box.argmax()), box.shape)
    gap = np.full((c, 4, 3), 255, np.uint8)
    parts = []
    for image in images:
        parts += [image[y : y + c, x : x + c], gap]
    return np.concatenate(parts[:-1], axis=1)


def psnr(a: np.ndarray, b: np.ndarray, where: np.ndarray | None = None) -> float:
    diff = (a.astype(np.float64) - b.astype(np.float64)) ** 2
    mse = float(diff[where].mean()) if where is not None else float(diff.mean())
    return 10 * np.log10(255.0**2 / max(mse, 1e-10))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folders", nargs="+", type=Path)
    parser.add_argument("--inpaint", default="inpaint")
    parser.add_argument("--detect", default="repair-detect")
    parser.add_argument("--restore", default="restore")
    parser.add_argument("--limit", type=int)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--sheet", type=Path, help="also save 100 %% crops (around each photo's worst damage)")
    parser.add_argument("--crop", type=int, default=160, help="side of the sheet's crops (default 160)")
    args = parser.parse_args()
    sheet_rows: list[np.ndarray] = []
    service = ModelService()

    def session(model_id: str) -> ModelSession:
        return service.open(service.resolve(None, None, model_id), args.device)

    inpaint, detect, restore = session(args.inpaint), session(args.detect), session(args.restore)
    methods = (
        "damaged",
        "restore",
        "Telea, true mask",
        "inpaint, true mask",
        "Telea, found mask",
        "repair",
        "repair + restore",
    )
    print("| data | method | PSNR in mask | PSNR whole | s/MP |")
    print("|---|---|---|---|---|")
    for folder in args.folders:
        paths = list(find_images(folder, recursive=True))[: args.limit]
        scores: dict[str, list[tuple[float, float, float]]] = {m: [] for m in methods}
        found_stats, clean_false = [], []
        for seed, path in enumerate(paths):
            clean8 = to_uint(load_image(path).rgb_pixels(), 8)
            damaged8, mask = held_out_damage(clean8, seed)
            photo = Photo(damaged8.astype(np.float32) / 255.0)
            mp = clean8.shape[0] * clean8.shape[1] / 1e6
            outputs: dict[str, tuple[np.ndarray, float]] = {"damaged": (damaged8, 0.0)}

            def timed(name: str, run, outputs=outputs, mp=mp) -> None:  # type: ignore[no-untyped-def]
                start = time.perf_counter()
                result = run()
                outputs[name] = (to_uint(result, 8), (time.perf_counter() - start) / mp)

            timed("restore", lambda photo=photo: enhance(photo, restore, TILE).pixels)
            timed("Telea, true mask", lambda photo=photo, mask=mask: classical_fill(photo.pixels, mask))
            timed("inpaint, true mask", lambda photo=photo, mask=mask: enhance(photo, inpaint, TILE, mask=mask).pixels)
            start = time.perf_counter()
            found = detect_damage(photo, detect, TILE)
            detect_s = (time.perf_counter() - start) / mp
            timed("Telea, found mask", lambda photo=photo, found=found: classical_fill(photo.pixels, found))
            timed("repair", lambda photo=photo, found=found: enhance(photo, inpaint, TILE, mask=found).pixels)
            timed("repair + restore", lambda photo=photo: enhance_chain(photo, [detect, inpaint, restore], TILE).pixels)
            for name in ("Telea, found mask", "repair"):
                outputs[name] = (outputs[name][0], outputs[name][1] + detect_s)
            for name, (out8, seconds) in outputs.items():
                scores[name].append((psnr(out8, clean8, mask), psnr(out8, clean8), seconds))
            found_stats.append((float(found[mask].mean()), float(found[~mask].mean())))
            if args.sheet is not None and len(sheet_rows) < 8:
                shown = ("damaged", "Telea, true mask", "inpaint, true mask", "repair", "repair + restore")
                sheet_rows.append(_sheet_row([outputs[n][0] for n in shown] + [clean8], mask, args.crop))
            clean_false.append(float(detect_damage(Photo(clean8.astype(np.float32) / 255), detect, TILE).mean()))
        for name in methods:
            inside, whole, seconds = np.mean(scores[name], axis=0)
            print(f"| {folder.name} | {name} | {inside:.2f} | {whole:.2f} | {seconds:.2f} |")
        recall, false = np.mean(found_stats, axis=0)
        print(
            f"| {folder.name} | detector | recall {recall:.3f} | false {false:.4f} on damaged, "
            f"{np.mean(clean_false):.4f} on clean photos | |"
        )

    if args.sheet is not None and sheet_rows:
        from PIL import Image, ImageDraw

        width = max(r.shape[1] for r in sheet_rows)
        label = 16
        rows = [np.pad(r, ((0, 6), (0, width - r.shape[1]), (0, 0)), constant_values=255) for r in sheet_rows]
        image = Image.fromarray(np.concatenate([np.full((label, width, 3), 255, np.uint8), *rows]))
        names = ("damaged", "Telea (true mask)", "inpaint (true mask)", "repair (found)", "+ restore", "original")
        step = (sheet_rows[0].shape[1] + 4) // 6
        for k, name in enumerate(names):
            ImageDraw.Draw(image).text((k * step + 3, 2), name, fill="black")
        args.sheet.parent.mkdir(parents=True, exist_ok=True)
        image.save(args.sheet, quality=92)
        print(f"sheet: {args.sheet}")


if __name__ == "__main__":
    main()
