"""The self-describing model contract: what a photogan ``.onnx`` file says about itself.

A photogan model is one ONNX file with input ``input`` and output ``output``, both NCHW float32 RGB in [0, 1]
with dynamic height and width (``generate`` models take a noise vector instead). Everything else the app needs
to run it is stored as string entries in the model's ``metadata_props``, under the keys listed in
:data:`METADATA_KEYS`. ``training/export`` writes them with :meth:`ModelInfo.to_metadata`; inference reads them
with :meth:`ModelInfo.from_metadata`. No architecture code is needed to run a model.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal, cast

from photogan.core.errors import ModelError

#: Version of the metadata schema written by ``training/export``. Bump on incompatible changes.
FORMAT_VERSION = 1

Task = Literal["upscale", "restore", "colorize", "generate", "inpaint", "detect"]
TASKS: tuple[Task, ...] = ("upscale", "restore", "colorize", "generate", "inpaint", "detect")

#: How a model may be tiled: ``tiled`` (any tile size works), ``whole`` (the model needs the whole image).
Tiling = Literal["tiled", "whole"]

_PREFIX = "photogan."
#: What a model id may be: it names a file (``<id>.onnx``) and is typed on command lines.
MODEL_ID = re.compile(r"[A-Za-z0-9._-]{1,100}")
_NOT_IN_ID = re.compile(r"[^A-Za-z0-9._-]+")
METADATA_KEYS = (
    "format_version",
    "id",
    "name",
    "task",
    "scale",
    "arch",
    "arch_params",
    "size_multiple",
    "tiling",
    "tile_pad",
    "tile_size",
    "work_side",
    "licence",
    "training_data",
    "metrics",
    "description",
)


def _frozen(mapping: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping))


@dataclass(frozen=True)
class ModelInfo:
    """What one model file declares about itself.

    Attributes:
        id: Stable identifier used on the command line (``--model upscale-x4``).
        name: Human-readable name.
        task: One of ``upscale``, ``restore``, ``colorize``, ``generate``, ``inpaint`` (fills the holes of a
            mask given beside the photo), ``detect`` (finds damage: one plane of probability).
        scale: Output size divided by input size (1 for restore/colorize).
        arch: Architecture name as registered in ``training.archs``.
        arch_params: Architecture hyperparameters (informational; not needed to run the model).
        size_multiple: Input height and width must be multiples of this; the engine pads as needed.
        tiling: ``tiled`` when the model may run on tiles, ``whole`` when it must see the whole image.
        tile_pad: Context, in input pixels, each tile needs around it (the reach that still changes the output by
            half an 8-bit step or more, measured at export).
        tile_size: The tile side, in input pixels, that runs fastest on a CPU within bounded memory (measured by
            ``benchmarks/speed.py --tile … --write-tile``); 0 states none (photogan's default tile).
        work_side: For a colorizer: the longest side it runs at (0: the photo's own size). A larger photo is
            colorized at that size and its chroma brought to full size guided by the luminance
            (``photogan.core.chroma``); the luminance is always the photo's own.
        licence: Licence of the weights.
        training_data: The data the model was trained on, with its licences.
        metrics: Measured quality (e.g. ``{"Set5": {"psnr_y": 30.6, "ssim_y": 0.867}}``).
        description: One or two sentences for model cards and pickers.
        format_version: Metadata schema version the file was written with.
        path: Where the model was loaded from (not stored in the file).
    """

    id: str
    name: str
    task: Task
    scale: int = 1
    arch: str = ""
    arch_params: Mapping[str, Any] = field(default_factory=lambda: _frozen({}))
    size_multiple: int = 1
    tiling: Tiling = "tiled"
    tile_pad: int = 16
    tile_size: int = 0
    work_side: int = 0
    licence: str = ""
    training_data: str = ""
    metrics: Mapping[str, Any] = field(default_factory=lambda: _frozen({}))
    description: str = ""
    format_version: int = FORMAT_VERSION
    path: Path | None = None

    def __post_init__(self) -> None:
        if not MODEL_ID.fullmatch(self.id) or self.id.startswith("."):
            shown = self.id if len(self.id) <= 40 else self.id[:40] + "…"
            raise ModelError(f"invalid model id {shown!r}: use 1 to 100 letters, digits, '-', '_' and '.'")
        if self.task not in TASKS:
            raise ModelError(f"model {self.id!r}: unknown task {self.task!r} (expected one of {', '.join(TASKS)})")
        if self.scale < 1 or self.size_multiple < 1 or self.tile_pad < 0 or min(self.work_side, self.tile_size) < 0:
            raise ModelError(
                f"model {self.id!r}: scale and size_multiple must be >= 1, tile_pad, tile_size and work_side >= 0"
            )
        if self.tiling not in ("tiled", "whole"):
            raise ModelError(f"model {self.id!r}: unknown tiling policy {self.tiling!r}")
        object.__setattr__(self, "arch_params", _frozen(self.arch_params))
        object.__setattr__(self, "metrics", _frozen(self.metrics))

    def to_metadata(self) -> dict[str, str]:
        """Returns the ``metadata_props`` entries that describe this model (all values are strings)."""
        values: dict[str, object] = {
            "format_version": self.format_version,
            "id": self.id,
            "name": self.name,
            "task": self.task,
            "scale": self.scale,
            "arch": self.arch,
            "arch_params": json.dumps(dict(self.arch_params), sort_keys=True),
            "size_multiple": self.size_multiple,
            "tiling": self.tiling,
            "tile_pad": self.tile_pad,
            "tile_size": self.tile_size,
            "work_side": self.work_side,
            "licence": self.licence,
            "training_data": self.training_data,
            "metrics": json.dumps(dict(self.metrics), sort_keys=True),
            "description": self.description,
        }
        return {_PREFIX + key: str(value) for key, value in values.items()}

    @classmethod
    def from_metadata(cls, metadata: Mapping[str, str], path: Path | None = None) -> ModelInfo:
        """Builds the description from a model's ``metadata_props``.

        Raises:
            ModelError: The file is not a photogan model, was written by a newer photogan, or a value is invalid.
        """
        where = f" ({path})" if path else ""
        props = {k[len(_PREFIX) :]: v for k, v in metadata.items() if k.startswith(_PREFIX)}
        if "task" not in props or "id" not in props:
            raise ModelError(f"not a photogan model{where}: its ONNX metadata has no photogan.task/photogan.id")
        try:
            version = int(props.get("format_version", "1"))
            if version > FORMAT_VERSION:
                raise ModelError(
                    f"model{where} uses metadata format {version}; this photogan reads up to {FORMAT_VERSION}. "
                    "Update photogan to use it."
                )
            return cls(
                id=props["id"],
                name=props.get("name") or props["id"],
                task=cast(Task, props["task"]),
                scale=int(props.get("scale", "1")),
                arch=props.get("arch", ""),
                arch_params=json.loads(props.get("arch_params") or "{}"),
                size_multiple=int(props.get("size_multiple", "1")),
                tiling=cast(Tiling, props.get("tiling", "tiled")),
                tile_pad=int(props.get("tile_pad", "16")),
                tile_size=int(props.get("tile_size", "0")),
                work_side=int(props.get("work_side", "0")),
                licence=props.get("licence", ""),
                training_data=props.get("training_data", ""),
                metrics=json.loads(props.get("metrics") or "{}"),
                description=props.get("description", ""),
                format_version=version,
                path=path,
            )
        except (ValueError, TypeError) as exc:  # int() or json.loads() on a bad value
            raise ModelError(f"model{where} has invalid photogan metadata: {exc}") from exc

    def with_path(self, path: Path) -> ModelInfo:
        """Returns a copy that remembers where it was loaded from."""
        return replace(self, path=path)


def is_spatial(info: ModelInfo) -> bool:
    """Whether the model draws textures of any size from a noise field (rather than one tile from a vector)."""
    return info.task == "generate" and "local" in info.arch_params


def field_channels(info: ModelInfo) -> tuple[int, int]:
    """A spatial model's (local, global) noise-field channels: the first vary per cell, the others are constant
    over a field."""
    return int(info.arch_params["local"]), int(info.arch_params.get("global_", 0))


def model_id_from(text: str, fallback: str) -> str:
    """A valid model id made from a name someone typed (other characters become '-'), or ``fallback``."""
    made = _NOT_IN_ID.sub("-", text.strip()).strip("-.")[:100].rstrip("-.")
    return made or fallback
