"""Speed of photogan's own inference path: output megapixels per second and peak memory, per model.

Usage::

    python benchmarks/speed.py FOLDER [--models upscale-x4 upscale-x2] [--tile 512] [--device cpu] [--repeat 2]
    python benchmarks/speed.py FOLDER --models restore --tile 512 768 1024 [--write-tile --max-rss 1200]
    python benchmarks/speed.py FOLDER --models restore restore+int8       # MODEL+int8: its 8-bit copy (--int8)

Each model runs in a fresh process (so peak RSS is that model's alone) over every image in FOLDER, through
``photogan.inference.enhancer.enhance`` exactly as the CLI runs it; the first image is run once untimed to warm
the session up. MP/s counts the network only; the process's wall time is split into decoding the files
(``load_image``), the network, encoding the results as the CLI writes them (PNG at photogan's level, in memory)
and the rest (start-up, imports, loading the model, the warm-up run).

With several ``--tile`` sizes each model runs once per size; ``--write-tile`` then stores the fastest size (the
smallest within 3 % of the fastest) whose peak RSS stays under ``--max-rss`` MB in the model file
(``photogan.tile_size``: what ``--tile`` left automatic uses). Rewriting a model file orphans its 8-bit copy:
run ``python -m training.quantize`` for it again.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import modelspec  # benchmarks/modelspec.py, beside this script


def measure(model: str, folder: Path, tile: int, device: str, repeat: int) -> dict[str, object]:
    """Runs one model over the folder in this process and returns its numbers."""
    from photogan.app.models import ModelService
    from photogan.core.formats import find_images
    from photogan.core.load import load_image
    from photogan.core.save import encode_image
    from photogan.core.tiling import TileOptions
    from photogan.inference.enhancer import enhance

    service = ModelService()
    session = modelspec.open_model(service, model, device)
    files = list(find_images(folder, recursive=True))
    if not files:
        raise SystemExit(f"no images in {folder}")
    start = time.perf_counter()
    photos = [load_image(p) for p in files]
    decode = time.perf_counter() - start
    options = TileOptions(tile_size=tile)
    enhance(photos[0], session, options)  # warm-up
    seconds, megapixels, encode = 0.0, 0.0, 0.0
    for _ in range(repeat):
        for photo in photos:
            start = time.perf_counter()
            out = enhance(photo, session, options)
            seconds += time.perf_counter() - start
            megapixels += out.width * out.height / 1e6
            start = time.perf_counter()
            encode_image(out, "PNG")
            encode += time.perf_counter() - start
    return {
        "tile": tile,
        "decode_s": decode,
        "encode_s": encode / repeat,
        "model": modelspec.label(session),
        "provider": session.provider,
        "images": len(photos),
        "output_mp": megapixels / repeat,
        "seconds": seconds / repeat,
        "mp_per_s": megapixels / seconds,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path)
    parser.add_argument("--models", nargs="+", help="model ids or .onnx paths (default: every registered model)")
    parser.add_argument("--tile", type=int, nargs="+", default=[-1], help="tile sizes (default: each model's own)")
    parser.add_argument("--write-tile", action="store_true", help="store each model's fastest tile in its file")
    parser.add_argument("--max-rss", type=float, default=1200.0, help="peak RSS allowed for --write-tile, in MB")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--one", help=argparse.SUPPRESS)  # child process: measure one model, print JSON
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.one, args.folder, args.tile[0], args.device, args.repeat)))
        return
    if args.models:
        models = args.models
    else:
        from photogan.app.models import ModelService

        # the models that run on a photo alone (inpaint needs a mask, detect gives one: benchmarks/repair.py)
        tasks = ("upscale", "restore", "colorize")
        models = [entry.info.id for entry in ModelService().list() if entry.info.task in tasks]
    rows = []
    for model in models:
        for tile in args.tile:
            row = _child(model, tile, args)
            if row is not None:
                rows.append(row)
    shown = "each model's own" if args.tile == [-1] else " ".join(map(str, args.tile))
    print(f"folder: {args.folder}   tile: {shown}   device asked: {args.device}")
    print(
        f"| {'model':<20} | {'provider':<22} | tile | images | output MP | network s | MP/s  | decode s | encode s "
        "| other s | peak RSS MB |"
    )
    widths = (22, 24, 6, 8, 11, 11, 7, 10, 10, 9, 13)
    print("|" + "|".join("-" * w for w in widths) + "|")
    for r in rows:
        print(
            f"| {r['model']:<20} | {r['provider']:<22} | {r['tile']:>4} | {r['images']:>6} | {r['output_mp']:>9.2f} | "
            f"{r['seconds']:>9.2f} | {r['mp_per_s']:>5.2f} | {r['decode_s']:>8.2f} | {r['encode_s']:>8.2f} | "
            f"{r['other_s']:>7.2f} | {r['peak_rss_mb']:>11.0f} |"
        )
    if args.write_tile:
        floats = [r for r in rows if not modelspec.split(str(r["model"]))[1]]  # an 8-bit copy uses its model's tile
        for model in dict.fromkeys(r["model"] for r in floats):
            fits = [r for r in rows if r["model"] == model and r["peak_rss_mb"] <= args.max_rss and r["tile"] > 0]
            if fits:  # the smallest tile within 3 % of the fastest (the rest is run-to-run noise): less memory
                fastest = max(float(r["mp_per_s"]) for r in fits)
                best = min((r for r in fits if float(r["mp_per_s"]) >= 0.97 * fastest), key=lambda r: int(r["tile"]))
                print(f"{model}: tile {best['tile']} written ({_write_tile(model, int(best['tile']))})")


def _child(model: str, tile: int, args: argparse.Namespace) -> dict[str, object] | None:
    """One model at one tile size in a fresh process (so its peak RSS is its own)."""
    command = [sys.executable, __file__, str(args.folder), "--one", model, "--tile", str(tile)]
    command += ["--device", args.device, "--repeat", str(args.repeat)]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        print(f"{model}: failed\n{done.stderr}", file=sys.stderr)
        return None
    row = json.loads(done.stdout.strip().splitlines()[-1])
    # one pass of the folder: its decoding, network and encoding, and the rest of the process's time
    timed = row["decode_s"] + args.repeat * (row["seconds"] + row["encode_s"])
    row["other_s"] = max(0.0, wall - timed)
    return dict(row)


def _write_tile(model: str, tile: int) -> Path:
    """Stores ``tile`` as the model file's own tile size (``photogan.tile_size``)."""
    from dataclasses import replace

    import onnx

    from photogan.app.models import ModelService

    info = ModelService().resolve(None, None, model)
    path = info.path
    assert path is not None
    proto = onnx.load(str(path))
    others = {
        key: value for key, value in ((e.key, e.value) for e in proto.metadata_props) if not key.startswith("photogan.")
    }
    del proto.metadata_props[:]
    for key, value in {**others, **replace(info, tile_size=tile).to_metadata()}.items():  # photogan's keys, one writer
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    tmp = path.with_name(f".{path.name}.tmp")
    onnx.save(proto, str(tmp))
    tmp.replace(path)
    return path


if __name__ == "__main__":
    main()
