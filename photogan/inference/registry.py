"""The model registry: bundled models (hand-listed) and the user's models (platformdirs data folder).

Bundled models are listed explicitly in :data:`BUNDLED`, not found by scanning, so a missing file is an error
and not a silently smaller list. User models are the ``.onnx`` files imported into the user models folder.
Two models with the same id are an error.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from photogan.core.errors import ModelError
from photogan.inference.model_info import ModelInfo
from photogan.inference.session import INT8_SUFFIX, Device, load_session, read_metadata

log = logging.getLogger(__name__)

#: Bundled model files in ``resources/models/``.
BUNDLED: tuple[str, ...] = (
    "upscale-x4.onnx",
    "upscale-x2.onnx",
    "upscale-x4-photo.onnx",
    "upscale-x4-fidelity.onnx",
    "upscale-x2-fidelity.onnx",
    "restore.onnx",
    "colorize.onnx",
    "inpaint.onnx",
    "repair-detect.onnx",
    "texture-bark.onnx",
    "texture-clay.onnx",
    "texture-water.onnx",
    "texture-sand.onnx",
)

#: The default model id for each (task, scale).
DEFAULTS: dict[tuple[str, int], str] = {
    ("upscale", 4): "upscale-x4",
    ("upscale", 2): "upscale-x2",
    ("restore", 1): "restore",
    ("colorize", 1): "colorize",
    ("generate", 1): "texture-bark",
    ("inpaint", 1): "inpaint",
    ("detect", 1): "repair-detect",
}

_info_cache: dict[tuple[str, int], ModelInfo] = {}
_info_lock = threading.Lock()


def resources_dir() -> Path:
    """The bundled ``resources`` folder (inside the installed package, or at the top of a source checkout)."""
    package = Path(__file__).resolve().parent.parent
    for candidate in (package / "resources", package.parent / "resources"):
        if candidate.is_dir():
            return candidate
    raise ModelError(f"photogan's resources folder is missing (looked in {package} and {package.parent})")


def bundled_models_dir() -> Path:
    return resources_dir() / "models"


def user_models_dir() -> Path:
    """Where imported and fine-tuned models live (``PHOTOGAN_MODELS_DIR`` overrides it)."""
    override = os.environ.get("PHOTOGAN_MODELS_DIR")
    return Path(override) if override else Path(platformdirs.user_data_dir("photogan")) / "models"


def read_model_info(path: Path) -> ModelInfo:
    """The description stored in a model file (cached by path and modification time).

    Raises:
        ModelError: The file is missing, not ONNX, or not a photogan model.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"model file not found: {path}")
    key = (str(path.resolve()), path.stat().st_mtime_ns)
    with _info_lock:
        cached = _info_cache.get(key)
    if cached is None:
        cached = ModelInfo.from_metadata(read_metadata(path), path=path)
        with _info_lock:
            _info_cache[key] = cached
    return cached


@dataclass(frozen=True)
class RegisteredModel:
    """A model known to the registry and where it comes from (``bundled`` or ``user``)."""

    info: ModelInfo
    origin: str


class ModelRegistry:
    """Looks up models by id, by default for a task, or by file path."""

    def __init__(self, bundled_dir: Path | None = None, user_dir: Path | None = None) -> None:
        self.bundled_dir = bundled_dir or bundled_models_dir()
        self.user_dir = user_dir or user_models_dir()

    def models(self) -> list[RegisteredModel]:
        """All models, bundled first. Unreadable user models are skipped with a warning.

        Raises:
            ModelError: A bundled model is missing, or two models share an id.
        """
        found: dict[str, RegisteredModel] = {}

        def add(info: ModelInfo, origin: str) -> None:
            if info.id in found:
                other = found[info.id].info.path
                raise ModelError(f"two models have the id {info.id!r}: {other} and {info.path}")
            found[info.id] = RegisteredModel(info, origin)

        for name in BUNDLED:
            path = self.bundled_dir / name
            if path.exists():
                add(read_model_info(path), "bundled")
            else:
                log.warning("bundled model %s is missing from %s", name, self.bundled_dir)
        if self.user_dir.is_dir():
            for path in sorted(self.user_dir.glob("*.onnx")):
                if path.name.endswith(INT8_SUFFIX):  # a model's 8-bit copy, not a model of its own
                    continue
                try:
                    info = read_model_info(path)
                except ModelError as exc:
                    log.warning("skipping user model %s: %s", path.name, exc)
                    continue
                add(info, "user")
        return list(found.values())

    def get(self, model: str) -> ModelInfo:
        """A model by id, or by path to an ``.onnx`` file.

        Raises:
            ModelError: No such model (the message lists the known ids).
        """
        if model.endswith(".onnx") or os.sep in model or "/" in model:
            return read_model_info(Path(model))
        entries = self.models()
        for entry in entries:
            if entry.info.id == model:
                return entry.info
        known = ", ".join(e.info.id for e in entries) or "none"
        raise ModelError(f"no model named {model!r} (known models: {known})")

    def default_for(self, task: str, scale: int | None) -> ModelInfo:
        """The default model for a task (and scale, for upscaling).

        Raises:
            ModelError: No default model exists for that task and scale.
        """
        key = (task, scale or (4 if task == "upscale" else 1))
        model_id = DEFAULTS.get(key)
        if model_id is None:
            scales = sorted(s for t, s in DEFAULTS if t == task)
            hint = f" (available scales: {', '.join(map(str, scales))})" if scales else ""
            raise ModelError(f"no bundled model for {task} ×{key[1]}{hint}; pass --model ID or a .onnx file")
        return self.get(model_id)

    def delete_model(self, model_id: str) -> Path:
        """Deletes a user model (and its training checkpoint and card); bundled models cannot be deleted.

        Raises:
            ModelError: No such model, or it is bundled.
        """
        for entry in self.models():
            if entry.info.id == model_id:
                if entry.origin != "user" or entry.info.path is None:
                    raise ModelError(f"{model_id} is bundled with photogan and cannot be deleted")
                entry.info.path.unlink()
                entry.info.path.with_suffix(".safetensors").unlink(missing_ok=True)
                entry.info.path.with_suffix(".md").unlink(missing_ok=True)  # the card of an imported model
                entry.info.path.with_name(entry.info.path.stem + INT8_SUFFIX).unlink(missing_ok=True)
                return entry.info.path
        raise ModelError(f"no model named {model_id!r}")

    def import_model(self, source: Path) -> ModelInfo:
        """Copies a photogan ``.onnx`` file into the user models folder as ``<id>.onnx``.

        Raises:
            ModelError: The file is not a photogan model or its id is already taken.
        """
        info = read_model_info(source).with_path(source)
        load_session(info, Device.parse("cpu"))  # a broken model is refused now, not on every photo
        if any(entry.info.id == info.id for entry in self.models()):
            raise ModelError(f"a model with the id {info.id!r} already exists; delete it first or rename the new one")
        self.user_dir.mkdir(parents=True, exist_ok=True)
        target = self.user_dir / f"{info.id}.onnx"
        tmp = self.user_dir / f".{info.id}.onnx.tmp"
        try:
            shutil.copyfile(source, tmp)
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
        return read_model_info(target)
