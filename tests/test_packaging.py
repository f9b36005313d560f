"""The desktop integration files agree with the app: ids, version, programs, image types, icons."""

from __future__ import annotations

import configparser
import xml.etree.ElementTree as ET
from pathlib import Path

from PIL import Image

from photogan import __version__
from photogan.core.formats import IMAGE_SUFFIXES

ROOT = Path(__file__).resolve().parent.parent
APP_ID = "io.github.photogan.Photogan"


def test_the_desktop_entry_and_metainfo_name_the_same_app_and_version() -> None:
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str  # type: ignore[assignment,method-assign]
    entry.read(ROOT / "packaging" / "linux" / f"{APP_ID}.desktop", encoding="utf-8")
    desktop = entry["Desktop Entry"]
    assert desktop["Exec"].split()[0] == "photogan-gui" and desktop["Icon"] == APP_ID
    types = set(desktop["MimeType"].strip(";").split(";"))
    assert {"image/jpeg", "image/png", "image/tiff", "image/webp"} <= types
    info = ET.parse(ROOT / "packaging" / "linux" / f"{APP_ID}.metainfo.xml").getroot()
    assert info.findtext("id") == APP_ID
    assert info.find("launchable").text == f"{APP_ID}.desktop"  # type: ignore[union-attr]
    assert info.find("releases/release").get("version") == __version__  # type: ignore[union-attr]
    assert {b.text for b in info.iter("binary")} == {"photogan", "photogan-gui"}
    assert {".jpg", ".png", ".tif", ".webp"} <= set(IMAGE_SUFFIXES)


def test_the_icon_exists_at_every_size_desktops_ask_for() -> None:
    icons = ROOT / "resources" / "icons"
    assert (icons / "photogan.svg").read_text(encoding="utf-8").lstrip().startswith("<?xml")
    for size in (16, 24, 32, 48, 64, 128, 256, 512):
        with Image.open(icons / f"photogan-{size}.png") as im:
            assert im.size == (size, size) and im.mode == "RGBA"
    with Image.open(icons / "photogan.ico") as ico:
        assert ico.format == "ICO"


def test_the_bundle_leaves_training_out_and_carries_the_resources() -> None:
    spec = (ROOT / "packaging" / "photogan.spec").read_text(encoding="utf-8")
    assert '"torch"' in spec and '"training"' in spec  # in EXCLUDES
    assert '"photogan/resources"' in spec  # where photogan.inference.registry.resources_dir looks in a bundle
    assert (ROOT / "resources" / "diagnostics" / "identity.onnx").stat().st_size > 0
