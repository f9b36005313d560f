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
from pathlib import Path
from typing import Any

from photogan.app.runs import Event, RunFolder, new_run_dir
from training.config import TASKS, TrainConfig, read_config_file

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
    p.add_argument("--seed", type=int)
    p.add_argument("--fp16", action="store_true", help="also export a float16 copy for GPUs")
    p.add_argument("--progress", choices=("text", "json"), default="text", help="json: JSON lines on stdout")
    p.add_argument("--dry-run", action="store_true", help="one iteration and a validation, nothing saved")
    return p


def _config(args: argparse.Namespace) -> tuple[TrainConfig, Path | None]:
    """The run's configuration and the weights to start from (for --base)."""
    if args.resume:
        run = RunFolder(args.resume)
        if not run.is_run:
            raise ValueError(f"{args.resume} is not a training run (no config.json)")
        return TrainConfig.from_dict(json.loads(run.config.read_text())).with_overrides(iters=args.iters), None
    task = args.task
    if args.base and not task:
        from training.checkpoint import model_checkpoint

        task = model_checkpoint(args.base, "fine-tune from")[0].task
    if args.config:
        config = TrainConfig.from_file(args.config)
    elif task in TASK_RECIPES:  # a task whose defaults are a measured recipe of their own
        config = TrainConfig.from_file(CONFIGS / TASK_RECIPES[task])
    else:
        config = TrainConfig()
    overrides: dict[str, Any] = {
        "task": args.task,
        "scale": args.scale,
        "iters": args.iters,
        "batch": args.batch,
        "patch": args.patch,
        "lr": args.lr,
        "gan_start": args.gan_start,
        "seed": args.seed,
    }
    weights = None
    if args.base:
        from training.checkpoint import model_checkpoint

        info, weights = model_checkpoint(args.base, "fine-tune from")
        if args.task and args.task != info.task:
            raise ValueError(f"{info.id} is a {info.task} model, not {args.task}")
        params = dict(info.arch_params)
        overrides.update(task=info.task, scale=info.scale, arch=info.arch, arch_params=params)
        overrides["lr"] = args.lr or config.lr * 0.25  # fine-tuning: a smaller step
        if args.minutes is None:  # with a time budget the budget sizes the run (see main)
            overrides["iters"] = args.iters or 2000
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


def export_run(run_dir: Path, name: str, metrics: dict[str, float], fp16: bool = False) -> Path:
    """Exports the run's best EMA weights as ``name`` into the user models folder (with its checkpoint)."""
    from photogan.inference.registry import user_models_dir
    from training.bundle import export_model, load_run

    config, model = load_run(run_dir)
    return export_model(
        model,
        config,
        user_models_dir(),
        name,
        name=name,
        description=f"{config.task} model trained with photogan ({config.iters} iterations)",
        training_data=f"the user's photos ({run_dir})",
        licence="trained by the user on their own photos",
        metrics={"validation": {k: round(v, 4) for k, v in metrics.items()}},
        fp16=fp16,
    )


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from training.trainer import Trainer, configure_logging

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
    if outcome.status.exports and args.name and trainer.rank == 0:
        target = export_run(run_dir, args.name, outcome.metrics, fp16=args.fp16)
        record = {"event": str(Event.EXPORTED), "model": args.name, "path": str(target), "metrics": outcome.metrics}
        if args.progress == "json":
            print(json.dumps(record), flush=True)
        log.info("exported %s to %s", args.name, target)
    return EXIT_OK
