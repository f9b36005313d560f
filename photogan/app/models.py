"""Model services for the front ends: find, describe, import and load models."""

from __future__ import annotations

import builtins
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from photogan.core.errors import ModelError
from photogan.inference.model_info import ModelInfo, is_spatial
from photogan.inference.registry import ModelRegistry, RegisteredModel, resources_dir
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

    def open(self, info: ModelInfo, device: str = "auto", int8: bool = False) -> ModelSession:
        """Loads ``info`` on ``device`` (``auto``, ``cpu``, ``cuda``, ``cuda:N``); see ``session.provider``. With
        ``int8``, its 8-bit copy runs instead on a CPU where it has one (``session.precision``)."""
        return self.cache.get(info, Device.parse(device), int8)

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


#: The jobs a photographer picks a model for, in the picker's order.
JOBS = (
    "Camera, phone or web photo",
    "Clean source: a render, a clean scan",
    "Old print or scan",
    "Black-and-white photo",
    "Fill what you marked",
    "Your models",
)
#: Bundled models and chains in plain words: (job, label, one sentence). Models not listed go under "Your models".
PLAIN: dict[tuple[str, ...], tuple[str, str, str]] = {
    ("upscale-x4",): (JOBS[0], "Enlarge ×4", "Cleans sensor noise and JPEG blocks as it enlarges; invents nothing."),
    ("upscale-x2",): (JOBS[0], "Enlarge ×2", "Cleans sensor noise and JPEG blocks as it enlarges; invents nothing."),
    ("upscale-x4-photo",): (
        JOBS[0],
        "Enlarge ×4 for large prints",
        "Crisper, partly invented texture (hair, foliage, fabric) for big prints: look at faces at 100 %.",
    ),
    ("upscale-x4-fidelity",): (
        JOBS[1],
        "Enlarge ×4, sharpest",
        "For noise-free sources only: the sharpest edges, but noise and JPEG blocks are enlarged too.",
    ),
    ("upscale-x2-fidelity",): (
        JOBS[1],
        "Enlarge ×2, sharpest",
        "For noise-free sources only: the sharpest edges, but noise and JPEG blocks are enlarged too.",
    ),
    ("restore",): (JOBS[2], "Restore", "Noise, film grain, JPEG, fading and mild blur, at the same size."),
    ("repair-detect", "inpaint", "restore"): (
        JOBS[2],
        "Repair scratches, dust, tears → restore",
        "Finds and fills thin damage and missing corners, then restores; check the damage mask on faces first.",
    ),
    ("restore", "upscale-x4"): (JOBS[2], "Restore → enlarge ×4", "A faded or grainy print, restored, then enlarged."),
    ("repair-detect", "inpaint", "restore", "colorize", "upscale-x4"): (
        JOBS[2],
        "Repair → restore → colorize → enlarge ×4",
        "A damaged black-and-white print in one go: repaired, restored, colorized and enlarged.",
    ),
    ("colorize",): (JOBS[3], "Colorize", "Plausible colours for sky, foliage, skin; colour points guide it."),
    ("restore", "colorize"): (JOBS[3], "Restore → colorize", "A grainy or faded print, restored, then colorized."),
    ("restore", "colorize", "upscale-x4"): (
        JOBS[3],
        "Restore → colorize → enlarge ×4",
        "An old black-and-white print, restored, colorized and enlarged.",
    ),
    ("inpaint",): (
        JOBS[4],
        "Fill the damage mask",
        "Fills what you painted with the damage brush; nothing else changes.",
    ),
}


def thumbnail_name(chain: Sequence[str]) -> str:
    """The file name of a choice's before/after thumbnail (``scripts/picker_thumbnails.py`` makes them)."""
    return "+".join(chain) + ".jpg"


def picker_thumbnail(chain: Sequence[str]) -> Path | None:
    """The bundled before/after thumbnail of a choice (the photo as it comes in, and the result), if it has one."""
    try:
        path = resources_dir() / "picker" / thumbnail_name(chain)
    except ModelError:
        return None
    return path if path.is_file() else None


#: Chains offered by the front ends when all their models are installed.
CHAIN_PRESETS = tuple(chain for chain in PLAIN if len(chain) > 1)


@dataclass(frozen=True)
class Choice:
    """One entry of a model picker: the job it is for, its label, a sentence on when to use it, and what runs."""

    job: str
    label: str
    sentence: str
    chain: tuple[str, ...]


def chain_choices(entries: list[RegisteredModel]) -> list[Choice]:
    """What a model picker offers, grouped by job in :data:`JOBS` order: every model that enhances photos (in
    plain words where photogan knows it) and the chains whose models are all present."""
    choices: list[Choice] = []
    ids = {e.info.id for e in entries}
    for entry in entries:
        info = entry.info
        if info.task in ("generate", "detect"):  # a detector runs only before an inpainter (the presets)
            continue
        known = PLAIN.get((info.id,)) if entry.origin == "bundled" else None
        if known is not None:
            choices.append(Choice(*known, (info.id,)))
            continue
        what = f"{info.task.capitalize()} ×{info.scale}" if info.scale > 1 else info.task.capitalize()
        choices.append(Choice(JOBS[-1], f"{what} — {info.id}", info.description, (info.id,)))
    choices += [Choice(*PLAIN[chain], chain) for chain in CHAIN_PRESETS if set(chain) <= ids]
    return sorted(choices, key=lambda c: JOBS.index(c.job))  # stable: the registry's order within a job


def provider_label(provider: str) -> str:
    """An execution provider in words for the status bar."""
    return {"CUDAExecutionProvider": "NVIDIA GPU (CUDA)", "CPUExecutionProvider": "CPU"}.get(provider, provider)
