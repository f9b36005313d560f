"""ONNX export: one self-describing file per model, checked against torch before it is written.

The metadata written is exactly what ``photogan.inference`` reads (:class:`photogan.inference.model_info.ModelInfo`).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import torch
from torch import nn

from photogan.inference.model_info import ModelInfo

log = logging.getLogger(__name__)

OPSET = 18


class ParityError(RuntimeError):
    """The exported ONNX model does not reproduce the torch model."""


def _input_name(model: nn.Module) -> str:
    import inspect

    return next(iter(inspect.signature(model.forward).parameters))


def _noise_field(model: nn.Module) -> Any:
    """The model's noise-field maker (a spatial texture generator), or None."""
    return getattr(model, "noise", None)


def _extra_input(model: nn.Module) -> tuple[str, int] | None:
    """The second input (name, planes) a model reads beside the photo: a colorizer's colour hints (``hints``,
    N×3×H×W), an inpainter's mask (``mask``, N×1×H×W)."""
    return getattr(model, "extra_input", None)


def _example_extra(planes: int, h: int, w: int) -> torch.Tensor:
    """A few marked points: colour hints (Cb, Cr, mask) or a small hole (mask)."""
    extra = torch.zeros(2, planes, h, w)
    spot = (slice(None), slice(None), slice(h // 3, h // 3 + 3), slice(w // 2, w // 2 + 3))
    if planes == 3:
        extra[:, :2][spot] = torch.tensor([0.2, -0.1])[:, None, None]
    extra[:, planes - 1 :][spot] = 1.0
    return extra


def _export_traced(model: nn.Module, path: Path) -> None:
    """An image model through torch's TorchScript-tracing exporter, dynamic batch, height and width: the exporter
    the community's models (ESRGAN, SPAN, SwinIR...) were written for; torch.export fails or crashes on some."""
    axes = {0: "batch", 2: "h", 3: "w"}
    torch.onnx.export(
        model.eval(),
        (torch.rand(1, 3, 24, 20),),
        str(path),
        input_names=["input"],
        output_names=["output"],
        opset_version=OPSET,
        dynamo=False,
        dynamic_axes={"input": axes, "output": axes},
    )


def _export_graph(model: nn.Module, path: Path, latent: int | None) -> None:
    """Exports with dynamic batch (and height/width for image models and noise fields; a noise vector for the
    other ``generate`` models)."""
    model = model.eval()
    batch = torch.export.Dim("batch", max=1024)
    field = _noise_field(model)
    image_dims = {0: batch, 2: torch.export.Dim("h"), 3: torch.export.Dim("w")}
    names = [_input_name(model)]
    examples: tuple[torch.Tensor, ...]
    extra = _extra_input(model)
    if extra is not None:  # input and hints (or mask) share batch, height and width
        examples, dims = (torch.rand(1, 3, 48, 32), torch.zeros(1, extra[1], 48, 32)), [image_dims, image_dims]
        names.append(extra[0])
    elif field is not None:
        examples, dims = (field(2, 5, 7),), [image_dims]  # a batch of 1 would be specialized
    elif latent is None:
        examples, dims = (torch.rand(1, 3, 24, 20),), [image_dims]
    else:
        examples, dims = (torch.randn(2, latent),), [{0: batch}]
    torch.onnx.export(
        model,
        examples,
        str(path),
        input_names=["input", extra[0] if extra else ""][: len(examples)],
        output_names=["output"],
        opset_version=OPSET,
        dynamo=True,
        dynamic_shapes=dict(zip(names, dims, strict=True)),
        external_data=False,
    )


def check_parity(
    model: nn.Module,
    onnx_path: Path,
    sizes: tuple[tuple[int, int], ...],
    atol: float = 1e-4,
    latent: int | None = None,
) -> float:
    """Runs torch and onnxruntime on random inputs of the given (odd) sizes (noise fields of those sizes for a
    spatial texture generator), or on noise vectors of length ``latent``; returns the largest difference.

    Raises:
        ParityError: A difference exceeds ``atol``.
    """
    import onnxruntime as ort

    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    worst = 0.0
    generator = torch.Generator().manual_seed(0)
    field = _noise_field(model)
    for h, w in sizes:
        if field is not None:
            x = field(2, h, w, generator=generator)
        elif latent is None:
            x = torch.rand(2, 3, h, w, generator=generator)
        else:
            x = torch.randn(3, latent)
        feeds = {"input": x.numpy()}
        with torch.no_grad():
            extra = _extra_input(model)
            if extra is not None:
                planes = _example_extra(extra[1], h, w)
                feeds[extra[0]] = planes.numpy()
                expected = model.eval()(x, planes).numpy()
            else:
                expected = model.eval()(x).numpy()
        got = session.run(["output"], feeds)[0]
        worst = max(worst, float(np.abs(got - expected).max()))
    if worst > atol:
        raise ParityError(f"onnxruntime differs from torch by {worst:.2e} (> {atol:.0e}) on {onnx_path}")
    return worst


def export_onnx(model: nn.Module, info: ModelInfo, path: Path, fp16: bool = False, traced: bool = False) -> Path:
    """Exports ``model`` to ``path`` with ``info`` as metadata, after an onnxruntime-vs-torch parity check.

    The file is written next to ``path`` first and renamed into place once it passes the check. Image models
    are checked on odd sizes (the engine pads only to the model's size multiple). With ``fp16``, a half-precision
    copy for GPUs is written beside it as ``<name>-fp16.onnx`` (float32 inputs and outputs kept). ``traced``
    exports an image model of someone else's architecture with the tracing exporter (:func:`_export_traced`).
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    latent = int(info.arch_params["latent"]) if "latent" in info.arch_params else None
    multiple = info.size_multiple
    sizes = ((17, 23), (31, 9)) if multiple == 1 else ((multiple * 9, multiple * 5), (multiple * 3, multiple * 11))
    try:
        if traced:
            _export_traced(model, tmp)
        else:
            _export_graph(model, tmp, latent)
        proto = onnx.load(str(tmp))
        del proto.metadata_props[:]
        for key, value in info.to_metadata().items():
            entry = proto.metadata_props.add()
            entry.key, entry.value = key, value
        proto.producer_name = "photogan-training"
        onnx.checker.check_model(proto)
        onnx.save(proto, str(tmp))
        worst = check_parity(model, tmp, sizes, latent=latent)
        log.info("exported %s (parity with torch: max |diff| %.2e)", path.name, worst)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    if fp16:
        _write_fp16(path)
    return path


def _write_fp16(path: Path) -> Path:
    """A float16 copy of an exported model for GPUs, with float32 input and output."""
    from onnxruntime.transformers.float16 import convert_float_to_float16

    half = convert_float_to_float16(onnx.load(str(path)), keep_io_types=True)
    target = path.with_name(path.stem + "-fp16.onnx")
    for entry in half.metadata_props:
        if entry.key == "photogan.id":
            entry.value = entry.value + "-fp16"
    onnx.save(half, str(target))
    return target
