"""The training loop: pixel pre-training, adversarial fine-tuning, EMA, validation, resumable time-boxed chunks.

Step order for image-to-image tasks follows BasicSR's SRGAN step: freeze D, G step (fidelity + adversarial),
unfreeze D, D step on real and ``fake.detach()``, then EMA. ``generate`` keeps pytorch/examples' DCGAN order
(D on real and fake, then G). Learning rates are a pure function of the iteration (cosine within each phase), so
a resumed run continues the same schedule. Everything a run needs to continue bit-for-bit is in
``last.safetensors``: G, D, EMA, both Adam states, AMP scaler, iteration, torch/CUDA/numpy RNG states and the
fixed noise. Under ``torchrun`` the models are wrapped in DistributedDataParallel (NCCL on GPUs, gloo on CPUs).
"""

from __future__ import annotations

import copy
import json
import logging
import math
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from photogan.app.runs import Event, RunFolder, RunStatus
from training import archs, checkpoint
from training.archs.sgan import SpatialGenerator
from training.config import TrainConfig
from training.dataset import BatchStream, TaskData
from training.ema import EMA
from training.evaluation import (
    baseline,
    detect_scores,
    inpaint_scores,
    mean_pairwise_distance,
    psnr_ssim,
    save_pair_grid,
    save_sample_grid,
)
from training.losses import FidelityLoss, GanLoss, SpectrumLoss, neighbour_loss

log = logging.getLogger("training")

# Sizing a run to its time budget: skip FIT_WARMUP iterations, then measure the speed over FIT_MEASURE iterations
# (or FIT_SHARE of the budget, whichever comes first) and plan FIT_MARGIN of the remaining time's iterations.
FIT_WARMUP, FIT_MEASURE, FIT_SHARE, FIT_MARGIN = 3, 30, 0.1, 0.95


def generator_params(config: TrainConfig) -> dict[str, Any]:
    """Architecture hyperparameters with the task's own filled in (scale, latent size, image size)."""
    params = dict(config.arch_params)
    if config.arch == "compact":
        params.setdefault("scale", config.scale)
    if config.arch == "dcgan":
        params.setdefault("latent", config.latent)
        params.setdefault("image_size", config.patch)
    return params


def discriminator_params(config: TrainConfig) -> dict[str, Any]:
    params = dict(config.d_params)
    if config.discriminator == "dcgan-d":
        params.setdefault("image_size", config.patch)
    elif config.task == "generate":  # a patch or U-Net critic judges a texture crop on its own: no condition
        params.setdefault("condition_channels", 0)
    return params


@dataclass
class Outcome:
    """How a chunk ended: ``finished``, ``time_budget`` (continue with the same run folder) or ``stopped``."""

    status: RunStatus
    iteration: int
    best: float
    metrics: dict[str, float] = field(default_factory=dict)


