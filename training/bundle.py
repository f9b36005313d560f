"""Export a training run as a bundled photogan model, measured on validation folders.

Usage::

    python -m training.bundle RUN_DIR --id upscale-x4 --val ../shared/data/val/Set5 ../shared/data/val/Set14 \
        --out resources/models

    python -m training.bundle --again texture-bark --photo ../shared/data/textures/NonStationary/212.jpg \
        --val ../shared/data/textures/NonStationary/12.jpg --out resources/models

Writes ``<id>.onnx`` (with metadata: task, scale, arch, hyperparameters, training data, licence, metrics) and
``<id>.safetensors`` (the generator weights, for fine-tuning). Upscalers are measured with the paper protocol
(Pillow-bicubic-downscaled inputs, PSNR/SSIM on Y, border = scale); other tasks on each validation photo
degraded with the run's own degradation and a fixed seed. ``--again`` exports a bundled texture model once more
from the checkpoint beside it (after a change to how models are exported), measured again against its photo.
"""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from photogan.app.runs import RunFolder
from photogan.core.errors import PhotoganError
from photogan.core.formats import find_images
from photogan.core.image import to_uint
from photogan.core.load import load_image
from photogan.core.texture import texture_report
from photogan.inference.model_info import ModelInfo
from training import archs, checkpoint
from training.archs.sgan import SpatialGenerator
from training.config import TrainConfig
from training.dataset import task_degradation
from training.evaluation import baseline, detect_scores, inpaint_scores, mean_pairwise_distance, psnr_ssim
from training.export import export_onnx
from training.trainer import generator_params

log = logging.getLogger("training.bundle")

SHARED_TRAINING_DATA = (
    "photogan shared data train/: BSDS500-train and BSDS500-test (Berkeley, non-commercial research licence), "
    "T91 (Yang et al., research benchmark, no stated licence), WikipediaPhotos (Wikimedia Commons, Creative Commons), "
    "Unsplash (24 photos, Unsplash License)"
)


def _tensor(image: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.array(image)).permute(2, 0, 1)[None].float() / 255.0


@torch.no_grad()
def measure_diversity(model: torch.nn.Module, config: TrainConfig, folder: Path, count: int = 64) -> dict[str, float]:
    """A ``generate`` model's mean pairwise distance over ``count`` seeded samples, beside that of ``count``
    random crops of the same size from the photos in ``folder`` (the diversity of real data)."""
    model.eval()
    size = int(config.arch_params.get("image_size", config.patch))
    latent = int(config.arch_params.get("latent", config.latent))
    z = torch.from_numpy(np.random.default_rng(0).standard_normal((count, latent)).astype(np.float32))
    samples = model(z).clamp(0, 1)
    rng = np.random.default_rng(0)
    photos = []
    for path in find_images(folder, recursive=True):
        try:
            photo = to_uint(load_image(path).rgb_pixels(), 8)
        except PhotoganError as exc:
            log.warning("skipping %s: %s", path.name, exc)
            continue
        if min(photo.shape[:2]) >= size:
            photos.append(photo)
    if not photos:
        raise ValueError(f"{folder} has no photo of at least {size} px to compare the samples with")
    crops = []
    for _ in range(count):
        photo = photos[int(rng.integers(len(photos)))]
        y, x = (int(rng.integers(0, photo.shape[k] - size + 1)) for k in (0, 1))
        crops.append(_tensor(photo[y : y + size, x : x + size])[0])
    return {
        "diversity": round(mean_pairwise_distance(samples), 4),
        "real_diversity": round(mean_pairwise_distance(torch.stack(crops)), 4),
    }


def _rgb(path: Path) -> np.ndarray:
    return to_uint(load_image(path).rgb_pixels(), 8).astype(np.float32) / 255.0


#: The samples a texture model is judged by: seeds 0…7 at 768×512 (issue 20's measure).
TEXTURE_SAMPLES, TEXTURE_SIZE = 8, (768, 512)


