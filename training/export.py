"""ONNX export: one self-describing file per model, checked against torch before it is written.

The metadata written is exactly what ``photogan.inference`` reads (:class:`photogan.inference.model_info.ModelInfo`).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import onnx
import torch
from torch import nn

from photogan.inference.model_info import ModelInfo

log = logging.getLogger(__name__)

OPSET = 18


class ParityError(RuntimeError):
    """The exported ONNX model does not reproduce the torch model."""


def _export_graph(model: nn.Module, path: Path) -> None:
    model = model.eval()
    example = torch.rand(1, 3, 24, 20)
    batch, height, width = torch.export.Dim("batch", max=64), torch.export.Dim("h"), torch.export.Dim("w")
    torch.onnx.export(
        model,
        (example,),
        str(path),
        input_names=["input"],
        output_names=["output"],
        opset_version=OPSET,
        dynamo=True,
        dynamic_shapes={"x": {0: batch, 2: height, 3: width}},
        external_data=False,
    )


def check_parity(model: nn.Module, onnx_path: Path, sizes: tuple[tuple[int, int], ...], atol: float = 1e-4) -> float:
    """Runs torch and onnxruntime on random inputs of the given (odd) sizes; returns the largest difference.

    Raises:
        ParityError: A difference exceeds ``atol``.
    """
    import onnxruntime as ort

    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    worst = 0.0
    generator = torch.Generator().manual_seed(0)
    for h, w in sizes:
        x = torch.rand(2, 3, h, w, generator=generator)
        with torch.no_grad():
            expected = model.eval()(x).numpy()
        got = session.run(["output"], {"input": x.numpy()})[0]
        worst = max(worst, float(np.abs(got - expected).max()))
    if worst > atol:
        raise ParityError(f"onnxruntime differs from torch by {worst:.2e} (> {atol:.0e}) on {onnx_path}")
    return worst


def export_onnx(model: nn.Module, info: ModelInfo, path: Path) -> Path:
    """Exports ``model`` to ``path`` with ``info`` as metadata, after an onnxruntime-vs-torch parity check.

    The file is written next to ``path`` first and renamed into place once it passes the check.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        _export_graph(model, tmp)
        proto = onnx.load(str(tmp))
        del proto.metadata_props[:]
        for key, value in info.to_metadata().items():
            entry = proto.metadata_props.add()
            entry.key, entry.value = key, value
        proto.producer_name = "photogan-training"
        onnx.checker.check_model(proto)
        onnx.save(proto, str(tmp))
        worst = check_parity(model, tmp, ((17, 23), (31, 9)))
        log.info("exported %s (parity with torch: max |diff| %.2e)", path.name, worst)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
