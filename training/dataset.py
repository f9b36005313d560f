"""One data pipeline for every task: clean photos from folders, task degradations made on the fly.

Photos are read through ``photogan.core`` (orientation applied, any bit depth; HEIC too when pillow-heif is
installed), kept as uint8 in memory, split once into training and validation photos (by a seed), and sampled as
random crops with flips and 90° rotations. All randomness comes from one seeded ``numpy`` generator whose state
is saved in checkpoints, so a resumed run draws exactly the batches an uninterrupted one would; or, with
``data_workers``, from one generator per batch seeded by the batch's iteration (:class:`BatchStream`), drawn
ahead by worker processes.
"""

from __future__ import annotations

import collections
import logging
import multiprocessing
from collections.abc import Callable
from dataclasses import replace
from multiprocessing.pool import AsyncResult
from pathlib import Path

import numpy as np
import torch

from photogan.core.errors import ImageReadError
from photogan.core.formats import find_images
from photogan.core.image import to_uint
from photogan.core.load import load_image
from training import archs
from training.config import TrainConfig
from training.damage import DetectDamage, InpaintDamage
from training.degradations import (
    HintedLuminance,
    RealPhotoDegradation,
    RestoreDegradation,
    UpscaleDegradation,
    grayscale,
)
from training.losses import neighbour_pair

log = logging.getLogger(__name__)

Degrade = Callable[[np.ndarray, np.random.Generator], np.ndarray]
VAL_SIDE = 256


def _heic_paths(folder: Path) -> list[Path]:
    try:
        import pillow_heif
    except ImportError:
        return []
    pillow_heif.register_heif_opener()
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in (".heic", ".heif"))


def _load_heic(path: Path) -> np.ndarray:
    from PIL import Image, ImageOps

    with Image.open(path) as im:
        return np.asarray(ImageOps.exif_transpose(im).convert("RGB"))


def collect_images(folders: list[Path]) -> list[Path]:
    """Image files under the folders (flat or nested), sorted, and the photo files given themselves; HEIC/HEIF
    when pillow-heif is installed.

    Raises:
        ValueError: A folder does not exist.
    """
    paths: list[Path] = []
    for folder in folders:
        if folder.is_file():  # one photo: a texture is learned from a single picture of it
            paths.append(folder)
            continue
        if not folder.is_dir():
            raise ValueError(f"training data folder not found: {folder}")
        paths += list(find_images(folder, recursive=True)) + _heic_paths(folder)
    return paths


def _shrunk(rgb: np.ndarray, max_side: int) -> np.ndarray:
    """The photo reduced (Lanczos) so that its longer side is at most ``max_side`` (0: as it is)."""
    if not max_side or max(rgb.shape[:2]) <= max_side:
        return rgb
    from PIL import Image

    factor = max_side / max(rgb.shape[:2])
    size = (max(1, round(rgb.shape[1] * factor)), max(1, round(rgb.shape[0] * factor)))
    return np.asarray(Image.fromarray(rgb).resize(size, Image.Resampling.LANCZOS))


def load_photos(paths: list[Path], min_side: int, max_side: int = 0) -> list[np.ndarray]:
    """Decodes photos to uint8 RGB (reduced to ``max_side``); unreadable files are skipped with a warning, small
    ones with a note."""
    photos = []
    for path in paths:
        try:
            rgb = (
                _load_heic(path)
                if path.suffix.lower() in (".heic", ".heif")
                else to_uint(load_image(path).rgb_pixels(), 8)
            )
        except (ImageReadError, OSError, ValueError) as exc:
            log.warning("skipping %s: %s", path, exc)
            continue
        rgb = _shrunk(rgb, max_side)
        if min(rgb.shape[:2]) < min_side:
            log.info("skipping %s: smaller than %d px", path.name, min_side)
            continue
        photos.append(np.ascontiguousarray(rgb))
    return photos


