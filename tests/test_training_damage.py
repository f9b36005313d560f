"""Synthetic damage for the repair models, the inpainter and the detector: what they train on and how they export."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from photogan.core.image import Photo  # noqa: E402
from photogan.inference.enhancer import enhance, find_damage  # noqa: E402
from training import archs  # noqa: E402
from training.damage import KINDS, DamageMasks, DetectDamage, InpaintDamage  # noqa: E402


def photo(seed: int = 0, side: int = 96) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:side, 0:side] / side
    return np.clip(np.stack([x, y, x * y], axis=2) * 0.6 + 0.2 + rng.normal(0, 0.02, (side, side, 3)), 0, 1).astype(
        np.float32
    )


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_of_damage_is_drawn_reproducibly_within_its_cover(kind: str) -> None:
    only = DamageMasks(**{f"p_{k}": float(k == kind) for k in KINDS})
    covers = []
    for seed in range(6):
        a, b = only((128, 160), np.random.default_rng(seed)), only((128, 160), np.random.default_rng(seed))
        np.testing.assert_array_equal(a, b)
        covers.append(float((a > 0.5).mean()))
    assert min(covers) > 0 and max(covers) <= only.max_cover


def test_inpaint_inputs_keep_every_pixel_outside_the_holes() -> None:
    clean = photo()
    sample = InpaintDamage()(clean, np.random.default_rng(3))
    assert sample.shape == (96, 96, 4)
    keep = sample[..., 3] < 0.5
    assert (~keep).any()
    np.testing.assert_array_equal(sample[..., :3][keep], clean[keep])


def test_detector_inputs_mark_the_damage_and_some_crops_have_none() -> None:
    clean = photo()
    rng = np.random.default_rng(1)
    damaged = [DetectDamage(clean_fraction=0.0)(clean, rng) for _ in range(4)]
    for sample in damaged:
        mask = sample[..., 3] > 0.5
        assert mask.any()
        assert np.abs(sample[..., :3][mask] - clean[mask]).mean() > 0.05  # the marked pixels are changed
    untouched = DetectDamage(clean_fraction=1.0)(clean, rng)
    assert not untouched[..., 3].any()


def test_the_inpainter_keeps_the_photo_outside_its_holes_and_learns_inside() -> None:
    torch.manual_seed(0)
    model = archs.build("inpainter", channels=8, dilations=(1, 2))
    for p in model.parameters():
        p.data.normal_(0, 0.1)
    x = torch.rand(2, 3, 32, 40)
    mask = (torch.rand(2, 1, 32, 40) > 0.8).float()
    out = model(x, mask)
    assert torch.equal(out * (1 - mask), x * (1 - mask))
    assert torch.equal(model(torch.cat([x, mask], dim=1)), out)  # training: one stacked tensor


def test_the_detector_learns_bright_scratches() -> None:
    torch.manual_seed(0)
    model = archs.build("damage-detector", channels=8, dilations=(1,))
    clean = torch.rand(2, 3, 32, 32) * 0.6
    truth = torch.zeros(2, 1, 32, 32)
    truth[:, :, :, 10:12] = 1
    damaged = torch.where(truth.bool(), torch.ones_like(clean), clean)
    batch = torch.cat([damaged, truth], dim=1)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(60):
        model(batch)
        loss = model.training_loss(clean)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(float(loss))
    assert losses[-1] < 0.5 * losses[0]
    found = model.eval()(damaged) > 0.5
    assert found[truth.bool()].float().mean() > 0.8 and found[~truth.bool()].float().mean() < 0.05


@pytest.mark.slow
def test_both_export_and_run_in_photogan(tmp_path: Path) -> None:
    from conftest import open_session

    from training.bundle import export_model
    from training.config import TrainConfig

    torch.manual_seed(0)
    picture = photo(side=40)[:36]
    mask = np.zeros((36, 40), bool)
    mask[10:20, 5:30] = True
    for task, arch, params in (
        ("inpaint", "inpainter", {"channels": 8, "dilations": [1, 2]}),
        ("detect", "damage-detector", {"channels": 8, "dilations": [1]}),
    ):
        config = TrainConfig(task=task, arch=arch, arch_params=params, patch=32)
        model = archs.build(arch, **params)
        for p in model.parameters():
            p.data.normal_(0, 0.05)
        path = export_model(
            model.eval(),
            config,
            tmp_path,
            f"tiny-{task}",
            name=task,
            description="",
            training_data="",
            licence="",
            metrics={},
        )
        session = open_session(path)
        with torch.no_grad():
            if task == "inpaint":
                result = enhance(Photo(picture.copy()), session, mask=mask).pixels
                assert np.array_equal(result[~mask], picture[~mask])
                assert not np.allclose(result[mask], picture[mask])
            else:
                probability = find_damage(Photo(picture.copy()), session)
                expected = model(torch.from_numpy(picture).permute(2, 0, 1)[None])[0, 0].numpy()
                np.testing.assert_allclose(probability, expected, atol=1e-4)
