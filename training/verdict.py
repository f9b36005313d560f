"""A fine-tune against its base model, on the user's photos it never trained on; a texture model against its photo.

The trainer holds out whole photos (``TaskData.val_photos``: a tenth of them, up to 8, for a fine-tune). Each is
degraded ``DRAWS`` times with the run's own degradation and fixed seeds, so the base and the fine-tuned model see
the very same inputs, and both outputs are scored against the photo (PSNR on Y, border = scale; a colorizer on
RGB). The fine-tuned weights judged are the ones exported: the run's last EMA weights (picking the best of several
checkpoints on these photos would make the verdict flatter itself).

A texture model (``generate``) has no held-out photos: :func:`judge_texture` draws the exported generator's seeded
samples and compares their variety with random crops of the photos it learned, so a run that collapsed (every seed
the same flat picture) says so at once.
"""

from __future__ import annotations

import copy
import logging

import numpy as np
import torch
from torch import nn

from photogan.app.runs import TextureVerdict, Verdict
from photogan.core.texture import texture_report
from training import archs, checkpoint
from training.archs.sgan import SpatialGenerator
from training.config import TrainConfig
from training.dataset import TaskData, centre_crop, neighbour_pairs, task_degradation, to_tensor
from training.evaluation import psnr_ssim

log = logging.getLogger("training")

#: Degradations drawn per held-out photo, and the longest side judged (a larger photo: its centre, so a verdict on
#: 24 MP photos takes seconds, not minutes, on a CPU).
DRAWS, SIDE = 2, 1024
VERDICT_TASKS = ("upscale", "restore", "colorize")


def holdout_pairs(
    config: TrainConfig, photos: list[np.ndarray], multiple: int
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """(input, target) pairs of the held-out photos: each photo (its centre up to ``SIDE`` px, sides a multiple
    of ``multiple`` × the scale), degraded ``DRAWS`` times with fixed seeds."""
    if config.self_supervised:  # no clean photos: the neighbour sub-images of each (see neighbour_pairs)
        return neighbour_pairs(photos, 2 * max(1, multiple), side=SIDE)
    degrade = task_degradation(config, evaluation=True)
    assert degrade is not None
    rng = np.random.default_rng(2024)
    step = max(1, multiple) * config.scale
    pairs = []
    for photo in photos:
        target = centre_crop(photo, SIDE, step).astype(np.float32) / 255.0
        for _ in range(DRAWS):
            pairs.append((to_tensor(degrade(target, rng)[None]), to_tensor(target[None])))
    return pairs


@torch.no_grad()
def mean_score(model: nn.Module, pairs: list[tuple[torch.Tensor, torch.Tensor]], config: TrainConfig) -> float:
    device = next(model.parameters()).device
    model.eval()
    on_y = config.task != "colorize"
    scores = [psnr_ssim(model(i.to(device)).float().clamp(0, 1).cpu(), t, config.scale, on_y)[0] for i, t in pairs]
    return float(np.mean(scores))


def metric(config: TrainConfig) -> str:
    """What a verdict measures: PSNR on Y against the photo, on RGB for a colorizer (it keeps Y exactly), and for a
    self-supervised run, with no clean photo, the output on half the pixels against their noisy neighbours."""
    if config.self_supervised:
        return "neighbour PSNR"
    return "PSNR" if config.task == "colorize" else "PSNR-Y"


def judge(config: TrainConfig, data: TaskData, tuned: nn.Module) -> Verdict | TextureVerdict | None:
    """The fine-tune ``tuned`` against ``config.base`` on the run's held-out photos, or a texture model's
    :func:`judge_texture`; None when the run is not a fine-tune, its task has no such measure (masks), or the
    base cannot be loaded any more."""
    if config.task == "generate":
        return judge_texture(config, data, tuned)
    if not config.base or config.task not in VERDICT_TASKS or not data.val_photos:
        return None
    try:
        info, weights = checkpoint.model_checkpoint(config.base, "compare the fine-tune with")
        base = archs.build(info.arch, **info.arch_params)  # its own shape: a transplant's differs
        base.load_state_dict(checkpoint.load_weights(weights))
    except (ValueError, RuntimeError) as exc:  # deleted, or replaced by a model of another shape
        log.warning("the fine-tune cannot be compared with %s: %s", config.base, exc)
        return None
    device = next(tuned.parameters()).device
    pairs = holdout_pairs(config, data.val_photos, int(getattr(tuned, "size_multiple", 1)))
    verdict = Verdict(
        base=config.base,
        photos=len(data.val_photos),
        metric=metric(config),
        base_score=mean_score(base.to(device), pairs, config),
        score=mean_score(tuned, pairs, config),
    )
    log.info(
        "against %s on %d held-out photos: %s %.2f dB vs %.2f dB (%s)",
        config.base,
        verdict.photos,
        verdict.metric,
        verdict.score,
        verdict.base_score,
        verdict.sentence(),
    )
    return verdict


#: The training photos a texture verdict compares with (a folder's first few: each gives the variety of its crops).
TEXTURE_PHOTOS = 4


def judge_texture(config: TrainConfig, data: TaskData, generator: nn.Module) -> TextureVerdict | None:
    """The variety and colours of a texture generator's samples as exported (a copy:
    ``training.bundle.ready_to_export``, the seeds and size of ``training.bundle.texture_samples``) against random
    crops of the training photos."""
    from training.bundle import ready_to_export, texture_samples  # (training.bundle imports the trainer)

    if not isinstance(generator, SpatialGenerator) or not data.train_photos:
        return None
    model = ready_to_export(copy.deepcopy(generator).cpu(), config)
    assert isinstance(model, SpatialGenerator)
    samples = texture_samples(model)
    reports = [
        texture_report(samples, photo.astype(np.float32) / 255.0, seed=config.seed)
        for photo in data.train_photos[:TEXTURE_PHOTOS]
    ]
    verdict = TextureVerdict(
        samples=len(samples),
        variety=float(np.mean([r["diversity"] for r in reports])),
        photo_variety=float(np.mean([r["real_diversity"] for r in reports])),
        seed=config.seed,
        colours=float(np.mean([r["histogram"] for r in reports])),
    )
    log.info(
        "texture variety %.4f against the photo's %.4f, colour distance %.2f: %s",
        verdict.variety,
        verdict.photo_variety,
        verdict.colours,
        verdict.sentence(),
    )
    return verdict
