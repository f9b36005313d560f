"""onnxruntime sessions: provider choice with CPU fallback, the provider actually used, and a session cache.

``onnxruntime-gpu`` lists CUDA among its available providers even on machines without a GPU or CUDA libraries,
so the provider in use is always read back from the created session, never assumed.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

from photogan.core.errors import ModelError, OutOfMemoryError
from photogan.inference.model_info import ModelInfo

log = logging.getLogger(__name__)

CPU = "CPUExecutionProvider"
CUDA = "CUDAExecutionProvider"
_DEVICE = re.compile(r"^(auto|cpu|cuda)(?::(\d+))?$")
_OOM_MARKERS = ("out of memory", "failed to allocate", "bad_alloc", "cudaerrormemoryallocation")


@dataclass(frozen=True)
class Device:
    """A parsed ``--device`` value: ``auto``, ``cpu``, ``cuda`` or ``cuda:N``."""

    kind: str
    index: int = 0

    @classmethod
    def parse(cls, text: str) -> Device:
        """Parses a device string.

        Raises:
            ValueError: The text is not ``auto``, ``cpu``, ``cuda`` or ``cuda:N``.
        """
        match = _DEVICE.match(text.strip().lower())
        if not match or (match.group(2) and match.group(1) != "cuda"):
            raise ValueError(f"unknown device {text!r}: use auto, cpu, cuda or cuda:N")
        return cls(match.group(1), int(match.group(2) or 0))

    def __str__(self) -> str:
        return f"cuda:{self.index}" if self.kind == "cuda" else self.kind

    def providers(self) -> list[Any]:
        """The onnxruntime provider list to ask for (CUDA first where wanted, CPU always last)."""
        if self.kind == "cpu" or (self.kind == "auto" and CUDA not in ort.get_available_providers()):
            return [CPU]
        return [(CUDA, {"device_id": self.index}), CPU]


class ModelSession:
    """One model loaded on one device: a thread-safe callable from N×3×H×W to N×3×sH×sW arrays."""

    def __init__(self, info: ModelInfo, session: ort.InferenceSession, requested: Device) -> None:
        self.info = info
        self.session = session
        self.requested = requested
        self.provider: str = session.get_providers()[0]

    @property
    def uses_gpu(self) -> bool:
        return self.provider != CPU

    def run(self, batch: np.ndarray) -> np.ndarray:
        """Runs the model; out-of-memory errors become :class:`OutOfMemoryError` so the tiler can split."""
        try:
            return self.session.run(["output"], {"input": batch})[0]
        except Exception as exc:  # onnxruntime raises its own exception types from C++
            text = str(exc).lower()
            if isinstance(exc, MemoryError) or any(marker in text for marker in _OOM_MARKERS):
                raise OutOfMemoryError(f"{self.info.id} ran out of memory on {self.provider}") from exc
            raise ModelError(f"{self.info.id} failed on {self.provider}: {exc}") from exc


def _quiet(device: Device | None = None) -> None:
    """Sets onnxruntime's log level: warnings off; with ``auto``, also the errors it prints when CUDA cannot be
    loaded (photogan falls back to the CPU and reports the provider actually used). An explicit ``cuda`` request
    keeps them, since they say which CUDA library is missing."""
    ort.set_default_logger_severity(4 if device is not None and device.kind == "auto" else 3)


def _create(path: Path, device: Device) -> ort.InferenceSession:
    _quiet(device)
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    try:
        return ort.InferenceSession(str(path), sess_options=options, providers=device.providers())
    except Exception as exc:  # invalid protobuf, missing operators, unreadable file...
        if device.kind != "cpu" and "cuda" in str(exc).lower():
            log.warning("could not start %s on %s (%s); using the CPU", path.name, device, exc)
            return ort.InferenceSession(str(path), sess_options=options, providers=[CPU])
        raise ModelError(f"cannot load model {path}: {exc}") from exc


class SessionCache:
    """Keeps the most recently used sessions, keyed by model file (and its modification time) and device."""

    def __init__(self, capacity: int = 4) -> None:
        self.capacity = capacity
        self._sessions: OrderedDict[tuple[str, int, str], ModelSession] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, info: ModelInfo, device: Device) -> ModelSession:
        """The session for ``info`` on ``device``, created on first use."""
        if info.path is None:
            raise ModelError(f"model {info.id} has no file")
        key = (str(info.path.resolve()), info.path.stat().st_mtime_ns, str(device))
        with self._lock:
            cached = self._sessions.get(key)
            if cached is not None:
                self._sessions.move_to_end(key)
                return cached
            session = ModelSession(info, _create(info.path, device), device)
            if device.kind == "cuda" and not session.uses_gpu:
                log.warning(
                    "%s asked for %s but runs on the CPU: CUDA could not be loaded (install the CUDA libraries, "
                    "e.g. pip install 'photogan[cuda]')",
                    info.id,
                    device,
                )
            log.info("%s runs on %s", info.id, session.provider)
            self._sessions[key] = session
            while len(self._sessions) > self.capacity:
                self._sessions.popitem(last=False)
            return session

    def clear(self) -> None:
        with self._lock:
            self._sessions.clear()


def read_metadata(path: Path) -> dict[str, str]:
    """The ``metadata_props`` of an ONNX file (loads the graph on the CPU without optimizing it).

    Raises:
        ModelError: The file is not a readable ONNX model.
    """
    _quiet()
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    options.log_severity_level = 3
    try:
        session = ort.InferenceSession(str(path), sess_options=options, providers=[CPU])
    except Exception as exc:
        raise ModelError(f"{path.name} is not a valid ONNX model: {exc}") from exc
    return dict(session.get_modelmeta().custom_metadata_map)


def cuda_offered() -> bool:
    """Whether this onnxruntime build offers CUDA (it may still fail to load it: check ``ModelSession.provider``)."""
    return "CUDAExecutionProvider" in ort.get_available_providers()
