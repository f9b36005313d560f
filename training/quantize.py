"""8-bit copies of bundled models for the CPU, written only where they cost less than ``MAX_LOSS_DB``.

Usage::

    python -m training.quantize upscale-x4 upscale-x2 restore [--calib ../shared/data/train/Unsplash]
        [--val ../shared/data/val/McMaster] [--out resources/models]

Each model is quantized by onnxruntime (static QDQ: per-channel int8 weights in 7 bits, see below; uint8
activations), calibrated on photos it may have trained on (``--calib``, never the validation photos), each degraded
with the model's own training degradation (read from the recipe in its ``.safetensors``). Both models then run on
the held-out photos (``--val``) degraded the way a fine-tune's verdict degrades them
(``training.verdict.holdout_pairs``: whole photos, their centre up to 1,024 px, two seeded draws each) and are
scored the same way (PSNR-Y; RGB for a colorizer) and on RGB as well; what the copy loses is counted per photo,
losses only (:func:`_loss`).

First everything is quantized, with activation ranges from the minimum and maximum calibration saw and from its
99.999th percentiles (a few outliers widen the step of a whole tensor: restore lost 0.49 dB with the first, 0.32
with the second). If neither is under ``MAX_LOSS_DB``, the better one goes on with layers kept in float, the most
sensitive first: each quantizable node is quantized alone and scored by how far it moves the output from the float
model's on the calibration crops (not the held-out photos), and the nodes are kept in float one more at a time,
most sensitive first, until the copy is under the bar, is no longer faster, or ``MAX_KEPT_FLOAT`` are float. A
denoiser's sensitive layers are where it meets full-resolution pixels and where a concatenation shares one 8-bit
scale between two kinds of features. The first variant under the bar that is also faster is written beside the
model as ``ID.int8.onnx`` (the app's ``photogan.inference.session.INT8_SUFFIX``), with the measured loss and the
SHA-256 of the float file it was made from in its metadata: the app uses it only in place of that very file. A
model with no variant under the bar gets none, and an old copy is removed.

Why 7-bit weights: onnxruntime's int8 convolutions on x86 CPUs without VNNI (AVX2) add the products in pairs into
16 bits, which overflows with full 8-bit weights. restore's copy made that way measured 0.04 dB lost on σ 25 noise
where it was made and lost 0.17 dB (1.5 dB on clean photos) on an AVX2 CPU. With 7 bits no pair overflows, every
CPU computes the same sums and the loss measured here holds on all of them; the whole of restore in 8 bits (99.999th
percentiles) lost 0.32 dB with 8-bit weights where it was made, 0.33 dB with 7-bit weights.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import logging
import os
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch
from onnxruntime.quantization import (
    CalibrationDataReader,
    CalibrationMethod,
    QuantFormat,
    QuantType,
    quantize_static,
)
from onnxruntime.quantization.registry import QDQRegistry, QLinearOpsRegistry
from onnxruntime.quantization.shape_inference import quant_pre_process

from photogan.inference.model_info import ModelInfo
from photogan.inference.registry import ModelRegistry, bundled_models_dir
from photogan.inference.session import (
    INT8_LOSS_KEY,
    INT8_SOURCE_KEY,
    INT8_SUFFIX,
    INT8_WEIGHT_BITS,
    INT8_WEIGHT_BITS_KEY,
    read_metadata,
)
from training.cli import model_recipe
from training.config import TrainConfig
from training.dataset import collect_images, load_photos, task_degradation
from training.evaluation import psnr_ssim
from training.verdict import holdout_pairs

log = logging.getLogger("training")

#: The most PSNR an 8-bit copy may lose against its float model on the held-out photos.
MAX_LOSS_DB = 0.05
#: How much faster than its float model an 8-bit copy must run on the held-out photos to be worth having.
MIN_SPEEDUP = 1.0
#: Speed: the fastest of this many runs of each of this many held-out pairs.
TIMING_RUNS, TIMING_PAIRS = 3, 8
#: At most this many nodes kept in float before a model is given up on.
MAX_KEPT_FLOAT = 12
#: Activation ranges tried, in order (see the module docstring).
METHODS = (CalibrationMethod.MinMax, CalibrationMethod.Percentile)
#: Calibration: this many photos, one random crop of ``CALIB_SIDE`` px (at output resolution) from each.
CALIB_PHOTOS, CALIB_SIDE = 16, 256
DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"

Feed = dict[str, np.ndarray]


@dataclass(frozen=True)
class Result:
    """One model's 8-bit copy as measured: mean scores of both (the task's PSNR: on Y, on RGB for a colorizer),
    what the copy loses (:func:`_loss`), seconds of both, how many nodes stayed float and the calibration's ranges
    (``MinMax`` or ``Percentile``)."""

    model: str
    float_db: float
    int8_db: float
    loss: float
    float_s: float
    int8_s: float
    kept_float: int
    method: str
    written: bool

    @property
    def speed(self) -> float:
        return self.float_s / self.int8_s


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _feeds(session: ort.InferenceSession, x: np.ndarray) -> Feed:
    """The model's inputs for one N×3×H×W photo: its second input (a colorizer's hints) empty."""
    feeds = {"input": x}
    for extra in session.get_inputs()[1:]:
        planes = extra.shape[1] if isinstance(extra.shape[1], int) else 1
        feeds[extra.name] = np.zeros((x.shape[0], planes, *x.shape[2:]), np.float32)
    return feeds


def calibration_inputs(config: TrainConfig, photos: list[np.ndarray], multiple: int) -> list[np.ndarray]:
    """One crop of each photo, degraded the way the model was trained, as N×3×H×W float inputs."""
    degrade = task_degradation(config, evaluation=True)
    assert degrade is not None
    rng = np.random.default_rng(7)
    step = max(1, multiple) * config.scale
    inputs = []
    for photo in photos:
        h, w = (min(s, CALIB_SIDE) // step * step for s in photo.shape[:2])
        y, x = int(rng.integers(0, photo.shape[0] - h + 1)), int(rng.integers(0, photo.shape[1] - w + 1))
        crop = photo[y : y + h, x : x + w].astype(np.float32) / 255.0
        inputs.append(np.ascontiguousarray(degrade(crop, rng).transpose(2, 0, 1)[None], np.float32))
    return inputs


class _Calibration(CalibrationDataReader):
    def __init__(self, feeds: list[Feed]) -> None:
        self._feeds: Iterator[Feed] = iter(feeds)

    def get_next(self) -> Feed | None:
        return next(self._feeds, None)


class _Quantizer:
    """Static QDQ copies of one model from one calibration per method, kept in a scratch folder (onnxruntime's
    calibration cache) so that each variant costs a quantization, not a calibration."""

    def __init__(self, model: Path, calibration: list[Feed], scratch: Path) -> None:
        self.model, self.calibration, self.scratch = model, calibration, scratch
        self.prepared = scratch / "prepared.onnx"
        with contextlib.chdir(scratch):  # onnxruntime writes its scratch files into the working folder
            quant_pre_process(str(model), str(self.prepared), skip_symbolic_shape=True)

    def quantize(
        self, target: Path, method: CalibrationMethod, keep_float: Sequence[str] = (), only: list[str] | None = None
    ) -> None:
        """Writes the copy to ``target``: every node but ``keep_float`` in 8 bits, or just the nodes ``only``."""
        with contextlib.chdir(self.scratch):
            quantize_static(
                str(self.prepared),
                str(target),
                _Calibration(self.calibration),
                quant_format=QuantFormat.QDQ,
                per_channel=True,
                reduce_range=True,
                activation_type=QuantType.QUInt8,
                weight_type=QuantType.QInt8,
                calibrate_method=method,
                nodes_to_exclude=list(keep_float),
                nodes_to_quantize=only,
                calibration_cache_path=self.scratch / f"ranges-{method.name}.json",
            )

    def by_sensitivity(self, method: CalibrationMethod, reference: ort.InferenceSession) -> list[str]:
        """The quantizable nodes that change the output when quantized alone, the most harmful first: mean squared
        difference from the float model's output (``reference``, its session) on the calibration crops."""
        expected = [reference.run(["output"], feed)[0] for feed in self.calibration]
        ops = set(QDQRegistry) | set(QLinearOpsRegistry)
        harm: dict[str, float] = {}
        for node in onnx.load(str(self.model)).graph.node:
            if node.op_type not in ops:
                continue
            alone = self.scratch / "alone.onnx"
            self.quantize(alone, method, only=[node.name])
            session = _session(alone)
            outputs = [session.run(["output"], feed)[0] for feed in self.calibration]
            harm[node.name] = float(np.mean([np.mean((y - e) ** 2) for y, e in zip(outputs, expected, strict=True)]))
        return sorted((name for name in harm if harm[name] > 0), key=lambda name: -harm[name])


