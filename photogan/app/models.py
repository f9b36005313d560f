"""Model services for the front ends: find, describe, import and load models."""

from __future__ import annotations

import builtins
import json
from dataclasses import dataclass, field
from pathlib import Path

from photogan.core.errors import ModelError
from photogan.inference.model_info import ModelInfo, is_spatial
from photogan.inference.registry import ModelRegistry, RegisteredModel
from photogan.inference.session import Device, ModelSession, SessionCache

#: Tasks that are a chain of models: ``repair`` finds damage, fills it, then cleans noise, grain and fading.
TASK_CHAINS: dict[str, tuple[str, ...]] = {"repair": ("detect", "inpaint", "restore")}
#: What a photographer asks for on the command line and in the GUI's task lists.
ENHANCE_TASKS = ("upscale", "restore", "colorize", "inpaint", "repair")


@dataclass
class ModelService:
    """The registry and a session cache shared by everything that runs models in this process."""

    registry: ModelRegistry = field(default_factory=ModelRegistry)
    cache: SessionCache = field(default_factory=SessionCache)

    def list(self) -> list[RegisteredModel]:
        return self.registry.models()

    def resolve(self, task: str | None, scale: int | None, model: str | None) -> ModelInfo:
        """The model to run: ``model`` (id or path) if given, else the default for ``task`` and ``scale``.

        Raises:
            ModelError: Unknown model, or one that contradicts the requested task or scale.
        """
        if model is None:
            return self.registry.default_for(task or "upscale", scale)
        info = self.registry.get(model)
        if task is not None and info.task != task:
            raise ModelError(f"{info.id} is a {info.task} model, not {task}")
        if scale is not None and info.scale != scale:
            raise ModelError(f"{info.id} upscales ×{info.scale}, not ×{scale}")
        return info

    def resolve_task(self, task: str, scale: int | None = None) -> builtins.list[ModelInfo]:
        """The default models of a task, one or a chain (:data:`TASK_CHAINS`).

        Raises:
            ModelError: A model the task needs is missing.
        """
        return [self.registry.default_for(step, scale) for step in TASK_CHAINS.get(task, (task,))]

    def open(self, info: ModelInfo, device: str = "auto") -> ModelSession:
        """Loads ``info`` on ``device`` (``auto``, ``cpu``, ``cuda``, ``cuda:N``); see ``session.provider``."""
        return self.cache.get(info, Device.parse(device))

    def import_file(
        self, path: Path, model_id: str | None = None, task: str | None = None, scale: int | None = None
    ) -> ModelInfo:
        """Adds a model file to the user's models (see :mod:`photogan.app.importer`)."""
        from photogan.app.importer import import_model

        return import_model(self.registry, path, model_id, task, scale)

    def delete(self, model_id: str) -> Path:
        return self.registry.delete_model(model_id)


def describe(info: ModelInfo) -> str:
    """A multi-line, human-readable model card from the model's own metadata."""
    if is_spatial(info):  # a texture model: any size, from a noise field
        task = "generate textures of any size (seamless)"
        tiling = f"{info.tiling} over its noise field (one cell per {info.scale} px, context {info.tile_pad} cells)"
    else:
        task = f"{info.task} ×{info.scale}"
        tiling = f"{info.tiling} (context {info.tile_pad} px, size multiple {info.size_multiple})"
    lines = [
        f"{info.id}: {info.name}",
        f"  task:          {task}",
        f"  architecture:  {info.arch} {json.dumps(dict(info.arch_params), sort_keys=True)}",
        f"  tiling:        {tiling}",
        f"  licence:       {info.licence or 'not stated'}",
        f"  training data: {info.training_data or 'not stated'}",
        f"  file:          {info.path}",
    ]
    if info.description:
        lines.insert(1, f"  {info.description}")
    for dataset, values in info.metrics.items():
        numbers = ", ".join(f"{k} {v}" for k, v in values.items()) if isinstance(values, dict) else str(values)
        lines.append(f"  measured:      {dataset}: {numbers}")
    return "\n".join(lines)


#: Chains offered by the front ends when all their models are installed.
CHAIN_PRESETS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Repair scratches, dust, tears → restore", ("repair-detect", "inpaint", "restore")),
    ("Repair → restore → colorize → upscale ×4", ("repair-detect", "inpaint", "restore", "colorize", "upscale-x4")),
    ("Restore → colorize → upscale ×4", ("restore", "colorize", "upscale-x4")),
    ("Restore → upscale ×4", ("restore", "upscale-x4")),
    ("Restore → colorize", ("restore", "colorize")),
)


def chain_choices(entries: list[RegisteredModel]) -> list[tuple[str, tuple[str, ...]]]:
    """What a model picker offers: every model that enhances photos, then the chains whose models are all present."""
    choices: list[tuple[str, tuple[str, ...]]] = []
    for entry in entries:
        info = entry.info
        if info.task in ("generate", "detect"):  # a detector runs only before an inpainter (the presets)
            continue
        what = f"{info.task.capitalize()} ×{info.scale}" if info.scale > 1 else info.task.capitalize()
        choices.append((f"{what} — {info.id}", (info.id,)))
    ids = {e.info.id for e in entries}
    choices += [(label, chain) for label, chain in CHAIN_PRESETS if set(chain) <= ids]
    return choices


def provider_label(provider: str) -> str:
    """An execution provider in words for the status bar."""
    return {"CUDAExecutionProvider": "NVIDIA GPU (CUDA)", "CPUExecutionProvider": "CPU"}.get(provider, provider)
