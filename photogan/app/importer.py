"""Importing the models photographers already have: photogan's own ``.onnx`` files, any image-to-image ONNX model
(Real-ESRGAN's, OpenModelDB's exports), and PyTorch checkpoints (``.pth``, ``.pt``, ``.ckpt``, ``.safetensors``)
of the architectures spandrel knows.

A foreign ONNX model is measured, not trusted: its input and output are read from the graph, its scale and the
size multiple it needs are found by running probe images, its output range is checked, and the tile context that
makes tiled results match the whole image is measured. Then the graph's input and output are renamed to photogan's
``input``/``output``, the metadata written into the file, and a model card written beside it from what was
found. A PyTorch checkpoint is first converted by the training module (``python -m training.convert``, in a
subprocess: torch stays out of the app), which identifies it with spandrel's safe loading and checks the ONNX
export against torch.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from photogan.core.errors import ModelError
from photogan.inference.model_info import TASKS, ModelInfo, model_id_from
from photogan.inference.registry import ModelRegistry, read_model_info
from photogan.inference.session import Device, load_session

#: PyTorch checkpoints spandrel reads (``.pt`` may also be TorchScript, which spandrel loads too).
PYTORCH_SUFFIXES = (".pth", ".pt", ".ckpt", ".safetensors")
#: Scales an imported model may have.
SCALES = (1, 2, 3, 4, 8)
#: Probe size for scale and range, and the size multiples tried (each probe is 64 + m pixels, divisible by m only).
PROBE = 64
MULTIPLES = (1, 2, 4, 8, 16, 32, 64)
#: Most context per tile an imported model gets (transformers reach further than any tile is worth).
MAX_TILE_PAD = 64


@dataclass(frozen=True)
class Measured:
    """What running a foreign model told."""

    input_name: str
    output_name: str
    scale: int
    size_multiple: int
    tile_pad: int
    notes: tuple[str, ...]


def _probe_image(h: int, w: int) -> np.ndarray:
    """A photo-like probe: smooth gradients, edges and fine texture, N×3×H×W in [0, 1]."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    r = 0.5 + 0.3 * np.sin(x / 7.0) * np.cos(y / 11.0)
    g = 0.3 + 0.4 * (x / max(w - 1, 1))
    b = np.where((x // 8 + y // 8) % 2 == 0, 0.25, 0.7).astype(np.float32)
    return np.stack([r, g, b])[None].astype(np.float32)


def _session(data: bytes) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    try:
        return ort.InferenceSession(data, sess_options=options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own exception types
        raise ModelError(f"not a valid ONNX model: {exc}") from exc


def _run(session: Any, name: str, image: np.ndarray) -> np.ndarray | None:
    try:
        return np.asarray(session.run(None, {name: image})[0])
    except Exception:  # the size is refused (a fixed size, a multiple): the caller tries others
        return None


def measure(data: bytes, scale_hint: int | None = None) -> Measured:
    """Finds a foreign ONNX model's input, output, scale, size multiple, range and tile context by running it.

    Raises:
        ModelError: It is not an RGB image-to-image model photogan can run, in words.
    """
    session = _session(data)
    inputs, outputs = session.get_inputs(), session.get_outputs()
    if len(inputs) != 1:
        names = ", ".join(i.name for i in inputs)
        raise ModelError(f"the model takes {len(inputs)} inputs ({names}); photogan imports models of one image")
    spec = inputs[0]
    if spec.type != "tensor(float)":
        hint = " (a float16 model: import its float32 version)" if spec.type == "tensor(float16)" else ""
        raise ModelError(f"the model's input is {spec.type}, not float32{hint}")
    shape = list(spec.shape)
    if len(shape) != 4 or (isinstance(shape[1], int) and shape[1] != 3):
        raise ModelError(f"the model's input is {shape}; photogan imports RGB image models (N×3×H×W)")
    if isinstance(shape[2], int) and isinstance(shape[3], int):
        raise ModelError(f"the model takes only {shape[3]}×{shape[2]} images; photogan needs one that takes any size")
    name = spec.name
    out = _run(session, name, _probe_image(PROBE, PROBE))
    if out is None:
        raise ModelError(f"the model does not run on a 1×3×{PROBE}×{PROBE} image")
    if out.ndim != 4 or out.shape[1] != 3:
        raise ModelError(f"the model turns an image into {list(out.shape)}, not an RGB image")
    scale = out.shape[2] // PROBE
    if out.shape[2] != scale * PROBE or out.shape[3] != out.shape[2] or scale not in SCALES:
        raise ModelError(
            f"the model turns {PROBE}×{PROBE} into {out.shape[3]}×{out.shape[2]}: not ×1, ×2, ×3, ×4 or ×8"
        )
    if scale_hint is not None and scale_hint != scale:
        raise ModelError(f"the model upscales ×{scale}, not ×{scale_hint} as asked")
    if not np.isfinite(out).all():
        raise ModelError("the model gives NaN or infinite values on a probe image")
    level = float(out.mean())
    if level > 5:
        raise ModelError(
            f"the model's output averages {level:.0f} on a probe averaging 0.5: it works on 0-255 values, and "
            "photogan's models on 0-1 (re-export it for 0-1 input and output)"
        )
    notes: list[str] = []
    if out.min() < -0.2:
        notes.append(f"its output goes down to {out.min():.2f} on a 0-1 probe: it may expect -1 to 1 values")
    multiple = next((m for m in MULTIPLES if _run(session, name, _probe_image(PROBE + m, PROBE + m)) is not None), 0)
    if not multiple:
        raise ModelError(f"the model runs at {PROBE}×{PROBE} but on no other size; photogan needs any size")
    return Measured(name, outputs[0].name, scale, multiple, _tile_context(session, name, scale, multiple), tuple(notes))


def _tile_context(session: Any, name: str, scale: int, multiple: int, tolerance: float = 0.5 / 255) -> int:
    """The context around a tile that makes it match the whole image (to half an 8-bit step), plus 8 px, at
    most :data:`MAX_TILE_PAD`: a 32 px window of a probe, from crops with more and more context around it."""
    step = max(8, multiple)
    inner = -(-32 // step) * step
    size = inner + 2 * (MAX_TILE_PAD // step) * step
    image = _probe_image(size, size)
    whole = _run(session, name, image)
    if whole is None:
        return MAX_TILE_PAD
    start = (size - inner) // 2
    want = whole[..., start * scale : (start + inner) * scale, start * scale : (start + inner) * scale]
    for pad in range(step, MAX_TILE_PAD, step):
        crop = np.ascontiguousarray(image[..., start - pad : start + inner + pad, start - pad : start + inner + pad])
        out = _run(session, name, crop)
        if out is None:
            continue
        got = out[..., pad * scale : (pad + inner) * scale, pad * scale : (pad + inner) * scale]
        if float(np.abs(got - want).max()) <= tolerance:
            return min(pad + 8, MAX_TILE_PAD)
    return MAX_TILE_PAD


def _import_onnx_package() -> Any:
    try:
        import onnx
    except ImportError:
        raise ModelError("importing a model that is not photogan's needs the onnx package: pip install onnx") from None
    return onnx


def adopt(
    data: bytes,
    target: Path,
    model_id: str,
    source_name: str,
    task: str | None = None,
    scale: int | None = None,
    arch: str = "imported ONNX",
    about: str = "",
) -> ModelInfo:
    """Writes a foreign ONNX model as a photogan model at ``target`` (its card beside it): measured, renamed,
    described. Nothing is written when any check fails.

    Raises:
        ModelError: The model cannot be used (why, in words).
    """
    found = measure(data, scale)
    chosen = task or ("upscale" if found.scale > 1 else "restore")
    if chosen not in ("upscale", "restore"):
        raise ModelError(f"an imported model can be an upscale or restore model, not {chosen}")
    if chosen == "upscale" and found.scale == 1:
        raise ModelError("the model keeps the image size: import it with --task restore")
    onnx = _import_onnx_package()
    proto = onnx.load_from_string(data)
    _rename(proto.graph, found.input_name, "input")
    _rename(proto.graph, found.output_name, "output")
    del proto.graph.output[1:]  # photogan reads the image output only
    description = f"Imported from {source_name} ({arch}{', ' + about if about else ''})."
    info = ModelInfo(
        id=model_id,
        name=f"{model_id} (imported)",
        task=chosen,  # type: ignore[arg-type]  # checked above
        scale=found.scale,
        arch=arch,
        size_multiple=found.size_multiple,
        tile_pad=found.tile_pad,
        licence="as the model's own source says (imported by the user)",
        training_data="unknown (imported)",
        description=description,
    )
    del proto.metadata_props[:]
    for key, value in info.to_metadata().items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    try:
        onnx.save(proto, str(tmp))
        checked = read_model_info(tmp).with_path(tmp)
        load_session(checked, Device.parse("cpu"))  # photogan's own contract, as every model is checked on loading
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    target.with_suffix(".md").write_text(_card(info, found, source_name), encoding="utf-8")
    return read_model_info(target)


def _rename(graph: Any, old: str, new: str) -> None:
    """Renames a value everywhere in a graph (its inputs, outputs, node inputs and outputs, value infos)."""
    if old == new:
        return
    for value in [*graph.input, *graph.output, *graph.value_info]:
        if value.name == old:
            value.name = new
    for node in graph.node:
        node.input[:] = [new if n == old else n for n in node.input]
        node.output[:] = [new if n == old else n for n in node.output]


def _card(info: ModelInfo, found: Measured, source_name: str) -> str:
    notes = "".join(f"\n- {note}" for note in found.notes)
    context = (
        "the most photogan gives: tiles differ from the whole image by more than half an 8-bit step"
        if found.tile_pad >= MAX_TILE_PAD
        else "measured on import: tiles match the whole image to half an 8-bit step"
    )
    return f"""# {info.id} — imported {info.task} ×{info.scale}

{info.description}

| | |
|---|---|
| task | {info.task} ×{info.scale} |
| architecture | {info.arch} |
| source file | `{source_name}` |
| input | NCHW float32 RGB in [0, 1], any size that is a multiple of {found.size_multiple} (padded as needed) |
| tiling | tiled, {found.tile_pad} px of context per tile ({context}) |
| licence | as the model's own source says |
| training data | unknown to photogan |

What photogan found when it imported the model, by running it on probe images: the scale ×{found.scale}, sizes
that are multiples of {found.size_multiple}, values in the 0-1 range{" (see the notes)" if found.notes else ""}; the
graph's input `{found.input_name}` and output `{found.output_name}` became photogan's `input` and `output`.
Its quality on photos is not measured here: compare it with photogan's models in the app (A/B) or with
`python benchmarks/quality.py`.{notes}
"""


def _training_python() -> list[str]:
    """The command that runs the training module: this interpreter (not a frozen app, which has no torch)."""
    if getattr(sys, "frozen", False):
        raise ModelError(
            "PyTorch checkpoints are converted by photogan's training module, which this packaged app does not "
            "hold: install photogan with pip (pip install 'photogan[convert]') to import them"
        )
    return [sys.executable, "-m", "training.convert"]


def convert_pytorch(source: Path, target: Path, model_id: str, scale: int | None) -> dict[str, Any]:
    """Converts a PyTorch checkpoint to ONNX with the training module; returns what it detected.

    Raises:
        ModelError: The conversion failed (the training module's reason).
    """
    command = [*_training_python(), str(source), str(target), "--id", model_id]
    if scale is not None:
        command += ["--scale", str(scale)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=1800, check=False)
    if done.returncode != 0:
        said = [line for line in done.stderr.splitlines() if line.startswith("photogan convert: error: ")]
        reason = said[-1] if said else f"the conversion stopped (exit code {done.returncode})"
        if "No module named 'torch'" in done.stderr or "No module named 'spandrel'" in done.stderr:
            reason = "PyTorch checkpoints need torch and spandrel: pip install 'photogan[convert]'"
        raise ModelError(reason.removeprefix("photogan convert: error: "))
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def import_model(
    registry: ModelRegistry,
    source: Path,
    model_id: str | None = None,
    task: str | None = None,
    scale: int | None = None,
) -> ModelInfo:
    """Adds ``source`` to the user's models: a photogan model as it is; any other image ONNX model or a PyTorch
    checkpoint measured, converted and described (see the module's notes).

    Raises:
        ModelError: The file cannot be imported, and why.
    """
    if task is not None and task not in TASKS:
        raise ModelError(f"unknown task {task!r}")
    if not source.is_file():
        raise ModelError(f"no such file: {source}")
    suffix = source.suffix.lower()
    if suffix == ".onnx":
        try:
            read_model_info(source)
        except ModelError:  # not photogan's: adopted below
            pass
        else:
            if model_id is not None or task is not None or scale is not None:
                raise ModelError("a photogan model keeps the id, task and scale it was trained with")
            return registry.import_model(source)
    elif suffix not in PYTORCH_SUFFIXES:
        raise ModelError(
            f"{source.name}: photogan imports .onnx models and PyTorch {', '.join(PYTORCH_SUFFIXES)} files"
        )
    wanted = model_id or model_id_from(source.stem, "imported")
    if any(entry.info.id == wanted for entry in registry.models()):
        raise ModelError(f"a model with the id {wanted!r} already exists; choose another with --id")
    target = registry.user_dir / f"{wanted}.onnx"
    if suffix == ".onnx":
        return adopt(source.read_bytes(), target, wanted, source.name, task, scale)
    with tempfile.TemporaryDirectory(prefix="photogan-convert-") as work:
        converted = Path(work) / "model.onnx"
        detected = convert_pytorch(source, converted, wanted, scale)
        about = ", ".join(f"{k} {v}" for k, v in detected.items() if k in ("purpose", "parameters", "parity"))
        arch = f"{detected.get('architecture', 'PyTorch')} (spandrel)"
        return adopt(converted.read_bytes(), target, wanted, source.name, task, scale, arch, about)
