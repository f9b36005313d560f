"""onnxruntime sessions: provider choice with CPU fallback, the provider actually used, and a session cache.

``onnxruntime-gpu`` lists CUDA among its available providers even on machines without a GPU or CUDA libraries,
so the provider in use is always read back from the created session, never assumed.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import os
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

from photogan.core.errors import Cancelled, ModelError, OutOfMemoryError
from photogan.core.progress import CancelToken
from photogan.inference.model_info import ModelInfo, field_channels, is_spatial

log = logging.getLogger(__name__)

CPU = "CPUExecutionProvider"
CUDA = "CUDAExecutionProvider"
_DEVICE = re.compile(r"^(auto|cpu|cuda)(?::(\d+))?$")
_OOM_MARKERS = ("out of memory", "failed to allocate", "bad_alloc", "cudaerrormemoryallocation")
#: An 8-bit copy of a model for the CPU lies beside it as ``ID.int8.onnx`` (``training.quantize`` writes one only
#: where it loses less than 0.05 dB), with the loss it measured and the SHA-256 of the float file it was made from.
INT8_SUFFIX = ".int8.onnx"
INT8_LOSS_KEY = "photogan.int8.loss_db"
INT8_SOURCE_KEY = "photogan.int8.source_sha256"
#: Bits of an 8-bit copy's weights. onnxruntime's int8 convolutions on x86 CPUs without VNNI multiply in pairs
#: summed into 16 bits, which overflows (saturates) with full 8-bit weights, so the measured loss would hold only
#: on VNNI CPUs; weights in 7 bits cannot overflow, and every CPU then computes the same integers.
INT8_WEIGHT_BITS_KEY, INT8_WEIGHT_BITS = "photogan.int8.weight_bits", "7"


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

    def __init__(
        self, info: ModelInfo, session: ort.InferenceSession, requested: Device, precision: str = "float32"
    ) -> None:
        self.info = info
        self.session = session
        self.requested = requested
        self.provider: str = session.get_providers()[0]
        #: ``float32``, or ``int8`` when the model's 8-bit copy runs in its place (:func:`load_session`).
        self.precision = precision
        #: The second input beside the photo, (name, planes): a colorizer's colour-hint planes
        #: (``photogan.core.hints``, ``hints``), an inpainter's mask (``mask``); None for a photo-only model.
        self.extra_input: tuple[str, int] | None = None
        for item in session.get_inputs()[1:2]:
            planes = item.shape[1] if len(item.shape) == 4 and isinstance(item.shape[1], int) else 1
            self.extra_input = (item.name, planes)
        #: A colorizer that also reads colour-hint planes as its second input.
        self.takes_hints = self.extra_input is not None and self.extra_input[0] == "hints"

    @property
    def uses_gpu(self) -> bool:
        return self.provider != CPU

    def run(self, batch: np.ndarray, extra: np.ndarray | None = None, token: CancelToken | None = None) -> np.ndarray:
        """Runs the model on N×3×H×W ``batch`` and, for a model with a second input, its planes ``extra`` (none:
        empty planes, e.g. a colorizer without hints); out-of-memory errors become :class:`OutOfMemoryError` so
        the tiler can split. Cancelling ``token`` stops the run inside onnxruntime (between two of its operators:
        a photo that is one big tile stops at once too) with :class:`Cancelled`."""
        feeds = {"input": batch}
        if self.extra_input is not None:
            name, planes = self.extra_input
            feeds[name] = np.zeros((batch.shape[0], planes, *batch.shape[2:]), np.float32) if extra is None else extra
        options = ort.RunOptions()

        def stop() -> None:
            options.terminate = True

        if token is not None:
            token.add_listener(stop)
        try:
            return self.session.run(["output"], feeds, options)[0]
        except Exception as exc:  # onnxruntime raises its own exception types from C++
            if token is not None and token.cancelled:
                raise Cancelled("cancelled") from exc
            text = str(exc).lower()
            if isinstance(exc, MemoryError) or any(marker in text for marker in _OOM_MARKERS):
                raise OutOfMemoryError(f"{self.info.id} ran out of memory on {self.provider}") from exc
            raise ModelError(f"{self.info.id} failed on {self.provider}: {exc}") from exc
        finally:
            if token is not None:
                token.remove_listener(stop)


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


def probe(session: ModelSession) -> None:
    """Runs a model once on a small input and checks it keeps photogan's contract, so a bad file is refused with
    one clear reason when it is imported or loaded, not with an error on every photo: input ``input`` and output
    ``output``, the declared scale, three channels, finite values near [0, 1].

    Raises:
        ModelError: What is wrong with the model.
    """
    info = session.info
    names = ([i.name for i in session.session.get_inputs()], [o.name for o in session.session.get_outputs()])
    if names[0][:1] != ["input"] or names[1][:1] != ["output"]:
        raise ModelError(
            f"{info.id}: photogan models take 'input' and give 'output'; this one takes {names[0]} and gives {names[1]}"
        )
    extra = session.extra_input[0] if session.extra_input else None
    if extra is not None and (extra, info.task) not in (("hints", "colorize"), ("mask", "inpaint")):
        wanted = {"colorize": "'hints' (or none)", "inpaint": "'mask'"}.get(info.task, "none")
        raise ModelError(f"{info.id}: a {info.task} model takes {wanted} beside 'input', and this one takes {extra!r}")
    if info.task == "inpaint" and extra != "mask":
        raise ModelError(f"{info.id}: an inpaint model takes the holes to fill as a second input 'mask'")
    rng = np.random.default_rng(0)
    if is_spatial(info):  # a noise field (photogan.app.generate)
        probe_in = rng.standard_normal((1, sum(field_channels(info)), 3, 4), dtype=np.float32)
        expected: tuple[int, ...] | None = (1, 3, 3 * info.scale, 4 * info.scale)
    elif info.task == "generate":
        probe_in = rng.standard_normal((2, int(info.arch_params.get("latent", 0) or 1)), dtype=np.float32)
        expected = None  # a fixed-size tile: any N×3×S×S
    else:
        m = info.size_multiple
        probe_in = rng.random((1, 3, 5 * m, 7 * m), dtype=np.float32)
        planes = 1 if info.task == "detect" else 3  # a damage detector gives one plane: the damage probability
        expected = (1, planes, 5 * m * info.scale, 7 * m * info.scale)
    try:
        out = session.run(probe_in)
    except ModelError as exc:
        raise ModelError(f"{info.id} does not run on a {probe_in.shape} input: {exc}") from exc
    shape = tuple(out.shape)
    if expected is not None and shape != expected:
        got = "×".join(map(str, shape[2:])) if len(shape) == 4 else str(shape)
        raise ModelError(
            f"{info.id} turned a {probe_in.shape[2]}×{probe_in.shape[3]} input into {got}; "
            f"its metadata says ×{info.scale}, so it would fail on every photo"
        )
    if expected is None and (len(shape) != 4 or shape[1] != 3):
        raise ModelError(f"{info.id} gives {shape} for {probe_in.shape}; a generate model must give N×3×H×W")
    if not np.isfinite(out).all() or out.min() < -0.5 or out.max() > 1.5:
        raise ModelError(f"{info.id} gives values from {out.min():.3g} to {out.max():.3g}, not the expected 0 to 1")


def int8_copy(path: Path) -> Path | None:
    """The 8-bit copy made from exactly this model file (``NAME.int8.onnx`` beside ``NAME.onnx``), or None: there
    is none, or it was made from another version of the file or with full 8-bit weights (:data:`INT8_WEIGHT_BITS`;
    then it is ignored, with a warning)."""
    copy = path.with_name(path.stem + INT8_SUFFIX)
    if not copy.is_file():
        return None
    try:
        meta = read_metadata(copy)
    except ModelError as exc:
        log.warning("ignoring the 8-bit copy of %s: %s", path.name, exc)
        return None
    if meta.get(INT8_SOURCE_KEY) != hashlib.sha256(path.read_bytes()).hexdigest():
        log.warning("ignoring %s: it was made from another version of %s", copy.name, path.name)
        return None
    if meta.get(INT8_WEIGHT_BITS_KEY) != INT8_WEIGHT_BITS:
        log.warning(
            "ignoring %s: its full 8-bit weights lose more than measured on CPUs without VNNI; "
            "make it again with: python -m training.quantize %s", copy.name, path.stem,
        )  # fmt: skip
        return None
    return copy


def load_session(info: ModelInfo, device: Device, int8: bool = False) -> ModelSession:
    """A new session for the model file ``info.path``, probed (:func:`probe`) before it is handed out.

    With ``int8``, a model that runs on the CPU runs its 8-bit copy instead where it has one (:func:`int8_copy`);
    on a GPU the float model always runs.

    Raises:
        ModelError: The file cannot be loaded or breaks photogan's model contract.
    """
    if info.path is None:
        raise ModelError(f"model {info.id} has no file")
    copy = int8_copy(info.path) if int8 and device.kind != "cuda" else None
    if copy is not None and device.kind == "cpu":
        session = ModelSession(info, _create(copy, device), device, "int8")
    else:
        session = ModelSession(info, _create(info.path, device), device)
        if copy is not None and not session.uses_gpu:  # ``auto`` found no GPU
            session = ModelSession(info, _create(copy, Device("cpu")), device, "int8")
    probe(session)
    return session


class SessionCache:
    """Keeps the most recently used sessions, keyed by model file (and its modification time) and device."""

    def __init__(self, capacity: int = 4) -> None:
        self.capacity = capacity
        self._sessions: OrderedDict[tuple[str, int, str, bool], ModelSession] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, info: ModelInfo, device: Device, int8: bool = False) -> ModelSession:
        """The session for ``info`` on ``device`` (its 8-bit copy on a CPU with ``int8``), created on first use."""
        if info.path is None:
            raise ModelError(f"model {info.id} has no file")
        key = (str(info.path.resolve()), info.path.stat().st_mtime_ns, str(device), int8)
        with self._lock:
            cached = self._sessions.get(key)
            if cached is not None:
                self._sessions.move_to_end(key)
                return cached
            session = load_session(info, device, int8)
            if device.kind == "cuda" and not session.uses_gpu:
                log.warning(
                    "%s asked for %s but runs on the CPU: CUDA could not be loaded (install the CUDA libraries, "
                    "e.g. pip install 'photogan[cuda]')",
                    info.id,
                    device,
                )
            log.info("%s runs on %s (%s)", info.id, session.provider, session.precision)
            self._sessions[key] = session
            while len(self._sessions) > self.capacity:
                self._sessions.popitem(last=False)
            return session

    def clear(self) -> None:
        with self._lock:
            self._sessions.clear()


def read_metadata(path: Path) -> dict[str, str]:
    """The ``metadata_props`` of an ONNX file: read from the file's top level (:func:`_top_level_metadata`), or,
    where that does not parse, by loading the graph on the CPU without optimizing it.

    Raises:
        ModelError: The file is not a readable ONNX model.
    """
    try:
        with open(path, "rb") as file:
            found = _top_level_metadata(file)
    except OSError as exc:
        raise ModelError(f"cannot read {path.name}: {exc.strerror or exc}") from exc
    if found is not None:
        return found
    _quiet()
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    options.log_severity_level = 3
    try:
        session = ort.InferenceSession(str(path), sess_options=options, providers=[CPU])
    except Exception as exc:
        raise ModelError(f"{path.name} is not a valid ONNX model: {exc}") from exc
    return dict(session.get_modelmeta().custom_metadata_map)


#: ONNX ``ModelProto`` fields read by :func:`_top_level_metadata`: ``ir_version`` (1), ``graph`` (7, skipped)
#: and ``metadata_props`` (14: entries of ``key`` = 1, ``value`` = 2).
_IR_VERSION, _GRAPH, _METADATA, _KEY, _VALUE = 1, 7, 14, 1, 2


def _read_varint(file: io.BufferedIOBase) -> int:
    """A protobuf varint read from ``file``."""
    value = shift = 0
    while shift < 64:
        chunk = file.read(1)
        if not chunk:
            raise EOFError
        value |= (chunk[0] & 0x7F) << shift
        if chunk[0] < 0x80:
            return value
        shift += 7
    raise EOFError


def _top_level_metadata(file: io.BufferedIOBase) -> dict[str, str] | None:
    """``metadata_props`` read field by field from the top level of a serialized ``ModelProto``, seeking past the
    graph (nearly all of the file), so a registry of many models starts in milliseconds rather than building
    every graph. None where the file is not laid out as a model with an IR version and a graph (onnxruntime then
    decides)."""
    size = os.fstat(file.fileno()).st_size
    found: dict[str, str] = {}
    seen: set[int] = set()
    try:
        while file.tell() < size:
            tag = _read_varint(file)
            field, wire = tag >> 3, tag & 7
            if wire == 0:
                _read_varint(file)
            elif wire in (1, 5):
                file.seek(8 if wire == 1 else 4, os.SEEK_CUR)
            elif wire == 2:
                length = _read_varint(file)
                if file.tell() + length > size:
                    return None
                if field == _METADATA:
                    pair = _entry(file.read(length))
                    if pair is None:
                        return None
                    found[pair[0]] = pair[1]
                else:
                    file.seek(length, os.SEEK_CUR)
            else:
                return None
            seen.add(field)
    except (EOFError, UnicodeDecodeError):
        return None
    return found if {_IR_VERSION, _GRAPH} <= seen else None


def _entry(data: bytes) -> tuple[str, str] | None:
    """One ``StringStringEntryProto``: (key, value), or None where it holds anything else."""
    strings = {_KEY: "", _VALUE: ""}
    fields = io.BytesIO(data)
    while fields.tell() < len(data):
        tag = _read_varint(fields)
        if tag & 7 != 2 or tag >> 3 not in strings:
            return None
        length = _read_varint(fields)
        value = fields.read(length)
        if len(value) < length:
            return None
        strings[tag >> 3] = value.decode("utf-8")
    return strings[_KEY], strings[_VALUE]


def cuda_offered() -> bool:
    """Whether this onnxruntime build offers CUDA (it may still fail to load it: check ``ModelSession.provider``)."""
    return "CUDAExecutionProvider" in ort.get_available_providers()


@dataclass(frozen=True)
class ProviderCheck:
    """Whether an execution provider really runs a model here (``get_available_providers`` only says it was
    built in: the GPU build lists CUDA on machines with no GPU)."""

    name: str
    works: bool
    detail: str


def _fallback_reason(used: list[str], printed: str) -> str:
    """Why a session fell back to other providers: onnxruntime's own printed error, without its source path."""
    line = next((ln.strip() for ln in printed.splitlines() if "error" in ln.lower() and "****" not in ln), "")
    reason = re.sub(r"^EP Error\s+\S+\s+(.*?\)\s+(?=[A-Z]))?", "", line)[:300]  # drop the C++ source location
    fallback = f"fell back to {', '.join(used)}"
    return f"{fallback}: {reason}" if reason else f"{fallback} (its libraries or driver are missing or do not match)"


