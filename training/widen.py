"""Widen or deepen a compact upscaler without changing what it computes, as the start of a larger model's
training.

Usage::

    python -m training.widen upscale-x2 --channels 64 --id upscale-x2-wide --out STAGE_DIR
    python -m training.widen upscale-x4 --blocks 10 --id upscale-x4-deep --out STAGE_DIR
    PHOTOGAN_MODELS_DIR=STAGE_DIR python -m training --config CONFIG --base upscale-x2-wide ...

A model that has converged at its width is a better start for a wider one than random weights (Net2WiderNet):
the new channels get small random incoming weights and zero outgoing ones, so the widened network's output is
the original's exactly, and training grows the new channels from there instead of re-learning what the narrow
model knows. Deeper (Net2DeeperNet): new layers that start as identities before the last convolution.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import torch
from torch import nn

from photogan.core.errors import PhotoganError
from training import archs, checkpoint
from training.config import TrainConfig


def _compact_params(model: nn.Module, grown: str) -> dict[str, int]:
    """A plain ``compact`` upscaler's shape (scale, channels, blocks); ValueError for any other network."""
    params = dict(getattr(model, "hparams", {}))
    if set(params) != {"scale", "channels", "blocks"} or not isinstance(getattr(model, "body", None), nn.Sequential):
        raise ValueError(f"only compact upscalers can be {grown}")
    return {k: int(v) for k, v in params.items()}


@torch.no_grad()
def widen_compact(model: nn.Module, channels: int, seed: int = 0, init_std: float = 0.02) -> nn.Module:
    """A ``compact`` upscaler with ``channels`` feature channels that computes exactly what ``model`` computes.

    Raises:
        ValueError: ``model`` is not a compact upscaler, or ``channels`` is not wider than it.
    """
    params = _compact_params(model, "widened")
    if channels <= params["channels"]:
        raise ValueError(f"the model already has {params['channels']} channels: give a larger --channels")
    wide = archs.build("compact", scale=params["scale"], channels=channels, blocks=params["blocks"])
    generator = torch.Generator().manual_seed(seed)
    for old, new in zip(model.body, wide.body, strict=True):  # type: ignore[arg-type]
        if isinstance(old, nn.Conv2d) and isinstance(new, nn.Conv2d):
            out_old, in_old = old.weight.shape[:2]
            weight = torch.randn(new.weight.shape, generator=generator) * init_std  # into the new channels
            weight[:out_old, :in_old] = old.weight
            weight[:out_old, in_old:] = 0.0  # the new channels do not reach the old ones (yet)
            new.weight.copy_(weight)
            assert old.bias is not None and new.bias is not None
            new.bias.zero_()
            new.bias[:out_old] = old.bias
        elif isinstance(old, nn.PReLU) and isinstance(new, nn.PReLU):
            new.weight.fill_(0.25)
            new.weight[: old.weight.shape[0]] = old.weight
    return wide.eval()


@torch.no_grad()
def deepen_compact(model: nn.Module, blocks: int) -> nn.Module:
    """A ``compact`` upscaler with ``blocks`` body layers that computes exactly what ``model`` computes
    (Net2DeeperNet): the new 3×3 convolution + PReLU layers go in before the last convolution, each an identity
    (a Dirac kernel, PReLU slope 1), and training makes them more.

    Raises:
        ValueError: ``model`` is not a compact upscaler, or ``blocks`` is not more than it has.
    """
    params = _compact_params(model, "deepened")
    if blocks <= params["blocks"]:
        raise ValueError(f"the model already has {params['blocks']} blocks: give a larger --blocks")
    deep = archs.build("compact", scale=params["scale"], channels=params["channels"], blocks=blocks)
    old = list(model.body)  # type: ignore[arg-type]
    new = list(deep.body)  # type: ignore[arg-type]
    for source, target in zip(old[:-1], new, strict=False):  # the head and the old body
        target.load_state_dict(source.state_dict())
    for layer in new[len(old) - 1 : -1]:  # the new body layers: identities
        if isinstance(layer, nn.Conv2d):
            nn.init.dirac_(layer.weight)
            assert layer.bias is not None
            layer.bias.zero_()
        elif isinstance(layer, nn.PReLU):
            layer.weight.fill_(1.0)
    new[-1].load_state_dict(old[-1].state_dict())  # the tail
    return deep.eval()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("base", help="model id (bundled or yours) with its .safetensors checkpoint")
    parser.add_argument("--channels", type=int, help="feature channels of the wider model")
    parser.add_argument("--blocks", type=int, help="body layers of the deeper model")
    parser.add_argument("--id", required=True, help="id of the grown model")
    parser.add_argument("--out", type=Path, required=True, help="folder to write it to")
    args = parser.parse_args(argv)
    if args.channels is None and args.blocks is None:
        parser.error("give --channels, --blocks or both")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")

    from training.bundle import export_model

    try:
        info, weights = checkpoint.model_checkpoint(args.base, "widen")
        _, meta = checkpoint.load(weights)
        config = TrainConfig.from_dict(meta["config"])
        model = archs.build(info.arch, **info.arch_params)
        model.load_state_dict(checkpoint.load_weights(weights))
        grown = widen_compact(model, args.channels) if args.channels else model
        grown = deepen_compact(grown, args.blocks) if args.blocks else grown
    except (ValueError, PhotoganError) as exc:
        raise SystemExit(f"photogan: {exc}") from None
    shape = {k: v for k, v in dict(getattr(grown, "hparams", {})).items() if k != "scale"}
    config = config.with_overrides(arch_params=shape)
    what = ", ".join(f"{v} {k}" for k, v in shape.items())
    target = export_model(
        grown,
        config,
        args.out,
        args.id,
        name=f"{info.name} grown to {what}",
        description=f"{info.id} grown to {what} (same output), a start for training",
        training_data=info.training_data,
        licence=info.licence,
        metrics={},
    )
    print(target)


if __name__ == "__main__":
    main()
