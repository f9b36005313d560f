"""Generating images from ``generate`` models (noise vector → texture or background)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from photogan.core.errors import ModelError
from photogan.core.image import Photo
from photogan.core.save import save_image
from photogan.inference.model_info import ModelInfo
from photogan.inference.session import ModelSession


def noise(session: ModelSession, seed: int, count: int = 1) -> np.ndarray:
    """Standard normal noise vectors for the model, reproducible from ``seed``."""
    latent = int(session.info.arch_params.get("latent", 0))
    if session.info.task != "generate" or latent <= 0:
        raise ModelError(f"{session.info.id} is not a generate model (task {session.info.task})")
    return np.random.default_rng(seed).standard_normal((count, latent)).astype(np.float32)


def interpolate(a: np.ndarray, b: np.ndarray, steps: int) -> np.ndarray:
    """Spherical interpolation between two noise vectors (stays at the typical radius of Gaussian noise)."""
    a, b = a.ravel(), b.ravel()
    omega = np.arccos(np.clip(np.dot(a / np.linalg.norm(a), b / np.linalg.norm(b)), -1.0, 1.0))
    ts = np.linspace(0.0, 1.0, steps)[:, None]
    if omega < 1e-6:
        return ((1 - ts) * a + ts * b).astype(np.float32)
    return ((np.sin((1 - ts) * omega) * a + np.sin(ts * omega) * b) / np.sin(omega)).astype(np.float32)


def generate(session: ModelSession, vectors: np.ndarray) -> list[Photo]:
    """Runs the model on N×latent noise; returns one photo per vector."""
    images = np.clip(session.run(np.ascontiguousarray(vectors, dtype=np.float32)), 0.0, 1.0)
    return [Photo(np.ascontiguousarray(image.transpose(1, 2, 0))) for image in images]


def is_tileable(info: ModelInfo) -> bool:
    """Whether the model draws tiles that repeat without a seam (trained with circular padding)."""
    return info.task == "generate" and bool(info.arch_params.get("tileable", False))


def tile(photo: Photo, times: int) -> Photo:
    """``times`` × ``times`` copies of a tile side by side: a larger seamless background from a tileable model."""
    if times < 1:
        raise ValueError(f"tile count must be at least 1, got {times}")
    return Photo(np.ascontiguousarray(np.tile(photo.pixels, (times, times, 1))))


def save_generated(photos: list[Photo], folder: Path, stem: str, fmt: str = "png", tiles: int = 1) -> list[Path]:
    """Saves generated images as ``stem-0001.png`` … (atomically, like every photogan output), each as a
    ``tiles`` × ``tiles`` mosaic when ``tiles`` > 1."""
    folder.mkdir(parents=True, exist_ok=True)
    if tiles > 1:
        photos = [tile(photo, tiles) for photo in photos]
    return [save_image(photo, folder / f"{stem}-{i:04d}.{fmt}") for i, photo in enumerate(photos, start=1)]