class Trainer:
    """One training run in ``run_dir`` (created, or resumed if it holds a checkpoint).

    Args:
        config: The run's configuration (copied into ``run_dir/config.json``).
        data: Folders of clean photos.
        run_dir: Where checkpoints, samples, ``config.json`` and ``log.jsonl`` live.
        base_weights: Generator weights to start from (fine-tuning), ignored when resuming.
        progress_json: Print JSON-lines progress on stdout (for the GUI).
    """

    def __init__(
        self,
        config: TrainConfig,
        data: list[Path],
        run_dir: Path,
        base_weights: Path | None = None,
        progress_json: bool = False,
    ) -> None:
        self.config = config
        self.run_dir = run_dir
        self.files = RunFolder(run_dir)
        self.progress_json = progress_json
        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = 0
        if self.world > 1 and not dist.is_initialized():
            dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
        if self.world > 1:
            self.rank = dist.get_rank()
        local = int(os.environ.get("LOCAL_RANK", "0"))
        self.device = torch.device(f"cuda:{local}" if torch.cuda.is_available() else "cpu")
        self.cuda = self.device.type == "cuda"
        torch.manual_seed(config.seed)

        params = generator_params(config)
        self.latent = int(params.get("latent", config.latent))
        self.g = archs.build(config.arch, **params).to(self.device)
        self.field = self.g if isinstance(self.g, SpatialGenerator) else None  # draws noise fields, not vectors
        if self.field is not None and config.patch % self.field.factor:
            raise ValueError(
                f"patch must be a multiple of {self.field.factor} (one noise cell's pixels), got {config.patch}"
            )
        if config.transplant and base_weights is None and not self.files.can_resume:  # resuming loads its own
            raise ValueError("transplant starts from a base model's weights: it needs a base model (--base)")
        if base_weights is not None:
            try:
                self.g.load_state_dict(self._base_state(checkpoint.load_weights(base_weights)))
            except RuntimeError as exc:  # shapes or names that do not fit the architecture
                raise ValueError(
                    f"{base_weights} does not fit a {config.arch} network: {str(exc).splitlines()[0]}"
                ) from exc
            log.info("starting from %s", base_weights)
        # L2-SP: the base's weights, which a fine-tune is held near (see TrainConfig.anchor)
        self.anchor: list[tuple[nn.Parameter, torch.Tensor]] = []
        if config.anchor and not config.base:
            raise ValueError("anchor (L2-SP) holds a fine-tune near its base: it needs a base model (--base)")
        if config.anchor:
            start = base_weights or checkpoint.model_checkpoint(config.base, "hold the fine-tune near")[1]
            values = checkpoint.load_weights(start)
            self.anchor = [
                (p, values[n].to(self.device))
                for n, p in self.g.named_parameters()
                if n in values and values[n].shape == p.shape
            ]
        self.d: nn.Module | None = None
        if config.adversarial:
            self.d = archs.build(config.discriminator, **discriminator_params(config)).to(self.device)
            if config.feature_matching and config.task != "generate" and not hasattr(self.d, "features"):
                raise ValueError(
                    f"feature_matching needs a discriminator with feature maps (unet-d), not {config.discriminator}"
                )
        if self.cuda and config.channels_last:
            self.g = self.g.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
            if self.d is not None:
                self.d = self.d.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
        if config.trainable:  # the rest of the generator is frozen
            for name, parameter in self.g.named_parameters():
                parameter.requires_grad_(name.startswith(config.trainable))
            if not any(p.requires_grad for p in self.g.parameters()):
                raise ValueError(f"trainable {list(config.trainable)} names none of the {config.arch}'s parameters")
        self.ema = EMA(self.g, config.ema_decay)
        trained = [p for p in self.g.parameters() if p.requires_grad]
        self.opt_g = torch.optim.Adam(trained, lr=config.lr, betas=config.betas)
        self.opt_d = torch.optim.Adam(self.d.parameters(), lr=config.gan_lr, betas=config.gan_betas) if self.d else None
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.cuda and config.amp)
        self.fidelity = FidelityLoss(config.fidelity).to(self.device)
        self.spectrum = SpectrumLoss(config.patch).to(self.device) if config.spectrum else None
        self.gan = GanLoss(config.gan_loss, config.real_label)  # type: ignore[arg-type]
        self.g_train: nn.Module = self.g
        self.d_train: nn.Module | None = self.d
        if self.world > 1:
            ids = [self.device.index] if self.cuda else None
            self.g_train = DistributedDataParallel(self.g, device_ids=ids)
            if self.d is not None:
                self.d_train = DistributedDataParallel(self.d, device_ids=ids)

        self.data = TaskData(config, data)
        if self.rank:
            self.data.reseed(self.rank)
        self.val_pairs = self.data.validation_pairs(int(getattr(self.g, "size_multiple", 4)))
        fit_prior = getattr(self.g, "fit_prior", None)
        if callable(fit_prior) and base_weights is None and not self.files.can_resume:
            fit_prior(self._chroma_samples())  # a colour-bin model's class rebalancing: the photos' own colours
        noise = torch.Generator().manual_seed(config.seed + 7)
        if self.field is not None:  # fields twice the crop's side: the samples show how the texture continues
            cells = 2 * config.patch // self.field.factor
            self.fixed_noise = self.field.noise(8, cells, cells, generator=noise)
        else:
            self.fixed_noise = torch.randn(64, self.latent, generator=noise)
        self.iteration = 0
        self.best = -math.inf
        self._stop_requested = False
        self._stream: BatchStream | None = None  # with data_workers: batches drawn ahead (started by step)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        if self.files.can_resume:
            self._resume(self.files.last)
        if self.rank == 0:  # on resume too: `--resume --iters N` changes the schedule the run follows from now on
            self.files.config.write_text(config.to_json())

    def _base_state(self, values: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """The base's weights to load: all of them, or with ``transplant`` the generator's own tensors where the
        base has one of the same name and shape (the rest stay as initialized; both counts are logged)."""
        if not self.config.transplant:
            return values
        state = self.g.state_dict()
        kept = {n: v for n, v in values.items() if n in state and state[n].shape == v.shape}
        fresh = sorted(set(state) - set(kept))
        log.info("transplant: %d tensors from the base, %d fresh (%s)", len(kept), len(fresh), ", ".join(fresh))
        return {**state, **kept}

    def _chroma_samples(self) -> torch.Tensor:
        """K×2 BT.601 chroma of every 8th pixel of the training photos."""
        from photogan.core.chroma import rgb_to_chroma

        pixels = np.concatenate([p[::8, ::8].reshape(-1, 3) for p in self.data.train_photos]).astype(np.float32)
        cb, cr = rgb_to_chroma(pixels / 255.0)
        return torch.from_numpy(np.stack([cb, cr], axis=1))

    # -- schedule -------------------------------------------------------------------------------------------

    def in_gan_phase(self, iteration: int) -> bool:
        start = self.config.gan_start
        return start is not None and iteration >= start

    def learning_rates(self, iteration: int) -> tuple[float, float]:
        """(G, D) learning rates: cosine decay over the pixel phase (after ``warmup`` iterations of linear warm-up),
        then over the adversarial phase."""
        c = self.config
        if self.in_gan_phase(iteration):
            start = c.gan_start or 0
            t = (iteration - start) / max(1, c.iters - start)
            lr = c.gan_lr * (0.5 + 0.5 * math.cos(math.pi * t)) if c.task != "generate" else c.gan_lr
            return max(lr, c.gan_lr * 0.01), c.gan_lr
        end = c.gan_start if c.gan_start is not None else c.iters
        t = iteration / max(1, end)
        lr = max(c.lr * (0.5 + 0.5 * math.cos(math.pi * t)), c.lr * 0.01)
        if iteration < c.warmup:
            lr *= (iteration + 1) / (c.warmup + 1)
        return lr, c.gan_lr

    # -- one iteration --------------------------------------------------------------------------------------

    def _autocast(self) -> Any:
        return torch.autocast("cuda", enabled=self.cuda and self.config.amp)

    def _critic(self, image: torch.Tensor, condition: torch.Tensor | None, module: nn.Module) -> torch.Tensor:
        if self.config.task == "generate":
            return module(image)
        return module(image, condition)

    def step(self) -> dict[str, float]:
        """One training iteration; returns its losses."""
        c = self.config
        lr_g, lr_d = self.learning_rates(self.iteration)
        gan = self.in_gan_phase(self.iteration)
        for group in self.opt_g.param_groups:
            group["lr"], group["betas"] = lr_g, c.gan_betas if gan else c.betas
        if self.opt_d is not None:
            for group in self.opt_d.param_groups:
                group["lr"] = lr_d
        if c.data_workers:
            if self._stream is None:
                self._stream = BatchStream(self.data, c.batch, self.iteration, c.data_workers, self.rank)
            inputs, targets = next(self._stream)
        else:
            inputs, targets = self.data.batch(c.batch)
        targets = targets.to(self.device, non_blocking=True)
        if inputs is not None:
            inputs = inputs.to(self.device, non_blocking=True)
        if self.cuda and c.channels_last:
            targets = targets.contiguous(memory_format=torch.channels_last)
            if inputs is not None:
                inputs = inputs.contiguous(memory_format=torch.channels_last)
        losses: dict[str, float] = {}
        if c.self_supervised:  # noisy photos only: one sub-image predicts its neighbour (Neighbor2Neighbor)
            losses.update(self._self_supervised_step(targets))
        elif c.task == "generate":
            if self.field is not None:
                count, cells = self.field.training_fields(c.patch, c.field, c.batch)
                z = self.field.noise(count, cells, cells, device=self.device)
            else:
                z = torch.randn(c.batch, self.latent, device=self.device)
            with self._autocast():
                fake = self.g_train(z)
                if self.field is not None:  # a larger field: the crops its torus holds
                    fake = self.field.training_crops(fake, c.patch, c.batch)
            losses["d"] = self._discriminator_step(targets, fake, None)
            losses.update(self._generator_step(fake, targets, None, gan=True))
        else:
            assert inputs is not None
            condition = inputs[:, :3]  # the critic sees the photo (a colorizer's hint planes are the model's own)
            if gan and self.iteration < (c.gan_start or 0) + c.critic_warmup:  # the critic learns alone first
                self.g_train.eval()  # frozen: its normalization statistics too
                with torch.no_grad(), self._autocast():
                    fake = self.g_train(inputs)
                self.g_train.train()
                losses["d"] = self._discriminator_step(targets, fake, condition)
            else:
                with self._autocast():
                    fake = self.g_train(inputs)
                losses.update(self._generator_step(fake, targets, condition, gan))
                if gan:
                    losses["d"] = self._discriminator_step(targets, fake, condition)
        self.scaler.update()
        self.ema.update(self.g, self.iteration)
        self.iteration += 1
        return losses

    def _self_supervised_step(self, noisy: torch.Tensor) -> dict[str, float]:
        with self._autocast():
            total, losses = neighbour_loss(self.g_train, noisy)
        self.opt_g.zero_grad(set_to_none=True)
        self.scaler.scale(total).backward()
        self.scaler.step(self.opt_g)
        return {**losses, "g": float(total.detach())}

    def _generator_step(
        self, fake: torch.Tensor, targets: torch.Tensor, inputs: torch.Tensor | None, gan: bool
    ) -> dict[str, float]:
        c = self.config
        if self.d is not None:
            self.d.requires_grad_(False)
        with self._autocast():
            losses: dict[str, float] = {}
            total = fake.new_zeros(())
            if c.task not in ("generate", "detect"):  # a detector's target is the damage: its own loss
                pixel, terms = self.fidelity(fake.float(), targets)
                total = total + pixel
                losses.update(terms)
            if c.task != "generate":
                model_loss = getattr(self.g, "training_loss", None)  # a colour-bin colorizer's cross-entropy
                if callable(model_loss):
                    term = model_loss(targets)
                    total = total + term
                    losses["bins" if c.task == "colorize" else c.task] = float(term.detach())
            if self.anchor:
                distance = torch.stack([((p - p0) ** 2).sum() for p, p0 in self.anchor]).sum()
                total = total + c.anchor * distance
                losses["anchor"] = float(distance.detach())
            if gan:
                assert self.d is not None  # D is frozen here: the unwrapped module (no DDP reduction) suffices
                if c.feature_matching and c.task != "generate":
                    logits, matched = self._feature_matching(fake, targets, inputs)
                    total = total + c.feature_matching * matched
                    losses["feature_matching"] = float(matched.detach())
                else:
                    logits = self._critic(fake, inputs, self.d)
                adversarial = self.gan.generator(logits.float())
                weight = 1.0 if c.task == "generate" else c.gan_weight
                total = total + weight * adversarial
                losses["g_adv"] = float(adversarial.detach())
            if self.spectrum is not None:  # a texture's crops against the photo's: the scale of its structure
                term = self.spectrum(fake, targets)
                total = total + c.spectrum * term
                losses["spectrum"] = float(term.detach())
        self.opt_g.zero_grad(set_to_none=True)
        self.scaler.scale(total).backward()
        self.scaler.step(self.opt_g)
        losses["g"] = float(total.detach())
        if self.d is not None:
            self.d.requires_grad_(True)
        return losses

    def _feature_matching(
        self, fake: torch.Tensor, targets: torch.Tensor, inputs: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """D's logits on the output and the mean L1 between its feature maps on the output and on the original
        (Salimans et al. 2016; pix2pixHD's perceptual term without a pretrained network)."""
        features = getattr(self.d, "features", None)
        assert features is not None  # checked when the discriminator was built
        logits, fake_feats = features(fake, inputs)
        with torch.no_grad():
            _, real_feats = features(targets, inputs)
        matched = torch.stack([F.l1_loss(f.float(), r.float()) for f, r in zip(fake_feats, real_feats, strict=True)])
        return logits, matched.mean()

    def _discriminator_step(self, real: torch.Tensor, fake: torch.Tensor, inputs: torch.Tensor | None) -> float:
        assert self.d is not None and self.opt_d is not None and self.d_train is not None
        fake = fake.detach()
        with self._autocast():
            loss = self.gan.discriminator(
                self._critic(real, inputs, self.d_train).float(), self._critic(fake, inputs, self.d_train).float()
            )
        condition = inputs if self.config.task != "generate" else None
        penalty = self.gan.gradient_penalty(self.d, real, fake.float(), condition)
        loss = loss + penalty
        self.opt_d.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.step(self.opt_d)
        return float(loss.detach())

    # -- validation -----------------------------------------------------------------------------------------

    @torch.no_grad()
    def validate(self) -> dict[str, float]:
        """Scores the EMA generator on the validation photos and saves a sample grid."""
        model = self.ema.model.eval()
        c = self.config
        if c.task == "generate":
            if isinstance(model, SpatialGenerator):  # as exported (bundle.load_run): statistics fit to its weights
                model = copy.deepcopy(model).fit_batchnorm(model.training_fields(c.patch, c.field, c.batch))
            samples = model(self.fixed_noise.to(self.device)).float().cpu()
            save_sample_grid(samples, self.files.samples)
            return {"diversity": mean_pairwise_distance(samples)}
        if c.task in ("inpaint", "detect"):
            return self._validate_damage(model)
        on_y = c.task != "colorize"  # colorization keeps Y exactly: score it on RGB
        scores, before, rows = [], [], []
        for inputs, target in self.val_pairs:
            output = model(inputs.to(self.device)).float().clamp(0, 1).cpu()
            scores.append(psnr_ssim(output, target, c.scale, on_y))
            size = (int(target.shape[-2]), int(target.shape[-1]))
            before.append(psnr_ssim(baseline(inputs, size), target, c.scale, on_y))
            rows.append((inputs[0], output[0], target[0]))
        save_pair_grid(rows[:4], self.files.samples)
        psnr, ssim = np.mean(scores, axis=0)
        psnr_in, ssim_in = np.mean(before, axis=0)
        return {"psnr": float(psnr), "ssim": float(ssim), "input_psnr": float(psnr_in), "input_ssim": float(ssim_in)}

    def _validate_damage(self, model: nn.Module) -> dict[str, float]:
        score = inpaint_scores if self.config.task == "inpaint" else detect_scores
        metrics, rows = score(model, ((i.to(self.device), t.to(self.device)) for i, t in self.val_pairs))
        save_pair_grid(rows[:4], self.files.samples)
        return metrics

    # -- checkpoints ----------------------------------------------------------------------------------------

    def _state(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        tensors = {**checkpoint.module_tensors("g", self.g), **checkpoint.module_tensors("ema", self.ema.model)}
        opt_g, groups_g = checkpoint.optimizer_tensors("opt_g", self.opt_g)
        tensors.update(opt_g)
        meta: dict[str, Any] = {
            "iteration": self.iteration,
            "best": self.best,
            "opt_g_groups": groups_g,
            "numpy_rng": self.data.rng.bit_generator.state,
            "scaler": self.scaler.state_dict(),
            "config": self.config.to_dict(),
        }
        if self.d is not None and self.opt_d is not None:
            tensors.update(checkpoint.module_tensors("d", self.d))
            opt_d, meta["opt_d_groups"] = checkpoint.optimizer_tensors("opt_d", self.opt_d)
            tensors.update(opt_d)
        tensors["rng.torch"] = torch.get_rng_state()
        if self.cuda:
            for i, state in enumerate(torch.cuda.get_rng_state_all()):
                tensors[f"rng.cuda.{i}"] = state
        tensors["fixed_noise"] = self.fixed_noise
        return tensors, meta

    def save(self) -> None:
        if self.rank == 0:
            tensors, meta = self._state()
            checkpoint.save(self.files.last, tensors, meta)
        if self.world > 1:
            dist.barrier()

    def close(self) -> None:
        """Stops the worker processes that draw batches ahead (``data_workers``); a later step starts them again."""
        if self._stream is not None:
            self._stream.close()
            self._stream = None

    def _resume(self, path: Path) -> None:
        tensors, meta = checkpoint.load(path)
        self.g.load_state_dict(checkpoint.strip("g", tensors))
        self.ema.load_state_dict(checkpoint.strip("ema", tensors))
        checkpoint.load_optimizer("opt_g", self.opt_g, tensors, meta["opt_g_groups"])
        if self.d is not None and self.opt_d is not None and "opt_d_groups" in meta:
            self.d.load_state_dict(checkpoint.strip("d", tensors))
            checkpoint.load_optimizer("opt_d", self.opt_d, tensors, meta["opt_d_groups"])
        self.scaler.load_state_dict(meta["scaler"])
        self.iteration, self.best = int(meta["iteration"]), float(meta["best"])
        if self.rank == 0:
            self.data.rng.bit_generator.state = meta["numpy_rng"]
        torch.set_rng_state(tensors["rng.torch"])
        if self.cuda:
            states = [tensors[k] for k in sorted(k for k in tensors if k.startswith("rng.cuda."))]
            if states:
                torch.cuda.set_rng_state_all(states)
        self.fixed_noise = tensors["fixed_noise"]
        log.info("resumed %s at iteration %d", self.run_dir, self.iteration)

    # -- the loop -------------------------------------------------------------------------------------------

    def emit(self, event: Event, **values: Any) -> None:
        if self.rank:
            return
        record = {"event": str(event), "iteration": self.iteration, "total": self.config.iters, **values}
        with self.files.log.open("a") as f:
            f.write(json.dumps(record) + "\n")
        if self.progress_json:
            print(json.dumps(record), flush=True)

    def request_stop(self, *_: object) -> None:
        """Ends the run cleanly after the current iteration (SIGINT/SIGTERM, or the GUI's stop)."""
        self._stop_requested = True

    def _agree(self, stop: bool) -> bool:
        if self.world == 1:
            return stop
        flag = torch.tensor([1.0 if stop else 0.0], device=self.device)
        dist.all_reduce(flag, op=dist.ReduceOp.MAX)
        return bool(flag.item())

    def fit_schedule(self, seconds_left: float, it_per_s: float) -> int:
        """Sets the run's length to the iterations the rest of the time budget holds at the measured speed (less a
        margin for validations and the last checkpoint), so the learning-rate schedule ends with the budget;
        saved in ``config.json``, so a resumed run keeps the same schedule. Returns the new length."""
        iters = self.iteration + max(1, int(seconds_left * it_per_s * FIT_MARGIN))
        if self.world > 1:  # every process must run the same schedule: the slowest one's
            planned = torch.tensor([float(iters)], device=self.device)
            dist.all_reduce(planned, op=dist.ReduceOp.MIN)
            iters = int(planned.item())
        self.config = self.config.with_overrides(iters=iters)
        if self.rank == 0:
            self.files.config.write_text(self.config.to_json())
            log.info("%.2f iterations/s: the schedule is sized to the time budget, %d iterations", it_per_s, iters)
        self.emit(Event.SCHEDULE, it_per_s=it_per_s)
        return iters

    def run(self, minutes: float | None = None, dry_run: bool = False, fit_to_budget: bool = False) -> Outcome:
        """Trains until ``config.iters``, the time budget, or a stop request; always ends with a checkpoint.

        With ``fit_to_budget`` (and ``minutes``), the run's length is not known in advance: after a short warm-up
        the speed is measured and ``config.iters`` set to what the budget holds (:meth:`fit_schedule`), then
        checked again as the run goes (:class:`_Pacer`).

        SIGINT and SIGTERM finish the current iteration, then stop like the time budget does. The checkpoint is
        also written at every validation, so a run killed outright resumes from there.
        """
        deadline = None if minutes is None else time.monotonic() + minutes * 60.0
        pacer = None
        if fit_to_budget and deadline is not None and not dry_run:
            pacer = _Pacer(deadline, (minutes or 0.0) * 60.0, self.iteration + FIT_WARMUP)
        # an "epoch" line per pass over the photos, but no more often than progress lines (one texture photo)
        epoch = max(self.config.log_every, len(self.data.train_photos) // self.config.batch)
        handlers = {}
        if self.rank == 0 and threading_main():
            handlers = {sig: signal.signal(sig, self.request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
        if self.config.base and self.iteration == 0 and not dry_run:
            self._validate_and_track()  # a fine-tune's curve starts at its base's score: the level to beat
        window = _Means()  # losses since the last progress line
        epoch_means = _Means()  # losses since the last epoch line
        started, metrics, status = time.monotonic(), {}, RunStatus.FINISHED
        try:
            while self.iteration < self.config.iters:
                losses = self.step()
                if pacer is not None:
                    pacer.check(self, time.monotonic())
                window.add(losses)
                epoch_means.add(losses)
                last = self.iteration == self.config.iters
                if self.iteration % self.config.log_every == 0 or last or dry_run:
                    speed = window.count / max(time.monotonic() - started, 1e-9)
                    lr = self.opt_g.param_groups[0]["lr"]
                    self.emit(Event.PROGRESS, losses=window.means(), it_per_s=speed, lr=lr)
                    window, started = _Means(), time.monotonic()
                if self.iteration % epoch == 0 or last:
                    means = epoch_means.means()
                    if self.rank == 0:
                        log.info(
                            "epoch %d (iteration %d): G %.4f  D %s",
                            math.ceil(self.iteration / epoch),
                            self.iteration,
                            means.get("g", 0.0),
                            f"{means['d']:.4f}" if "d" in means else "-",
                        )
                    epoch_means = _Means()
                if self.iteration % self.config.val_every == 0 or last or dry_run:
                    metrics = self._validate_and_track()
                    if not (last or dry_run):
                        self.save()  # a killed run (power cut, closed session) loses at most val_every iterations
                out_of_time = deadline is not None and time.monotonic() > deadline
                if self._agree(self._stop_requested or out_of_time or dry_run):
                    status = (
                        RunStatus.STOPPED
                        if self._stop_requested
                        else RunStatus.TIME_BUDGET
                        if out_of_time
                        else RunStatus.DRY_RUN
                    )
                    break
        finally:
            for sig, handler in handlers.items():
                signal.signal(sig, handler)
            self.close()
        if status != RunStatus.DRY_RUN:
            self.save()
        if not metrics and self.rank == 0:
            metrics = self.validate()
        self.emit(Event.DONE, status=status, metrics=metrics, best=self.best)
        return Outcome(status, self.iteration, self.best, metrics)

    def _validate_and_track(self) -> dict[str, float]:
        if self.rank:
            return {}
        metrics = self.validate()
        score = metrics.get("psnr", metrics.get("f1", metrics.get("diversity", 0.0)))
        if score > self.best:
            self.best = score
            checkpoint.save(
                self.files.best,
                checkpoint.module_tensors("ema", self.ema.model),
                {"iteration": self.iteration, "metrics": metrics},
            )
        self.emit(Event.VALIDATION, metrics=metrics, sample=str(self.files.samples))
        log.info("iteration %d: %s", self.iteration, "  ".join(f"{k} {v:.4f}" for k, v in metrics.items()))
        return metrics


@dataclass
class _Pacer:
    """Keeps a run's schedule sized to its time budget: sized once after the warm-up (``warm``, the first
    iterations are slow: allocations, caches), then checked every tenth of the budget, and when the schedule
    ends early, at the speed since the last check (a speed measured while the machine was busy, or idle, would
    otherwise end the run far from its deadline)."""

    deadline: float
    budget_s: float
    warm: int
    mark_t: float | None = None  # when the speed is measured from, and at which iteration
    mark_i: int = 0
    planned: bool = False

    def check(self, trainer: Trainer, now: float) -> None:
        iteration, iters = trainer.iteration, trainer.config.iters
        if iteration == self.warm:
            self.mark_t, self.mark_i = now, iteration
            return
        if self.mark_t is None:
            return
        elapsed, share = now - self.mark_t, FIT_SHARE * self.budget_s
        first = not self.planned and (iteration - self.mark_i >= FIT_MEASURE or elapsed > share)
        if not first and not (self.planned and (elapsed > share or iteration >= iters)):
            return
        rate = (iteration - self.mark_i) / max(elapsed, 1e-9)
        left = self.deadline - now
        if first or abs((iters - iteration) / max(rate, 1e-9) - left * FIT_MARGIN) > share:
            trainer.fit_schedule(left, rate)
        self.planned, self.mark_t, self.mark_i = True, now, iteration


class _Means:
    """Running means of the loss terms."""

    def __init__(self) -> None:
        self.sums: dict[str, float] = {}
        self.count = 0

    def add(self, values: dict[str, float]) -> None:
        for key, value in values.items():
            self.sums[key] = self.sums.get(key, 0.0) + value
        self.count += 1

    def means(self) -> dict[str, float]:
        return {k: v / max(self.count, 1) for k, v in self.sums.items()}


def threading_main() -> bool:
    """Signal handlers can only be installed from the main thread."""
    import threading

    return threading.current_thread() is threading.main_thread()


def configure_logging(verbose: bool = True) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        stream=sys.stderr,
        format="%(asctime)s %(message)s",
        datefmt="%H:%M:%S",
    )
