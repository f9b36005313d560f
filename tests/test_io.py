"""Photo plumbing: orientation, bit depth, metadata, alpha, grayscale, bad files and safe saves."""

from __future__ import annotations

import io
import os
import struct
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from conftest import random_image
from PIL import Image, ImageCms, ImageOps, IptcImagePlugin

from photogan.core.errors import ImageReadError, ImageTooLargeError, ImageWriteError, UnsupportedFormatError
from photogan.core.formats import TEMP_PREFIX
from photogan.core.image import Photo
from photogan.core.load import load_image
from photogan.core.save import save_image

SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
XMP = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description xmlns:tiff="http://ns.adobe.com/tiff/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/" tiff:Orientation="6" dc:creator="Ada"/></rdf:RDF></x:xmpmeta>'  # noqa: E501


def exif_with(orientation: int = 1) -> Image.Exif:
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "TestCam"
    exif.get_ifd(0x8769)[0x9003] = "2021:06:01 10:20:30"
    exif.get_ifd(0x8769)[0xA002] = 48
    exif.get_ifd(0x8769)[0xA003] = 32
    exif.get_ifd(0x8825)[1] = "N"  # GPSLatitudeRef
    return exif


def asymmetric_rgb(h: int = 6, w: int = 10) -> np.ndarray:
    return (np.arange(h * w * 3).reshape(h, w, 3) * 7 % 251).astype(np.uint8)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_is_applied_and_reset(tmp_path: Path, orientation: int) -> None:
    pixels = asymmetric_rgb()
    path = tmp_path / "o.png"
    Image.fromarray(pixels).save(path, exif=exif_with(orientation).tobytes())
    expected = np.asarray(ImageOps.exif_transpose(Image.open(path)))
    photo = load_image(path)
    assert photo.pixels.shape[:2] == expected.shape[:2]
    np.testing.assert_array_equal(np.rint(photo.pixels * 255).astype(np.uint8), expected)
    out = save_image(photo, tmp_path / "out.png")
    with Image.open(out) as saved:
        assert saved.getexif()[0x0112] == 1
        assert saved.size == (expected.shape[1], expected.shape[0])


def test_xmp_orientation_is_reset_and_xmp_kept(tmp_path: Path) -> None:
    path = tmp_path / "x.jpg"
    Image.fromarray(asymmetric_rgb()).save(path, exif=exif_with(6).tobytes(), xmp=XMP)
    photo = load_image(path)
    assert photo.xmp is not None and b'tiff:Orientation="1"' in photo.xmp and b"Ada" in photo.xmp
    for suffix in (".jpg", ".png", ".webp", ".tif"):
        photo_back = load_image(save_image(photo, tmp_path / f"out{suffix}"))
        assert photo_back.xmp is not None and b"Ada" in photo_back.xmp, suffix


@pytest.mark.parametrize("suffix", [".png", ".tif"])
@pytest.mark.parametrize("channels", [1, 3, 4])
def test_sixteen_bit_stays_sixteen_bit(tmp_path: Path, suffix: str, channels: int) -> None:
    import cv2

    rng = np.random.default_rng(1)
    samples = rng.integers(0, 65536, (9, 13, channels), dtype=np.uint16)
    path = tmp_path / f"in{suffix}"
    bgr = samples[..., [2, 1, 0, 3][:channels]] if channels > 1 else samples[..., 0]
    assert cv2.imwrite(str(path), bgr)
    photo = load_image(path)
    assert photo.bit_depth == 16
    assert photo.grayscale == (channels == 1) and (photo.alpha is not None) == (channels == 4)
    np.testing.assert_array_equal(np.rint(photo.pixels * 65535).astype(np.uint16), samples[..., : min(channels, 3)])
    out = load_image(save_image(photo, tmp_path / f"out{suffix}"))
    assert out.bit_depth == 16
    np.testing.assert_array_equal(out.pixels, photo.pixels)
    if channels == 4:
        assert out.alpha is not None and photo.alpha is not None
        np.testing.assert_array_equal(out.alpha, photo.alpha)


def test_sixteen_bit_keeps_icc_in_png_and_tiff(tmp_path: Path) -> None:
    photo = Photo(random_image(8, 8), bit_depth=16, icc_profile=SRGB, exif=exif_with().tobytes(), xmp=XMP)
    for suffix in (".png", ".tif"):
        back = load_image(save_image(photo, tmp_path / f"out{suffix}"))
        assert back.bit_depth == 16 and back.icc_profile == SRGB and back.xmp and b"Ada" in back.xmp
    for suffix in (".png", ".tif"):
        back = load_image(tmp_path / f"out{suffix}")
        assert back.exif is not None and _date_taken(back.exif) == "2021:06:01 10:20:30", suffix
        exif = Image.Exif()
        exif.load(back.exif)
        assert exif[0x010F] == "TestCam" and exif.get_ifd(0x8825)[1] == "N"


