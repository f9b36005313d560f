"""Throughput as the user meets it: the whole ``photogan enhance FOLDER`` process, per model, beside the anchor.

Usage::

    python benchmarks/throughput.py ../shared/data/val/Set14 --models upscale-x4 upscale-x4-photo [--format jpg]
    python benchmarks/throughput.py FOLDER --models upscale-x4 upscale-x4+int8     # MODEL+int8: with --int8
    python benchmarks/throughput.py FOLDER --models restore colorize --no-anchor --repeat 5

Each model runs as its own ``photogan enhance`` process over every photo in the folders (start-up, imports,
decoding, tiling, the network, encoding and the verified atomic write all count), writing into a fresh temporary
folder; the anchor network (``../shared/anchors/realesr-general-x4v3.onnx``, benchmarks only) runs through the
very same command from a temporary copy that carries photogan metadata. The table gives the wall-clock seconds,
the output megapixels and output megapixels per second, and each model's speed over the anchor's.

On a shared or virtual machine one run can be 30 % slower than the next. ``--repeat N`` runs every process N
times, taking turns (each round runs every model once, so a slow spell hits all of them); the table gives the
fastest run (what the code costs: interference only adds), the MP/s of the fastest and of the median run, and the
speed over the anchor's from the fastest runs.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import modelspec  # benchmarks/modelspec.py, beside this script
from anchor import ANCHOR_ID, DEFAULT_ANCHOR, anchor_models_dir
from PIL import Image

from photogan.core.formats import find_images


def run_enhance(model: str, inputs: list[Path], extra: list[str]) -> tuple[float, float]:
    """(seconds, output megapixels) of one whole ``photogan enhance`` process."""
    out = Path(tempfile.mkdtemp(prefix="photogan-throughput-"))
    try:
        command = [sys.executable, "-m", "photogan", "enhance", *map(str, inputs), "--model", model, "-o", str(out)]
        start = time.perf_counter()
        done = subprocess.run([*command, *extra], capture_output=True, text=True, check=False)
        seconds = time.perf_counter() - start
        if done.returncode != 0:
            raise SystemExit(f"photogan enhance --model {model} failed:\n{done.stderr[-2000:]}")
        megapixels = 0.0
        for path in out.iterdir():
            with Image.open(path) as image:
                megapixels += image.width * image.height / 1e6
        return seconds, megapixels
    finally:
        shutil.rmtree(out, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folders", nargs="+", type=Path)
    parser.add_argument("--models", nargs="+", default=["upscale-x4"])
    parser.add_argument("--anchor", type=Path, default=DEFAULT_ANCHOR)
    parser.add_argument("--no-anchor", action="store_true")
    parser.add_argument("--format", help="output format passed to photogan enhance (default: the input's)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each process, taking turns (default 1)")
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    inputs = [p for folder in args.folders for p in find_images(folder, recursive=True)]
    if not inputs:
        sys.exit("no photos in the given folders")
    extra = ["--device", args.device] + (["--format", args.format] if args.format else [])
    anchor_dir = None if args.no_anchor else anchor_models_dir(args.anchor)
    runs: dict[str, list[float]] = {}
    megapixels: dict[str, float] = {}
    try:
        commands = [(name, *modelspec.split(name)) for name in args.models]
        if anchor_dir is not None:
            commands.append((ANCHOR_ID, str(anchor_dir / f"{ANCHOR_ID}.onnx"), False))
        for _ in range(args.repeat):
            for name, model, int8 in commands:
                seconds, megapixels[name] = run_enhance(model, inputs, extra + (["--int8"] if int8 else []))
                runs.setdefault(name, []).append(seconds)
    finally:
        if anchor_dir is not None:
            shutil.rmtree(anchor_dir, ignore_errors=True)
    anchor_speed = megapixels[ANCHOR_ID] / min(runs[ANCHOR_ID]) if ANCHOR_ID in runs else None
    print(f"{len(inputs)} photos, device {args.device}, format {args.format or 'as input'}, {args.repeat} run(s) each")
    print("| model | seconds (fastest) | output MP | output MP/s (fastest) | MP/s (median run) | × anchor |")
    print("|---|---|---|---|---|---|")
    for name, seconds in runs.items():
        fastest, mp = min(seconds), megapixels[name]
        ratio = f"{mp / fastest / anchor_speed:.2f}" if anchor_speed else "-"
        median = mp / statistics.median(seconds)
        print(f"| {name} | {fastest:.2f} | {mp:.1f} | {mp / fastest:.2f} | {median:.2f} | {ratio} |")


if __name__ == "__main__":
    main()
