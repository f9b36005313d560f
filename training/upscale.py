"""Pixel-loss training of an upscaler in time-boxed, resumable chunks.

Usage::

    python -m training.upscale --data ../shared/data/train --val ../shared/data/val/Set5 \
        --scale 4 --run runs/upscale-x4 --minutes 10          # run again with the same --run to resume

Each chunk ends cleanly with a safetensors checkpoint (weights, Adam state, iteration, RNG states), so a long
training is a chain of short runs. ``--export FILE.onnx`` writes the best weights as a photogan model.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch import nn

from training import archs
from training.data import Pair, PatchSampler, load_pairs

log = logging.getLogger("training.upscale")


@dataclass(frozen=True)
class UpscaleConfig:
    """Hyperparameters of one pixel-loss run (saved in the run folder)."""

    scale: int = 4
    arch: str = "compact"
    channels: int = 32
    blocks: int = 8
    lr_patch: int = 32
    batch: int = 16
    lr: float = 5e-4
    total_iters: int = 20000
    val_every: int = 500
    seed: int = 0


def y_psnr(sr: np.ndarray, hr: np.ndarray, border: int) -> float:
    """PSNR on the BT.601 Y channel (paper protocol) of uint8-range float arrays H×W×3."""
    weights = np.array([65.481, 128.553, 24.966]) / 255.0
    y_sr = sr @ weights + 16.0
    y_hr = hr @ weights + 16.0
    if border:
        y_sr, y_hr = y_sr[border:-border, border:-border], y_hr[border:-border, border:-border]
    mse = float(np.mean((y_sr - y_hr) ** 2))
    return 10.0 * math.log10(255.0**2 / max(mse, 1e-10))


def validate(model: nn.Module, pairs: list[Pair], scale: int) -> float:
    """Mean Y-PSNR over validation pairs."""
    model.eval()
    scores = []
    with torch.no_grad():
        for pair in pairs:
            x = torch.from_numpy(pair.lr.copy()).permute(2, 0, 1)[None].float() / 255.0
            sr = model(x).clamp(0, 1)[0].permute(1, 2, 0).numpy()
            scores.append(y_psnr(np.rint(sr * 255.0), pair.hr.astype(np.float64), scale))
    model.train()
    return float(np.mean(scores))


def _optimizer_tensors(opt: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], str]:
    state = opt.state_dict()
    tensors = {}
    for index, entry in state["state"].items():
        for name, value in entry.items():
            tensors[f"opt.{index}.{name}"] = torch.as_tensor(value).clone()
    return tensors, json.dumps(state["param_groups"])


def _load_optimizer(opt: torch.optim.Optimizer, tensors: dict[str, torch.Tensor], groups: str) -> None:
    state: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in tensors.items():
        if key.startswith("opt."):
            _, index, name = key.split(".", 2)
            state.setdefault(int(index), {})[name] = value
    opt.load_state_dict({"state": state, "param_groups": json.loads(groups)})


def save_checkpoint(path: Path, model: nn.Module, opt: torch.optim.Optimizer, meta: dict[str, object]) -> None:
    tensors = {f"model.{k}": v.detach().clone() for k, v in model.state_dict().items()}
    opt_tensors, groups = _optimizer_tensors(opt)
    tensors.update(opt_tensors)
    tmp = path.with_suffix(".tmp")
    save_file(tensors, str(tmp), metadata={"meta": json.dumps(meta), "param_groups": groups})
    tmp.replace(path)


def model_weights(checkpoint: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k[len("model.") :]: v for k, v in checkpoint.items() if k.startswith("model.")}


def train(config: UpscaleConfig, data: list[Path], val: Path, run: Path, minutes: float) -> None:
    run.mkdir(parents=True, exist_ok=True)
    (run / "config.json").write_text(json.dumps(asdict(config), indent=2))
    torch.manual_seed(config.seed)
    model = archs.build(config.arch, scale=config.scale, channels=config.channels, blocks=config.blocks)
    opt = torch.optim.Adam(model.parameters(), lr=config.lr, betas=(0.9, 0.99))
    sampler = PatchSampler(
        load_pairs(data, config.scale, config.lr_patch * config.scale), config.scale, config.lr_patch, config.seed
    )
    val_pairs = load_pairs([val], config.scale, 8)
    iteration, best = 0, -1.0
    last = run / "last.safetensors"
    if last.exists():
        from safetensors import safe_open

        tensors = load_file(str(last))
        with safe_open(str(last), "pt") as f:
            header = f.metadata()
        meta = json.loads(header["meta"])
        model.load_state_dict(model_weights(tensors))
        _load_optimizer(opt, tensors, header["param_groups"])
        iteration, best = int(meta["iteration"]), float(meta["best_psnr"])
        sampler.rng.bit_generator.state = meta["sampler_rng"]
        log.info("resumed at iteration %d (best %.3f dB)", iteration, best)
    deadline = time.monotonic() + minutes * 60.0
    loss_fn = nn.L1Loss()
    running, started = 0.0, time.monotonic()
    while iteration < config.total_iters and time.monotonic() < deadline:
        lr = config.lr * 0.5 * (1.0 + math.cos(math.pi * iteration / config.total_iters))
        for group in opt.param_groups:
            group["lr"] = max(lr, 1e-6)
        lr_batch, hr_batch = sampler.batch(config.batch)
        loss = loss_fn(model(lr_batch), hr_batch)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        iteration += 1
        running += loss.item()
        if iteration % config.val_every == 0 or iteration == config.total_iters:
            psnr = validate(model, val_pairs, config.scale)
            speed = config.val_every / (time.monotonic() - started)
            log.info("iter %d  l1 %.4f  val %.3f dB  %.2f it/s", iteration, running / config.val_every, psnr, speed)
            running, started = 0.0, time.monotonic()
            if psnr > best:
                best = psnr
                best_tmp = run / "best.tmp"
                save_file(
                    {k: v.detach().clone() for k, v in model.state_dict().items()},
                    str(best_tmp),
                    metadata={"iteration": str(iteration), "psnr": f"{psnr:.4f}"},
                )
                best_tmp.replace(run / "best.safetensors")
    meta = {"iteration": iteration, "best_psnr": best, "sampler_rng": sampler.rng.bit_generator.state}
    save_checkpoint(last, model, opt, meta)
    log.info("stopped at iteration %d of %d; best %.3f dB; checkpoint %s", iteration, config.total_iters, best, last)


TRAINING_DATA = (
    "photogan shared data train/: BSDS500-train and BSDS500-test (Berkeley, non-commercial research licence), "
    "T91 (Yang et al., research benchmark, no stated licence), WikipediaPhotos (Wikimedia Commons, Creative Commons)"
)


def export_run(run: Path, out: Path, model_id: str, val_sets: list[Path]) -> Path:
    """Exports the best weights of ``run`` as a photogan model, measured on ``val_sets``.

    The weights are copied beside the model as ``<id>.safetensors`` so users can fine-tune from them.
    """
    import shutil

    from photogan.inference.model_info import ModelInfo
    from training.export import export_onnx

    config = UpscaleConfig(**json.loads((run / "config.json").read_text()))
    model = archs.build(config.arch, scale=config.scale, channels=config.channels, blocks=config.blocks)
    model.load_state_dict(load_file(str(run / "best.safetensors")))
    metrics: dict[str, dict[str, float]] = {}
    for folder in val_sets:
        pairs = load_pairs([folder], config.scale, 8)
        bicubic = float(
            np.mean([y_psnr(_bicubic_up(p.lr, config.scale), p.hr.astype(np.float64), config.scale) for p in pairs])
        )
        metrics[folder.name] = {
            "psnr_y": round(validate(model, pairs, config.scale), 2),
            "bicubic_psnr_y": round(bicubic, 2),
        }
    params = sum(p.numel() for p in model.parameters())
    info = ModelInfo(
        id=model_id,
        name=f"photogan upscaler ×{config.scale} (compact, {params / 1000:.0f} K parameters)",
        task="upscale",
        scale=config.scale,
        arch=config.arch,
        arch_params=dict(getattr(model, "hparams", {})),
        size_multiple=1,
        tiling="tiled",
        tile_pad=int(getattr(model, "receptive_radius", 16)) + 6,
        licence="weights: same terms as the training data (research use)",
        training_data=TRAINING_DATA,
        metrics=metrics,
        description=(
            f"Fidelity upscaler ×{config.scale} trained with an L1 loss on bicubic-downscaled photos "
            f"({config.total_iters} iterations). Sharpens edges without inventing texture."
        ),
    )
    export_onnx(model, info, out)
    shutil.copyfile(run / "best.safetensors", out.with_suffix(".safetensors"))
    return out


def _bicubic_up(lr: np.ndarray, scale: int) -> np.ndarray:
    from PIL import Image

    size = (lr.shape[1] * scale, lr.shape[0] * scale)
    return np.asarray(Image.fromarray(lr).resize(size, Image.Resampling.BICUBIC), dtype=np.float64)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, nargs="+", required=True)
    parser.add_argument("--val", type=Path, required=True)
    parser.add_argument("--run", type=Path, required=True)
    parser.add_argument("--scale", type=int, default=4)
    parser.add_argument("--channels", type=int, default=32)
    parser.add_argument("--blocks", type=int, default=8)
    parser.add_argument("--iters", type=int, default=20000)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--export", type=Path, help="export the run's best weights to this .onnx file and stop")
    parser.add_argument("--id", help="model id for --export")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.export:
        val_root = args.val.parent
        sets = [val_root / name for name in ("Set5", "Set14") if (val_root / name).is_dir()]
        export_run(args.run, args.export, args.id or args.export.stem, sets)
        return
    config = UpscaleConfig(scale=args.scale, channels=args.channels, blocks=args.blocks, total_iters=args.iters)
    train(config, args.data, args.val, args.run, args.minutes)


if __name__ == "__main__":
    main()
