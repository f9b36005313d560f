"""What a photographer's disk holds: iPhone HEIC, AVIF, GIF, camera RAW (DNG built here), and files photogan does not
read in a folder, which are listed with the reason, never dropped without a word."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import numpy as np
import pytest
from conftest import random_image
from dng import ASCII, BYTE, RATIONAL, SHORT, write_dng
from PIL import Image, ImageCms

from photogan.app.batch import plan_batch
from photogan.cli.main import main
from photogan.core.errors import ImageReadError
from photogan.core.formats import register_heif
from photogan.core.load import load_image
from photogan.core.save import save_image


def _rgb8(h: int, w: int) -> np.ndarray:
    return (random_image(h, w) * 255).astype(np.uint8)


DATE_TAKEN = 0x9003  # DateTimeOriginal, in the Exif IFD
EXIF_IFD = 0x8769
GPS_IFD = 0x8825


def _exif(date: str, orientation: int = 1) -> bytes:
    exif = Image.Exif()
    exif[0x0110] = "iPhone 15"
    exif[0x0112] = orientation
    exif.get_ifd(EXIF_IFD)[DATE_TAKEN] = date
    return exif.tobytes()


def _read_exif(path: Path) -> Image.Exif:
    register_heif()
    with Image.open(path) as im:
        exif = im.getexif()
        exif.get_ifd(EXIF_IFD), exif.get_ifd(GPS_IFD)  # read while the file is open
        return exif


def test_an_iphone_heic_comes_out_enhanced_as_heic_with_its_date_taken(tmp_path: Path, models_dir: Path) -> None:
    register_heif()
    src = tmp_path / "IMG_0001.HEIC"
    Image.fromarray(_rgb8(48, 64)).save(src, format="HEIF", quality=95, exif=_exif("2024:07:14 18:30:02", 6))
    out = tmp_path / "out"
    assert main(["enhance", str(src), "-o", str(out), "--model", str(models_dir / "nearest2.onnx")]) == 0
    [result] = out.iterdir()
    assert result.suffix == ".HEIC"  # the same format, the original's spelling
    exif = _read_exif(result)
    assert exif.get_ifd(EXIF_IFD)[DATE_TAKEN] == "2024:07:14 18:30:02" and exif[0x0110] == "iPhone 15"
    assert exif.get(0x0112, 1) == 1  # upright pixels: not turned a second time by viewers
    with Image.open(result) as im:
        assert im.size == (96, 128)  # stored 64×48 with orientation 6: upright 48×64, then ×2


def test_a_10_bit_heic_is_read_at_full_depth(tmp_path: Path) -> None:
    import pillow_heif

    ramp = np.linspace(0, 0.25, 256, dtype=np.float32)  # 256 levels in 10 bits, 64 in 8
    levels = np.round(np.tile(ramp, (16, 1))[..., None].repeat(3, axis=2) * 1023).astype(np.uint16) << 6
    heif = pillow_heif.from_bytes(mode="RGB;16", size=(256, 16), data=levels.tobytes())
    heif.save(tmp_path / "hdr.heic", quality=95)
    photo = load_image(tmp_path / "hdr.heic")
    assert photo.bit_depth == 16
    steps = np.unique(np.round(photo.pixels[8, :, 1] * 65535))
    assert len(steps) > 150
    assert np.abs(photo.pixels[8, :, 1] - ramp).max() < 0.01


def test_avif_in_and_out_keeps_exif(tmp_path: Path) -> None:
    src = tmp_path / "photo.avif"
    Image.fromarray(_rgb8(32, 40)).save(src, format="AVIF", quality=90, exif=_exif("2023:01:02 03:04:05"))
    photo = load_image(src)
    assert (photo.width, photo.height, photo.source_format) == (40, 32, "AVIF")
    save_image(photo, tmp_path / "copy.avif")
    assert _read_exif(tmp_path / "copy.avif").get_ifd(EXIF_IFD)[DATE_TAKEN] == "2023:01:02 03:04:05"


def test_an_animated_gif_gives_its_first_frame_as_png_with_a_warning(
    tmp_path: Path, models_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    frames = [Image.fromarray(np.full((20, 30, 3), 40 * i, np.uint8)) for i in range(1, 4)]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:])
    out = tmp_path / "out"
    with caplog.at_level(logging.WARNING):
        assert (
            main(["enhance", str(tmp_path / "anim.gif"), "-o", str(out), "--model", str(models_dir / "identity.onnx")])
            == 0
        )
    assert "holds 3 frames: only the first is enhanced" in caplog.text
    result = load_image(out / "anim.png")  # a GIF's 256 colours are no place for an enhanced photo
    assert abs(float(result.pixels.mean()) * 255 - 40) < 2


def _scene(h: int = 64, w: int = 96) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([0.15 + 0.7 * x / w, np.full((h, w), 0.4), 0.15 + 0.7 * y / h], axis=-1)


CAMERA_EXIF = {
    DATE_TAKEN: (ASCII, "2024:03:04 05:06:07"),
    0x829A: (RATIONAL, [(1, 250)]),  # ExposureTime
    0x829D: (RATIONAL, [(28, 10)]),  # FNumber
    0x8827: (SHORT, 200),  # ISO
    0xA434: (ASCII, "Test 50mm F1.8"),  # LensModel
}
CAMERA_GPS = {0: (BYTE, (2, 3, 0, 0)), 1: (ASCII, "N"), 2: (RATIONAL, [(52, 1), (30, 1), (0, 1)])}


def test_a_dng_comes_out_as_a_16_bit_tiff_with_its_camera_exif(tmp_path: Path, models_dir: Path) -> None:
    src = write_dng(tmp_path / "DSC_0042.dng", _scene(), CAMERA_EXIF, CAMERA_GPS)
    out = tmp_path / "out"
    assert main(["enhance", str(src), "-o", str(out), "--model", str(models_dir / "identity.onnx")]) == 0
    result = out / "DSC_0042.tif"
    photo = load_image(result)
    assert (photo.width, photo.height, photo.bit_depth) == (96, 64, 16)
    assert photo.icc_profile and "sRGB" in ImageCms.getProfileDescription(
        ImageCms.ImageCmsProfile(io.BytesIO(photo.icc_profile))
    )
    red, blue = photo.pixels[..., 0], photo.pixels[..., 2]
    assert red[:, -8:].mean() > red[:, :8].mean() + 0.2 and blue[-8:].mean() > blue[:8].mean() + 0.2  # the scene
    exif = _read_exif(result)
    assert (exif[0x010F], exif[0x0110]) == ("PhotoganTest", "Bayer One")
    sub = exif.get_ifd(EXIF_IFD)
    assert sub[DATE_TAKEN] == "2024:03:04 05:06:07" and sub[0xA434] == "Test 50mm F1.8" and sub[0x8827] == 200
    assert float(sub[0x829A]) == pytest.approx(1 / 250) and float(sub[0x829D]) == pytest.approx(2.8)
    assert exif.get_ifd(GPS_IFD)[1] == "N"
    assert not {33421, 33422, 50706, 50721} & set(exif)  # none of the RAW's mosaic or DNG colour tags


def test_a_raw_is_developed_at_the_exposure_it_was_shot_with(tmp_path: Path) -> None:
    """A grey card at 40 % of the sensor's range comes out as 40 % linear light in sRGB (0.665): not brightened
    until something clips, not tinted (a neutral white balance as shot)."""
    photo = load_image(write_dng(tmp_path / "card.dng", np.full((64, 96, 3), 0.4), CAMERA_EXIF))
    assert np.abs(photo.pixels.mean(axis=(0, 1)) - 0.665).max() < 0.01


def test_a_raw_shot_in_portrait_comes_out_upright(tmp_path: Path) -> None:
    photo = load_image(write_dng(tmp_path / "portrait.dng", _scene(), CAMERA_EXIF, orientation=6))
    assert (photo.width, photo.height) == (64, 96)


def test_a_damaged_raw_is_refused_in_words(tmp_path: Path) -> None:
    src = write_dng(tmp_path / "cut.dng", _scene(), CAMERA_EXIF)
    (tmp_path / "bad.nef").write_bytes(src.read_bytes()[:300])
    with pytest.raises(ImageReadError, match="RAW"):
        load_image(tmp_path / "bad.nef")


def test_every_file_of_a_folder_that_is_left_out_is_listed_with_why(tmp_path: Path) -> None:
    album = tmp_path / "album"
    album.mkdir()
    Image.fromarray(_rgb8(16, 16)).save(album / "a.jpg")
    (album / "a.hints.json").write_text('{"hints": []}')  # a photo's sidecar: not a file left out
    (album / "notes.txt").write_text("shot list")
    (album / "edit.psd").write_bytes(b"8BPS" + bytes(40))
    (album / ".DS_Store").write_bytes(b"\0")
    plan = plan_batch([album], tmp_path / "out")
    assert [j.source.name for j in plan.jobs] == ["a.jpg"]
    left = {r.source.name: r for r in plan.failures}
    assert set(left) == {"notes.txt", "edit.psd"}
    assert all(r.status == "skipped" and "not a photo photogan reads" in r.reason for r in left.values())
