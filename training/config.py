"""Training configuration: one frozen dataclass, read from TOML or YAML (no eval), saved in the run folder."""

from __future__ import annotations

import json
import tomllib
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from training.losses import FidelityWeights

TASKS = ("upscale", "restore", "colorize", "generate", "inpaint", "detect")
AUGMENTATIONS = ("rotate", "flip", "none")
#: A fidelity table names the terms it uses; the terms it does not name are off (the loss's defaults, a
#: Charbonnier term, hold only where a recipe gives no table)
FIDELITY_OFF = {term.name: 0.0 for term in fields(FidelityWeights)}
DEFAULT_ARCH = {
    "upscale": "compact",
    "restore": "restorer",
    "colorize": "colorizer",
    "generate": "sgan",
    "inpaint": "inpainter",
    "detect": "damage-detector",
}


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a training run.

    The default recipe follows DCGAN/SRGAN practice: pixel-loss pre-training, then (if ``gan_start`` is set)
    adversarial fine-tuning with a DCGAN-style discriminator, Adam β1 0.5 in the GAN phase, BCE with logits and
    one-sided label smoothing. ``generate`` runs are adversarial from the start.
    """

    task: str = "upscale"
    scale: int = 4
    arch: str = ""
    arch_params: Any = field(default_factory=dict)
    patch: int = 128  # target crop side (input crop is patch // scale for upscale)
    batch: int = 16
    iters: int = 20000
    lr: float = 2e-4
    betas: tuple[float, float] = (0.9, 0.99)
    gan_start: int | None = None
    gan_lr: float = 1e-4
    gan_betas: tuple[float, float] = (0.5, 0.999)
    gan_loss: str = "bce"
    gan_weight: float = 0.01
    real_label: float = 0.9
    feature_matching: float = 0.0  # weight of L1 between D's features on output and original (unet-d)
    # image-to-image GAN phase: its first iterations train the critic alone on the generator's outputs, the
    # generator frozen (DeOldify's "NoGAN"), so the generator's first adversarial gradients come from a critic
    # that already tells its outputs from photos instead of from a random one
    critic_warmup: int = 0
    # generate: weight of the spectrum term (training.losses.SpectrumLoss), the scale of a texture's structure
    spectrum: float = 0.0
    discriminator: str = ""  # patch-d for image-to-image, dcgan-d for generate
    d_params: Any = field(default_factory=dict)
    fidelity: FidelityWeights = field(default_factory=FidelityWeights)
    ema_decay: float = 0.999
    val_every: int = 500
    val_fraction: float = 0.05
    val_max: int = 8
    log_every: int = 50
    kernel: str = "bicubic"
    real_degradations: bool = False
    # restore: RestoreDegradation fields (the damage mix). upscale: a non-empty table of RealPhotoDegradation fields
    # (e.g. { clean_fraction = 0.1 }) selects the second-order real-photo pipeline with those strengths
    degradation: Any = field(default_factory=dict)
    latent: int = 100
    # generate: crops of (crop_scale × patch) px box-downscaled to patch (the size the texture is learned at).
    # Every task: the augmentations the photos allow, "rotate" (90° turns and mirrors), "flip" (mirrored
    # left-right only: bark, grass and other textures with an up), "none"
    crop_scale: tuple[float, float] = (1.0, 2.0)
    # generate with a noise field (sgan): side in cells of the training fields; their textures are cut into the
    # whole patch crops they hold (a 12-cell field, four 96 px crops), which fill the batch: fewer, larger fields at
    # the cost of the crops'. 0: the patch's own cells (96 px crops of a 16 px cell: a 6-cell torus, smaller than
    # what one unit of the generator sees, so it sees some noise twice, which it never does on the big fields it
    # draws, and no structure larger than the crop)
    field: int = 0
    augment: str = "rotate"
    # photos are reduced (Lanczos) to this longer side when loaded, 0 keeps them as they are: colorize learns
    # objects at the size photogan shows them to it (its working resolution)
    max_side: int = 0
    # a fine-tune: the model id it starts from (its recipe is the base's own, see training.cli), so the run can
    # report itself against that model on held-out photos and be exported from its last weights
    base: str = ""
    # restore only: learn from noisy photos alone (scans with no clean originals), Neighbor2Neighbor's
    # self-supervised loss; no degradation is drawn, the photos are both input and target
    self_supervised: bool = False
    # a fine-tune: weight of the squared distance of the weights from the base's (L2-SP, Li et al. 2018), which
    # holds the network near what it learned from many photos while it learns the user's few
    anchor: float = 0.0
    # a base of another shape (--base with new arch_params): start from the base's weights wherever a tensor's name
    # and shape match, the rest fresh (e.g. restore's core kept under a faster front and back end)
    transplant: bool = False
    # only the generator's parameters whose names start with one of these train, the rest frozen (a new head over a
    # trained network, e.g. a colorizer's "saturation."); empty: all of them
    trainable: tuple[str, ...] = ()
    # iterations of linear learning-rate warm-up (a fine-tune's fresh Adam moments would otherwise take full steps)
    warmup: int = 0
    seed: int = 0
    # worker processes that draw batches ahead of the training step (crops and degradations are numpy on the CPU,
    # 45 ms per batch of 16 restore crops on one core: a GPU step is a few). Batch i then comes from a generator
    # seeded by (seed, rank, i), the same with any number of workers and after a resume; 0: drawn in the training
    # process from one generator kept in the checkpoint
    data_workers: int = 0
    amp: bool = True
    channels_last: bool = True

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ValueError(f"unknown task {self.task!r}: use one of {', '.join(TASKS)}")
        if self.task == "upscale" and self.scale not in (2, 3, 4):
            raise ValueError(f"upscale needs --scale 2, 3 or 4, got {self.scale}")
        if self.task != "upscale" and self.scale != 1:
            object.__setattr__(self, "scale", 1)
        if self.data_workers < 0:
            raise ValueError(f"data_workers must be 0 or more, got {self.data_workers}")
        if self.patch % (2 * self.scale) or self.batch < 1 or self.iters < 1:
            raise ValueError("patch must be a multiple of 2×scale; batch and iters must be positive")
        if self.augment not in AUGMENTATIONS:
            raise ValueError(f"unknown augment {self.augment!r}: use one of {', '.join(AUGMENTATIONS)}")
        if self.self_supervised and self.task != "restore":
            raise ValueError(f"self-supervised training is for restore models, not {self.task}")
        if self.spectrum and self.task != "generate":
            raise ValueError(f"the spectrum term is for texture models (task generate), not {self.task}")
        if self.field < 0:
            raise ValueError(f"field must be 0 or more cells, got {self.field}")
        if self.critic_warmup < 0 or (self.critic_warmup and self.task == "generate"):
            raise ValueError("critic_warmup must be 0 or more iterations, and is for image-to-image tasks")
        if self.warmup < 0:
            raise ValueError(f"warmup must be 0 or more iterations, got {self.warmup}")
        if self.max_side and self.max_side < self.patch:
            raise ValueError(f"max_side ({self.max_side}) must be 0 or at least the patch ({self.patch})")
        if not 1.0 <= self.crop_scale[0] <= self.crop_scale[1]:
            raise ValueError(f"crop_scale must be (low, high) with 1 <= low <= high, got {tuple(self.crop_scale)}")
        if not self.arch:
            object.__setattr__(self, "arch", DEFAULT_ARCH[self.task])
        if not self.discriminator:
            object.__setattr__(self, "discriminator", "dcgan-d" if self.arch == "dcgan" else "patch-d")
        if self.task == "generate" and self.gan_start is None:
            object.__setattr__(self, "gan_start", 0)
        object.__setattr__(self, "arch_params", MappingProxyType(dict(self.arch_params)))
        object.__setattr__(self, "d_params", MappingProxyType(dict(self.d_params)))
        object.__setattr__(self, "degradation", MappingProxyType(dict(self.degradation)))
        object.__setattr__(self, "betas", tuple(self.betas))
        object.__setattr__(self, "gan_betas", tuple(self.gan_betas))
        object.__setattr__(self, "crop_scale", tuple(self.crop_scale))
        object.__setattr__(self, "trainable", tuple(self.trainable))
        if isinstance(self.fidelity, dict):
            object.__setattr__(self, "fidelity", FidelityWeights(**{**FIDELITY_OFF, **self.fidelity}))

    @property
    def adversarial(self) -> bool:
        return self.gan_start is not None

    def to_dict(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["arch_params"] = dict(self.arch_params)
        data["d_params"] = dict(self.d_params)
        data["degradation"] = dict(self.degradation)
        data["fidelity"] = asdict(self.fidelity)
        data["betas"], data["gan_betas"] = list(self.betas), list(self.gan_betas)
        data["crop_scale"] = list(self.crop_scale)
        data["trainable"] = list(self.trainable)
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    def with_overrides(self, **overrides: Any) -> TrainConfig:
        """A copy with the given fields changed (None values are ignored).

        Changing the task also resets what was derived from the old one (architecture, discriminator, the
        adversarial start of ``generate``, the scale of ``upscale``) unless those are given too.
        """
        changes = {k: v for k, v in overrides.items() if v is not None}
        task = changes.get("task", self.task)
        if task != self.task:
            changes.setdefault("arch", "")
            changes.setdefault("discriminator", "")
            if self.task == "generate":
                changes.setdefault("gan_start", None)
            if task == "upscale" and self.scale == 1:
                changes.setdefault("scale", 4)
        return replace(self, **changes)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown configuration keys: {', '.join(unknown)}")
        return cls(**data)

    @classmethod
    def from_file(cls, path: Path) -> TrainConfig:
        """Reads a ``.toml`` or ``.yaml``/``.yml`` file (YAML needs PyYAML)."""
        return cls.from_dict(read_config_file(path))


def read_config_file(path: Path) -> dict[str, Any]:
    """The fields a ``.toml``, ``.yaml``/``.yml`` or ``.json`` configuration file sets (YAML needs PyYAML)."""
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() == ".toml":
        return tomllib.loads(text)
    if path.suffix.lower() in (".yaml", ".yml"):
        try:
            import yaml
        except ImportError:
            raise ValueError("YAML configs need PyYAML (pip install pyyaml); TOML works without it") from None
        return dict(yaml.safe_load(text) or {})
    if path.suffix.lower() == ".json":
        return dict(json.loads(text))
    raise ValueError(f"{path.name}: use a .toml, .yaml or .json configuration file")
