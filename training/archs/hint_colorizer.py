"""A colorizer that puts colour in and follows the photographer's colour points (``hint-colorizer``).

The pixel-loss colorizer (``colorizer``) regresses to the mean colour of everything an object might be, which
is gray. This one follows Zhang et al. (ECCV 2016, "Colorful Image Colorization"; SIGGRAPH 2017, "Real-Time
User-Guided Image Colorization"): it predicts a *distribution* over quantized chroma per location (21 × 21
bins, dense near gray), trained with a class-rebalanced cross-entropy (rare saturated colours weigh more than
the common grays), and decodes it with the annealed mean (softmax at temperature T < 1 before the expectation),
which keeps colours vivid where the model is sure and muted where it is not. Sparse user hints (chroma + mask)
are extra input channels, trained with points drawn from the true photo
(``training.degradations.HintedLuminance``).

Layout, sized for the CPU: the luminance and hint planes are folded into a quarter-resolution grid
(pixel-unshuffle ×4), a three-level U-Net runs at 1/4, 1/8 and 1/16 (where residual blocks with dilation give a
receptive field of a few hundred pixels, enough to tell sky from skin), the chroma distribution comes out at 1/4,
and it is upsampled bilinearly (colour is smooth: a 4-pixel chroma blur is below what the eye resolves at 100 %,
as JPEG's own 4:2:0 halves it). Tried first and dropped: a learned full-resolution head (it learned to cancel a
saturated quarter-resolution prediction and drew thin coloured lines where the cancellation failed) and a
guided filter inside the network (the network learned to make its coefficients copy the luminance's texture
into colour along every edge).
Luminance is kept exactly (BT.601): only Cb/Cr are predicted.

Image contract: ``forward(input, hints)``; input N×3×H×W RGB in [0, 1] (its luminance is used), hints
N×3×H×W (Cb, Cr in [-0.5, 0.5] where the mask is 1; mask in {0, 1}); H and W multiples of 16 (the engine pads).
In training, a single N×6×H×W tensor (input and hints stacked) is accepted too.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from training.archs.restorer import _FROM_YCC, _TO_YCC

#: The quantized chroma: SIDE values per axis, uniform in a companded space u = sign(c)·sqrt(|c| / 0.5), so the
#: bins are dense near gray (where most of a photo's chroma lies: a uniform grid coarse enough to reach pure red
#: would put skin and foliage between the gray bin and the next, and the annealed mean would round them to gray)
#: and sparse among the rare saturated colours: Cb and Cr 0, ±0.005, ±0.02, ±0.045, ..., ±0.5.
SIDE = 21
#: A saturation head scales the chroma by exp(±SATURATION_RANGE): from half to twice the network's own colour
SATURATION_RANGE = math.log(2.0)
STEP = 2 / (SIDE - 1)  # in the companded space


def _compand(chroma: torch.Tensor) -> torch.Tensor:
    return torch.sign(chroma) * torch.sqrt(chroma.abs().clamp(max=0.5) / 0.5)


def _axis() -> torch.Tensor:
    u = torch.linspace(-1.0, 1.0, SIDE)
    return 0.5 * torch.sign(u) * u * u


def bin_centres() -> torch.Tensor:
    """2×Q chroma of the bin centres (Cb varies slowest)."""
    cb, cr = torch.meshgrid(_axis(), _axis(), indexing="ij")
    return torch.stack([cb.reshape(-1), cr.reshape(-1)])


def soft_encode(chroma: torch.Tensor) -> torch.Tensor:
    """N×2×h×w chroma → N×Q×h×w distribution over the bins: on each axis the two neighbouring bin values,
    weighted so that their mean is the chroma itself."""
    chroma = chroma.clamp(-0.5, 0.5)
    axis = _axis().to(chroma)
    low = ((_compand(chroma) + 1.0) / STEP).floor().clamp(0, SIDE - 2).long()
    c0, c1 = axis[low], axis[low + 1]
    frac = ((chroma - c0) / (c1 - c0)).clamp(0, 1)
    n, _, h, w = chroma.shape
    out = chroma.new_zeros(n, SIDE * SIDE, h, w)
    for di in (0, 1):
        for dj in (0, 1):
            wi = frac[:, 0] if di else 1 - frac[:, 0]
            wj = frac[:, 1] if dj else 1 - frac[:, 1]
            index = (low[:, 0] + di) * SIDE + (low[:, 1] + dj)
            out.scatter_add_(1, index[:, None], (wi * wj)[:, None])
    return out


class _Res(nn.Module):
    def __init__(self, channels: int, dilation: int = 1) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=dilation, dilation=dilation),
            nn.PReLU(channels),
            nn.Conv2d(channels, channels, 3, padding=1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


def _conv(cin: int, cout: int, kernel: int = 3, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, kernel, stride=stride, padding=(kernel - 1) // 2), nn.PReLU(cout))


class HintColorizer(nn.Module):
    """Chroma from luminance (+ optional colour points), as a rebalanced distribution over chroma bins.

    Args:
        channels: Width at quarter resolution (twice that at 1/8, four times at 1/16).
        blocks: Residual blocks at 1/16 (every other one dilated by 2).
        temperature: Annealed-mean temperature used to decode the distribution (1 = plain mean, lower = bolder).
        rebalance: λ of the class rebalancing: bin weights ∝ 1 / ((1 - λ)·prior + λ/Q).
        prior_shift: τ of the logit adjustment at decoding (Menon et al., "Long-tail learning via logit
            adjustment", ICLR 2021): log-probabilities raised by τ·log(rebalancing weight), i.e. lowered by
            τ·log of the prior mixed with the uniform, which moves the decoded colour away from the common
            near-gray bins a short training leans on, without boosting colours never seen; 0 decodes as trained.
        gain: Chroma gain at decoding, set at export from held-out photos (``training.bundle --decode gain=G``): the
            predicted colour is the expectation over what an object might be, paler than any one answer, and a
            gain calibrated so that outputs are about as colourful as true photos brings it back (colour
            points keep their own colour: the app spreads them after the model). 1 decodes as trained.
    """

    takes_hints = True
    extra_input = ("hints", 3)  # ONNX: a second input named "hints", three planes
    decoding: tuple[str, ...] = ("temperature", "prior_shift", "gain")  # settable at bundling
    to_ycc: torch.Tensor
    from_ycc: torch.Tensor
    centres: torch.Tensor
    bin_weights: torch.Tensor

    def __init__(
        self,
        channels: int = 32,
        blocks: int = 6,
        temperature: float = 0.38,
        rebalance: float = 0.5,
        prior_shift: float = 0.0,
        gain: float = 1.0,
    ) -> None:
        super().__init__()
        self.hparams: dict[str, object] = {"channels": channels, "blocks": blocks, "temperature": temperature}
        if prior_shift:
            self.hparams["prior_shift"] = prior_shift
        if gain != 1.0:
            self.hparams["gain"] = gain
        self.gain = gain
        self.size_multiple = 16
        self.temperature = temperature
        self.rebalance = rebalance
        self.prior_shift = prior_shift
        c1, c2, c3 = channels, channels * 2, channels * 4
        self.stem = nn.Sequential(_conv(4 * 16, c1), _Res(c1))
        self.down2 = nn.Sequential(_conv(c1, c2, 4, 2), _Res(c2))
        self.down3 = _conv(c2, c3, 4, 2)
        self.body = nn.Sequential(*(_Res(c3, 2 if i % 2 else 1) for i in range(blocks)))
        self.up3 = nn.Sequential(nn.Conv2d(c3, c2 * 4, 3, padding=1), nn.PixelShuffle(2))
        self.dec2 = nn.Sequential(_conv(2 * c2, c2), _Res(c2))
        self.up2 = nn.Sequential(nn.Conv2d(c2, c1 * 4, 3, padding=1), nn.PixelShuffle(2))
        self.dec1 = nn.Sequential(_conv(2 * c1, c1), _Res(c1))
        self.logits = nn.Conv2d(c1, SIDE * SIDE, 1)
        self.register_buffer("to_ycc", _TO_YCC.clone(), persistent=False)
        self.register_buffer("from_ycc", _FROM_YCC.clone(), persistent=False)
        self.register_buffer("centres", bin_centres(), persistent=False)
        self.register_buffer("bin_weights", torch.ones(SIDE * SIDE))  # saved: the training data's prior
        self.last_logits: torch.Tensor | None = None
        self.saturation: nn.Module | None = None  # HintRegressor(saturation=True): a head that scales the chroma

    @property
    def receptive_radius(self) -> int:
        """Input pixels of context each output pixel depends on, on each side (approximately)."""
        blocks = int(self.hparams["blocks"])  # type: ignore[call-overload]
        dilated = blocks // 2
        return 16 * (2 * blocks + dilated + 2) + 8 * 8 + 4 * 8 + 4

    def fit_prior(self, chroma: torch.Tensor) -> None:
        """Sets the class-rebalancing weights from K×2 chroma samples of the training photos: the smoothed
        empirical distribution over the bins, mixed with the uniform one, inverted, normalized to mean 1 under
        the prior."""
        counts = soft_encode(chroma.T.reshape(1, 2, -1, 1).float()).sum(dim=(0, 2, 3))
        grid = counts.reshape(1, 1, SIDE, SIDE)
        kernel = torch.exp(-(torch.arange(-2, 3, dtype=torch.float32) ** 2) / 2)
        kernel = (kernel[:, None] * kernel[None, :]) / (kernel.sum() ** 2)
        prior = F.conv2d(grid, kernel[None, None], padding=2).reshape(-1)
        prior = prior / prior.sum()
        weights = 1.0 / ((1 - self.rebalance) * prior + self.rebalance / prior.numel())
        self.bin_weights.copy_(weights / (prior * weights).sum())

    def forward(self, x: torch.Tensor, hints: torch.Tensor | None = None) -> torch.Tensor:
        if hints is None:
            if x.shape[1] == 6:
                x, hints = x[:, :3], x[:, 3:]
            else:
                hints = x.new_zeros(x.shape[0], 3, x.shape[2], x.shape[3])
        luma = F.conv2d(x, self.to_ycc[:1, :, None, None])
        mask = hints[:, 2:3]
        planes = torch.cat([luma - 0.5, hints[:, :2] * mask, mask], dim=1)
        s1 = self.stem(F.pixel_unshuffle(planes, 4))
        s2 = self.down2(s1)
        deep = self.up3(self.body(self.down3(s2)))
        d2 = self.up2(self.dec2(torch.cat([deep, s2], dim=1)))
        features = self.dec1(torch.cat([d2, s1], dim=1))
        low = self._decode(self.logits(features))
        if self.saturation is not None:  # a learned local gain on the predicted colour: its hue is kept
            low = low * torch.exp(SATURATION_RANGE * torch.tanh(self.saturation(features)))
        chroma = F.interpolate(low, scale_factor=4, mode="bilinear", align_corners=False)
        if self.gain != 1.0:
            chroma = chroma * self.gain
        return F.conv2d(torch.cat([luma, chroma], dim=1), self.from_ycc[:, :, None, None])

    def _decode(self, logits: torch.Tensor) -> torch.Tensor:
        """Quarter-resolution chroma from the bin logits: the annealed mean."""
        if self.training:
            self.last_logits = logits
        # sum(exp(z) · centre) / sum(exp(z)): a softmax over the channels of an NCHW tensor is two thirds of the
        # model's time in onnxruntime, two 1×1 convolutions of the exponentials are not
        z = logits / self.temperature
        if self.prior_shift:  # + τ·log(rebalancing weight): the prior mixed with the uniform, so bounded
            z = z + (self.prior_shift / self.temperature) * torch.log(self.bin_weights)[None, :, None, None]
        e = torch.exp(z - z.amax(dim=1, keepdim=True))
        weights = torch.cat([self.centres, torch.ones_like(self.centres[:1])])[:, :, None, None]
        sums = F.conv2d(e, weights)
        return sums[:, :2] / sums[:, 2:]

    def training_loss(self, target: torch.Tensor) -> torch.Tensor:
        """The class-rebalanced cross-entropy of the last forward's chroma distribution against ``target``'s
        chroma (averaged over 4×4 blocks, soft-encoded on the four nearest bins)."""
        assert self.last_logits is not None, "training_loss needs a forward pass in training mode first"
        chroma = F.avg_pool2d(F.conv2d(target.float(), self.to_ycc[1:, :, None, None]), 4)
        wanted = soft_encode(chroma)
        log_probs = torch.log_softmax(self.last_logits.float(), dim=1)
        weights = (wanted * self.bin_weights[None, :, None, None]).sum(dim=1)
        loss = -(wanted * log_probs).sum(dim=1) * weights
        self.last_logits = None
        return loss.mean()


class HintRegressor(HintColorizer):
    """The same network predicting Cb/Cr directly (tanh) instead of a distribution over bins, trained with the
    pixel loss alone: it learns what things are far sooner than the rebalanced classification on a CPU budget,
    and its timid colours (the mean over what an object might be) are brought to a photo's colourfulness by
    the ``gain`` chosen at bundling.
    """

    training_loss = None  # type: ignore[assignment]  # no loss of its own: the trainer's fidelity terms
    fit_prior = None  # type: ignore[assignment]  # no bins to rebalance
    decoding = ("gain",)

    def __init__(self, channels: int = 32, blocks: int = 6, gain: float = 1.0, saturation: bool = False) -> None:
        super().__init__(channels, blocks, gain=gain)
        self.hparams = {"channels": channels, "blocks": blocks, **({"gain": gain} if gain != 1.0 else {})}
        self.logits = nn.Conv2d(channels, 2, 3, padding=1)
        nn.init.normal_(self.logits.weight, 0.0, 1e-3)  # starts gray, far from the tanh's flat ends
        assert self.logits.bias is not None
        nn.init.zeros_(self.logits.bias)
        if saturation:
            # Where to be bolder or paler than the pixel loss's colour, hue unchanged: a factor
            # exp(±SATURATION_RANGE) on the chroma, learned adversarially over the frozen network (its features
            # say what each region is). Starts at 1: the network's own colours.
            self.hparams["saturation"] = True
            self.saturation = nn.Sequential(
                nn.Conv2d(channels, channels, 3, padding=1), nn.PReLU(channels), nn.Conv2d(channels, 1, 3, padding=1)
            )
            last = self.saturation[-1]
            assert isinstance(last, nn.Conv2d) and last.bias is not None
            nn.init.zeros_(last.weight)
            nn.init.zeros_(last.bias)

    def _decode(self, logits: torch.Tensor) -> torch.Tensor:
        return torch.tanh(logits) * 0.5
