"""A sample sheet of a ``generate`` model, through photogan's inference path (what ``photogan generate`` saves).

Usage::

    python benchmarks/samples.py textures -n 16 --columns 8 --mosaics 4 -o docs/grids/textures-samples.jpg

The top rows are seeds 0 … n-1 at their own size; for a tileable model, the last row shows the first
``--mosaics`` samples each repeated 2×2 (a seam would show as a cross through the middle of each).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from PIL import Image, ImageDraw

from photogan.app.generate import generate, is_tileable, noise, tile
from photogan.app.models import ModelService
from photogan.core.image import to_uint

LABEL_HEIGHT = 18
GAP = 4


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", help="a generate model's id or .onnx path")
    parser.add_argument("-n", "--count", type=int, default=16)
    parser.add_argument("--columns", type=int, default=8)
    parser.add_argument("--mosaics", type=int, default=4, help="tileable models: how many 2×2 mosaics to show")
    parser.add_argument("--quality", type=int, default=90, help="JPEG quality of the sheet")
    parser.add_argument("-o", "--output", type=Path, required=True)
    args = parser.parse_args()
    service = ModelService()
    session = service.open(service.resolve("generate", None, args.model), "auto")
    photos = generate(session, noise(session, 0, args.count))
    size = photos[0].width
    rows = -(-args.count // args.columns)
    mosaics = photos[: args.mosaics] if is_tileable(session.info) else []
    width = args.columns * (size + GAP) - GAP
    height = LABEL_HEIGHT + rows * (size + GAP) + (LABEL_HEIGHT + 2 * size if mosaics else 0)
    sheet = Image.new("RGB", (max(width, len(mosaics) * (2 * size + GAP) - GAP), height), "white")
    draw = ImageDraw.Draw(sheet)
    draw.text((4, 3), f"{session.info.id}: seeds 0-{args.count - 1}", fill="black")
    for i, photo in enumerate(photos):
        row, column = divmod(i, args.columns)
        image = Image.fromarray(to_uint(photo.rgb_pixels(), 8))
        sheet.paste(image, (column * (size + GAP), LABEL_HEIGHT + row * (size + GAP)))
    if mosaics:
        top = LABEL_HEIGHT + rows * (size + GAP)
        draw.text((4, top + 3), "repeated 2×2 (seamless tiles)", fill="black")
        for i, photo in enumerate(mosaics):
            image = Image.fromarray(to_uint(tile(photo, 2).rgb_pixels(), 8))
            sheet.paste(image, (i * (2 * size + GAP), top + LABEL_HEIGHT))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(args.output, quality=args.quality)
    print(f"wrote {args.output} ({sheet.width}×{sheet.height})")


if __name__ == "__main__":
    main()
