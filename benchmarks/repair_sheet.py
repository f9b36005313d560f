"""Before/after sheets of old-photo repair at 100 %: the scan, the damage photogan finds (red), the repair
(detect → inpaint), and ``--task repair`` as the CLI runs it (detect → inpaint → restore).

Usage::

    python benchmarks/repair_sheet.py ../shared/data/real/OldPhotos/old_w_scratch/*.png \
        -o docs/grids/repair-scratched.jpg
    python benchmarks/repair_sheet.py ../shared/data/real/OldPhotos/old/*.png --crop 420 -o docs/grids/repair-old.jpg

Each row is one scan at 100 % (one photo pixel per sheet pixel); a scan larger than ``--crop`` is cut to the
``--crop`` square where the detector found the most damage.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from photogan.app.chain import detect_damage
from photogan.app.models import ModelService
from photogan.core.image import Photo, to_uint
from photogan.core.load import load_image
from photogan.core.tiling import TileOptions
from photogan.inference.enhancer import enhance

LABEL = 18
TILE = TileOptions(tile_size=512)


def _densest(mask: np.ndarray, crop: int) -> tuple[int, int]:
    """Top-left corner of the ``crop`` square holding the most damage."""
    h, w = mask.shape
    if h <= crop and w <= crop:
        return 0, 0
    sums = mask.astype(np.float64).cumsum(0).cumsum(1)
    sums = np.pad(sums, ((1, 0), (1, 0)))
    ch, cw = min(crop, h), min(crop, w)
    box = sums[ch:, cw:] - sums[:-ch, cw:] - sums[ch:, :-cw] + sums[:-ch, :-cw]
    y, x = np.unravel_index(int(box.argmax()), box.shape)
    return int(y), int(x)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("photos", nargs="+", type=Path)
    parser.add_argument("--crop", type=int, default=520)
    parser.add_argument("--detect", default="repair-detect")
    parser.add_argument("--inpaint", default="inpaint")
    parser.add_argument("--restore", default="restore")
    parser.add_argument("-o", "--output", type=Path, required=True)
    args = parser.parse_args()
    service = ModelService()
    detect, inpaint, restore = (
        service.open(service.resolve(None, None, m), "cpu") for m in (args.detect, args.inpaint, args.restore)
    )
    rows = []
    for path in args.photos:
        photo = load_image(path)
        photo = Photo(photo.rgb_pixels(), bit_depth=8)
        mask = detect_damage(photo, detect, TILE)
        repaired = enhance(photo, inpaint, TILE, mask=mask)
        restored = enhance(repaired, restore, TILE)
        shown = to_uint(photo.pixels, 8)
        overlay = shown.copy()
        overlay[mask] = (0.35 * overlay[mask] + 0.65 * np.array([255, 30, 30])).astype(np.uint8)
        y, x = _densest(mask, args.crop)
        cut = (slice(y, y + args.crop), slice(x, x + args.crop))
        panels = [shown[cut], overlay[cut], to_uint(repaired.pixels, 8)[cut], to_uint(restored.pixels, 8)[cut]]
        names = [path.name, f"damage found ({100 * mask.mean():.1f} %)", "repair (detect → inpaint)", "+ restore"]
        h, w = panels[0].shape[:2]
        row = Image.new("RGB", (4 * w + 12, h + LABEL), "white")
        draw = ImageDraw.Draw(row)
        for k, (panel, name) in enumerate(zip(panels, names, strict=True)):
            row.paste(Image.fromarray(panel), (k * (w + 4), LABEL))
            draw.text((k * (w + 4) + 4, 3), name, fill="black")
        rows.append(row)
    sheet = Image.new("RGB", (max(r.width for r in rows), sum(r.height + 6 for r in rows)), "white")
    top = 0
    for row in rows:
        sheet.paste(row, (0, top))
        top += row.height + 6
    args.output.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(args.output, quality=92)
    print(args.output)


if __name__ == "__main__":
    main()
