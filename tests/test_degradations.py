"""Degradations: deterministic under a seed, shaped as the tasks need, and really degrading."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")  # the training extra

from training.degradations import RestoreDegradation, UpscaleDegradation, grayscale


def photo(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:96, 0:128] / 96.0
    base = np.stack([np.sin(6 * x) * 0.3 + 0.5, y * 0.8 + 0.1, (x + y) * 0.4], axis=2)
    return np.clip(base + rng.normal(0, 0.02, base.shape), 0, 1).astype(np.float32)


@pytest.mark.parametrize(
    ("degrade", "random"),
    [(UpscaleDegradation(4), False), (UpscaleDegradation(2, "random", real=True), True), (RestoreDegradation(), True)],
    ids=["x4-bicubic", "x2-real", "restore"],
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
