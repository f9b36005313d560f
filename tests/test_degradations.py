"""Degradations: deterministic under a seed, shaped as the tasks need, and really degrading."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")  # the training extra

from training.degradations import (
    RealPhotoDegradation,
    RestoreDegradation,
    UpscaleDegradation,
    blur_kernel,
    downscale,
    grayscale,
    sinc_kernel,
)


def photo(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:96, 0:128] / 96.0
    base = np.stack([np.sin(6 * x) * 0.3 + 0.5, y * 0.8 + 0.1, (x + y) * 0.4], axis=2)
    return np.clip(base + rng.normal(0, 0.02, base.shape), 0, 1).astype(np.float32)


@pytest.mark.parametrize(
    ("degrade", "random"),
    [
        (UpscaleDegradation(4), False),
        (UpscaleDegradation(2, "random", real=True), True),
        (RealPhotoDegradation(4), True),
        (RestoreDegradation(), True),
    ],
    ids=["x4-bicubic", "x2-real", "x4-second-order", "restore"],
)
def test_same_seed_same_result_different_seed_different_result(degrade, random: bool) -> None:  # type: ignore[no-untyped-def]
    clean = photo()
    first = [degrade(clean, np.random.default_rng(s)) for s in range(6)]
    again = [degrade(clean, np.random.default_rng(s)) for s in range(6)]
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)
    assert any(not np.array_equal(first[0], other) for other in first[1:]) == random
    for out in first:
        assert out.dtype == np.float32 and out.min() >= 0 and out.max() <= 1


def test_upscale_input_sizes() -> None:
    assert UpscaleDegradation(4)(photo(), np.random.default_rng(0)).shape == (24, 32, 3)
    assert UpscaleDegradation(2, "area")(photo(), np.random.default_rng(0)).shape == (48, 64, 3)
    for seed in range(20):  # every path (stage 2 or not, resize before or after the JPEG) ends at the target size
        assert RealPhotoDegradation(4)(photo(), np.random.default_rng(seed)).shape == (24, 32, 3)
        assert RealPhotoDegradation(2)(photo(), np.random.default_rng(seed)).shape == (48, 64, 3)


def test_real_photo_inputs_are_degraded_beyond_the_downscale_and_the_clean_share_is_bicubic() -> None:
    clean = photo()
    rng = np.random.default_rng(0)
    bicubic = downscale(clean, 4, "bicubic", rng)
    pipeline = RealPhotoDegradation(4, clean_fraction=0.0)
    errors = [float(np.abs(pipeline(clean, np.random.default_rng(s)) - bicubic).mean()) for s in range(30)]
    assert min(errors) > 0.005  # every sample blurred, noisy or compressed beyond the downscale itself
    only_clean = RealPhotoDegradation(4, clean_fraction=1.0)(clean, np.random.default_rng(1))
    np.testing.assert_array_equal(only_clean, bicubic)


def test_blur_kernels_are_normalized_and_the_sinc_filter_is_a_low_pass() -> None:
    rng = np.random.default_rng(0)
    for _ in range(50):  # every family: iso/aniso Gaussian, generalized Gaussian, plateau, defocus
        kernel = blur_kernel(rng, 21, (0.2, 3.0), (0.5, 4.0), (1.0, 2.0))
        assert kernel.shape == (21, 21) and abs(float(kernel.sum()) - 1) < 1e-4 and kernel.min() >= 0
    kernel = sinc_kernel(np.pi / 2, 21)
    response = np.abs(np.fft.fft2(kernel, s=(64, 64)))
    assert abs(response[0, 0] - 1) < 1e-4  # keeps flat areas
    assert response[0, 8] > 0.9  # a quarter of the cut-off: passed
    assert response[0, 28] < 0.1  # well above the cut-off (π/2 is 16 of 64): removed
    assert kernel.min() < 0  # the negative lobes that ring at edges


def test_an_upscale_degradation_table_selects_the_real_photo_pipeline() -> None:
    from training.config import TrainConfig
    from training.dataset import task_degradation

    config = TrainConfig(task="upscale", scale=2, degradation={"clean_fraction": 0.25, "jpeg_range": [50, 90]})
    degrade = task_degradation(config)
    assert isinstance(degrade, RealPhotoDegradation)
    assert degrade.scale == 2 and degrade.jpeg_range == (50, 90) and degrade.clean_fraction == 0.25
    assert isinstance(task_degradation(TrainConfig(task="upscale")), UpscaleDegradation)  # the fidelity models'
    with pytest.raises(ValueError, match="noise_sigmas"):
        RealPhotoDegradation.from_params(4, {"noise_sigmas": [1, 2]})
    with pytest.raises(ValueError, match="2 values"):
        RealPhotoDegradation.from_params(4, {"jpeg_range": [50]})


def test_restore_damages_most_samples_and_leaves_the_clean_fraction() -> None:
    clean = photo()
    outputs = [RestoreDegradation()(clean, np.random.default_rng(s)) for s in range(40)]
    errors = [float(np.abs(o - clean).mean()) for o in outputs]
    assert sum(e > 0.005 for e in errors) >= 30
    untouched = RestoreDegradation(clean_fraction=1.0)(clean, np.random.default_rng(0))
    np.testing.assert_array_equal(untouched, clean)


def test_grayscale_has_equal_channels() -> None:
    gray = grayscale(photo())
    assert np.array_equal(gray[..., 0], gray[..., 1]) and np.array_equal(gray[..., 1], gray[..., 2])


def test_a_runs_damage_mix_comes_from_its_config() -> None:
    from training.config import TrainConfig
    from training.dataset import task_degradation

    clean = photo()
    config = TrainConfig(task="restore", degradation={"clean_fraction": 1.0})
    degrade = task_degradation(config)
    assert degrade is not None
    np.testing.assert_array_equal(degrade(clean, np.random.default_rng(3)), clean)
    assert TrainConfig.from_dict(config.to_dict()).degradation == {"clean_fraction": 1.0}  # saved with the run
    with pytest.raises(ValueError, match="p_scratches"):
        RestoreDegradation.from_params({"p_scratches": 0.5})  # a typo is an error, not the default mix


def test_validation_and_bundle_scores_see_only_damaged_photos() -> None:
    """A mix that leaves most crops clean still validates on damaged ones: one clean crop scores 148 dB and would
    make the mean PSNR of a good model look worse than its input's."""
    from training.config import TrainConfig
    from training.dataset import task_degradation

    clean = photo()
    config = TrainConfig(task="restore", degradation={"clean_fraction": 0.9, "p_noise": 0.3, "p_jpeg": 0.3})
    training_mix, evaluation = task_degradation(config), task_degradation(config, evaluation=True)
    assert training_mix is not None and evaluation is not None
    trained_on = [training_mix(clean, np.random.default_rng(s)) for s in range(30)]
    assert sum(np.array_equal(t, clean) for t in trained_on) >= 20  # the clean share is still trained on
    for seed in range(30):
        assert float(np.abs(evaluation(clean, np.random.default_rng(seed)) - clean).max()) >= 1 / 255
    nothing = TrainConfig(
        task="restore",
        degradation={k: 0.0 for k in ("p_fade", "p_blur", "p_scratch", "p_dust", "p_holes", "p_noise", "p_jpeg")},
    )
    never_damages = task_degradation(nothing, evaluation=True)
    assert never_damages is not None
    with pytest.raises(ValueError, match="leaves photos untouched"):
        never_damages(clean, np.random.default_rng(0))