@torch.no_grad()
def texture_samples(model: SpatialGenerator, size: tuple[int, int] = TEXTURE_SIZE) -> list[np.ndarray]:
    """:data:`TEXTURE_SAMPLES` seeded samples of ``size`` (width, height) as H×W×3 arrays in [0, 1]."""
    model.eval()
    width, height = size
    rows, cols = -(-height // model.factor), -(-width // model.factor)
    samples = []
    for seed in range(TEXTURE_SAMPLES):
        field = model.noise(1, rows, cols, generator=torch.Generator().manual_seed(seed))
        samples.append(model(field)[0].clamp(0, 1).permute(1, 2, 0).numpy()[:height, :width])
    return samples


def measure_texture(
    model: SpatialGenerator, photos: list[Path], others: list[Path], size: tuple[int, int] = TEXTURE_SIZE
) -> dict[str, float]:
    """:func:`photogan.core.texture.texture_report` of the seeded samples (:func:`texture_samples`) against the
    texture photo the model learned (the first of ``photos``) and other texture photos."""
    return texture_report(texture_samples(model, size), _rgb(photos[0]), [_rgb(p) for p in others])


@torch.no_grad()
def measure(model: torch.nn.Module, config: TrainConfig, folder: Path) -> dict[str, float]:
    """Mean PSNR/SSIM of ``model`` and of the baseline (bicubic, or the degraded input) on ``folder``;
    for a ``generate`` model, :func:`measure_diversity`."""
    if config.task == "generate":
        return measure_diversity(model, config, folder)
    if config.task in ("inpaint", "detect"):
        return measure_damage(model, config, folder)
    model.eval()
    scale, ours, base = config.scale, [], []
    degrade = task_degradation(config, evaluation=True)
    rng = np.random.default_rng(0)
    on_y = config.task != "colorize"
    multiple = max(scale, int(getattr(model, "size_multiple", 1)) * scale)
    for path in find_images(folder, recursive=True):
        hr = to_uint(load_image(path).rgb_pixels(), 8)
        h, w = hr.shape[0] // multiple * multiple, hr.shape[1] // multiple * multiple
        hr = hr[:h, :w]
        if config.task == "upscale":  # Pillow bicubic both ways: the published baselines' protocol
            small = Image.fromarray(hr).resize((w // scale, h // scale), Image.Resampling.BICUBIC)
            inputs = _tensor(np.asarray(small))
            reference = _tensor(np.asarray(small.resize((w, h), Image.Resampling.BICUBIC)))
        else:
            assert degrade is not None
            inputs = _tensor(to_uint(degrade(hr.astype(np.float32) / 255.0, rng), 8))
            reference = baseline(inputs, (h, w))
        target = _tensor(hr)
        ours.append(psnr_ssim(model(inputs).clamp(0, 1), target, scale, on_y))
        base.append(psnr_ssim(reference, target, scale, on_y))
    (p, s), (bp, bs) = np.mean(ours, axis=0), np.mean(base, axis=0)
    key = "bicubic" if config.task == "upscale" else "input"
    return {
        "psnr": round(float(p), 2),
        "ssim": round(float(s), 4),
        f"{key}_psnr": round(float(bp), 2),
        f"{key}_ssim": round(float(bs), 4),
    }


@torch.no_grad()
def measure_damage(model: torch.nn.Module, config: TrainConfig, folder: Path) -> dict[str, float]:
    """An inpainter's PSNR inside the holes (and Telea's), a detector's F1, IoU and false detections, on every
    photo of ``folder`` (whole, to a multiple of 4 px) with the run's damage drawn with a fixed seed."""
    model.eval()
    degrade = task_degradation(config, evaluation=True)
    assert degrade is not None
    rng = np.random.default_rng(0)

    def pairs() -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        for path in find_images(folder, recursive=True):
            photo = to_uint(load_image(path).rgb_pixels(), 8)
            photo = photo[: photo.shape[0] // 4 * 4, : photo.shape[1] // 4 * 4].astype(np.float32) / 255.0
            yield _planes(degrade(photo, rng)), _planes(photo)

    score = inpaint_scores if config.task == "inpaint" else detect_scores
    return {k: round(v, 4) for k, v in score(model, pairs())[0].items()}


def _planes(image: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))[None]


def _probe_image(size: int) -> torch.Tensor:
    """A seeded, photo-like test card: smooth colour gradients, hard-edged blocks and noise."""
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:size, 0:size] / size
    image = np.stack([0.5 + 0.3 * np.sin(7 * x + 2 * y), 0.3 + 0.4 * y, 0.6 - 0.3 * x * y], axis=0)
    for _ in range(24):
        top, left = rng.integers(0, size, 2)
        side = int(rng.integers(size // 16, size // 4))
        image[:, top : top + side, left : left + side] = rng.uniform(0, 1, (3, 1, 1))
    image += rng.normal(0.0, 0.06, image.shape)
    return torch.from_numpy(np.clip(image, 0, 1).astype(np.float32))[None]


@torch.no_grad()
def measured_context(model: torch.nn.Module, scale: int, tolerance: float = 0.5 / 255) -> int:
    """The context (input pixels around a tile) that makes tiled results match the whole image's.

    A network's theoretical receptive radius (``model.receptive_radius``) is far wider than the reach that
    matters: a 32 px window computed from a crop with ``pad`` pixels around it is compared with the same window
    of the whole probe image, for ``pad`` = 8, 16, ...; the first that differs by at most ``tolerance`` (half an
    8-bit step) everywhere, plus 8 px of margin, is the answer. Less context is less work per tile.
    """
    model.eval()
    radius = int(getattr(model, "receptive_radius", 18)) + 6
    multiple = max(8, int(getattr(model, "size_multiple", 1)))
    inner = 32
    size = -(-(2 * radius + inner + 2 * multiple) // multiple) * multiple
    image = _probe_image(size)
    extra = getattr(model, "extra_input", None)
    if extra is not None and extra[0] == "mask":  # an inpainter: holes across the probe (they carry its reach)
        holes = torch.zeros(1, 1, size, size)
        holes[..., size // 3 : size // 2, :] = 1.0
        holes[..., :, size // 2 : size // 2 + 6] = 1.0
        image = torch.cat([image, holes], dim=1)
    whole = model(image)
    start = (size - inner) // 2 // multiple * multiple
    want = whole[..., start * scale : (start + inner) * scale, start * scale : (start + inner) * scale]
    for pad in range(multiple, radius, multiple):
        crop = image[..., start - pad : start + inner + pad, start - pad : start + inner + pad]
        out = model(crop)[..., pad * scale : (pad + inner) * scale, pad * scale : (pad + inner) * scale]
        if float((out - want).abs().max()) <= tolerance:
            return min(pad + 8, radius)
    return radius


def load_run(run_dir: Path) -> tuple[TrainConfig, torch.nn.Module]:
    """A run's configuration and its generator's EMA weights: the best-scoring ones of a fidelity run, the last
    ones of an adversarial or colorize run (validation PSNR cannot see what the adversarial phase adds, nor
    colour: it would pick the checkpoint closest to the start, or to gray) and of a fine-tune (judged against its
    base on the photos the best one would be picked on)."""
    files = RunFolder(run_dir)
    config = TrainConfig.from_dict(json.loads(files.config.read_text()))
    model = archs.build(config.arch, **generator_params(config))
    adversarial = config.gan_start is not None or config.task == "generate"
    # nor is a colorizer's: the best-PSNR checkpoint is the most timid one (the nearest to gray)
    own_objective = config.task == "colorize"  # (a detector's best checkpoint is its best F1)
    # a fine-tune's best checkpoint was picked on the held-out photos its verdict is measured on
    use_last = adversarial or own_objective or bool(config.base) or not files.best.exists()
    weights = files.last if use_last else files.best
    model.load_state_dict(checkpoint.load_weights(weights))
    return config, ready_to_export(model, config)


def ready_to_export(model: torch.nn.Module, config: TrainConfig) -> torch.nn.Module:
    """The generator in eval mode; a texture generator's averaged (EMA) weights with BatchNorm statistics of
    their own (:meth:`SpatialGenerator.fit_batchnorm`), measured on the run's noise fields."""
    if isinstance(model, SpatialGenerator):
        return model.fit_batchnorm(model.training_fields(config.patch, config.field, config.batch))
    return model.eval()


def export_model(
    model: torch.nn.Module,
    config: TrainConfig,
    out_dir: Path,
    model_id: str,
    *,
    name: str,
    description: str,
    training_data: str,
    licence: str,
    metrics: dict[str, Any],
    fp16: bool = False,
) -> Path:
    """Writes ``out_dir/<id>.onnx`` with its metadata and ``<id>.safetensors`` with the weights (for fine-tuning).

    A model trained with re-parameterized branches is merged into its plain inference form first, so the file, its
    checkpoint and its ``arch_params`` describe the network that runs.
    """
    fused = getattr(model, "fused", None)
    if callable(fused):
        model = fused()
    scale, tiling = config.scale, "whole" if config.task == "generate" else "tiled"
    if isinstance(model, SpatialGenerator):  # noise field → texture: tiled over the field, scale = a cell's pixels
        scale, tiling, tile_pad = model.factor, "tiled", model.halo
    elif config.task == "generate":
        tile_pad = int(getattr(model, "receptive_radius", 18)) + 6
    else:
        tile_pad = measured_context(model, config.scale)
    info = ModelInfo(
        id=model_id,
        name=name,
        task=config.task,  # type: ignore[arg-type]
        scale=scale,
        arch=config.arch,
        arch_params=getattr(model, "hparams", generator_params(config)),
        size_multiple=int(getattr(model, "size_multiple", 1)),
        tiling=tiling,  # type: ignore[arg-type]
        tile_pad=tile_pad,
        work_side=config.max_side if config.task == "colorize" else 0,  # it learned objects at that size
        licence=licence,
        training_data=training_data,
        metrics=metrics,
        description=description,
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    target = export_onnx(model, info, out_dir / f"{model_id}.onnx", fp16=fp16)
    checkpoint.save(
        target.with_suffix(".safetensors"),
        checkpoint.module_tensors("ema", model),
        {"id": model_id, "config": config.to_dict()},
    )
    return target


def bundle(
    run_dir: Path,
    model_id: str,
    val: list[Path],
    out: Path,
    name: str,
    description: str,
    training_data: str,
    licence: str,
    decoding: dict[str, float] | None = None,
) -> Path:
    """Measures a run on the validation folders and exports it as a bundled model. A texture model is measured
    against the photo it learned (the run's own data) with the ``val`` photos as the other textures.
    ``decoding`` sets a model's decoding settings (its ``decoding`` names them: a colorizer's ``gain``, a colour-bin
    one's ``temperature`` and ``prior_shift``), chosen on held-out photos; they are kept in its ``arch_params``."""
    config, model = load_run(run_dir)
    hparams = getattr(model, "hparams", {})
    for key, value in (decoding or {}).items():
        if key not in getattr(model, "decoding", ()):
            raise ValueError(f"{config.arch} has no decoding setting {key!r}")
        setattr(model, key, value)
        hparams[key] = value
    if isinstance(model, SpatialGenerator):
        photos = [Path(p) for p in json.loads(RunFolder(run_dir).data.read_text())]
        metrics = {"texture": measure_texture(model, photos, val)}
    else:
        metrics = {folder.name: measure(model, config, folder) for folder in val}
    for folder, values in metrics.items():
        log.info("%s: %s", folder, values)
    return export_model(
        model,
        config,
        out,
        model_id,
        name=name,
        description=description,
        training_data=training_data,
        licence=licence,
        metrics=metrics,
    )


def bundle_again(model_id: str, photo: Path, others: list[Path], out: Path) -> Path:
    """Exports a texture model once more from its checkpoint (``<id>.safetensors``: EMA weights and recipe) the
    way :func:`bundle` exports a run today, measured again against ``photo`` (the one it learned) and ``others``;
    its name, description, training data and licence are kept."""
    from training.cli import model_recipe

    info, config, weights = model_recipe(model_id, "export again")
    model = archs.build(config.arch, **generator_params(config))
    if not isinstance(model, SpatialGenerator):
        raise ValueError(f"{model_id} is not a texture model: bundle it again from its training run")
    model.load_state_dict(checkpoint.load_weights(weights))
    ready_to_export(model, config)
    metrics = {**info.metrics, "texture": measure_texture(model, [photo], others)}
    log.info("texture: %s", metrics["texture"])
    return export_model(
        model,
        config,
        out,
        model_id,
        name=info.name,
        description=info.description,
        training_data=info.training_data,
        licence=info.licence,
        metrics=metrics,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", type=Path, nargs="?", help="the training run (not with --again)")
    parser.add_argument("--id", help="the model id to bundle the run as")
    parser.add_argument("--again", metavar="ID", help="export this texture model again from its checkpoint")
    parser.add_argument("--photo", type=Path, help="with --again: the photo the texture model learned")
    parser.add_argument(
        "--val", type=Path, nargs="+", required=True, help="validation folders (texture models: other texture photos)"
    )
    parser.add_argument("--out", type=Path, default=Path("resources/models"))
    parser.add_argument("--name", default="")
    parser.add_argument("--description", default="")
    parser.add_argument("--training-data", default=SHARED_TRAINING_DATA)
    parser.add_argument("--licence", default="weights: same terms as the training data (research use)")
    parser.add_argument(
        "--decode",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a colorizer's decoding setting: gain (colour-bin ones also temperature, prior_shift); repeatable",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    if args.again:
        if args.run or not args.photo:
            parser.error("--again ID takes --photo (the photo it learned) and no run")
        print(bundle_again(args.again, args.photo, args.val, args.out))
        return
    if not (args.run and args.id):
        parser.error("give a run and its --id (or --again ID)")
    decoding = {k: float(v) for k, v in (item.split("=", 1) for item in args.decode)}
    target = bundle(
        args.run,
        args.id,
        args.val,
        args.out,
        args.name or args.id,
        args.description,
        args.training_data,
        args.licence,
        decoding,
    )
    print(target)


if __name__ == "__main__":
    main()
