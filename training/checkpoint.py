"""Complete, pickle-free training checkpoints in safetensors.

Tensors (weights, optimizer moments, RNG states, the fixed noise) go in the tensor section under prefixes;
everything else (iteration, optimizer hyperparameters, numpy generator state, AMP scaler state, history) goes in
the string metadata as JSON. Loading never executes code from the file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from safetensors import safe_open
from safetensors.torch import save_file

if TYPE_CHECKING:
    from photogan.inference.model_info import ModelInfo


def optimizer_tensors(prefix: str, opt: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], list[Any]]:
    """Flattens an optimizer's per-parameter state to tensors; returns them and its param_groups."""
    state = opt.state_dict()
    tensors = {}
    for index, entry in state["state"].items():
        for name, value in entry.items():
            tensors[f"{prefix}.{index}.{name}"] = torch.as_tensor(value).detach().clone().contiguous()
    return tensors, state["param_groups"]


def load_optimizer(prefix: str, opt: torch.optim.Optimizer, tensors: dict[str, torch.Tensor], groups: Any) -> None:
    state: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in tensors.items():
        if key.startswith(prefix + "."):
            _, index, name = key.split(".", 2)
            state.setdefault(int(index), {})[name] = value
    opt.load_state_dict({"state": state, "param_groups": groups})


def module_tensors(prefix: str, module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {f"{prefix}.{k}": v.detach().cpu().clone().contiguous() for k, v in module.state_dict().items()}


def strip(prefix: str, tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The entries under ``prefix.``, with the prefix removed."""
    cut = len(prefix) + 1
    return {k[cut:]: v for k, v in tensors.items() if k.startswith(prefix + ".")}


def save(path: Path, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
    """Writes atomically (temporary file, then rename)."""
    tmp = path.with_name(path.name + ".tmp")
    save_file({k: v.contiguous() for k, v in tensors.items()}, str(tmp), metadata={"meta": json.dumps(meta)})
    tmp.chmod(0o644)  # safetensors creates files readable by their owner only
    tmp.replace(path)


def load(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """A checkpoint's tensors and metadata.

    Raises:
        ValueError: The file is missing, truncated or not a safetensors checkpoint (one line, for the CLI).
    """
    tensors: dict[str, torch.Tensor] = {}
    try:
        with safe_open(str(path), "pt") as f:
            for key in f.keys():  # noqa: SIM118 - safe_open has no __iter__
                tensors[key] = f.get_tensor(key)
            header = f.metadata() or {}
        return tensors, json.loads(header.get("meta", "{}"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"the checkpoint {path} cannot be read: {exc}") from exc
    except Exception as exc:  # safetensors raises its own SafetensorError (not an OSError) on damaged files
        raise ValueError(f"the checkpoint {path} is damaged: {exc}") from exc


def recipe(path: Path) -> dict[str, Any]:
    """The training configuration saved in a model's ``.safetensors`` (``{}`` when it carries none: an imported
    model, or weights saved by something else). Reads only the header."""
    try:
        with safe_open(str(path), "pt") as f:
            header = f.metadata() or {}
    except OSError as exc:
        raise ValueError(f"the checkpoint {path} cannot be read: {exc}") from exc
    except Exception as exc:  # safetensors' own SafetensorError on damaged files
        raise ValueError(f"the checkpoint {path} is damaged: {exc}") from exc
    config = json.loads(header.get("meta", "{}")).get("config", {})
    return dict(config) if isinstance(config, dict) else {}


def load_weights(path: Path) -> dict[str, torch.Tensor]:
    """Generator weights from a model's ``.safetensors`` (a plain state dict, or the EMA part of a checkpoint)."""
    tensors, _ = load(path)
    for prefix in ("ema", "g"):
        part = strip(prefix, tensors)
        if part:
            return part
    return tensors


def model_checkpoint(model_id: str, purpose: str) -> tuple[ModelInfo, Path]:
    """A registered model (bundled or the user's) and its training checkpoint, the ``.safetensors`` beside it.

    Raises:
        ValueError: The model has no checkpoint (the message says what it was wanted for: ``purpose``).
    """
    from photogan.inference.registry import ModelRegistry

    info = ModelRegistry().get(model_id)
    weights = info.path.with_suffix(".safetensors") if info.path else None
    if weights is None or not weights.exists():
        raise ValueError(f"{info.id} has no training checkpoint ({info.id}.safetensors) to {purpose}")
    return info, weights
