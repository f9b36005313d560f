"""Training building blocks: EMA with buffers, DCGAN discriminators, losses."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from training.archs.discriminator import (  # noqa: E402
    DCGANDiscriminator,
    MinibatchStdDev,
    PatchDiscriminator,
    UNetDiscriminator,
)
from training.ema import EMA  # noqa: E402
from training.losses import FidelityLoss, FidelityWeights, GanLoss, frequency_loss, ssim  # noqa: E402


def test_ema_averages_batchnorm_buffers_too() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4))
    ema = EMA(model, decay=0.5)
    model.train()
    model(torch.randn(8, 3, 8, 8) * 3 + 2)  # moves BatchNorm running statistics
    before_mean = ema.model[1].running_mean.clone()
    ema.update(model)
    expected = 0.5 * before_mean + 0.5 * model[1].running_mean
    torch.testing.assert_close(ema.model[1].running_mean, expected)
    assert not torch.equal(ema.model[1].running_var, torch.ones(4))
    assert int(ema.model[1].num_batches_tracked) == 1
    assert all(not p.requires_grad for p in ema.model.parameters())


@pytest.mark.parametrize("sn", [False, True])
@pytest.mark.parametrize("mbstd", [False, True])
def test_discriminators_give_logits(sn: bool, mbstd: bool) -> None:
    d = DCGANDiscriminator(image_size=32, base=8, spectral_norm=sn, minibatch_std=mbstd, dropout=0.1)
    assert d(torch.rand(4, 3, 32, 32)).shape == (4, 1)
    assert not any(isinstance(m, nn.Sigmoid) for m in d.modules())
    assert any(isinstance(m, nn.BatchNorm2d) for m in d.modules()) != sn
    first = d.net[0]
    assert not isinstance(d.net[1], nn.BatchNorm2d) and isinstance(first, nn.Conv2d)
    patch = PatchDiscriminator(base=8, layers=3, spectral_norm=sn, minibatch_std=mbstd)
    logits = patch(torch.rand(2, 3, 64, 64), torch.rand(2, 3, 16, 16))
    assert logits.shape == (2, 1, 8, 8)


def test_a_coarse_chroma_critic_is_blind_to_speckle_and_sees_a_colour_cast() -> None:
    d = PatchDiscriminator(base=8, layers=2, downscale=4, chroma=True).eval()
    gray = torch.rand(2, 1, 64, 64).repeat(1, 3, 1, 1)
    photo = gray * torch.tensor([1.0, 0.8, 0.6]).view(1, 3, 1, 1)  # a warm colour photo
    speckle = 0.1 * torch.tensor([1.0, -1.0, 1.0]).view(1, 3, 1, 1) * (-1.0) ** torch.arange(64).view(1, 1, 1, 64)
    with torch.no_grad():
        logits = d(photo, gray)
        assert logits.shape == (2, 1, 4, 4)  # 64 px at 1/4, two stride-2 blocks
        unseen = float((d(photo + speckle, gray) - logits).abs().max())  # colour noise finer than 4 px
        cast = photo * torch.tensor([0.6, 0.8, 1.0]).view(1, 3, 1, 1)  # the same photo, cold
        seen = float((d(cast, gray) - logits).abs().max())
    assert unseen < 1e-6 and seen > 100 * max(unseen, 1e-7)


def test_unet_discriminator_judges_every_pixel_and_gives_its_features() -> None:
    d = UNetDiscriminator(base=8).eval()  # eval: spectral norm keeps its estimate between the calls compared
    image, condition = torch.rand(2, 3, 64, 64), torch.rand(2, 3, 16, 16)
    logits, features = d.features(image, condition)
    assert logits.shape == (2, 1, 64, 64)
    assert [f.shape[-1] for f in features] == [16, 32, 64]  # decoder maps, coarse to fine
    assert torch.equal(d(image, condition), logits)
    assert not any(isinstance(m, nn.Sigmoid | nn.BatchNorm2d) for m in d.modules())
    # a change in one corner moves the verdict there far more than in the opposite corner
    moved = image.clone()
    moved[:, :, :8, :8] = 1.0
    with torch.no_grad():
        delta = (d(moved, condition) - logits).abs()[0, 0]
    assert float(delta[:8, :8].mean()) > 5 * float(delta[-8:, -8:].mean())
    with pytest.raises(ValueError, match="conditional"):
        d(image)


def test_minibatch_stddev_sees_collapse() -> None:
    layer = MinibatchStdDev(group=4)
    same = torch.ones(4, 2, 3, 3)
    varied = torch.randn(4, 2, 3, 3)
    assert layer(same)[:, -1].abs().max() < 1e-3 < layer(varied)[:, -1].min()


def test_gan_losses() -> None:
    real, fake = torch.full((8, 1), 5.0), torch.full((8, 1), -5.0)
    bce = GanLoss("bce", real_label=0.9)
    # a perfect discriminator is still penalized towards 0.9 on real samples (one-sided smoothing)
    assert bce.discriminator(real, fake) > GanLoss("bce", real_label=1.0).discriminator(real, fake)
    assert bce.generator(fake) > bce.generator(real)
    assert GanLoss("hinge").discriminator(real, fake) == 0
    with pytest.raises(ValueError, match="unknown GAN loss"):
        GanLoss("lsgan")  # type: ignore[arg-type]


def test_wgan_gradient_penalty_is_differentiable_and_zero_otherwise() -> None:
    d = DCGANDiscriminator(image_size=16, base=4)
    real, fake = torch.rand(4, 3, 16, 16), torch.rand(4, 3, 16, 16)
    penalty = GanLoss("wgan-gp").gradient_penalty(d, real, fake)
    assert penalty > 0
    penalty.backward()
    assert d.net[0].weight.grad is not None
    assert GanLoss("bce").gradient_penalty(d, real, fake) == 0


def test_fidelity_terms() -> None:
    x = torch.rand(2, 3, 24, 24)
    assert float(ssim(x, x)) == pytest.approx(1.0, abs=1e-5)
    assert float(frequency_loss(x, x)) == 0
    loss = FidelityLoss(FidelityWeights(l1=1, l2=1, charbonnier=1, ssim=1, frequency=1))
    same, terms = loss(x, x)
    worse, _ = loss(x, torch.rand(2, 3, 24, 24))
    assert set(terms) == {"l1", "l2", "charbonnier", "ssim", "frequency"} and worse > same
    _, only_l2 = FidelityLoss(FidelityWeights(l2=1, charbonnier=0))(x, x + 0.1)
    assert only_l2 == {"l2": pytest.approx(0.01)}  # the mean squared error PSNR is computed from


@torch.no_grad()
def test_a_reparameterized_upscaler_merges_into_the_plain_network_with_the_same_output() -> None:
    from training.archs.compact import CompactUpscaler, RepConv

    torch.manual_seed(0)
    rep = CompactUpscaler(scale=2, channels=8, blocks=2, rep=True).eval()
    for p in rep.parameters():  # away from the near-zero start of the last layer, so every branch matters
        p.data.normal_(0, 0.2)
    x = torch.rand(1, 3, 12, 10)
    plain = rep.fused()
    assert not any(isinstance(m, RepConv) for m in plain.modules())
    assert plain.hparams == {"scale": 2, "channels": 8, "blocks": 2}  # what the exported file describes
    assert sum(p.numel() for p in plain.parameters()) == sum(
        p.numel() for p in CompactUpscaler(scale=2, channels=8, blocks=2).parameters()
    )
    torch.testing.assert_close(plain(x), rep(x), atol=1e-5, rtol=1e-4)
    assert float((rep(x) - CompactUpscaler(2, 8, 2)(x)).abs().max()) > 1e-3  # the comparison can fail
    unrep = CompactUpscaler(scale=2, channels=8, blocks=2)
    assert unrep.fused() is unrep


def test_colour_bins_soft_encoding_decodes_back_and_rare_colours_weigh_more() -> None:
    from training.archs.hint_colorizer import HintColorizer, bin_centres, soft_encode

    chroma = torch.tensor([[0.03, -0.2], [0.31, 0.12]]).T.reshape(1, 2, 2, 1)
    dist = soft_encode(chroma)
    assert torch.allclose(dist.sum(dim=1), torch.ones(1, 2, 1))
    decoded = torch.einsum("nqhw,cq->nchw", dist, bin_centres())
    assert torch.allclose(decoded, chroma, atol=1e-5)
    model = HintColorizer(channels=8, blocks=2)
    grays = torch.randn(5000, 2) * 0.02  # mostly near gray, a few saturated reds
    reds = torch.tensor([[-0.08, 0.32]]).repeat(50, 1)
    model.fit_prior(torch.cat([grays, reds]))
    side = 21
    axis = [round(0.5 * abs(u) * u, 4) for u in np.linspace(-1, 1, side)]
    gray_bin, red_bin = 10 * side + 10, axis.index(-0.08) * side + axis.index(0.32)
    assert model.bin_weights[red_bin] > 3 * model.bin_weights[gray_bin]


def test_hint_colorizer_keeps_luminance_and_hints_change_its_colours() -> None:
    from training.archs.hint_colorizer import HintColorizer

    torch.manual_seed(0)
    model = HintColorizer(channels=8, blocks=2).eval()
    x = torch.rand(1, 3, 32, 48)
    hints = torch.zeros(1, 3, 32, 48)
    hints[:, :2, 10:15, 20:25] = torch.tensor([-0.1, 0.3])[:, None, None]
    hints[:, 2, 10:15, 20:25] = 1
    with torch.no_grad():
        plain, hinted = model(x), model(x, hints)
        stacked = model(torch.cat([x, hints], dim=1))  # the training form: one 6-channel input
    weights = torch.tensor([0.299, 0.587, 0.114])[None, :, None, None]
    luma = (x * weights).sum(1)
    assert torch.allclose((plain * weights).sum(1), luma, atol=1e-5)
    assert torch.allclose((hinted * weights).sum(1), luma, atol=1e-5)
    assert torch.allclose(stacked, hinted)
    assert not torch.allclose(plain, hinted)
