"""Before/after thumbnails for the model picker: each plain-language choice run on a small crop of a photo of the
kind it is for, through photogan's own path, written beside the bundled models (``resources/picker``).

Usage::

    python scripts/picker_thumbnails.py                    # every choice whose models are bundled
    python scripts/picker_thumbnails.py --data ../shared/data --out resources/picker

Each thumbnail is 192×96: on the left the photo as it comes in (shown at the output's scale, nearest neighbour, so
the pixels of a small photo are seen as they are), on the right the result, the same 96 px region at 100 %.
The photos (validation and genuine old photos, never training photos):

- camera, phone or web photo: a McMaster crop at 1/4 (1/2) size, JPEG quality 70 (a phone's or a web photo);
- clean source: the same crop at 1/4 (1/2) size, no JPEG;
- old print: a genuine old scan (``real/OldPhotos``); black-and-white, and every chain that colorizes: a
  historical photo (``real/HistoricalBW``).
"""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import numpy as np
from PIL import Image

from photogan.app.chain import enhance_chain
from photogan.app.models import JOBS, PLAIN, ModelService, thumbnail_name
from photogan.core.errors import PhotoganError
from photogan.core.image import Photo, from_uint, to_uint
from photogan.core.load import load_image

HERE = Path(__file__).resolve().parent.parent
SIDE = 96
# (photo below the data folder, the centre of the 96 px region in the photo's pixels): chosen for detail
SOURCES = {
    JOBS[0]: ("val/McMaster/1.tif", (250, 250)),
    JOBS[1]: ("val/McMaster/1.tif", (250, 250)),
    JOBS[2]: ("real/OldPhotos/old/a.png", (175, 215)),
    JOBS[3]: ("real/HistoricalBW/1870Girl.jpg", (320, 262)),
}


def _photo(pixels: np.ndarray) -> Photo:
    return Photo(from_uint(pixels, 255.0))


def _input_for(job: str, scale: int, data: Path) -> tuple[np.ndarray, tuple[int, int]]:
    """The photo the choice gets (8-bit RGB) and the centre of the region to show, in its pixels."""
    name, (cx, cy) = SOURCES[job]
    rgb = to_uint(load_image(data / name).rgb_pixels(), 8)
    if job in (JOBS[0], JOBS[1]) and scale > 1:
        im = Image.fromarray(rgb)
        small = im.resize((im.width // scale, im.height // scale), Image.Resampling.BICUBIC)
        if job == JOBS[0]:
            buffer = io.BytesIO()
            small.save(buffer, format="JPEG", quality=70)
            small = Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")
        return np.asarray(small), (cx // scale, cy // scale)
    return rgb, (cx, cy)


def _region(rgb: np.ndarray, cx: int, cy: int, side: int) -> np.ndarray:
    h, w = rgb.shape[:2]
    x0, y0 = max(0, min(cx - side // 2, w - side)), max(0, min(cy - side // 2, h - side))
    return rgb[y0 : y0 + side, x0 : x0 + side]


def thumbnail(service: ModelService, chain: tuple[str, ...], job: str, data: Path) -> Image.Image:
    sessions = [service.open(service.registry.get(model_id), "cpu") for model_id in chain]
    scale = int(np.prod([s.info.scale for s in sessions]))
    rgb, (cx, cy) = _input_for(job, scale, data)
    # a margin around the region so the models see context, as in a whole photo
    margin = SIDE // scale + 32
    x0, y0 = max(0, cx - margin), max(0, cy - margin)
    crop = rgb[y0 : cy + margin, x0 : cx + margin]
    result = to_uint(enhance_chain(_photo(np.ascontiguousarray(crop)), sessions).rgb_pixels(), 8)
    centre = ((cx - x0) * scale, (cy - y0) * scale)
    after = _region(result, *centre, SIDE)
    before_small = _region(crop, cx - x0, cy - y0, SIDE // scale)
    before = np.asarray(Image.fromarray(before_small).resize((SIDE, SIDE), Image.Resampling.NEAREST))
    sheet = Image.new("RGB", (2 * SIDE + 2, SIDE), "white")
    sheet.paste(Image.fromarray(before), (0, 0))
    sheet.paste(Image.fromarray(after), (SIDE + 2, 0))
    return sheet


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=HERE.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=HERE / "resources" / "picker")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    service = ModelService()
    for chain, (job, label, _) in PLAIN.items():
        if job not in SOURCES:
            continue  # the fill choice needs a mask the user paints
        kind = JOBS[3] if "colorize" in chain else job  # a colorizing chain is shown on a black-and-white print
        try:
            image = thumbnail(service, chain, kind, args.data)
        except PhotoganError as exc:
            print(f"skipped {label}: {exc}")
            continue
        target = args.out / thumbnail_name(chain)
        image.save(target, quality=90)
        print(f"{label:45s} {target.relative_to(HERE) if target.is_relative_to(HERE) else target}")


if __name__ == "__main__":
    main()