def check_providers(probe_model: Path, providers: list[str] | None = None) -> list[ProviderCheck]:
    """Creates a session on each provider (default: every one this onnxruntime build offers) with the tiny
    ``probe_model`` (an identity over N×3×H×W) and runs it once; a provider that does not load, falls back to the
    CPU or gives a wrong result is reported with the reason."""
    _quiet(Device("auto"))
    checks = []
    for name in providers if providers is not None else ort.get_available_providers():
        said = io.StringIO()  # onnxruntime prints why a provider failed (a missing library...) before falling back
        try:
            with contextlib.redirect_stdout(said), contextlib.redirect_stderr(said):
                session = ort.InferenceSession(str(probe_model), providers=[name] if name == CPU else [name, CPU])
            used = session.get_providers()
            if name not in used:
                checks.append(ProviderCheck(name, False, _fallback_reason(used, said.getvalue())))
                continue
            x = np.arange(12, dtype=np.float32).reshape(1, 3, 2, 2)
            if not np.array_equal(session.run(["output"], {"input": x})[0], x):
                checks.append(ProviderCheck(name, False, "ran, but gave a wrong result"))
                continue
            checks.append(ProviderCheck(name, True, "runs"))
        except Exception as exc:  # onnxruntime raises its own exception types from C++
            checks.append(ProviderCheck(name, False, str(exc).strip().splitlines()[0][:300] if str(exc) else repr(exc)))
    return checks
