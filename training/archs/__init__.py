"""Explicit registry of generator architectures (no folder scanning; duplicates fail loudly)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import nn

from training.archs.compact import CompactUpscaler
from training.archs.dcgan import DCGANGenerator
from training.archs.discriminator import DCGANDiscriminator, PatchDiscriminator, UNetDiscriminator
from training.archs.hint_colorizer import HintColorizer, HintRegressor
from training.archs.inpainter import DamageDetector, Inpainter
from training.archs.restorer import Colorizer, Restorer
from training.archs.sgan import SpatialGenerator

ArchFactory = Callable[..., nn.Module]

_REGISTRY: dict[str, ArchFactory] = {}


def register(name: str, factory: ArchFactory) -> None:
    """Adds an architecture under ``name``; a second registration of the same name is an error."""
    if name in _REGISTRY:
        raise ValueError(f"architecture {name!r} is already registered")
    _REGISTRY[name] = factory


def build(name: str, **params: Any) -> nn.Module:
    """Builds the architecture ``name`` with its hyperparameters."""
    try:
        factory = _REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown architecture {name!r}; known: {', '.join(sorted(_REGISTRY))}") from None
    return factory(**params)


def takes_hints(name: str) -> bool:
    """Whether the architecture ``name`` reads colour-hint planes beside the photo (a 6-channel training input)."""
    return bool(getattr(_REGISTRY.get(name), "takes_hints", False))


def extra_input(name: str) -> tuple[str, int] | None:
    """The second input (name, planes) the architecture ``name`` reads beside the photo: a colorizer's colour
    hints, an inpainter's mask; None for a photo-only model."""
    return getattr(_REGISTRY.get(name), "extra_input", None)


def names() -> list[str]:
    """The registered architecture names."""
    return sorted(_REGISTRY)


register("compact", CompactUpscaler)
register("restorer", Restorer)
register("colorizer", Colorizer)
register("hint-colorizer", HintColorizer)
register("hint-colorizer-l1", HintRegressor)
register("inpainter", Inpainter)
register("damage-detector", DamageDetector)
register("dcgan", DCGANGenerator)
register("sgan", SpatialGenerator)
register("dcgan-d", DCGANDiscriminator)
register("patch-d", PatchDiscriminator)
register("unet-d", UNetDiscriminator)
