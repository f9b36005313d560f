"""The anchor network (a competitor's ×4 upscaler, ``../shared/anchors/``) run through photogan's own inference path.

For side-by-side benchmarks only: it is never bundled, never registered and never trained from. It has no photogan
metadata, so the benchmarks describe it here (tiled, 16 px of context, as photogan's compact ×4 models) and wrap
its onnxruntime session in a :class:`~photogan.inference.session.ModelSession`: tiling, blending and 8-bit output
are exactly photogan's, so only the networks differ.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from photogan.inference.model_info import ModelInfo
from photogan.inference.session import Device, ModelSession, SessionCache

ANCHOR_ID = "anchor-realesr-general-x4v3"
DEFAULT_ANCHOR = Path(__file__).resolve().parents[2] / "shared" / "anchors" / "realesr-general-x4v3.onnx"


def anchor_info(path: Path) -> ModelInfo:
    return ModelInfo(
        id=ANCHOR_ID,
        name="anchor: realesr-general-x4v3 (benchmarks only)",
        task="upscale",
        scale=4,
        arch="SRVGGNetCompact",
        tiling="tiled",
        tile_pad=16,
        licence="BSD-3-Clause (Real-ESRGAN); benchmarks only, never bundled",
        path=path,
    )


def open_anchor(path: Path, device: str = "auto") -> ModelSession:
    """The anchor as a photogan session (``SystemExit`` with a hint when the file is missing)."""
    if not path.exists():
        raise SystemExit(f"anchor model not found: {path} (pass --anchor PATH, or --no-anchor)")
    return SessionCache(capacity=1).get(anchor_info(path), Device.parse(device))


def anchor_models_dir(path: Path) -> Path:
    """A temporary models folder holding a copy of the anchor with photogan metadata, so that the whole
    ``photogan enhance`` process can run it (``PHOTOGAN_MODELS_DIR``). The caller removes the folder."""
    import onnx  # the train extra's; only this whole-process benchmark needs it

    folder = Path(tempfile.mkdtemp(prefix="photogan-anchor-"))
    model = onnx.load(str(path))
    del model.metadata_props[:]
    info = anchor_info(path)
    for key, value in info.to_metadata().items():
        model.metadata_props.add(key=key, value=value)
    target = folder / f"{ANCHOR_ID}.onnx"
    try:
        onnx.save(model, str(target))
    except Exception:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return folder