def _scores(
    session: ort.InferenceSession, pairs: list[tuple[np.ndarray, np.ndarray]], config: TrainConfig
) -> tuple[np.ndarray, float]:
    """(scores, seconds) of one session over the held-out pairs: per pair, the task's PSNR and PSNR on RGB (pairs
    × 2). Seconds: the fastest of ``TIMING_RUNS`` runs of each of the first ``TIMING_PAIRS`` pairs, summed (one run
    of each swings by ±30 % on a shared 2-core machine, enough to stop the search for a copy too early)."""
    scores = []
    for x, target in pairs:
        y = session.run(["output"], _feeds(session, x))[0]
        pred, truth = torch.from_numpy(np.clip(y, 0.0, 1.0)), torch.from_numpy(target)
        on_task = psnr_ssim(pred, truth, config.scale, config.task != "colorize")[0]
        scores.append((on_task, psnr_ssim(pred, truth, config.scale, on_y=False)[0]))
    seconds = 0.0
    for x, _ in pairs[:TIMING_PAIRS]:
        feeds = _feeds(session, x)
        runs = []
        for _ in range(TIMING_RUNS):
            start = time.perf_counter()
            session.run(["output"], feeds)
            runs.append(time.perf_counter() - start)
        seconds += min(runs)
    return np.array(scores), seconds


