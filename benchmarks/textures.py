"""Texture models against the photo each learned: seams, variety, colour and structure, and a sample sheet.

Usage::

    python benchmarks/textures.py                                   # every bundled texture model
    python benchmarks/textures.py my-wall=~/wall.jpg --others ../shared/data/textures/NonStationary/212.jpg
    python benchmarks/textures.py --sheet docs/grids/textures.jpg --card-samples resources/models
    python benchmarks/textures.py --fresh PHOTO... [--minutes 10] [--config RECIPE.toml] [--keep DIR]

Each model draws 8 textures of 768×512 (seeds 0-7) through photogan's own path (what ``photogan generate``
saves), which are measured with ``photogan.core.texture.texture_report`` against the model's photo:

- seam: the worst sample's wrap-around difference over its inside neighbour difference (bar: ≤ 1.5);
- diversity: same-place crops of the 8 samples, over that of 8 random crops of the photo (bar: ≥ 0.5);
- histogram / spectrum: distance of the samples' crops to the photo's, over the distance of the closest other
  texture photo's crops to the photo's (bar: ≤ 0.5, i.e. closer than half of another texture).

The other textures are the other models' photos and ``--others``.

``--fresh`` tests the recipe on photos it was never tuned on: for each photo it first runs what a user runs,
``photogan train --task generate --data PHOTO --minutes M --name fresh-STEM`` (with ``--config``: that recipe), in
a subprocess whose models go to a scratch folder, then measures the model against its photo; the other textures
are then the bundled models' photos and ``--others`` (not the other fresh photos: a photo's margin does not
depend on its company).

The sheet shows, per model, the photo and two samples at 100 %, and the middle of one 384×256 texture repeated
2×2 (a seam would show as a cross).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
from finetune import train  # benchmarks/finetune.py, beside this script
from PIL import Image, ImageDraw

from photogan.app.generate import generate, is_spatial, noise, tile
from photogan.app.models import ModelService
from photogan.core.image import Photo, to_uint
from photogan.core.load import load_image
from photogan.core.texture import texture_report

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
#: The bundled texture models and the photo each was trained on (training/configs/textures/*.toml).
BUNDLED = {
    "texture-bark": "textures/NonStationary/212.jpg",
    "texture-clay": "textures/NonStationary/12.jpg",
    "texture-water": "textures/NonStationary/34.jpg",
    "texture-sand": "textures/NonStationary/73.jpg",
}
SIZE = (768, 512)
SEEDS = 8
LABEL = 18


def _rgb(path: Path) -> np.ndarray:
    return to_uint(load_image(path).rgb_pixels(), 8).astype(np.float32) / 255.0


def _pairs(specs: list[str], data: Path) -> list[tuple[str, Path]]:
    if not specs:
        return [(model, data / photo) for model, photo in BUNDLED.items()]
    pairs = []
    for spec in specs:
        model, sep, photo = spec.partition("=")
        if not sep:
            raise SystemExit(f"expected MODEL=PHOTO, got {spec!r}")
        pairs.append((model, Path(photo).expanduser()))
    return pairs


def _image(pixels: np.ndarray) -> Image.Image:
    return Image.fromarray(to_uint(np.clip(pixels, 0, 1), 8))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("pairs", nargs="*", metavar="MODEL=PHOTO", help="default: the bundled texture models")
    parser.add_argument("--others", nargs="*", type=Path, default=[], help="more texture photos to compare with")
    parser.add_argument("--data", type=Path, default=DATA, help="the shared data folder")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--sheet", type=Path, help="also write a sample sheet (JPEG) here")
    parser.add_argument("--json", type=Path, help="also write the numbers as JSON here")
    parser.add_argument(
        "--card-samples", type=Path, metavar="DIR", help="also write each model's <id>.samples.jpg (its card shows it)"
    )
    parser.add_argument("--fresh", nargs="+", type=Path, metavar="PHOTO", help="train on each photo, then measure")
    parser.add_argument("--minutes", type=float, default=10.0, help="each fresh run's time budget")
    parser.add_argument("--config", type=Path, help="the fresh runs' recipe (default: photogan's texture recipe)")
    parser.add_argument("--keep", type=Path, help="keep the fresh runs and models here (default: a scratch folder)")
    args = parser.parse_args()
    if args.fresh:
        if args.pairs:
            raise SystemExit("--fresh trains its own models: give photos to --fresh, not MODEL=PHOTO pairs")
        scratch = tempfile.TemporaryDirectory(prefix="photogan-textures-")
        work = args.keep or Path(scratch.name)
        models = work / "models"
        os.environ["PHOTOGAN_MODELS_DIR"] = str(models)  # the service below finds the fresh models there
        pairs = []
        for photo in (given.expanduser() for given in args.fresh):  # one path for the run and the measurement
            name = f"fresh-{photo.stem}"
            run = train(["--task", "generate"], photo, args.minutes, name, args.config, work, models)
            print(f"{name}: {run.get('iterations', '?')} iterations in {run['minutes']:.1f} min ({photo})")
            pairs.append((name, photo))
        others_paths = [args.data / photo for photo in BUNDLED.values()] + list(args.others)
    else:
        pairs = _pairs(args.pairs, args.data)
        others_paths = list(args.others)
    photos = {photo: _rgb(photo) for _, photo in pairs}
    others = {path: _rgb(path) for path in others_paths}
    if len(photos) + len(others) < 2:  # histogram and spectrum are judged against another texture's distance
        raise SystemExit("one texture photo alone cannot be judged: add --others PHOTO ... (e.g. the bundled ones')")
    compared = {**({} if args.fresh else photos), **others}  # the other models' photos, unless they are fresh ones
    service = ModelService()
    header = (
        f"{'model':18} {'photo':14} {'seam':>5} {'div':>6} {'real':>6} {'ratio':>5} {'hist':>6} {'/other':>6} "
        f"{'spec':>6} {'/other':>6} {'s/img':>6}  bars"
    )
    print(header)
    print("-" * len(header))
    rows: list[tuple[str, np.ndarray, list[Photo]]] = []
    reports: dict[str, dict[str, object]] = {}
    for model_id, photo_path in pairs:
        info = service.resolve("generate", None, model_id)
        if not is_spatial(info):
            raise SystemExit(f"{model_id} is not a texture model (it draws fixed-size tiles)")
        session = service.open(info, args.device)
        generate(session, noise(session, 99, size=(64, 64)))  # warm-up
        start = time.perf_counter()
        samples = [generate(session, noise(session, seed, size=SIZE), size=SIZE)[0] for seed in range(SEEDS)]
        seconds = (time.perf_counter() - start) / SEEDS
        rest = [image for path, image in compared.items() if path.resolve() != photo_path.resolve()]
        report = texture_report([s.pixels for s in samples], photos[photo_path], rest)
        ratio = report["diversity"] / report["real_diversity"]
        hist = report["histogram"] / report.get("histogram_other", np.inf)
        spec = report["spectrum"] / report.get("spectrum_other", np.inf)
        bars = [report["seam"] <= 1.5, ratio >= 0.5, hist <= 0.5, spec <= 0.5]
        print(
            f"{model_id:18} {photo_path.name:14} {report['seam']:5.2f} {report['diversity']:6.3f} "
            f"{report['real_diversity']:6.3f} {ratio:5.2f} {report['histogram']:6.3f} {hist:6.2f} "
            f"{report['spectrum']:6.3f} {spec:6.2f} {seconds:6.2f}  {'ok' if all(bars) else 'MISSED'}"
        )
        rows.append((model_id, photos[photo_path], samples))
        reports[model_id] = {**report, "diversity_ratio": ratio, "histogram_ratio": hist, "spectrum_ratio": spec}
        reports[model_id].update(seconds=seconds, photo=str(photo_path), passed=all(bars))
    if args.json:
        args.json.write_text(json.dumps(reports, indent=1))
    if args.sheet:
        _sheet(rows, args.sheet, service, args.device, pairs)
    if args.card_samples:
        for model_id, _, samples in rows:
            strip = Image.new("RGB", (3 * 256 + 2 * 4, 256), "white")
            for k in range(3):
                strip.paste(_image(samples[k].pixels).crop((0, 0, 256, 256)), (k * 260, 0))
            target = args.card_samples / f"{model_id}.samples.jpg"
            strip.save(target, quality=85)
            print(f"wrote {target}")


def _sheet(
    rows: list[tuple[str, np.ndarray, list[Photo]]],
    path: Path,
    service: ModelService,
    device: str,
    pairs: list[tuple[str, Path]],
) -> None:
    crop_w, crop_h = 384, 256
    width = 4 * (crop_w + 8) - 8
    sheet = Image.new("RGB", (width, len(rows) * (2 * crop_h + LABEL + 8)), "white")
    draw = ImageDraw.Draw(sheet)
    for r, ((model_id, photo, samples), (_, photo_path)) in enumerate(zip(rows, pairs, strict=True)):
        top = r * (2 * crop_h + LABEL + 8)
        draw.text(
            (4, top + 3),
            f"{model_id}: its photo ({photo_path.name}) and seeds 0, 1 at 100 %; seed 2 (384x256) tiled 2x2, middle",
            fill="black",
        )
        source = _image(photo)  # at 100 %, like the samples
        sheet.paste(source.crop((0, 0, min(crop_w, source.width), min(2 * crop_h, source.height))), (0, top + LABEL))
        x = crop_w + 8
        for k in (0, 1):
            texture = _image(samples[k].pixels)
            sheet.paste(texture.crop((0, 0, crop_w, 2 * crop_h)), (x, top + LABEL))
            x += crop_w + 8
        session = service.open(service.resolve("generate", None, model_id), device)
        small = generate(session, noise(session, 2, size=(crop_w, crop_h)), size=(crop_w, crop_h))[0]
        mosaic = _image(tile(small, 2).pixels)  # the middle of the 2×2: both seams cross this crop's centre
        sheet.paste(mosaic.crop((crop_w // 2, 0, crop_w // 2 + crop_w, 2 * crop_h)), (x, top + LABEL))
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path, quality=88)
    print(f"wrote {path} ({sheet.width}×{sheet.height})")


if __name__ == "__main__":
    main()