def test_gaussian_share_one_gives_only_gaussian_noise() -> None:
    """With every other kind off, the residual is zero-mean Gaussian noise (not shot noise or grain)."""
    flat = np.full((96, 96, 3), 0.5, np.float32)
    only_noise = {"p_fade": 0, "p_blur": 0, "p_scratch": 0, "p_dust": 0, "p_holes": 0, "p_jpeg": 0}
    mix = RestoreDegradation.from_params({**only_noise, "p_noise": 1.0, "gaussian_share": 1.0, "clean_fraction": 0})
    for seed in range(8):
        residual = mix(flat, np.random.default_rng(seed)) - flat
        channels = residual.reshape(-1, 3)
        assert abs(float(channels.mean())) < 0.01
        assert abs(np.corrcoef(channels.T)[0, 1]) < 0.1  # film grain is shared by the channels
        assert len(np.unique(residual)) > 1000  # shot noise takes only the values k / peak


def test_hinted_luminance_draws_true_colour_points_and_none_to_validate() -> None:
    from photogan.core.chroma import rgb_to_chroma
    from training.degradations import HintedLuminance

    clean = photo()
    degrade = HintedLuminance(none_fraction=0.0, mean_points=6.0, max_side=3)
    out = degrade(clean, np.random.default_rng(1))
    assert out.shape == (96, 128, 6)
    np.testing.assert_array_equal(out[..., :3], grayscale(clean))  # the photo part is the plain luminance
    mask = out[..., 5] == 1
    assert 0 < mask.sum() <= 50 * 9
    cb, cr = rgb_to_chroma(clean)
    assert np.abs(out[..., 3][mask] - cb[mask]).max() < 0.05  # each point holds the truth's local mean chroma
    assert np.abs(out[..., 4][mask] - cr[mask]).max() < 0.05
    np.testing.assert_array_equal(out, degrade(clean, np.random.default_rng(1)))  # seeded
    evaluation = HintedLuminance(evaluation=True)(clean, np.random.default_rng(1))
    assert not evaluation[..., 3:].any()