def _loss(reference: np.ndarray, copy: np.ndarray) -> float:
    """What a copy loses against its model, in dB, from their :func:`_scores`: per pair only the losses count (a
    gain on one photo does not buy back a loss on another: a restore copy that scored 0.038 dB on the mean gained
    0.2 dB on clean photos and lost 0.08 on σ 25 noise and 0.10 on blur), averaged, on the task's measure and on
    RGB (errors in chroma do not show on Y), the larger of the two."""
    return float(np.clip(reference - copy, 0.0, None).mean(axis=0).max())


def _session(path: Path) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])


def _write(candidate: Path, loss: float, source: Path, target: Path) -> None:
    """Writes the 8-bit copy to ``target`` (atomically, from a temporary file beside it) with the float model's
    metadata, the measured loss, the float file's SHA-256 and its weights' bits (what the app checks before it uses
    a copy)."""
    proto = onnx.load(str(candidate))
    del proto.metadata_props[:]
    stamped = {
        **read_metadata(source),
        INT8_LOSS_KEY: f"{loss:.4f}",
        INT8_SOURCE_KEY: sha256(source),
        INT8_WEIGHT_BITS_KEY: INT8_WEIGHT_BITS,
    }
    for key, value in stamped.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    try:
        onnx.save(proto, str(tmp))
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def quantize_model(
    info: ModelInfo, config: TrainConfig, calib: list[np.ndarray], val: list[np.ndarray], out: Path
) -> Result:
    """Measures the 8-bit variants of one model and writes the first one under the bar as ``out/ID.int8.onnx``."""
    source = info.path
    assert source is not None
    multiple = info.size_multiple
    pairs = [(x.numpy(), t.numpy()) for x, t in holdout_pairs(config, val, multiple)]
    float_session = _session(source)
    feeds = [_feeds(float_session, x) for x in calibration_inputs(config, calib, multiple)]
    float_scores, float_s = _scores(float_session, pairs, config)
    float_db = float(float_scores[:, 0].mean())
    target = out / f"{info.id}{INT8_SUFFIX}"
    with tempfile.TemporaryDirectory(prefix="photogan-int8-") as folder:
        scratch = Path(folder)
        quantizer = _Quantizer(source, feeds, scratch)

        def measure(method: CalibrationMethod, keep: list[str]) -> Result:
            candidate = scratch / "candidate.onnx"
            quantizer.quantize(candidate, method, keep)
            scores, int8_s = _scores(_session(candidate), pairs, config)
            loss = _loss(float_scores, scores)
            int8_db = float(scores[:, 0].mean())
            result = Result(info.id, float_db, int8_db, loss, float_s, int8_s, len(keep), method.name, False)
            log.info(
                "%s int8 (%s ranges, %d nodes kept float): %.3f dB vs %.3f dB, loses %.3f dB, %.2f× faster",
                info.id, method.name, len(keep), int8_db, float_db, loss, result.speed,
            )  # fmt: skip
            if result.loss < MAX_LOSS_DB and result.speed > MIN_SPEEDUP:
                _write(candidate, result.loss, source, target)
                return replace(result, written=True)
            return result

        best = measure(METHODS[0], [])
        for method in METHODS[1:]:
            if not best.written:
                result = measure(method, [])
                best = result if result.written or result.loss < best.loss else best
        if not best.written:
            method = CalibrationMethod[best.method]
            ranked = quantizer.by_sensitivity(method, float_session)[:MAX_KEPT_FLOAT]
            log.info("%s: the nodes most sensitive to 8 bits: %s", info.id, ", ".join(ranked))
            for count in range(1, len(ranked) + 1):
                best = measure(method, ranked[:count])
                if best.written or best.speed <= MIN_SPEEDUP:
                    break
    if not best.written:
        target.unlink(missing_ok=True)  # an old copy no longer matches the bar
    return best


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="+", help="bundled model ids")
    parser.add_argument("--calib", type=Path, default=DATA / "train" / "Unsplash")
    parser.add_argument("--val", type=Path, default=DATA / "val" / "McMaster")
    parser.add_argument("--out", type=Path, default=None, help="default: the bundled models folder")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    out = args.out or bundled_models_dir()
    calib_photos = load_photos(collect_images([args.calib])[:CALIB_PHOTOS], min_side=64, max_side=1024)
    val_photos = load_photos(collect_images([args.val]), min_side=64)
    registry = ModelRegistry()
    print(f"calibrated on {len(calib_photos)} photos of {args.calib}; scored on {len(val_photos)} of {args.val}")
    print("| model | float dB | int8 dB | loss | float s | int8 s | speed | ranges | kept float | written |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for model_id in args.models:
        info = registry.get(model_id)
        _, config, _ = model_recipe(model_id)
        r = quantize_model(info, config, calib_photos, val_photos, out)
        written = f"yes (loss < {MAX_LOSS_DB})" if r.written else f"no (loss ≥ {MAX_LOSS_DB} dB or not faster)"
        print(
            f"| {r.model} | {r.float_db:.3f} | {r.int8_db:.3f} | {r.loss:.3f} | {r.float_s:.2f} | {r.int8_s:.2f} | "
            f"{r.speed:.2f}× | {r.method} | {r.kept_float} nodes | {written} |"
        )


if __name__ == "__main__":
    main()
