"""A real window: the screenshot script opens the sample photo in photogan's window, previews, enhances, runs a
batch and saves screenshots. Under Xvfb (when ``xvfb-run`` is installed, as CI installs it) this is a real X11
window; otherwise it runs offscreen."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, SAMPLE
from PIL import Image

pytest.importorskip("PySide6")


@pytest.mark.slow
def test_the_window_enhances_a_photo_and_saves_screenshots(tmp_path: Path) -> None:
    out = tmp_path / "shots"
    command = [sys.executable, str(REPO / "scripts" / "gui_screenshots.py"), str(SAMPLE), "-o", str(out),
               "--queue", str(SAMPLE), "--size", "1024x700"]  # fmt: skip
    env = {**os.environ, "PHOTOGAN_MODELS_DIR": str(tmp_path / "models")}
    if shutil.which("xvfb-run"):
        command = ["xvfb-run", "-a", "-s", "-screen 0 1280x800x24", *command]
        env.pop("QT_QPA_PLATFORM", None)
    else:
        env["QT_QPA_PLATFORM"] = "offscreen"
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    shots = sorted(p.name for p in out.glob("*.png"))
    assert shots == [
        "1-preview-visible-region.png",
        "2-split-view.png",
        "3-side-by-side-400pct.png",
        "4-batch-queue.png",
        "8-generate.png",  # a texture model is bundled: the generate panel too
    ]
    for name in shots:
        with Image.open(out / name) as shot:
            assert shot.size == (1024, 700)
            assert len(shot.convert("L").getcolors(65536) or []) > 50  # a drawn window, not a blank one


def test_photogan_gui_is_a_command() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "photogan.cli.main", "gui", "--help"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "usage: photogan gui" in done.stdout and "FILES" in done.stdout.upper()
