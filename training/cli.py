"""``python -m training`` (also ``photogan train``): train, fine-tune, resume and export photogan models.

Examples::

    python -m training --task upscale --scale 4 --data ~/Pictures/best --minutes 10 --run runs/x4
    python -m training --resume runs/x4 --minutes 10                   # the next chunk of the same run
    python -m training --task restore --data scans/ --base restore --iters 2000 --name my-restore

A run ends at ``--iters``, after ``--minutes`` (with a checkpoint; run again with ``--resume``), or on
SIGINT/SIGTERM (likewise). ``--minutes`` without ``--iters`` trains for that long: the speed is measured after a
short warm-up and the learning-rate schedule sized to the budget. With ``--name``, what the run produced (at its
last iteration or at the end of the time budget, whichever came first) is exported to the user models folder and
can be used at once: ``photogan enhance --model NAME``; a run stopped by a signal is not exported (resume it).
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
from dataclasses import fields
from pathlib import Path
from typing import Any

from photogan.app.runs import COLOUR_CEILING, Event, RunFolder, TextureVerdict, Verdict, new_run_dir
from photogan.inference.model_info import ModelInfo
from training.config import AUGMENTATIONS, TASKS, TrainConfig, read_config_file

log = logging.getLogger("training")
EXIT_OK, EXIT_USAGE = 0, 2
CONFIGS = Path(__file__).resolve().parent / "configs"
#: The recipe a run of the task starts from when no --config is given (the others: TrainConfig's defaults).
TASK_RECIPES = {"generate": "texture.toml", "inpaint": "inpaint.toml", "detect": "detect.toml"}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="photogan train", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--task", choices=TASKS)
    p.add_argument("--scale", type=int, choices=(2, 3, 4))
    p.add_argument("--data", type=Path, nargs="+", help="folders of clean photos (searched recursively)")
    p.add_argument("--base", help="fine-tune from this model id (bundled or yours)")
    p.add_argument(
        "--minutes", type=float, help="time budget of this chunk; ends with a checkpoint (alone: sizes the schedule)"
    )
    p.add_argument("--iters", type=int, help="total iterations of the run")
    p.add_argument("--name", help="export the model under this id into your models folder when the run or budget ends")
    p.add_argument("--resume", type=Path, metavar="RUN_DIR", help="continue the run in RUN_DIR")
    p.add_argument(
        "--run-dir",
        "--run",
        dest="run",
        type=Path,
        metavar="RUN_DIR",
        help="folder for a new run (default: user data dir)",
    )
    p.add_argument("--config", type=Path, help="TOML or YAML file of TrainConfig fields")
    p.add_argument("--batch", type=int)
    p.add_argument("--patch", type=int)
    p.add_argument("--lr", type=float)
    p.add_argument("--gan-start", type=int, help="iteration at which adversarial training starts")
    p.add_argument(
        "--augment",
        choices=AUGMENTATIONS,
        help="views of the photos it may learn from: rotate (90° turns and mirrors: paving, gravel, fabric from "
        "above), flip (left-right mirrors only: bark, grass, anything with an up; the texture default), none",
    )
    p.add_argument("--seed", type=int)
    p.add_argument(
        "--self-supervised",
        action="store_true",
        help="restore: learn from noisy photos alone, e.g. scans with no clean originals (Neighbor2Neighbor)",
    )
    p.add_argument("--fp16", action="store_true", help="also export a float16 copy for GPUs")
    p.add_argument("--progress", choices=("text", "json"), default="text", help="json: JSON lines on stdout")
    p.add_argument("--dry-run", action="store_true", help="one iteration and a validation, nothing saved")
    return p


#: What a fine-tune changes in its base model's recipe. The rest (degradations, losses, patch, batch) is the base's
#: own, read from its checkpoint, so the model keeps doing what it was made for on the user's photos; a ``--config``
#: file and the flags change it further. A tenth of the photos (up to 8) are held out whole, for the verdict
#: against the base. Chosen with ``benchmarks/finetune.py`` (its table is in the README).
FINETUNE: dict[str, Any] = {"iters": 2000, "warmup": 100, "val_fraction": 0.1, "val_max": 8, "val_every": 250}
#: A fine-tune's learning rate, as a fraction of the base recipe's (a pixel-loss upscaler's: FINETUNE_UPSCALE_LR).
FINETUNE_LR = 0.5
#: What a fine-tune of a pixel-loss upscaler changes besides: the squared error alone (what the verdict's PSNR
#: measures) at batch 8, at the learning rate :data:`FINETUNE_UPSCALE_LR`. On 20 unseen old photos ×4 gained
#: +0.23 dB with it (SSIM-Y unchanged), +0.21 at 1e-4, +0.195 at 5e-5, +0.11 with the base's L1 + SSIM at 5e-5
#: (training/configs/finetune/README.md). A GAN upscaler keeps its base's losses and :data:`FINETUNE_LR`: its
#: pixel term is balanced against the adversarial one.
FINETUNE_UPSCALE: dict[str, Any] = {"batch": 8, "fidelity": {"l2": 1.0}}
#: A pixel-loss upscaler's fine-tune learning rate, whatever its base's last stage used (upscale-x4 and -x2 1e-4,
#: upscale-x4-fidelity 5e-4): the rate these networks were trained at on the real-photo degradations.
FINETUNE_UPSCALE_LR = 2e-4


def model_recipe(model_id: str, purpose: str = "read the recipe of") -> tuple[ModelInfo, TrainConfig, Path]:
    """A registered model, the training configuration saved in its ``.safetensors`` (defaults where it carries
    none) and that checkpoint's path.

    Raises:
        ValueError: The model is unknown or has no training checkpoint.
    """
    from training.checkpoint import model_checkpoint, recipe

    info, weights = model_checkpoint(model_id, purpose)
    saved = recipe(weights)
    known = {f.name for f in fields(TrainConfig)}
    if unknown := sorted(set(saved) - known):
        log.warning("%s: ignoring recipe keys this photogan does not know: %s", info.id, ", ".join(unknown))
    config = TrainConfig.from_dict({k: v for k, v in saved.items() if k in known}) if saved else TrainConfig()
    return info, config, weights


def base_recipe(model_id: str) -> tuple[TrainConfig, Path]:
    """The recipe a fine-tune of ``model_id`` starts from (its own training configuration with :data:`FINETUNE`
    applied, and :data:`FINETUNE_UPSCALE` for a pixel-loss upscaler) and the weights it starts from.

    Raises:
        ValueError: The model is unknown or has no training checkpoint.
    """
    info, base, weights = model_recipe(model_id, "fine-tune from")
    adversarial = base.gan_start is not None  # a GAN-trained base stays one (a fresh critic, from the start)
    upscaler = info.task == "upscale" and not adversarial
    return base.with_overrides(
        **FINETUNE,
        **(FINETUNE_UPSCALE if upscaler else {}),
        task=info.task,
        scale=info.scale,
        arch=info.arch,
        arch_params=dict(info.arch_params),  # with the decoding settings chosen at bundling
        lr=FINETUNE_UPSCALE_LR if upscaler else base.lr * FINETUNE_LR,
        gan_start=0 if adversarial else None,
        base=info.id,
    ), weights


def _config(args: argparse.Namespace) -> tuple[TrainConfig, Path | None]:
    """The run's configuration and the weights to start from (for --base)."""
    if args.resume:
        run = RunFolder(args.resume)
        if not run.is_run:
            raise ValueError(f"{args.resume} is not a training run (no config.json)")
        return TrainConfig.from_dict(json.loads(run.config.read_text())).with_overrides(iters=args.iters), None
    weights = None
    if args.base:
        config, weights = base_recipe(args.base)
        if args.task and args.task != config.task:
            raise ValueError(f"{config.base} is a {config.task} model, not {args.task}")
        if args.scale and args.scale != config.scale:
            raise ValueError(f"{config.base} upscales ×{config.scale}, not ×{args.scale}")
        if args.config:  # a recipe's changes to the base's (benchmarks/finetune.py tries them so)
            config = config.with_overrides(**read_config_file(args.config))
    elif args.config:
        config = TrainConfig.from_file(args.config)
    elif args.task in TASK_RECIPES:  # a task whose defaults are a measured recipe of their own
        config = TrainConfig.from_file(CONFIGS / TASK_RECIPES[args.task])
    else:
        config = TrainConfig()
    overrides: dict[str, Any] = {
        "iters": args.iters,
        "batch": args.batch,
        "patch": args.patch,
        "lr": args.lr,
        "gan_start": args.gan_start,
        "augment": args.augment,
        "seed": args.seed,
        "self_supervised": args.self_supervised or None,
    }
    if not args.base:
        overrides.update(task=args.task, scale=args.scale)
    return config.with_overrides(**overrides), weights


