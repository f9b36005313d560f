"""Renders resources/icons/photogan.svg to the PNG sizes desktops ask for (16–512) and the Windows .ico.

    .venv/bin/python packaging/make_icons.py        # writes resources/icons/photogan-SIZE.png and photogan.ico

Uses Qt's SVG renderer (PySide6, the gui extra) and Pillow for the .ico; run again after changing the SVG.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

ICONS = Path(__file__).resolve().parent.parent / "resources" / "icons"
SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def main() -> None:
    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    renderer = QSvgRenderer(str(ICONS / "photogan.svg"))
    if not renderer.isValid():
        raise SystemExit("photogan.svg is not a valid SVG")
    for size in SIZES:
        image = QImage(size, size, QImage.Format.Format_ARGB32)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        renderer.render(painter)
        painter.end()
        image.save(str(ICONS / f"photogan-{size}.png"))
    Image.open(ICONS / "photogan-256.png").save(ICONS / "photogan.ico", sizes=[(s, s) for s in SIZES if s <= 256])
    del app
    print(ICONS)


if __name__ == "__main__":
    main()
