"""Before/after grids of whole photos through models or chains of models, through photogan's inference path.

Usage::

    python benchmarks/grid.py ../shared/data/real/OldPhotos --chain restore --chain restore,colorize,upscale-x4 \\
        --height 320 -o docs/grids/oldphotos.jpg

Each row is one photo: the original, then each chain's result, all shown at the same height (a ×4 result is
reduced for the sheet; look at crops with ``compare.py`` for detail). ``--damage noise25|jpeg20|gray`` damages
the photo first (the damaged photo is the first column, the clean one the last).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import quality  # benchmarks/quality.py, beside this script
from PIL import Image, ImageDraw

from photogan.app.chain import enhance_chain
from photogan.app.models import ModelService
from photogan.core.formats import find_images
from photogan.core.image import Photo, to_uint
from photogan.core.load import load_image
from photogan.core.tiling import TileOptions

LABEL_HEIGHT = 18


def damage(rgb8: np.ndarray, kind: str | None, seed: int) -> np.ndarray:
    """The damage of ``--damage``: the restore benchmark's own cases (same seeds), or the luminance."""
    if kind == "gray":
        return np.asarray(Image.fromarray(rgb8).convert("L").convert("RGB"))
    return quality.damage(rgb8, {"noise25": "noise σ25", "jpeg20": "JPEG q20"}.get(kind or "", "clean"), seed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("inputs", nargs="+", type=Path, help="photos or folders")
    parser.add_argument("--chain", action="append", required=True, help="model ids joined by commas (repeatable)")
    parser.add_argument("--damage", choices=("noise25", "jpeg20", "gray"))
    parser.add_argument("--height", type=int, default=256, help="row height on the sheet")
    parser.add_argument("--limit", type=int, help="at most this many photos")
    parser.add_argument("--quality", type=int, default=88, help="JPEG quality of the sheet")
    parser.add_argument("-o", "--output", type=Path, required=True)
    args = parser.parse_args()
    service = ModelService()
    chains = [[service.open(service.resolve(None, None, m), "auto") for m in c.split(",")] for c in args.chain]
    paths = [p for i in args.inputs for p in (sorted(find_images(i, True)) if i.is_dir() else [i])][: args.limit]
    labels = ["damaged" if args.damage else "original", *(" -> ".join(c.split(",")) for c in args.chain)]
    if args.damage:
        labels.append("original")
    rows: list[list[Image.Image]] = []
    for seed, path in enumerate(paths):
        clean8 = to_uint(load_image(path).rgb_pixels(), 8)
        shown = damage(clean8, args.damage, seed)
        tiles = [Image.fromarray(shown)]
        for chain in chains:
            out = enhance_chain(Photo(shown.astype(np.float32) / 255.0), chain, TileOptions(tile_size=512))
            tiles.append(Image.fromarray(to_uint(out.rgb_pixels(), 8)))
        if args.damage:
            tiles.append(Image.fromarray(clean8))
        width = round(args.height * clean8.shape[1] / clean8.shape[0])
        rows.append([t.resize((width, args.height), Image.Resampling.LANCZOS) for t in tiles])
        print(f"  {path.name}", file=sys.stderr)
    sheet_width = max(sum(t.width for t in row) for row in rows)
    sheet = Image.new("RGB", (sheet_width, len(rows) * (args.height + LABEL_HEIGHT)), "white")
    draw = ImageDraw.Draw(sheet)
    for r, (row, path) in enumerate(zip(rows, paths, strict=True)):
        x, top = 0, r * (args.height + LABEL_HEIGHT)
        for c, (tile, label) in enumerate(zip(row, labels, strict=True)):
            sheet.paste(tile, (x, top + LABEL_HEIGHT))
            draw.text((x + 4, top + 3), f"{label}  ({path.name})" if c == 0 else label, fill="black")
            x += tile.width
    args.output.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(args.output, quality=args.quality)
    print(f"wrote {args.output} ({sheet.width}×{sheet.height})")


if __name__ == "__main__":
    main()