def _data_folders(run_dir: Path, given: list[Path] | None) -> list[Path]:
    """The photo folders of a run: as given (and remembered in ``data.json``), or as remembered when resuming."""
    record = RunFolder(run_dir).data
    if given:
        run_dir.mkdir(parents=True, exist_ok=True)
        record.write_text(json.dumps([str(p.resolve()) for p in given]))
        return given
    if not record.exists():
        raise ValueError(f"{run_dir} does not say which photos it was trained on: pass --data")
    return [Path(p) for p in json.loads(record.read_text())]


def export_run(
    run_dir: Path,
    name: str,
    metrics: dict[str, float],
    fp16: bool = False,
    verdict: Verdict | TextureVerdict | None = None,
    photos: int = 0,
) -> Path:
    """Exports the run's EMA weights (see ``training.bundle.load_run``) as ``name`` into the user models folder,
    with its checkpoint and a card (``NAME.md``: what it was trained on, and a fine-tune's verdict)."""
    from photogan.inference.registry import user_models_dir
    from training.bundle import export_model, load_run

    config, model = load_run(run_dir)
    record = RunFolder(run_dir).data
    folders = ", ".join(json.loads(record.read_text())) if record.exists() else ""
    measured: dict[str, Any] = {"validation": {k: round(v, 4) for k, v in metrics.items()}}
    if isinstance(verdict, Verdict):
        measured["against_base"] = verdict.to_dict()
    elif verdict is not None:
        measured["variety"] = verdict.to_dict()
    origin = f"fine-tuned from {config.base}" if config.base else "trained with photogan"
    target = export_model(
        model,
        config,
        user_models_dir(),
        name,
        name=name,
        description=f"{config.task} model {origin} ({config.iters} iterations)"
        + (f"; {verdict.sentence()}" if verdict else ""),
        training_data=f"the user's photos: {folders or run_dir}",
        licence="trained by the user on their own photos",
        metrics=measured,
        fp16=fp16,
    )
    target.with_suffix(".md").write_text(model_card(name, config, folders, photos, run_dir, verdict), "utf-8")
    return target


