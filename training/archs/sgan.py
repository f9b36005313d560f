"""The spatial DCGAN generator for textures (Spatial GAN, Jetchev et al. 2016; the periodic variant's torus,
Bergmann et al. 2017): a *field* of noise → a texture, any size.

The input is N×(local + global)×h×w noise: ``local`` channels drawn independently at every cell (the texture's
variety) and ``global`` channels constant over the field within one sample (its overall look: one bark, one
stone). :meth:`SpatialGenerator.noise` draws it. Every layer is a convolution with circular padding, so the
network computes on a torus: the output of an h×w field is (h·f)×(w·f) with ``f = 2**levels``, and it repeats
without a seam. A larger field gives a larger texture; a crop of the field padded with ``halo`` cells of its
neighbours gives exactly the matching crop of the output, which is how big textures are drawn tile by tile.

Layers: ``coarse`` 5×5 convolutions at the field's resolution (each widens what one output pixel sees by two
cells each way, at a small cost: the field has one value per 16×16 pixels), then ``levels`` steps of nearest ×2 +
convolution (5×5 on the coarse levels, 3×3 on the fine ones, where pixels are many), BatchNorm + ReLU, and a 3×3
convolution to RGB with tanh mapped to [0, 1]. Resize-convolutions, not transposed ones: no checkerboard.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.optim.swa_utils import update_bn

from training.archs.discriminator import init_dcgan


class SpatialGenerator(nn.Module):
    """Args:
    local: Noise channels drawn per cell.
    global_: Noise channels constant over a sample's field.
    levels: ×2 upsampling steps (one noise cell becomes ``2**levels`` pixels).
    base: Width of the finest level (doubled per level towards the field, capped at 8×).
    coarse: 5×5 convolutions at the field's resolution (1: what one unit sees spans about 7.5 cells, 120 px;
        2: about 11.5 cells, for structure larger than a training crop: blotches, stones).
    tileable: Always True (kept in ``hparams``, so a model's metadata rebuilds it for fine-tuning).
    """

    def __init__(
        self,
        local: int = 16,
        global_: int = 16,
        levels: int = 4,
        base: int = 16,
        coarse: int = 1,
        tileable: bool = True,
    ) -> None:
        super().__init__()
        if local < 1 or global_ < 0 or levels < 1 or base < 1 or coarse < 1:
            raise ValueError("local, levels, base and coarse must be >= 1 and global_ >= 0")
        if not tileable:  # recorded in its metadata (photogan shows the 2×2 preview for tileable models)
            raise ValueError("a spatial generator computes on a torus: it is always tileable")
        self.hparams: dict[str, object] = {
            "local": local,
            "global_": global_,
            "levels": levels,
            "base": base,
            "coarse": coarse,
            "tileable": True,
        }
        self.local, self.global_, self.levels = local, global_, levels
        self.factor = 2**levels
        widths = [base * min(2**k, 8) for k in range(levels, -1, -1)]  # field level first, finest last
        kernels = [5] + [5 if k < 2 else 3 for k in range(levels)]
        layers: list[nn.Module] = [*self._conv(local + global_, widths[0], kernels[0])]
        for _ in range(coarse - 1):
            layers += self._conv(widths[0], widths[0], kernels[0])
        reach = (kernels[0] // 2) * float(coarse)  # receptive-field radius in noise cells
        for k in range(levels):
            layers += [
                nn.Upsample(scale_factor=2.0, mode="nearest"),
                *self._conv(widths[k], widths[k + 1], kernels[k + 1]),
            ]
            reach += (kernels[k + 1] // 2) / 2 ** (k + 1)
        layers += [nn.Conv2d(widths[-1], 3, 3, 1, 1, padding_mode="circular"), nn.Tanh()]
        reach += 1 / self.factor
        self.net = nn.Sequential(*layers)
        #: Cells of context a crop of the field needs so that its output equals the matching crop of the whole.
        self.halo = math.ceil(reach) + 1
        init_dcgan(self)

    @staticmethod
    def _conv(cin: int, cout: int, kernel: int) -> list[nn.Module]:
        return [
            nn.Conv2d(cin, cout, kernel, 1, kernel // 2, bias=False, padding_mode="circular"),
            nn.BatchNorm2d(cout),
            nn.ReLU(True),
        ]

    @property
    def channels(self) -> int:
        return self.local + self.global_

    def noise(
        self,
        count: int,
        height: int,
        width: int,
        generator: torch.Generator | None = None,
        device: torch.device | None = None,
    ) -> torch.Tensor:
        """A count×channels×height×width field: local channels per cell, global ones repeated over the field
        (the same construction as ``photogan.app.generate.spatial_noise``)."""
        local = torch.randn(count, self.local, height, width, generator=generator, device=device)
        glob = torch.randn(count, self.global_, 1, 1, generator=generator, device=device)
        glob = glob.expand(-1, -1, height, width)
        return torch.cat([local, glob], dim=1)

    def training_fields(self, patch: int, field: int, batch: int) -> tuple[int, int]:
        """(count, side in cells) of the noise fields a run with ``batch`` crops of ``patch`` px and
        ``TrainConfig.field`` draws per iteration: ``batch`` fields of the crop's own cells, or fields of ``field``
        cells when that is larger, each cut into as many whole crops as it holds (:meth:`training_crops`), so
        a field of twice the crop's side costs what four crops of their own cost."""
        own = patch // self.factor
        if field <= own:
            return batch, own
        per_side = field // own
        return -(-batch // per_side**2), field

    def training_crops(self, images: torch.Tensor, patch: int, batch: int) -> torch.Tensor:
        """The first ``batch`` of the whole patch×patch crops that tile the training fields' textures (row by
        row, field by field): what the critic judges."""
        n, ch, height, width = images.shape
        rows, cols = height // patch, width // patch
        grid = images[..., : rows * patch, : cols * patch].reshape(n, ch, rows, patch, cols, patch)
        crops = grid.permute(0, 2, 4, 1, 3, 5).reshape(n * rows * cols, ch, patch, patch)
        return crops[:batch]

    @torch.no_grad()
    def fit_batchnorm(self, fields: tuple[int, int], batches: int = 64, seed: int = 0) -> SpatialGenerator:
        """Re-estimates every BatchNorm's mean and variance for these weights, from ``batches`` batches of the
        training's noise fields (``fields``: their count and side in cells, :meth:`training_fields`), and leaves
        the network in eval mode.

        The EMA of a generator averages its weights and its BatchNorm statistics apart, and statistics averaged
        over many steps do not fit averaged weights: on a 10-minute texture run the EMA generator in eval mode drew
        textures with about half the contrast it had in training (log power spectrum 0.1-1.1 lower, most at coarse
        scales). Estimated again for the averaged weights (``torch.optim.swa_utils.update_bn``, as for SWA), it
        draws at the contrast it learned. Seeded: the same weights always give the same statistics."""
        generator = torch.Generator().manual_seed(seed)
        device = next(self.parameters()).device
        count, cells = fields
        drawn = [self.noise(count, cells, cells, generator=generator).to(device) for _ in range(batches)]
        update_bn(drawn, self)
        return self.eval()

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return (self.net(z) + 1.0) * 0.5
