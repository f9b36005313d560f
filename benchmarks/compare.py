"""Side-by-side crops for looking at upscalers: input (nearest), bicubic, and each model, through photogan.

Usage::

    python benchmarks/compare.py PHOTO [PHOTO ...] --models upscale-x4 --crop 96 -o docs/compare.png
    python benchmarks/compare.py ../shared/data/real/HistoricalBW/*.jpg --models upscale-x4 upscale-x4-photo \
        --anchor --crop 80 -o docs/grids/real-x4-anchor.png
    python benchmarks/compare.py ../shared/data/val/McMaster/*.tif --degrade moderate --anchor -o sheet.png
    python benchmarks/compare.py ../shared/data/real/OldPhotos/*/*.jpg --models restore restore+int8 -o int8.png

Each row is one photo; the crop (``--crop`` input pixels, centred, at ``--at X,Y``, or at the corner a photo names
itself as ``PHOTO@X,Y``) is shown enlarged to the
model's output size so every column has the same pixels on screen. With ``--downscale`` the crop is taken from
the photo at full size, bicubic-downscaled by the models' scale as the input, and the original is shown last
(the ground truth the models try to recover).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import modelspec  # benchmarks/modelspec.py, beside this script
import numpy as np
import realphoto  # benchmarks/realphoto.py, beside this script
from anchor import DEFAULT_ANCHOR, open_anchor
from PIL import Image, ImageDraw

from photogan.app.models import ModelService
from photogan.core.image import Photo, to_uint
from photogan.core.load import load_image
from photogan.core.tiling import TileOptions
from photogan.inference.enhancer import enhance

LABEL_HEIGHT = 18


def _crop_box(width: int, height: int, crop: int, at: tuple[int, int] | None) -> tuple[int, int, int, int]:
    x, y = at if at else ((width - crop) // 2, (height - crop) // 2)
    x, y = max(0, min(x, width - crop)), max(0, min(y, height - crop))
    return x, y, x + crop, y + crop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("photos", nargs="+", help="photo files; PHOTO@X,Y sets that photo's crop corner")
    parser.add_argument("--models", nargs="+", default=["upscale-x4"])
    parser.add_argument("--crop", type=int, default=96, help="crop side in input pixels")
    parser.add_argument("--at", help="top-left corner of the crop as X,Y (default: centre)")
    parser.add_argument("--downscale", action="store_true", help="input = the crop downscaled; show the original")
    parser.add_argument(
        "--degrade", choices=realphoto.CASES, help="input = the crop degraded by the models' scale; show the original"
    )
    parser.add_argument("--anchor", nargs="?", type=Path, const=DEFAULT_ANCHOR, help="add the anchor network")
    parser.add_argument("-o", "--output", type=Path, required=True)
    args = parser.parse_args()
    default_at = tuple(int(v) for v in args.at.split(",")) if args.at else None
    service = ModelService()
    sessions = [modelspec.open_model(service, m, "auto") for m in args.models]
    if args.anchor:
        sessions.append(open_anchor(args.anchor))
    scale = sessions[0].info.scale
    reference = args.downscale or bool(args.degrade)
    side = args.crop * scale
    enlarged = ["input (nearest)", "bicubic"] if scale > 1 else ["input"]  # a 1× model's input is shown once
    columns = [*enlarged, *map(modelspec.label, sessions)]
    if reference:
        columns.append("original")
    sheet = Image.new("RGB", (side * len(columns), (side + LABEL_HEIGHT) * len(args.photos)), "white")
    draw = ImageDraw.Draw(sheet)
    for row, spec in enumerate(args.photos):
        name, _, corner = spec.partition("@")
        path = Path(name)
        at = tuple(int(v) for v in corner.split(",")) if corner else default_at
        photo = load_image(path)
        if reference:
            box = _crop_box(photo.width, photo.height, side, at)  # type: ignore[arg-type]
            original = Image.fromarray(to_uint(photo.rgb_pixels()[box[1] : box[3], box[0] : box[2]], 8))
            if args.degrade:
                small = Image.fromarray(realphoto.degrade(np.asarray(original), args.degrade, 1000 + row, scale))
            else:
                small = original.resize((args.crop, args.crop), Image.Resampling.BICUBIC)
            crop = Photo(np.asarray(small, dtype=np.float32) / 255.0)
        else:
            box = _crop_box(photo.width, photo.height, args.crop, at)  # type: ignore[arg-type]
            crop = photo.with_pixels(photo.pixels[box[1] : box[3], box[0] : box[2]].copy(), None)
            small = Image.fromarray(to_uint(crop.rgb_pixels(), 8))
        tiles = [small.resize((side, side), Image.Resampling.NEAREST)]
        if scale > 1:
            tiles.append(small.resize((side, side), Image.Resampling.BICUBIC))
        for session in sessions:
            out = enhance(crop, session, TileOptions(tile_size=0))
            tiles.append(Image.fromarray(to_uint(out.rgb_pixels(), 8)).resize((side, side), Image.Resampling.NEAREST))
        if reference:
            tiles.append(original)
        top = row * (side + LABEL_HEIGHT)
        for col, (tile, label) in enumerate(zip(tiles, columns, strict=True)):
            sheet.paste(tile, (col * side, top + LABEL_HEIGHT))
            draw.text((col * side + 4, top + 3), f"{label}  ({path.name})" if col == 0 else label, fill="black")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(args.output, quality=95)  # a JPEG sheet must not add blocks of its own
    print(f"wrote {args.output} ({sheet.width}×{sheet.height})")


if __name__ == "__main__":
    main()