def model_card(
    name: str,
    config: TrainConfig,
    folders: str,
    photos: int,
    run_dir: Path,
    verdict: Verdict | TextureVerdict | None,
) -> str:
    """The card of a model the user trained: what it was made from and how it compares with its base."""
    from training.verdict import DRAWS, SIDE

    task = f"upscale ×{config.scale}" if config.task == "upscale" else config.task
    lines = [
        f"# {name} — {'fine-tuned from ' + config.base if config.base else 'trained'} on your photos",
        "",
        "| | |",
        "|---|---|",
        f"| task | {task} (`{config.arch}` network) |",
    ]
    if config.base:
        lines.append(f"| started from | `{config.base}`, with its own degradations and losses |")
    lines += [
        f"| trained on | {photos} photos from {folders or 'the run’s folders'}"
        + (f", {verdict.photos} more held out whole for the comparison |" if isinstance(verdict, Verdict) else " |"),
        f"| recipe | {config.iters} iterations, batch {config.batch} of {config.patch} px crops, learning rate "
        f"{config.lr:g} (warm-up {config.warmup}, cosine), EMA {config.ema_decay:g}; exported from the last EMA "
        "weights |",
        f"| run folder | `{run_dir}` (`photogan train --resume` continues it) |",
        "| licence | trained by the user on their own photos |",
    ]
    if isinstance(verdict, TextureVerdict):
        from training.bundle import TEXTURE_SIZE

        width, height = TEXTURE_SIZE
        lines += [
            "",
            "## Variety",
            "",
            f"**{verdict.sentence()[0].upper() + verdict.sentence()[1:]}.** {verdict.samples} seeded samples of "
            f"{width}×{height} against as many random crops of the photo (variety: mean RMS distance between "
            "same-place crops of different samples, random crops of the photo are the reference, a collapsed run is "
            "near 0; colours: distance between the colour histograms of the samples' crops and the photo's, 0 the "
            f"same, 1 disjoint, above {COLOUR_CEILING:g} the run failed).",
            "",
            "| | variety | colours |",
            "|---|---|---|",
            f"| your photo | {verdict.photo_variety:.4f} | |",
            f"| `{name}` (seed {verdict.seed}) | {verdict.variety:.4f} ({verdict.ratio:.2f} of the photo's) | "
            f"{verdict.colours:.2f} |",
        ]
        if not verdict.better:
            lines += [
                "",
                "photogan does not select it. Train again with another seed "
                f"(`photogan train … --seed {verdict.seed + 1}`, or *Learn a texture* once more in the app).",
            ]
    elif verdict is not None:
        how = (
            "was split into the two neighbour sub-images of its 2×2 cells (a fixed seed); each model's output on the "
            "first is scored against the second, as no clean original exists"
            if config.self_supervised
            else f"was degraded {DRAWS} times as in training, with fixed seeds, and given to both models"
        )
        lines += [
            "",
            f"## Against {verdict.base}",
            "",
            f"**{verdict.sentence()[0].upper() + verdict.sentence()[1:]}.** Each held-out photo (whole, its centre up "
            f"to {SIDE} px) {how}.",
            "",
            f"| model | {verdict.metric} dB, mean over {verdict.photos} photo{'s' if verdict.photos != 1 else ''} |",
            "|---|---|",
            f"| `{verdict.base}` (the base) | {verdict.base_score:.2f} |",
            f"| `{name}` | {verdict.score:.2f} ({verdict.gain:+.2f}) |",
        ]
        if not verdict.better:
            lines += [
                "",
                f"The fine-tune did not beat `{verdict.base}`, so photogan does not select it. It stays in your "
                "models: compare the two on your own photos in the viewer, or delete it from the Models dialog.",
            ]
    lines += ["", "## Use", "", f"    photogan enhance --model {name} PHOTO", ""]
    return "\n".join(lines)


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from training.trainer import Trainer, configure_logging
    from training.verdict import judge

    configure_logging()
    # a stop asked for while the data loads is honoured after the first iteration (with a checkpoint)
    early_stop: list[int] = []
    handlers = {sig: signal.signal(sig, lambda signum, _: early_stop.append(signum)) for sig in STOP_SIGNALS}
    try:
        config, weights = _config(args)
        if not args.resume and not args.data:
            raise ValueError("--data is required for a new run")
        run_dir = args.resume or args.run or new_run_dir(args.name or config.task)
        data = _data_folders(run_dir, args.data)
        trainer = Trainer(config, data, run_dir, base_weights=weights, progress_json=args.progress == "json")
    except (ValueError, OSError) as exc:
        print(f"photogan train: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
    if early_stop:
        trainer.request_stop()
    # --minutes alone: the budget is the contract (the schedule is sized to it); with --iters (or a --config file
    # that sets iters: a recipe trained in chunks), whichever ends first
    iters_given = args.iters is not None or (args.config is not None and "iters" in read_config_file(args.config))
    fit = args.minutes is not None and not iters_given and not args.resume
    outcome = trainer.run(args.minutes, dry_run=args.dry_run, fit_to_budget=fit)
    log.info(
        "%s at iteration %d of %d (run folder %s)", outcome.status, outcome.iteration, trainer.config.iters, run_dir
    )
    verdict = None
    if outcome.status.exports and trainer.rank == 0:
        verdict = judge(trainer.config, trainer.data, trainer.ema.model)
        if verdict is not None:
            trainer.emit(Event.VERDICT, **verdict.to_dict())
    if outcome.status.exports and args.name and trainer.rank == 0:
        photos = len(trainer.data.train_photos)
        target = export_run(run_dir, args.name, outcome.metrics, args.fp16, verdict, photos)
        record: dict[str, Any] = {
            "event": str(Event.EXPORTED),
            "model": args.name,
            "path": str(target),
            "metrics": outcome.metrics,
        }
        if verdict is not None:
            record["verdict"] = verdict.to_dict()
        if args.progress == "json":
            print(json.dumps(record), flush=True)
        log.info("exported %s to %s", args.name, target)
    if isinstance(verdict, TextureVerdict):  # the last line: did it learn anything?
        again = "" if verdict.better else f"; train again with --seed {verdict.seed + 1}"
        log.info("%s: %s%s", args.name or "the texture model", verdict.sentence(), again)
    elif verdict is not None:  # the last line: the only question a fine-tune's user has
        log.info("%s: %s", args.name or "the fine-tune", verdict.sentence())
    return EXIT_OK
