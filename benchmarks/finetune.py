"""Does fine-tuning on a folder of one kind of photo pay off on *other* photos of that kind?

Usage::

    python benchmarks/finetune.py --base upscale-x4 --data ../shared/data/textures/NonStationary \
        --train 50 --test 20 --minutes 10 [--config RECIPE.toml ...] [--keep DIR]
    python benchmarks/finetune.py --base restore --data FOLDER --noise colour-grain --self-supervised ...

The folder's photos are shuffled with a fixed seed and split into ``--train`` photos for the fine-tune and
``--test`` unseen ones. For each recipe (photogan's defaults, then each ``--config`` file of changes to the base's
recipe) the script runs what a user runs, ``photogan train --base BASE --data TRAIN --minutes M --name …``, in a
subprocess (with ``PHOTOGAN_MODELS_DIR`` pointing at a scratch folder), and reads the verdict the run reported on
its own held-out photos. Then the base and every fine-tuned model run through photogan's ONNX path
(``photogan.inference.enhancer.enhance``) on the unseen photos, each degraded twice with the base's own training
degradation at fixed seeds (the same inputs for every model), and are scored against the photos: PSNR-Y with
``scale`` pixels of border for upscalers and restore, PSNR on RGB for colorize. One table, one run.

``--noise colour-grain`` is the album owner's case: every photo gets noise of a kind the bundled ``restore`` was
not trained on (per-channel Gaussian noise blurred to grains of about 2 px, σ 12 levels, stronger in the
mid-tones: the colour grain of film scans and high-ISO phones), seeded per photo. The fine-tune sees only the
noisy training photos (with ``--self-supervised``, the way a user with no clean originals trains), and every model
is scored on the noisy unseen photos against their clean originals.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import quality  # benchmarks/quality.py, beside this script
from anchor import DEFAULT_ANCHOR, open_anchor
from PIL import Image

from photogan.app.models import ModelService
from photogan.core.formats import find_images
from photogan.core.image import to_uint
from photogan.core.load import load_image
from photogan.inference.registry import ModelRegistry
from training.checkpoint import model_checkpoint, recipe
from training.config import TrainConfig
from training.dataset import task_degradation

DRAWS = 2


def split(folder: Path, train: int, test: int, seed: int) -> tuple[list[Path], list[Path]]:
    photos = sorted(find_images(folder, recursive=True))
    if len(photos) < train + test:
        raise SystemExit(f"{folder} holds {len(photos)} photos, fewer than --train {train} + --test {test}")
    order = np.random.default_rng(seed).permutation(len(photos))
    return [photos[i] for i in order[:train]], [photos[i] for i in order[train : train + test]]


def colour_grain(photo: np.ndarray, seed: int, sigma: float = 12.0, grain: float = 0.7) -> np.ndarray:
    """The photo (uint8) with colour grain: independent per channel, blurred to grains of about 2 px, normalized
    to ``sigma`` levels and stronger in the mid-tones."""
    rng = np.random.default_rng(seed)
    noise = cv2.GaussianBlur(rng.standard_normal(photo.shape).astype(np.float32), (0, 0), grain)
    noise = noise * (sigma / max(float(noise.std()), 1e-6))
    luma = (photo.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)) / 255.0
    noisy = photo + noise * (0.5 + 2.0 * luma * (1 - luma))[..., None]
    return np.clip(np.round(noisy), 0, 255).astype(np.uint8)


NOISES = {"colour-grain": colour_grain}


def fine_tune(
    base: str,
    data: Path,
    minutes: float,
    name: str,
    config: Path | None,
    work: Path,
    models: Path,
    self_supervised: bool = False,
) -> dict[str, Any]:
    """Runs ``photogan train --base BASE`` as a user would; returns its verdict, iterations and minutes."""
    extra = ["--self-supervised"] if self_supervised else []
    return train(["--base", base, *extra], data, minutes, name, config, work, models)


def train(
    source: list[str], data: Path, minutes: float, name: str, config: Path | None, work: Path, models: Path
) -> dict[str, Any]:
    """Runs ``photogan train SOURCE --data DATA --minutes M --name NAME`` in a subprocess (its run under
    ``work/NAME``, its model exported into ``models``); returns the verdict it reported, its iterations and
    minutes (benchmarks/textures.py's fresh runs too)."""
    argv = [sys.executable, "-m", "training", *source, "--data", str(data), "--minutes", f"{minutes:g}"]
    argv += ["--name", name, "--run-dir", str(work / name), "--progress", "json"]
    if config is not None:
        argv += ["--config", str(config)]
    start = time.monotonic()
    env = {**os.environ, "PHOTOGAN_MODELS_DIR": str(models)}
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"{name}: photogan train failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = {"minutes": (time.monotonic() - start) / 60.0}
    for line in done.stdout.splitlines():
        if line.startswith("{"):
            record = json.loads(line)
            if record.get("event") == "exported":
                result["verdict"] = record.get("verdict")
            if record.get("event") == "done":
                result["iterations"] = record.get("iteration")
    return result


def unseen_inputs(
    base: str, photos: list[Path], noise: str | None = None
) -> tuple[list[tuple[np.ndarray, np.ndarray]], TrainConfig]:
    """(degraded input, photo) pairs, uint8, with the base's own degradation (or ``noise``) and fixed seeds."""
    _, weights = model_checkpoint(base, "measure")
    config = TrainConfig.from_dict(recipe(weights))
    if noise is not None:
        clean = [to_uint(load_image(path).rgb_pixels(), 8) for path in photos]
        return [(NOISES[noise](photo, 1000 + k), photo) for k, photo in enumerate(clean)], config
    degrade = task_degradation(config, evaluation=True)
    assert degrade is not None
    rng = np.random.default_rng(7)
    step = 4 * config.scale
    pairs = []
    for path in photos:
        photo = to_uint(load_image(path).rgb_pixels(), 8)
        photo = photo[: photo.shape[0] // step * step, : photo.shape[1] // step * step]
        for _ in range(DRAWS):
            degraded = degrade(photo.astype(np.float32) / 255.0, rng)[..., :3]  # a colorizer's hint planes: none
            pairs.append((to_uint(degraded, 8), photo))
    return pairs, config


def score(model: str, pairs: list[tuple[np.ndarray, np.ndarray]], config: TrainConfig) -> tuple[float, float]:
    """Mean (PSNR, SSIM): on Y with ``scale`` pixels of border, on RGB for a colorizer."""
    session = ModelService().open(ModelRegistry().get(model), "cpu")
    values = []
    for degraded, photo in pairs:
        out, _ = quality.run_model(session, degraded)
        if config.task == "colorize":
            values.append(quality.rgb_score(out, photo))
        else:
            values.append(quality.score(out, photo, config.scale))
    psnr, ssim = np.mean(values, axis=0)
    return float(psnr), float(ssim)


def write_sheet(
    pairs: list[tuple[np.ndarray, np.ndarray]],
    models: list[str],
    path: Path,
    side: int = 192,
    anchor: Path | None = None,
) -> None:
    """Rows of unseen photos at 100 %: the input (nearest-neighbour to the output's size), each model, the
    anchor network if given (a ×4 base), the original; the centre ``side`` px of each."""
    sessions = [ModelService().open(ModelRegistry().get(m), "cpu") for m in models]
    if anchor is not None:
        sessions.append(open_anchor(anchor, "cpu"))
        models = [*models, anchor.stem]
    rows = []
    for degraded, photo in pairs[:: max(1, len(pairs) // 4)][:4]:
        h, w = photo.shape[:2]
        y, x = (h - min(side, h)) // 2, (w - min(side, w)) // 2

        def crop(image: np.ndarray, y: int = y, x: int = x) -> np.ndarray:
            return image[y : y + side, x : x + side]

        shown = np.asarray(Image.fromarray(degraded).resize((w, h), Image.Resampling.NEAREST))
        cells = [crop(shown)] + [crop(quality.run_model(s, degraded)[0]) for s in sessions] + [crop(photo)]
        rows.append(np.concatenate([np.pad(c, ((2, 2), (2, 2), (0, 0)), constant_values=255) for c in cells], 1))
    width = max(r.shape[1] for r in rows)
    sheet = np.concatenate([np.pad(r, ((0, 0), (0, width - r.shape[1]), (0, 0)), constant_values=255) for r in rows])
    Image.fromarray(sheet).save(path, quality=92)
    print(f"sheet: {path} (columns: input, {', '.join(models)}, original)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", required=True)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--train", type=int, default=50)
    parser.add_argument("--test", type=int, default=20)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--config", type=Path, nargs="*", default=[], help="recipes to try besides the defaults")
    parser.add_argument("--no-default", action="store_true", help="only the --config recipes")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", type=Path, help="keep the runs and models here (default: a scratch folder)")
    parser.add_argument("--noise", choices=sorted(NOISES), help="noisy photos only (see above)")
    parser.add_argument("--self-supervised", action="store_true", help="fine-tune with --self-supervised")
    parser.add_argument("--sheet", type=Path, help="write crops of unseen photos at 100 %% here (JPEG)")
    parser.add_argument(
        "--anchor", nargs="?", type=Path, const=DEFAULT_ANCHOR, help="a ×4 base: the anchor network on the sheet too"
    )
    args = parser.parse_args()

    train, test = split(args.data, args.train, args.test, args.seed)
    scratch = tempfile.TemporaryDirectory(prefix="photogan-finetune-")
    work = args.keep or Path(scratch.name)
    data, models = work / "train-photos", work / "models"
    data.mkdir(parents=True, exist_ok=True)
    for k, path in enumerate(train):  # the training folder: links to the chosen photos, or their noisy copies
        if args.noise:
            noisy = NOISES[args.noise](to_uint(load_image(path).rgb_pixels(), 8), k)
            Image.fromarray(noisy).save(data / f"{path.stem}.png")
        elif not (link := data / path.name).exists():
            link.symlink_to(path.resolve())
    os.environ["PHOTOGAN_MODELS_DIR"] = str(models)
    pairs, config = unseen_inputs(args.base, test, args.noise)
    base_score = score(args.base, pairs, config)
    metric = "PSNR" if config.task == "colorize" else "PSNR-Y"
    recipes: list[Path | None] = ([] if args.no_default else [None]) + list(args.config)
    rows = []
    for k, changes in enumerate(recipes):
        label = changes.stem if changes else "defaults"
        name = f"finetune-{k}-{label}"
        run = fine_tune(args.base, data, args.minutes, name, changes, work, models, args.self_supervised)
        rows.append((label, run, score(name, pairs, config)))
        print(f"{name}: {rows[-1][2][0]:.3f} dB on the unseen photos ({base_score[0]:.3f} for {args.base})", flush=True)

    if args.sheet:
        names = [args.base] + [f"finetune-{k}-{label}" for k, (label, _, _) in enumerate(rows)]
        write_sheet(pairs, names, args.sheet, anchor=args.anchor)
    inputs = f"with {args.noise}" if args.noise else f"× {DRAWS} degradations"
    how = " (self-supervised, noisy photos only)" if args.self_supervised else ""
    print(
        f"\n{args.base} fine-tuned{how} on {len(train)} photos of {args.data}, {args.minutes:g} minutes each; "
        f"{metric} on {len(test)} unseen photos {inputs}\n"
    )
    ssim = metric.replace("PSNR", "SSIM")
    print(
        f"| recipe | iterations | minutes | own verdict (held-out photos) | unseen {metric} / {ssim} | "
        f"gain over the base |"
    )
    print("|---|---|---|---|---|---|")
    print(f"| {args.base} (the base) | - | - | - | {base_score[0]:.2f} / {base_score[1]:.4f} | - |")
    for label, run, (value, structure) in rows:
        verdict = run.get("verdict") or {}
        own = f"{verdict.get('gain', float('nan')):+.2f} dB on {verdict.get('photos', '?')}" if verdict else "-"
        print(
            f"| {label} | {run.get('iterations', '?')} | {run['minutes']:.1f} | {own} | {value:.2f} / "
            f"{structure:.4f} | {value - base_score[0]:+.2f} dB, {structure - base_score[1]:+.4f} |"
        )


if __name__ == "__main__":
    main()
