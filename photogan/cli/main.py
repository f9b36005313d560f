"""``photogan`` command line.

Exit codes: 0 when every input succeeded (or was skipped), 1 when some failed (the rest are done and the failures
listed), 2 for usage errors (bad arguments, unknown model, an output that would overwrite an input), 130 when
interrupted.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from photogan import __version__
from photogan.app.batch import BatchObserver, FileResult, Job, OutputOptions, plan_batch, run_batch
from photogan.app.doctor import format_report, report
from photogan.app.models import ENHANCE_TASKS, TASK_CHAINS, ModelService, describe
from photogan.app.outputs import PlanError
from photogan.app.sizing import SizeRequest, model_scale, parse_print
from photogan.core.errors import Cancelled, ModelError, OutputFolderError, UsageError
from photogan.core.formats import FORMAT_CHOICES
from photogan.core.hints import load_hints
from photogan.core.load import DEFAULT_MAX_PIXELS
from photogan.core.masks import load_mask
from photogan.core.progress import Progress
from photogan.core.save import PNG_COMPRESS_LEVEL
from photogan.core.tiling import AUTO_TILE, TileOptions
from photogan.inference.model_info import ModelInfo, is_spatial

if TYPE_CHECKING:
    from tqdm import tqdm

EXIT_OK, EXIT_FAILURES, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def _positive(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="photogan", description="Enhance photos with photogan's models.")
    parser.add_argument("--version", action="version", version=f"photogan {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more detail")
    commands = parser.add_subparsers(dest="command", required=True)

    enh = commands.add_parser("enhance", help="enhance photos (upscale, restore, colorize)")
    enh.add_argument("inputs", nargs="+", type=Path, metavar="INPUT", help="photos or folders")
    enh.add_argument(
        "-o",
        "--output",
        type=Path,
        default=Path("photogan-output"),
        metavar="OUTDIR",
        help="output folder (default: ./photogan-output)",
    )
    enh.add_argument(
        "--task",
        choices=ENHANCE_TASKS,
        help="default: upscale; inpaint fills a mask's holes; repair finds scratches, dust and tears, fills them "
        "and cleans noise and fading (detect → inpaint → restore)",
    )
    enh.add_argument("--scale", type=int, choices=(2, 4), help="upscaling factor (default 4)")
    enh.add_argument("--model", help="model id (see 'photogan models list') or path to a .onnx file")
    enh.add_argument(
        "--tile",
        metavar="N",
        type=_positive,
        default=AUTO_TILE,
        help="tile size in input pixels; 0 for the whole image at once (default: each model's own, measured as "
        "the fastest on a CPU; 512 for a model that states none)",
    )
    enh.add_argument(
        "--hints",
        type=Path,
        metavar="HINTS.json",
        help='colour points for colorize, {"hints": [{"x": 120, "y": 48, "color": "#b03a2e"}]} in the photo\'s '
        "pixels (one input photo; in a batch each photo's NAME.hints.json beside it is used)",
    )
    enh.add_argument(
        "--mask",
        type=Path,
        metavar="MASK.png",
        help="what inpaint fills: white = fill, gray = a soft edge, the photo's size (one input photo; in a batch "
        "each photo's NAME.mask.png beside it is used); with repair, added to the damage it finds",
    )
    enh.add_argument(
        "--chain",
        metavar="A,B,...",
        help="models or tasks run one after the other, e.g. restore,colorize,upscale-x4 (instead of --task/--model)",
    )
    size = enh.add_argument_group("output size (the model's result is resized to it, Lanczos)")
    size.add_argument("--outscale", type=float, metavar="F", help="any enlargement, e.g. 3 or 2.5")
    size.add_argument("--width", type=int, metavar="PX", help="output width (with --height: fitted inside both)")
    size.add_argument("--height", type=int, metavar="PX", help="output height")
    size.add_argument(
        "--print", dest="print_size", metavar="WxHcm", help="print size, e.g. 40x60cm, 400x600mm or 16x20in"
    )
    size.add_argument("--dpi", type=float, help="the print's DPI (default 300), written into the output")
    enh.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default auto)")
    enh.add_argument(
        "--int8",
        action="store_true",
        help="on a CPU, run the 8-bit copy of a model where it has one: networks 1.2–1.5× faster, at most 0.05 dB less "
        "(measured per model; see its card)",
    )
    enh.add_argument(
        "--format", default="same", choices=("same", *FORMAT_CHOICES), help="output format (default: same as the input)"
    )
    enh.add_argument("--quality", type=int, default=95, help="JPEG/WebP/HEIC/AVIF quality 1-100 (default 95)")
    enh.add_argument(
        "--png-compression",
        type=int,
        default=PNG_COMPRESS_LEVEL,
        metavar="0-9",
        help=f"zlib level of PNG outputs: 1 fastest, 9 smallest (default {PNG_COMPRESS_LEVEL}; see the README's table)",
    )
    enh.add_argument("--recursive", action="store_true", help="include sub-folders, mirrored in the output")
    enh.add_argument("--skip-existing", action="store_true", help="skip inputs whose output already exists")
    enh.add_argument(
        "--max-pixels",
        type=int,
        default=DEFAULT_MAX_PIXELS,
        help=f"refuse images larger than this (default {DEFAULT_MAX_PIXELS})",
    )

    doctor = commands.add_parser("doctor", help="what this machine offers photogan (for bug reports too)")
    doctor.add_argument("--json", action="store_true", help="print the report as JSON")

    models = commands.add_parser("models", help="list, describe or import models")
    verbs = models.add_subparsers(dest="verb", required=True)
    verbs.add_parser("list", help="list bundled and user models")
    info = verbs.add_parser("info", help="show a model's card")
    info.add_argument("model", help="model id or .onnx path")
    imp = verbs.add_parser(
        "import",
        help="add a model: photogan's .onnx, any image-to-image .onnx, or a PyTorch .pth/.pt/.ckpt/.safetensors",
        description="Adds a model to your models folder. A photogan .onnx is copied; any other image-to-image ONNX "
        "model (NCHW float RGB in 0-1) is measured (scale, size multiple, range, tile context) and described; a "
        "PyTorch checkpoint of an architecture spandrel knows (ESRGAN, Compact, SPAN, SwinIR, HAT, DAT...) is "
        "converted to ONNX first (needs pip install 'photogan[convert]').",
    )
    imp.add_argument("file", type=Path)
    imp.add_argument("--id", dest="model_id", help="the id to use (default: from the file name)")
    imp.add_argument("--task", choices=("upscale", "restore"), help="default: upscale when it enlarges, else restore")
    imp.add_argument("--scale", type=int, help="the scale it must have (checked)")
    delete = verbs.add_parser("delete", help="delete one of your models")
    delete.add_argument("model", help="model id")

    gen = commands.add_parser("generate", help="generate textures or backgrounds with a generate model")
    gen.add_argument("--model", help="a generate model id or .onnx path (trained with photogan train --task generate)")
    gen.add_argument("-n", "--count", type=int, default=8, help="how many images (default 8)")
    gen.add_argument("--seed", type=int, default=0, help="seed of the first image; image k uses seed + k")
    gen.add_argument(
        "--interpolate", type=int, metavar="SEED_B", help="instead: a sequence from --seed to this seed (--count steps)"
    )
    gen.add_argument(
        "--size",
        type=_size,
        metavar="WxH",
        help="size in pixels of each texture, e.g. 3000x2000 (texture models; default 512x512); it tiles seamlessly",
    )
    gen.add_argument(
        "--repeat", type=int, default=1, metavar="N", help="save each as N×N copies side by side (tileable models)"
    )
    gen.add_argument("-o", "--output", type=Path, default=Path("photogan-output"), metavar="OUTDIR")
    gen.add_argument("--device", default="auto")
    commands.add_parser("gui", help="open the desktop app (needs the gui extra): photogan gui [FILES]", add_help=False)
    commands.add_parser(
        "train", help="train or fine-tune a model (needs the train extra; see 'photogan train -h')", add_help=False
    )
    return parser


class TerminalProgress(BatchObserver):
    """A line on stderr per finished file; in a terminal, above two tqdm bars (files, and the current file's
    tiles). Elsewhere (a script, a log) there are no bars, and tqdm is not even imported (40 ms of start-up)."""

    def __init__(self, total: int) -> None:
        self.overall: tqdm | None = None
        self.current: tqdm | None = None
        if sys.stderr.isatty():
            from tqdm import tqdm

            self.overall = tqdm(total=total, unit="file", desc="photos", position=0, dynamic_ncols=True)
            self.current = tqdm(
                total=100,
                unit="%",
                position=1,
                leave=False,
                dynamic_ncols=True,
                bar_format="{desc} {percentage:3.0f}%|{bar}| {elapsed}<{remaining}",
            )

    def file_started(self, job: Job, index: int, total: int) -> None:
        if self.current is not None:
            self.current.reset(total=100)
            self.current.set_description_str(job.source.name)

    def file_progress(self, fraction: float) -> None:
        if self.current is not None:
            self.current.n = round(fraction * 100)
            self.current.refresh()

    def file_finished(self, result: FileResult) -> None:
        if result.status == "done":
            detail = f"; {result.detail}" if result.detail else ""
            self._line(f"done     {result.source} -> {result.target} ({result.seconds:.1f} s{detail})")
        elif result.status == "skipped":
            self._line(f"skipped  {result.source} ({result.reason})")
        else:
            self._line(f"FAILED   {result.source}: {result.reason}")
        if self.overall is not None:
            self.overall.update(1)

    def _line(self, text: str) -> None:
        if self.overall is not None:
            self.overall.write(text, file=sys.stderr)  # above the bars
        else:
            print(text, file=sys.stderr, flush=True)

    def close(self) -> None:
        for bar in (self.current, self.overall):
            if bar is not None:
                bar.close()


def _size_request(args: argparse.Namespace) -> SizeRequest | None:
    inches = parse_print(args.print_size) if args.print_size else None
    request = SizeRequest(args.outscale, args.width, args.height, inches, args.dpi)
    return None if request.empty and args.dpi is None else request


def _chain(args: argparse.Namespace, service: ModelService, size: SizeRequest | None) -> list[ModelInfo]:
    """The models to run: ``--chain`` (ids or tasks), or one from ``--task``/``--scale``/``--model``; with an output
    size and no scale or model given, the upscaler whose scale reaches the size."""
    if args.chain:
        if args.task or args.model or args.scale:
            raise UsageError("--chain names every model to run: leave out --task, --scale and --model")
        steps = [item.strip() for item in args.chain.split(",") if item.strip()]
        if not steps:
            raise UsageError("--chain needs model ids or tasks joined by commas, e.g. restore,upscale-x4")
        return [info for item in steps for info in _step(service, item, size)]
    if size is not None and size.factor is not None and (args.task or "upscale") == "upscale" and not args.model:
        return [service.resolve("upscale", args.scale or model_scale([size.factor], (2, 4)), None)]
    if args.task in TASK_CHAINS and args.model is None:
        return service.resolve_task(args.task)
    return [service.resolve(args.task, args.scale, args.model)]


def _step(service: ModelService, item: str, size: SizeRequest | None) -> list[ModelInfo]:
    if item in ENHANCE_TASKS:
        scale = model_scale([size.factor], (2, 4)) if item == "upscale" and size and size.factor else None
        return service.resolve_task(item, scale)
    return [service.resolve(None, None, item)]


def _enhance(args: argparse.Namespace, service: ModelService) -> int:
    size = _size_request(args)
    output = OutputOptions(
        format=args.format,
        quality=args.quality,
        skip_existing=args.skip_existing,
        size=size,
        png_compression=args.png_compression,
    )
    infos = _chain(args, service, size)
    plan = plan_batch(args.inputs, args.output, args.format, args.recursive)
    if not plan.jobs and not plan.failures:
        print("photogan: no photos found in the given inputs", file=sys.stderr)
        return EXIT_USAGE
    if args.hints is not None:
        if len(plan.jobs) != 1 or len(args.inputs) != 1 or args.inputs[0].is_dir():
            raise UsageError("--hints goes with one photo; in a batch put NAME.hints.json beside each photo")
        load_hints(args.hints)  # a bad file is a usage error before any work
        plan.jobs[0] = replace(plan.jobs[0], hints=args.hints)
    if args.mask is not None:
        if len(plan.jobs) != 1 or len(args.inputs) != 1 or args.inputs[0].is_dir():
            raise UsageError("--mask goes with one photo; in a batch put NAME.mask.png beside each photo")
        if not any(i.task == "inpaint" for i in infos):
            raise UsageError("--mask holds the holes inpaint fills: add --task inpaint or --task repair")
        load_mask(args.mask)  # an unreadable file is a usage error before any work (its size is checked later)
        plan.jobs[0] = replace(plan.jobs[0], mask=args.mask)
    sessions = [service.open(info, args.device, args.int8) for info in infos]
    if args.hints is not None and not any(i.task == "colorize" for i in infos):
        raise UsageError("--hints are colour points for colorize: add --task colorize (or colorize to --chain)")
    names = " → ".join(f"{i.id} ({i.task} ×{i.scale})" for i in infos)
    providers = ", ".join(sorted({s.provider + (" (int8)" if s.precision == "int8" else "") for s in sessions}))
    print(f"photogan: {names} on {providers} (asked for {args.device})", file=sys.stderr)
    observer = TerminalProgress(len(plan.jobs) + len(plan.failures))
    try:
        results = run_batch(
            plan, sessions, TileOptions(tile_size=args.tile), output, observer, Progress(), args.max_pixels
        )
    finally:
        observer.close()
    failed = [r for r in results if r.status == "failed"]
    done = sum(r.status == "done" for r in results)
    skipped = sum(r.status == "skipped" for r in results)
    print(
        f"photogan: {done} enhanced, {skipped} skipped, {len(failed)} failed; outputs in {args.output}", file=sys.stderr
    )
    for result in failed:
        print(f"  failed: {result.source}: {result.reason}", file=sys.stderr)
    return EXIT_FAILURES if failed else EXIT_OK


def _doctor(args: argparse.Namespace) -> int:
    data = report()
    print(json.dumps(data, indent=2) if args.json else format_report(data))
    return EXIT_OK


def _models(args: argparse.Namespace, service: ModelService) -> int:
    if args.verb == "list":
        for entry in service.list():
            info = entry.info
            scale = "any" if is_spatial(info) else f"×{info.scale}"  # a texture model draws any size
            print(f"{info.id:<22} {info.task:<9} {scale:<4} {entry.origin:<8} {info.name}")
    elif args.verb == "info":
        print(describe(service.registry.get(args.model)))
    elif args.verb == "delete":
        print(f"deleted {service.delete(args.model)}")
    else:
        info = service.import_file(args.file, args.model_id, args.task, args.scale)
        print(f"imported {info.id} ({info.task} ×{info.scale}, {info.arch or 'photogan'}) into {info.path}")
    return EXIT_OK


def _size(text: str) -> tuple[int, int]:
    """``WxH`` (also ``W×H``) → (width, height)."""
    parts = text.lower().replace("×", "x").split("x")
    if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT in pixels, e.g. 3000x2000, got {text!r}")
    width, height = (int(p) for p in parts)
    return width, height


def _generate(args: argparse.Namespace, service: ModelService) -> int:
    from photogan.app.generate import generate, interpolate, is_tileable, noise, save_generated

    if args.count < 1 or args.repeat < 1:
        raise ValueError("--count and --repeat must be at least 1")
    info = service.resolve("generate", None, args.model)
    if args.repeat > 1 and not is_tileable(info):
        raise ValueError(f"{info.id} does not draw tileable images: --repeat would show seams")
    if args.size is not None and not is_spatial(info):
        side = info.arch_params.get("image_size", "?")
        raise ValueError(f"{info.id} draws tiles of one size ({side} px): --size needs a texture model")
    session = service.open(info, args.device)
    if args.interpolate is not None:
        a, b = noise(session, args.seed, size=args.size), noise(session, args.interpolate, size=args.size)
        vectors = interpolate(a, b, args.count)
        stem = f"{session.info.id}-{args.seed}-to-{args.interpolate}"
    else:
        vectors = np.concatenate([noise(session, args.seed + k, size=args.size) for k in range(args.count)])
        stem = f"{session.info.id}-seed{args.seed}"
    paths = []
    for k in range(len(vectors)):  # one at a time: a batch of big textures never sits in memory at once
        photos = generate(session, vectors[k : k + 1], size=args.size)
        paths += save_generated(photos, args.output, stem, tiles=args.repeat, start=k + 1)
    print(
        f"photogan: {len(paths)} images from {session.info.id} on {session.provider} in {args.output}", file=sys.stderr
    )
    return EXIT_OK


def _train(argv: list[str]) -> int:
    """Runs the training module in its own interpreter, so this process never imports torch."""
    import importlib.util

    if getattr(sys, "frozen", False) or importlib.util.find_spec("torch") is None:
        where = "the installed app (it leaves torch out)" if getattr(sys, "frozen", False) else "this installation"
        print(
            f"photogan: error: training is not part of {where}; install photogan with pip and the train extra: "
            "pip install 'photogan[train]'",
            file=sys.stderr,
        )
        return EXIT_USAGE
    if importlib.util.find_spec("training") is None:
        print("photogan: error: training needs the train extra: pip install 'photogan[train]'", file=sys.stderr)
        return EXIT_USAGE
    return _run_child([sys.executable, "-m", "training", *argv])


def _gui(argv: list[str]) -> int:
    """Starts the desktop app in its own interpreter (the CLI and the GUI are independent front ends)."""
    import importlib.util

    if getattr(sys, "frozen", False):  # the installed app: its desktop program lies beside this one
        gui = Path(sys.executable).with_name("photogan-gui" + Path(sys.executable).suffix)
        return _run_child([str(gui), *argv])
    if importlib.util.find_spec("PySide6") is None:
        print("photogan: error: the desktop app needs the gui extra: pip install 'photogan[gui]'", file=sys.stderr)
        return EXIT_USAGE
    return _run_child([sys.executable, "-m", "photogan.gui", *argv])


def _run_child(command: list[str]) -> int:
    """Runs a child interpreter to its end. Ctrl-C and SIGTERM are passed on to it and waited out: a training run
    finishes its iteration and saves a checkpoint first (``subprocess.call`` would kill it after 0.25 s)."""
    import subprocess

    child = subprocess.Popen(command)
    received: list[int] = []

    def forward(signum: int, _frame: object) -> None:
        received.append(signum)
        if child.poll() is None:
            child.send_signal(signum)

    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        code = child.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return EXIT_INTERRUPTED if received and code in (0, -signal.SIGINT, -signal.SIGTERM) else code


def main(argv: list[str] | None = None) -> int:
    """Runs the command line; returns the exit code."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["train"]:
        return _train(argv[1:])
    if argv[:1] == ["gui"]:
        return _gui(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="photogan: %(levelname)s: %(message)s"
    )
    service = ModelService()
    # SIGTERM (logout, shutdown, `timeout`) stops like Ctrl-C: the current photo is abandoned, nothing partial stays
    previous = signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        if args.command == "enhance":
            return _enhance(args, service)
        if args.command == "generate":
            return _generate(args, service)
        if args.command == "doctor":
            return _doctor(args)
        return _models(args, service)
    except OutputFolderError as exc:
        print(
            f"photogan: error: {exc}; stopped, since no photo could be saved there (finished outputs are kept)",
            file=sys.stderr,
        )
        return EXIT_USAGE
    except (ModelError, PlanError, ValueError) as exc:
        print(f"photogan: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (KeyboardInterrupt, Cancelled):
        print("photogan: interrupted; finished outputs are kept, nothing partial was written", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