def _date_taken(exif_bytes: bytes) -> str:
    exif = Image.Exif()
    exif.load(exif_bytes)
    return str(exif.get_ifd(0x8769).get(0x9003))


@pytest.mark.parametrize("suffix", [".jpg", ".png", ".webp", ".tif"])
def test_icc_and_date_taken_survive(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / "in.jpg"
    Image.fromarray(asymmetric_rgb(32, 48)).save(path, exif=exif_with(1).tobytes(), icc_profile=SRGB, dpi=(300, 300))
    photo = load_image(path)
    out = save_image(photo, tmp_path / f"out{suffix}")
    back = load_image(out)
    assert back.icc_profile == SRGB
    assert back.exif is not None and _date_taken(back.exif) == "2021:06:01 10:20:30"
    exif = Image.Exif()
    exif.load(back.exif)
    assert (exif.get_ifd(0x8769)[0xA002], exif.get_ifd(0x8769)[0xA003]) == (48, 32)
    bigger = load_image(
        save_image(photo.with_pixels(np.zeros((64, 96, 3), np.float32), None), tmp_path / f"big{suffix}")
    )
    assert bigger.exif is not None
    exif.load(bigger.exif)
    assert (exif.get_ifd(0x8769)[0xA002], exif.get_ifd(0x8769)[0xA003]) == (96, 64)
    if suffix != ".webp":
        assert back.dpi is not None and round(back.dpi[0]) == 300


def test_rgba_and_palette_and_grayscale_modes(tmp_path: Path) -> None:
    rgba = np.dstack([asymmetric_rgb(), np.linspace(0, 255, 60).reshape(6, 10).astype(np.uint8)])
    Image.fromarray(rgba).save(tmp_path / "rgba.png")
    photo = load_image(tmp_path / "rgba.png")
    assert photo.alpha is not None
    np.testing.assert_array_equal(np.rint(photo.alpha * 255).astype(np.uint8), rgba[..., 3])

    Image.fromarray(asymmetric_rgb()).convert("P", palette=Image.Palette.ADAPTIVE).save(tmp_path / "p.png")
    assert load_image(tmp_path / "p.png").pixels.shape == (6, 10, 3)

    gray = asymmetric_rgb()[..., 0]
    Image.fromarray(gray).save(tmp_path / "g.png")
    photo = load_image(tmp_path / "g.png")
    assert photo.grayscale
    with Image.open(save_image(photo, tmp_path / "g-out.jpg")) as saved:
        assert saved.mode == "L"

    Image.fromarray(gray).convert("1").save(tmp_path / "bw.bmp")
    assert load_image(tmp_path / "bw.bmp").grayscale


def test_jpeg_output_flattens_alpha_onto_white(tmp_path: Path) -> None:
    pixels = np.zeros((4, 4, 3), np.float32)
    alpha = np.zeros((4, 4), np.float32)
    out = load_image(save_image(Photo(pixels, alpha), tmp_path / "flat.jpg"))
    assert out.alpha is None and out.pixels.min() > 0.95


def test_bad_files_raise_specific_errors(tmp_path: Path) -> None:
    (tmp_path / "empty.jpg").write_bytes(b"")
    (tmp_path / "text.png").write_text("not an image")
    buffer = io.BytesIO()
    Image.fromarray(asymmetric_rgb(64, 64)).save(buffer, format="JPEG")
    (tmp_path / "cut.jpg").write_bytes(buffer.getvalue()[: len(buffer.getvalue()) * 2 // 3])
    (tmp_path / "layers.psd").write_bytes(b"8BPS\x00\x01" + bytes(40))
    with pytest.raises(ImageReadError, match="empty"):
        load_image(tmp_path / "empty.jpg")
    with pytest.raises(UnsupportedFormatError, match="not an image"):
        load_image(tmp_path / "text.png")
    with pytest.raises(ImageReadError, match="truncated or corrupt"):
        load_image(tmp_path / "cut.jpg")
    with pytest.raises(UnsupportedFormatError, match="Photoshop PSD images are not supported"):
        load_image(tmp_path / "layers.psd")
    with pytest.raises(ImageReadError, match="not found"):
        load_image(tmp_path / "missing.png")


def test_a_memory_cgroup_limit_counts_as_the_memory_there_is(tmp_path: Path) -> None:
    """A container's or a desktop session's memory cgroup (v2 and v1): what it still allows, page cache given
    back, is what photogan plans with."""
    from photogan.core import memory

    (tmp_path / "memory.max").write_text("4294967296\n")  # 4 GiB
    (tmp_path / "memory.current").write_text(str(3 * 2**30))
    (tmp_path / "memory.stat").write_text(f"anon 100\ninactive_file {2**29}\n")
    assert memory._cgroup_headroom(tmp_path) == 2**30 + 2**29
    (tmp_path / "memory.max").write_text("max\n")
    assert memory._cgroup_headroom(tmp_path) is None
    (tmp_path / "memory").mkdir()
    (tmp_path / "memory" / "memory.limit_in_bytes").write_text(str(2 * 2**30))
    (tmp_path / "memory" / "memory.usage_in_bytes").write_text(str(2**30))
    assert memory._cgroup_headroom(tmp_path) == 2**30
    (tmp_path / "memory" / "memory.limit_in_bytes").write_text("9223372036854771712")  # v1's "no limit"
    assert memory._cgroup_headroom(tmp_path) is None


def test_decompression_bomb_is_refused_before_decoding(tmp_path: Path) -> None:
    Image.new("L", (4000, 3000)).save(tmp_path / "big.png")
    with pytest.raises(ImageTooLargeError, match="12 megapixels"):
        load_image(tmp_path / "big.png", max_pixels=10_000_000)
    assert load_image(tmp_path / "big.png", max_pixels=20_000_000).width == 4000


def test_failed_save_leaves_nothing_and_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "out.png"
    target.write_bytes(b"previous result")
    import photogan.core.save as save_module

    real_write = save_module._write_new

    def disk_full(path: Path, data: bytes) -> None:
        real_write(path, data[: len(data) // 2])
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(save_module, "_write_new", disk_full)
    with pytest.raises(ImageWriteError, match="No space left"):
        save_image(Photo(random_image(16, 16)), target)
    assert target.read_bytes() == b"previous result"
    assert [p.name for p in tmp_path.iterdir()] == ["out.png"]

    monkeypatch.setattr(save_module, "_write_new", real_write)
    save_image(Photo(random_image(16, 16)), target)
    assert load_image(target).width == 16
    assert not any(p.name.startswith(TEMP_PREFIX) for p in tmp_path.iterdir())
    assert oct(target.stat().st_mode & 0o777) == oct(0o666 & ~_umask())


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def iptc_resources(caption: bytes) -> bytes:
    """Photoshop image resources with one IPTC-IIM record: 2:120 (caption)."""
    record = b"\x1c\x02\x78" + struct.pack(">H", len(caption)) + caption
    padded = record + b"\x00" * (len(record) % 2)
    return b"8BIM\x04\x04\x00\x00" + struct.pack(">I", len(record)) + padded


@pytest.mark.parametrize("suffix", [".jpg", ".tif"])
def test_iptc_survives_jpeg_and_tiff(tmp_path: Path, suffix: str) -> None:
    resources = iptc_resources(b"Grandma's garden, 1962")
    segment = b"Photoshop 3.0\x00" + resources
    path = tmp_path / "in.jpg"
    Image.fromarray(asymmetric_rgb()).save(path, extra=b"\xff\xed" + struct.pack(">H", len(segment) + 2) + segment)
    photo = load_image(path)
    assert photo.iptc == resources
    out = save_image(photo, tmp_path / f"out{suffix}")
    with Image.open(out) as saved:
        assert IptcImagePlugin.getiptcinfo(saved) == {(2, 120): b"Grandma's garden, 1962"}
    assert load_image(out).iptc == resources
    sixteen = load_image(save_image(replace(photo, bit_depth=16), tmp_path / "out16.tif"))
    assert sixteen.iptc == resources


def test_only_regular_files_are_read_and_never_without_bound(tmp_path: Path) -> None:
    """A FIFO named .jpg would hang a batch, a link to /dev/zero is endless, a 3 GB non-image would be read whole:
    each is refused from its type, its first bytes or its size, before it is read."""
    import os
    import time

    fifo = tmp_path / "pipe.jpg"
    os.mkfifo(fifo)
    zero = tmp_path / "zero.png"
    zero.symlink_to("/dev/zero")
    junk = tmp_path / "huge.tif"
    with junk.open("wb") as f:  # sparse: 3 GB on paper, nothing on disk
        f.write(b"not an image at all")
        f.truncate(3 * 2**30)
    bloated = tmp_path / "bloated.png"
    with bloated.open("wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + bytes(8))
        f.truncate(200 * 2**20)
    start = time.monotonic()
    for path in (fifo, zero):
        with pytest.raises(ImageReadError, match="not a regular file"):
            load_image(path)
    with pytest.raises(UnsupportedFormatError, match="not an image"):
        load_image(junk)
    with pytest.raises(ImageTooLargeError, match="GiB"):
        load_image(bloated, max_pixels=10_000_000)
    assert time.monotonic() - start < 5


def test_known_formats_photogan_does_not_read_are_named(tmp_path: Path) -> None:
    (tmp_path / "phone.heic").write_bytes(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic")
    (tmp_path / "layers.jpg").write_bytes(b"8BPS\x00\x01" + bytes(20))
    (tmp_path / "new.jxl").write_bytes(b"\xff\x0a" + bytes(20))
    with pytest.raises(ImageReadError, match="HEIF file is damaged"):  # read (pillow-heif), but only a header
        load_image(tmp_path / "phone.heic")
    with pytest.raises(UnsupportedFormatError, match="JPEG XL images are not supported"):
        load_image(tmp_path / "new.jxl")
    with pytest.raises(UnsupportedFormatError, match="Photoshop PSD"):
        load_image(tmp_path / "layers.jpg")


def test_metadata_a_format_cannot_take_is_left_out_with_a_warning_never_the_photo(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Photoshop XMP and EXIF over 64 KB do not fit a JPEG segment; a 1.5 MB wide-gamut ICC profile in a PNG
    passed Pillow's 1 MB chunk cap: each failed the whole photo. The XMP is kept whole (extended XMP)."""
    from photogan.core.image import Photo
    from photogan.core.xmp import EXTENDED_SIGNATURE, history, with_history

    pixels = np.random.default_rng(0).random((16, 16, 3)).astype(np.float32)
    steps = "".join(f"<rdf:li>step {k}: Levels, Curves, Dodge {'x' * 60}</rdf:li>" for k in range(2000))
    xmp = with_history(
        (
            '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
            '<rdf:Description rdf:about="" xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/">'
            f"<photoshop:History><rdf:Seq>{steps}</rdf:Seq></photoshop:History></rdf:Description>"
            "</rdf:RDF></x:xmpmeta>"
        ).encode(),
        "photogan: restore",
    )
    assert len(xmp) > 150_000
    exif = Image.Exif()
    exif[0x010E] = "d" * 70000
    photo = Photo(pixels, xmp=xmp, exif=exif.tobytes())
    saved = save_image(photo, tmp_path / "big-meta.jpg")
    jpeg = load_image(saved)
    assert jpeg.width == 16 and jpeg.exif is None and "EXIF (68 KB) is too long" in caplog.text
    assert (
        jpeg.xmp is not None and "step 1999: Levels" in jpeg.xmp.decode() and history(jpeg.xmp) == ["photogan: restore"]
    )
    with Image.open(saved) as im:  # a standard XMP that fits one segment and names its extension in chunks
        standard = im.info["xmp"]
        chunks = [s for m, s in im.applist if m == "APP1" and s.startswith(EXTENDED_SIGNATURE)]
    assert len(standard) < 65000 and b"HasExtendedXMP" in standard and b"photogan: restore" in standard
    total = int.from_bytes(chunks[0][67:71], "big")  # after the signature and the GUID
    assert len(chunks) > 1 and sum(len(c) - 75 for c in chunks) == total
    again = load_image(save_image(jpeg, tmp_path / "again.jpg"))  # read and written again: nothing doubles
    assert again.xmp is not None and again.xmp.count(b"step 1999:") == 1 and history(again.xmp) == ["photogan: restore"]
    assert load_image(save_image(photo, tmp_path / "big-meta.png")).xmp == xmp  # PNG keeps it as it was

    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes() + bytes(1_500_000)
    Image.fromarray((pixels * 255).astype(np.uint8)).save(tmp_path / "wide.png", icc_profile=profile)
    wide = load_image(tmp_path / "wide.png")
    assert wide.icc_profile == profile
    assert load_image(save_image(wide, tmp_path / "wide-out.png")).icc_profile == profile


def test_a_cmyk_jpeg_with_a_damaged_profile_is_read_with_plain_conversion_and_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Its pixels are whole: it used to fail as "truncated or corrupt" (the profile could not be opened)."""
    Image.new("CMYK", (8, 8), (0, 255, 255, 0)).save(tmp_path / "print.jpg", icc_profile=b"not a profile" * 40)
    photo = load_image(tmp_path / "print.jpg")
    assert photo.pixels[0, 0, 0] > 0.9 and photo.pixels[0, 0, 1:].max() < 0.1  # red, as the plain formula gives
    assert photo.icc_profile is not None and b"not a profile" not in photo.icc_profile  # sRGB now
    assert "CMYK colour profile cannot be used" in caplog.text


def test_a_png_with_a_bad_checksum_is_called_damaged_not_a_non_image(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    Image.fromarray(asymmetric_rgb(8, 8)).save(buffer, format="PNG")
    data = bytearray(buffer.getvalue())
    data[29] ^= 0xFF  # the IHDR chunk's CRC
    (tmp_path / "bad-crc.png").write_bytes(bytes(data))
    with pytest.raises(ImageReadError, match="the PNG file is damaged") as caught:
        load_image(tmp_path / "bad-crc.png")
    assert not isinstance(caught.value, UnsupportedFormatError)


def test_xmp_that_is_not_utf8_is_mended_with_a_warning_in_png(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from photogan.core.image import Photo

    photo = Photo(np.zeros((4, 4, 3), np.float32), xmp=b"<x:xmpmeta>caf\xe9</x:xmpmeta>")
    back = load_image(save_image(photo, tmp_path / "latin1.png"))
    assert back.xmp == "<x:xmpmeta>caf\ufffd</x:xmpmeta>".encode() and "not valid UTF-8" in caplog.text


def test_an_orientation_written_as_text_or_as_6_over_0_never_fails_the_photo(tmp_path: Path) -> None:
    def exif_with(entry_type: int, count: int, value: bytes, extra: bytes = b"") -> bytes:
        ifd = struct.pack("<H", 1) + struct.pack("<HHI", 0x0112, entry_type, count) + value + struct.pack("<I", 0)
        return b"Exif\x00\x00II*\x00" + struct.pack("<I", 8) + ifd + extra

    pixels = np.zeros((4, 8, 3), np.uint8)
    pixels[:, :4] = 255
    Image.fromarray(pixels).save(tmp_path / "text.jpg", exif=exif_with(2, 2, b"6\x00\x00\x00"))
    Image.fromarray(pixels).save(
        tmp_path / "nan.jpg", exif=exif_with(5, 1, struct.pack("<I", 26), struct.pack("<II", 6, 0))
    )
    assert (load_image(tmp_path / "text.jpg").width, load_image(tmp_path / "text.jpg").height) == (4, 8)  # "6": turned
    stored = load_image(tmp_path / "nan.jpg")  # 6/0: read as stored, and it saves
    assert (stored.width, stored.height) == (8, 4)
    assert load_image(save_image(stored, tmp_path / "out.jpg")).width == 8


def test_the_processing_history_is_added_to_the_xmp_leaving_the_rest_as_it_was() -> None:
    import xml.etree.ElementTree as ET

    from photogan.core.xmp import NAMESPACE, history, with_history

    lightroom = (
        b'<?xpacket begin="\xef\xbb\xbf" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">'
        b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" '
        b'xmlns:crs="http://ns.adobe.com/camera-raw-settings/1.0/" crs:Exposure2012="+0.35"/></rdf:RDF>'
        b'</x:xmpmeta><?xpacket end="w"?>'
    )
    once = with_history(lightroom, "2026-12-02T10:00:00Z photogan 0.2.0: upscale-x4 (upscale ×4); 400×300 px")
    twice = with_history(once, "2026-12-02T11:00:00Z photogan 0.2.0: restore (restore ×1) & <more>")
    assert b'crs:Exposure2012="+0.35"' in twice  # the develop settings kept
    assert history(twice) == [
        "2026-12-02T10:00:00Z photogan 0.2.0: upscale-x4 (upscale ×4); 400×300 px",
        "2026-12-02T11:00:00Z photogan 0.2.0: restore (restore ×1) & <more>",
    ]
    root = ET.fromstring(twice.split(b"?>", 1)[1].rsplit(b"<?xpacket", 1)[0])  # well-formed XML
    assert len(root.findall(f".//{{{NAMESPACE}}}History")) == 1
    assert history(with_history(None, "first")) == ["first"]  # a photo without XMP gets a packet
