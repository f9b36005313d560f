"""Throughput as the user meets it: the whole ``photogan enhance FOLDER`` process, per model, beside the anchor.

Usage::

    python benchmarks/throughput.py ../shared/data/val/Set14 --models upscale-x4 upscale-x4-photo [--format jpg]
    python benchmarks/throughput.py FOLDER --models upscale-x4 upscale-x4+int8     # MODEL+int8: with --int8

Each model runs as its own ``photogan enhance`` process over every photo in the folders (start-up, imports,
decoding, tiling, the network, encoding and the verified atomic write all count), writing into a fresh temporary
folder; the anchor network (``../shared/anchors/realesr-general-x4v3.onnx``, benchmarks only) runs through the
very same command from a temporary copy that carries photogan metadata. The table gives the wall-clock seconds,
the output megapixels and output megapixels per second, and each model's speed over the anchor's.
"""

from __future__ import annotations

import argparse
import shutil
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
    args = parser.parse_args()
    inputs = [p for folder in args.folders for p in find_images(folder, recursive=True)]
    if not inputs:
        sys.exit("no photos in the given folders")
    extra = ["--device", args.device] + (["--format", args.format] if args.format else [])
    rows: list[tuple[str, float, float]] = []
    anchor_dir = None if args.no_anchor else anchor_models_dir(args.anchor)
    try:
        for name in args.models:
            model, int8 = modelspec.split(name)
            rows.append((name, *run_enhance(model, inputs, extra + (["--int8"] if int8 else []))))
        if anchor_dir is not None:
            rows.append((ANCHOR_ID, *run_enhance(str(anchor_dir / f"{ANCHOR_ID}.onnx"), inputs, extra)))
    finally:
        if anchor_dir is not None:
            shutil.rmtree(anchor_dir, ignore_errors=True)
    anchor_speed = next((mp / s for name, s, mp in rows if name == ANCHOR_ID), None)
    print(f"{len(inputs)} photos, device {args.device}, format {args.format or 'as input'}")
    print("| model | seconds | output MP | output MP/s | × anchor |")
    print("|---|---|---|---|---|")
    for name, seconds, megapixels in rows:
        ratio = f"{megapixels / seconds / anchor_speed:.2f}" if anchor_speed else "-"
        print(f"| {name} | {seconds:.1f} | {megapixels:.1f} | {megapixels / seconds:.2f} | {ratio} |")


if __name__ == "__main__":
    main()