def task_degradation(config: TrainConfig, evaluation: bool = False) -> Degrade | None:
    """The degradation that makes a model input from a clean crop (None for ``generate``).

    With ``evaluation``, a restore mix never leaves a sample untouched: the clean crops that teach a model to
    leave good photos alone would score an unbounded PSNR (148 dB at an error of zero) and swamp the mean of the
    damaged ones (``benchmarks/quality.py`` measures the clean case on its own).
    """
    if config.task == "upscale":
        if config.degradation:  # the second-order real-photo pipeline, its strengths set by the run
            return RealPhotoDegradation.from_params(config.scale, config.degradation)
        kernel = config.kernel if config.kernel in ("bicubic", "bilinear", "area", "random") else "bicubic"
        return UpscaleDegradation(config.scale, kernel, real=config.real_degradations)  # type: ignore[arg-type]
    if config.task == "restore":
        mix = RestoreDegradation.from_params(config.degradation)
        if not evaluation:
            return mix
        damaging = replace(mix, clean_fraction=0.0)

        def always_damaged(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
            for _ in range(100):  # every kind can miss at once (about 2 % of draws with the default mix)
                out = damaging(image, rng)
                if not np.array_equal(to_uint(out, 8), to_uint(image, 8)):
                    return out
            raise ValueError("this degradation mix leaves photos untouched: raise some of its probabilities")

        return always_damaged
    if config.task == "inpaint":  # the photo with Telea-filled holes, and the mask
        return InpaintDamage.from_params(config.degradation)
    if config.task == "detect":  # the damaged photo, and the true mask the detector's loss reads
        detect = DetectDamage.from_params(config.degradation)
        return replace(detect, clean_fraction=0.0) if evaluation else detect
    if config.task == "colorize":
        if archs.takes_hints(config.arch):  # luminance + hint planes drawn from the true photo (none to validate)
            return replace(HintedLuminance.from_params(config.degradation), evaluation=evaluation)
        return lambda image, rng: grayscale(image)
    return None


def centre_crop(photo: np.ndarray, side: int, step: int) -> np.ndarray:
    """The photo's centre, at most ``side`` px each way, its sides cut to a multiple of ``step``."""
    h, w = (min(s, side) // step * step for s in photo.shape[:2])
    y, x = (photo.shape[0] - h) // 2, (photo.shape[1] - w) // 2
    return photo[y : y + h, x : x + w]


def neighbour_pairs(
    photos: list[np.ndarray], step: int, side: int = VAL_SIDE
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Validation pairs of a self-supervised run, from noisy photos alone: the two neighbour sub-images of each
    photo's centre (up to ``side`` px, sides a multiple of ``step``), chosen with a fixed seed. The network's
    output on the first scored against the second is its "neighbour PSNR": no clean photo is needed, and with
    noise independent between neighbours it ranks models as their PSNR against the clean photo would."""
    generator = torch.Generator().manual_seed(12345)
    pairs = []
    for photo in photos:
        noisy = to_tensor(centre_crop(photo, side, step)[None].astype(np.float32) / 255.0)
        first, second, _ = neighbour_pair(noisy, generator)
        pairs.append((first, second))
    return pairs


_WORKER_DATA: TaskData | None = None  # a worker process's copy of the photos and degradations


def _init_worker(data: TaskData) -> None:
    global _WORKER_DATA
    _WORKER_DATA = data
    import cv2

    cv2.setNumThreads(1)  # the workers are the parallelism


def _draw(iteration: int, size: int, rank: int) -> tuple[np.ndarray | None, np.ndarray]:
    assert _WORKER_DATA is not None
    return _WORKER_DATA.batch_at(iteration, size, rank)


class BatchStream:
    """The batches of iterations ``start``, ``start + 1``, … drawn ahead by ``workers`` processes.

    At most ``2 × workers`` batches wait at any time, so memory stays bounded. Batch i is
    :meth:`TaskData.batch_at` (i): the same with any number of workers, in order, and after a resume.
    """

    def __init__(self, data: TaskData, size: int, start: int, workers: int, rank: int = 0) -> None:
        self.size, self.rank, self.next = size, rank, start
        # spawned, not forked: a fork of a process whose other threads (onnxruntime's, Qt's, torch's) hold locks
        # can leave the worker deadlocked (it hung the test suite); each worker gets its own copy of the photos
        context = multiprocessing.get_context("spawn")
        self.pool = context.Pool(workers, initializer=_init_worker, initargs=(data,))
        self.pending: collections.deque[AsyncResult[tuple[np.ndarray | None, np.ndarray]]] = collections.deque()
        for _ in range(2 * workers):
            self._submit()

    def _submit(self) -> None:
        self.pending.append(self.pool.apply_async(_draw, (self.next, self.size, self.rank)))
        self.next += 1

    def __next__(self) -> tuple[torch.Tensor | None, torch.Tensor]:
        inputs, targets = self.pending.popleft().get()
        self._submit()
        return (None if inputs is None else to_tensor(inputs)), to_tensor(targets)

    def close(self) -> None:
        self.pool.terminate()
        self.pool.join()


def to_tensor(batch: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(batch)).permute(0, 3, 1, 2).contiguous()


class TaskData:
    """Training and validation data for one run.

    Args:
        config: The run's configuration (task, scale, patch, validation split, seed).
        folders: Folders of clean photos.

    Raises:
        ValueError: Fewer than two usable photos (one is needed for validation).
    """

    def __init__(self, config: TrainConfig, folders: list[Path]) -> None:
        self.config = config
        paths = collect_images(folders)
        photos = load_photos(paths, config.patch, config.max_side)
        needed = 1 if config.task == "generate" else 2  # generate validates on its own samples, not held-out photos
        if len(photos) < needed:
            raise ValueError(
                f"found {len(photos)} usable photo(s) of at least {config.patch} px in "
                f"{', '.join(map(str, folders))} ({len(paths)} image files); training needs at least {needed}"
            )
        order = np.random.default_rng(config.seed).permutation(len(photos))
        count = int(min(config.val_max, max(1, round(len(photos) * config.val_fraction))))
        if config.task == "generate":
            count = 0
        self.val_photos = [photos[i] for i in order[:count]]
        self.train_photos = [photos[i] for i in order[count:]]
        sizes = np.array([p.shape[0] * p.shape[1] for p in self.train_photos], dtype=np.float64)
        self.weights = sizes / sizes.sum()  # large photos hold more distinct crops
        self.degrade, self.val_degrade = self._degradation(), self._degradation(evaluation=True)
        self.rng = np.random.default_rng(config.seed + 1)
        log.info("%d training photos, %d validation photos", len(self.train_photos), len(self.val_photos))

    def __getstate__(self) -> dict[str, object]:
        """What a data worker needs (:class:`BatchStream`): the training photos and the recipe, which rebuilds the
        degradations there (the recipe's frozen mappings do not pickle)."""
        state = self.__dict__.copy()
        state.update(config=self.config.to_dict(), val_photos=[], degrade=None, val_degrade=None)
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self.config = TrainConfig.from_dict(state["config"])  # type: ignore[arg-type]
        self.degrade = self._degradation()

    def _degradation(self, evaluation: bool = False) -> Degrade | None:
        """The run's damage for its training (or, with ``evaluation``, validation) crops; none for a
        self-supervised restore run, whose noisy photos are the inputs and the targets (losses.neighbour_loss)."""
        return None if self.config.self_supervised else task_degradation(self.config, evaluation=evaluation)

    def reseed(self, offset: int) -> None:
        """Gives this process its own stream (one per distributed rank)."""
        self.rng = np.random.default_rng(self.config.seed + 1 + 1000 * offset)

    def _crop(self, photo: np.ndarray) -> np.ndarray:
        side = self.config.patch
        if self.config.task == "generate":  # random scale, so textures are seen at several sizes
            side = int(min(min(photo.shape[:2]), self.rng.uniform(*self.config.crop_scale) * self.config.patch))
        y = int(self.rng.integers(0, photo.shape[0] - side + 1))
        x = int(self.rng.integers(0, photo.shape[1] - side + 1))
        crop = photo[y : y + side, x : x + side]
        augment = self.config.augment
        if augment == "rotate":
            crop = np.rot90(crop, int(self.rng.integers(0, 4)))
        if augment != "none" and self.rng.integers(0, 2):
            crop = crop[:, ::-1]
        out = crop.astype(np.float32) / 255.0
        if side != self.config.patch:
            from PIL import Image

            resized = Image.fromarray(np.ascontiguousarray(crop)).resize((self.config.patch,) * 2, Image.Resampling.BOX)
            out = np.asarray(resized, dtype=np.float32) / 255.0
        return np.ascontiguousarray(out)

    def batch(self, size: int) -> tuple[torch.Tensor | None, torch.Tensor]:
        """(inputs, targets) as N×3×H×W float tensors; inputs is None for ``generate``."""
        inputs, targets = self.batch_arrays(size)
        return (None if inputs is None else to_tensor(inputs)), to_tensor(targets)

    def batch_arrays(self, size: int) -> tuple[np.ndarray | None, np.ndarray]:
        """What :meth:`batch` gives, as N×H×W×3 float32 arrays (what a worker process sends back)."""
        picks = self.rng.choice(len(self.train_photos), size=size, p=self.weights)
        targets = [self._crop(self.train_photos[k]) for k in picks]
        if self.degrade is None:
            return None, np.stack(targets)
        inputs = [self.degrade(t, self.rng) for t in targets]
        return np.stack(inputs), np.stack(targets)

    def batch_at(self, iteration: int, size: int, rank: int = 0) -> tuple[np.ndarray | None, np.ndarray]:
        """The batch of one iteration, from a generator seeded by (seed, rank, iteration) alone."""
        self.rng = np.random.default_rng([self.config.seed + 1, rank, iteration])
        return self.batch_arrays(size)

    def validation_pairs(self, multiple: int = 4) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Fixed (input, target) pairs: a centre crop of each validation photo (sides a multiple of ``multiple``
        input pixels, what the generator takes), degraded with a fixed seed."""
        if self.config.self_supervised:
            return neighbour_pairs(self.val_photos, 2 * max(4, multiple))
        if self.val_degrade is None:
            return []
        rng = np.random.default_rng(12345)
        step = max(4, multiple) * self.config.scale
        pairs = []
        for photo in self.val_photos:
            target = centre_crop(photo, VAL_SIDE, step).astype(np.float32) / 255.0
            pairs.append((to_tensor(self.val_degrade(target, rng)[None]), to_tensor(target[None])))
        return pairs
