"""``python -m training.convert CHECKPOINT OUT.onnx --id ID``: a PyTorch image model (``.pth``, ``.pt``, ``.ckpt``,
``.safetensors``) to an ONNX file, for ``photogan models import``.

spandrel identifies the architecture from the state dict (ESRGAN/Real-ESRGAN, Compact, SPAN, SwinIR, HAT, DAT,
OmniSR, PLKSR... as OpenModelDB publishes them) and loads it with its restricted unpickler (no code in a pickle
runs). The model is exported with photogan's exporter and checked against torch on probe images before the file
is written; photogan's importer then measures and describes it. Prints one JSON line of what was detected.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import types
from pathlib import Path
from typing import Any

import torch

from photogan.inference.model_info import ModelInfo
from training.export import ParityError, export_onnx

log = logging.getLogger(__name__)


_PLACEHOLDERS = ("torchvision", "torchvision.transforms", "torchvision.transforms.functional")


def _import_spandrel() -> Any:
    """spandrel, imported where torchvision may be unusable.

    spandrel imports torchvision for two architectures photogan does not import (LaMa inpainting, RestoreFormer
    faces); where torchvision is missing or does not match this torch (PyPI's CUDA build beside a CPU torch fails
    on import), those names get a stand-in while spandrel is imported, one that fails only if used. The stand-in
    is taken out of ``sys.modules`` again, so torch itself never mistakes it for torchvision.
    """
    try:
        import torchvision  # noqa: F401
    except (ImportError, RuntimeError, OSError):
        _add_placeholders()
    try:
        import spandrel
    finally:
        for name in _PLACEHOLDERS:
            if isinstance(sys.modules.get(name), _Placeholder):
                del sys.modules[name]
    return spandrel


class _Placeholder(types.ModuleType):
    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return _unavailable


def _unavailable(*_: Any, **__: Any) -> Any:
    raise ImportError("torchvision is not usable with this torch; this architecture needs it")


def _add_placeholders() -> None:
    for name in _PLACEHOLDERS:
        sys.modules.pop(name, None)  # a half-imported torchvision
        sys.modules[name] = _Placeholder(name)


def load_descriptor(path: Path) -> Any:
    """spandrel's descriptor of an image-to-image RGB model in ``path``.

    Raises:
        ValueError: spandrel does not know the file or the architecture, or the model is not RGB image to image.
    """
    try:
        spandrel = _import_spandrel()
    except ImportError:
        raise ValueError("PyTorch checkpoints need spandrel: pip install 'photogan[convert]'") from None
    try:
        descriptor = spandrel.ModelLoader(device="cpu").load_from_file(str(path))
    except spandrel.UnsupportedModelError:
        raise ValueError(f"{path.name}: spandrel does not recognise the architecture of this checkpoint") from None
    except (ValueError, RuntimeError, KeyError, OSError) as exc:
        raise ValueError(f"{path.name} could not be read as a PyTorch model ({exc})") from exc
    if not isinstance(descriptor, spandrel.ImageModelDescriptor):
        raise ValueError(f"{path.name} is a {type(descriptor).__name__}: photogan imports image-to-image models")
    if descriptor.purpose == "FaceSR":
        raise ValueError(f"{path.name} is a face restoration model ({descriptor.architecture.name}); not supported")
    if (descriptor.input_channels, descriptor.output_channels) != (3, 3):
        raise ValueError(
            f"{path.name} takes {descriptor.input_channels} and gives {descriptor.output_channels} channels; "
            "photogan imports RGB models"
        )
    return descriptor


def convert(source: Path, target: Path, model_id: str, scale: int | None = None) -> dict[str, Any]:
    """Exports the checkpoint ``source`` to ``target`` (checked against torch); returns what was detected."""
    descriptor = load_descriptor(source)
    if scale is not None and scale != descriptor.scale:
        raise ValueError(f"{source.name} upscales ×{descriptor.scale}, not ×{scale} as asked")
    model = descriptor.model.eval().float()
    multiple = max(1, int(descriptor.size_requirements.multiple_of))
    info = ModelInfo(
        id=model_id,
        name=model_id,
        task="upscale" if descriptor.scale > 1 else "restore",
        scale=int(descriptor.scale),
        arch=descriptor.architecture.name,
        size_multiple=multiple,
    )
    with torch.no_grad():
        try:
            export_onnx(model, info, target, traced=True)
        except ParityError:
            raise
        except Exception as exc:  # the exporter's own errors: an architecture it cannot trace with dynamic sizes
            raise ValueError(f"{descriptor.architecture.name} could not be exported to ONNX ({exc})") from exc
    return {
        "architecture": descriptor.architecture.name,
        "scale": int(descriptor.scale),
        "size_multiple": multiple,
        "purpose": descriptor.purpose,
        "parameters": sum(p.numel() for p in model.parameters()),
        "tags": list(descriptor.tags),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.convert", description=__doc__.split("\n")[0])
    parser.add_argument("source", type=Path)
    parser.add_argument("target", type=Path)
    parser.add_argument("--id", required=True)
    parser.add_argument("--scale", type=int)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    try:
        detected = convert(args.source, args.target, args.id, args.scale)
    except (ValueError, ParityError, OSError) as exc:
        print(f"photogan convert: error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(detected))
    return 0


if __name__ == "__main__":
    sys.exit(main())
