"""What static int8 quantization would cost and give on the CPU, per bundled model: PSNR lost and speed gained.

Usage::

    python benchmarks/int8.py                                   # upscale-x4, upscale-x2, restore
    python benchmarks/int8.py --models upscale-x4 --val ../shared/data/val/Set14 --out /tmp/int8

Each model is quantized by onnxruntime (QDQ, per-channel int8 weights, uint8 activations), calibrated on crops of
training photos (``--calib``, never the validation photos), and both models run on the same held-out crops
(``--val``: the centre 256 px of each photo, Pillow-bicubic-downscaled for upscalers, σ 25 Gaussian noise for
restore). Times are the sum of the runs after a warm-up, on onnxruntime's CPU provider. photogan would use an
int8 model only where the loss is below 0.05 dB (nothing is bundled by this script; the int8 files are written
to ``--out``).
"""

from __future__ import annotations

import argparse
import contextlib
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
from onnxruntime.quantization.shape_inference import quant_pre_process
from PIL import Image

from photogan.core.formats import find_images
from photogan.inference.registry import bundled_models_dir

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
SIDE = 256


def _centre(path: Path, side: int) -> Image.Image:
    im = Image.open(path).convert("RGB")
    left, top = max(0, (im.width - side) // 2), max(0, (im.height - side) // 2)
    return im.crop((left, top, left + side, top + side))


def _tensor(im: Image.Image) -> np.ndarray:
    return (np.asarray(im, np.float32) / 255.0).transpose(2, 0, 1)[None]


def _input(hr: Image.Image, scale: int, seed: int) -> np.ndarray:
    if scale > 1:
        return _tensor(hr.resize((hr.width // scale, hr.height // scale), Image.Resampling.BICUBIC))
    x = _tensor(hr)
    noise = np.random.default_rng(seed).normal(0.0, 25 / 255, x.shape).astype(np.float32)
    return np.clip(x + noise, 0.0, 1.0)


class _Calibration(CalibrationDataReader):
    def __init__(self, name: str, photos: list[Path], scale: int) -> None:
        self._feeds = iter([{name: _input(_centre(p, 128), scale, k)} for k, p in enumerate(photos)])

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._feeds, None)


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(1.0 / np.mean((np.clip(a, 0, 1) - b) ** 2)))


def measure(model: Path, val: list[Path], calib: list[Path], out: Path) -> tuple[float, float, float, float]:
    """(fp32 PSNR, int8 PSNR, fp32 seconds, int8 seconds) on the validation crops."""
    fp32 = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    inputs = fp32.get_inputs()
    if len(inputs) != 1:
        raise SystemExit(f"{model.name}: takes {len(inputs)} inputs; this benchmark feeds one")
    name = inputs[0].name
    scale = int(fp32.get_modelmeta().custom_metadata_map.get("photogan.scale", "1"))
    prepared, quantized = out / f"{model.stem}-prepared.onnx", out / f"{model.stem}-int8.onnx"
    with contextlib.chdir(out):  # onnxruntime writes its scratch files into the working folder
        quant_pre_process(str(model), str(prepared.resolve()), skip_symbolic_shape=True)
    quantize_static(
        str(prepared),
        str(quantized),
        _Calibration(name, calib, scale),
        quant_format=QuantFormat.QDQ,
        per_channel=True,
        activation_type=QuantType.QUInt8,
        weight_type=QuantType.QInt8,
    )
    int8 = ort.InferenceSession(str(quantized), providers=["CPUExecutionProvider"])
    warm = _input(_centre(val[0], 64), scale, 0)
    for _ in range(3):
        fp32.run(None, {name: warm})
        int8.run(None, {name: warm})
    scores, seconds = [], [0.0, 0.0]
    for k, photo in enumerate(val):
        hr = _centre(photo, SIDE)
        x, target = _input(hr, scale, k), _tensor(hr)
        row = []
        for j, session in enumerate((fp32, int8)):
            started = time.perf_counter()
            y = session.run(None, {name: x})[0]
            seconds[j] += time.perf_counter() - started
            row.append(_psnr(y, target))
        scores.append(row)
    mean = np.mean(scores, axis=0)
    return float(mean[0]), float(mean[1]), seconds[0], seconds[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=["upscale-x4", "upscale-x2", "restore"])
    parser.add_argument("--val", type=Path, default=DATA / "val" / "McMaster")
    parser.add_argument("--calib", type=Path, default=DATA / "train" / "Unsplash")
    parser.add_argument("--calib-count", type=int, default=8)
    parser.add_argument("--out", type=Path, default=Path("build/int8"))
    args = parser.parse_args()
    args.out = args.out.resolve()
    args.out.mkdir(parents=True, exist_ok=True)
    val, calib = list(find_images(args.val, False)), list(find_images(args.calib, False))[: args.calib_count]
    print(f"{len(val)} crops of {SIDE} px from {args.val}; calibrated on {len(calib)} photos of {args.calib}")
    heads = ("fp32 dB", "int8 dB", "loss", "fp32 s", "int8 s", "speed")
    print(f"{'model':22s} " + " ".join(f"{h:>8s}" for h in heads) + "  usable")
    for model_id in args.models:
        a, b, t0, t1 = measure(bundled_models_dir() / f"{model_id}.onnx", val, calib, args.out)
        usable = "yes" if a - b < 0.05 else "no (loss ≥ 0.05 dB)"
        print(f"{model_id:22s} {a:8.2f} {b:8.2f} {a - b:8.3f} {t0:8.2f} {t1:8.2f} {t0 / t1:7.2f}×  {usable}")


if __name__ == "__main__":
    main()
