"""Exponential moving average of a generator: parameters *and* buffers (BatchNorm running statistics).

Averaging only parameters (as some SR codebases do) leaves BatchNorm statistics that belong to the raw weights,
so the EMA model is evaluated with mismatched normalization. Floating-point buffers are averaged like
parameters; integer buffers (``num_batches_tracked``) are copied.
"""

from __future__ import annotations

import copy

import torch
from torch import nn


class EMA:
    """A frozen copy of ``model`` that tracks ``decay · ema + (1 - decay) · model`` after every update."""

    def __init__(self, model: nn.Module, decay: float = 0.999) -> None:
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"decay must be in [0, 1), got {decay}")
        self.decay = decay
        self.model = copy.deepcopy(model).eval().requires_grad_(False)

    @torch.no_grad()
    def update(self, model: nn.Module, step: int | None = None) -> None:
        """Moves the average towards ``model``'s current parameters and buffers.

        With ``step`` (iterations done so far), the decay warms up as ``min(decay, (1 + step) / (10 + step))``,
        so an early average is not dominated by the untrained initial weights.
        """
        decay = self.decay if step is None else min(self.decay, (1 + step) / (10 + step))
        source = dict(model.state_dict())
        for name, value in self.model.state_dict().items():
            new = source[name].detach()
            if value.is_floating_point():
                value.lerp_(new.to(value.dtype), 1.0 - decay)
            else:
                value.copy_(new)

    def state_dict(self) -> dict[str, torch.Tensor]:
        return self.model.state_dict()

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        self.model.load_state_dict(state)
