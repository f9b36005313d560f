"""Models named on the benchmarks' command lines: a model id or ``.onnx`` path, or ``MODEL+int8`` for its 8-bit
copy, what ``photogan enhance --int8`` runs (``python -m training.quantize`` makes one where it costs under
0.05 dB)."""

from __future__ import annotations

from photogan.app.models import ModelService
from photogan.inference.session import ModelSession

INT8 = "+int8"


def split(spec: str) -> tuple[str, bool]:
    """(model id or path, whether its 8-bit copy is asked for)."""
    return spec.removesuffix(INT8), spec.endswith(INT8)


def open_model(service: ModelService, spec: str, device: str) -> ModelSession:
    """The session ``photogan enhance`` would run for ``spec`` on ``device``."""
    model, int8 = split(spec)
    return service.open(service.resolve(None, None, model), device, int8)


def label(session: ModelSession) -> str:
    """The model's id, with ``+int8`` where its 8-bit copy runs."""
    return session.info.id if session.precision == "float32" else f"{session.info.id}+{session.precision}"
