"""``photogan doctor``: what this machine offers photogan, for the user and for bug reports.

Versions (photogan, Python, onnxruntime, Qt, Pillow, numpy, OpenCV, torch when installed), the execution
providers that really run a model (each tried on a tiny identity model, not taken from
``get_available_providers``, which lists CUDA on machines without a GPU), the GPU when CUDA works, the model
folders and their models, photogan's folders and whether they take files, and free memory and disk.
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from photogan import __version__
from photogan.app.queue import default_state_path
from photogan.app.settings import default_output_dir, default_settings_path, log_dir
from photogan.core.memory import available_memory
from photogan.inference.registry import bundled_models_dir, resources_dir, user_models_dir
from photogan.inference.session import CUDA, ProviderCheck, check_providers

PACKAGES = (
    "onnxruntime-gpu",
    "onnxruntime",
    "PySide6-Essentials",
    "PySide6",
    "pillow",
    "numpy",
    "opencv-python-headless",
    "tifffile",
    "pillow-heif",
    "rawpy",
    "torch",
)


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def _writable(folder: Path) -> tuple[bool, str]:
    """Whether photogan can write in ``folder``: a file is created there and removed, or, for a folder not made
    yet, in the nearest folder above it that exists (nothing is created for good)."""
    target, missing = folder, False
    while not target.exists() and target.parent != target:
        target, missing = target.parent, True
    try:
        with tempfile.NamedTemporaryFile(dir=target, prefix=".photogan-doctor-"):
            pass
    except OSError as exc:
        return False, f"not writable: {exc.strerror or exc}"
    return True, "not created yet; can be" if missing else "writable"


def _gpus() -> list[dict[str, str]]:
    """NVIDIA GPUs from ``nvidia-smi`` (name, memory), when it is installed."""
    tool = shutil.which("nvidia-smi")
    if tool is None:
        return []
    try:
        out = subprocess.run(
            [tool, "--query-gpu=name,memory.total,driver_version", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    gpus = []
    for line in out.strip().splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) == 3:
            gpus.append({"name": parts[0], "memory": parts[1], "driver": parts[2]})
    return gpus


def _models_in(folder: Path) -> dict[str, Any]:
    count = len(list(folder.glob("*.onnx"))) if folder.is_dir() else 0
    return {"path": str(folder), "models": count, "exists": folder.is_dir()}


def report(providers: list[str] | None = None) -> dict[str, Any]:
    """Everything ``photogan doctor`` says, as plain data (``--json`` prints it as it is)."""
    checks: list[ProviderCheck] = check_providers(resources_dir() / "diagnostics" / "identity.onnx", providers)
    folders = {
        "settings": default_settings_path().parent,
        "queue": default_state_path().parent,
        "log": log_dir(),
        "user models": user_models_dir(),
        "default output": default_output_dir(),
    }
    folder_rows = {}
    for name, folder in folders.items():
        ok, detail = _writable(folder)
        folder_rows[name] = {"path": str(folder), "writable": ok, "detail": detail}
    try:
        disk_free: int | None = shutil.disk_usage(Path.home()).free
    except OSError:
        disk_free = None
    cuda_works = any(c.works for c in checks if c.name == CUDA)
    return {
        "photogan": __version__,
        "python": f"{platform.python_version()} ({sys.executable})",
        "platform": f"{platform.system()} {platform.release()} {platform.machine()}",
        "packages": {p: v for p in PACKAGES if (v := _version(p)) is not None},
        "providers": [{"name": c.name, "works": c.works, "detail": c.detail} for c in checks],
        "gpus": _gpus() if cuda_works or shutil.which("nvidia-smi") else [],
        "model folders": {"bundled": _models_in(bundled_models_dir()), "user": _models_in(user_models_dir())},
        "folders": folder_rows,
        "memory available": available_memory(),
        "cpus": os.cpu_count(),
        "disk free (home folder)": disk_free,
    }


def _size(value: int | None) -> str:
    return "unknown" if value is None else f"{value / 2**30:.1f} GiB"


def format_report(data: dict[str, Any]) -> str:
    """The report as text for a terminal or a bug report."""
    lines = [
        f"photogan {data['photogan']}",
        f"Python {data['python']}",
        f"platform {data['platform']}, {data['cpus']} CPUs, {_size(data['memory available'])} memory available, "
        f"{_size(data['disk free (home folder)'])} free disk in the home folder",
        "packages: " + ", ".join(f"{k} {v}" for k, v in data["packages"].items()),
        "execution providers (each tried on a tiny model):",
    ]
    for check in data["providers"]:
        lines.append(f"  {'ok  ' if check['works'] else 'FAIL'} {check['name']}: {check['detail']}")
    if not any(c["works"] and c["name"] != "CPUExecutionProvider" for c in data["providers"]):
        lines.append("  photogan runs on the CPU here")
    for gpu in data["gpus"]:
        lines.append(f"GPU: {gpu['name']}, {gpu['memory']}, driver {gpu['driver']}")
    lines.append("model folders:")
    for name, folder in data["model folders"].items():
        state = f"{folder['models']} models" if folder["exists"] else "not created yet"
        lines.append(f"  {name}: {folder['path']} ({state})")
    lines.append("folders:")
    for name, folder in data["folders"].items():
        lines.append(f"  {name}: {folder['path']} ({folder['detail']})")
    return "\n".join(lines)
