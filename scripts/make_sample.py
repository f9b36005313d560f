"""Draws resources/samples/sample.jpg: a small synthetic landscape with fine lines and text.

photogan ships no third-party photos; this sample is drawn from scratch so it can be redistributed freely.
It carries an sRGB ICC profile and EXIF (camera make, software, date taken) so the metadata path is exercised.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageCms, ImageDraw, ImageFilter, ImageFont

OUT = Path(__file__).resolve().parent.parent / "resources" / "samples" / "sample.jpg"


def draw(width: int = 480, height: int = 320, seed: int = 7) -> Image.Image:
    rng = np.random.default_rng(seed)
    y = np.linspace(0, 1, height)[:, None, None]
    sky = np.concatenate([0.35 + 0.4 * y, 0.55 + 0.3 * y, 0.9 - 0.1 * y], axis=2) * np.ones((1, width, 1))
    img = Image.fromarray((np.clip(sky, 0, 1) * 255).astype(np.uint8))
    d = ImageDraw.Draw(img)
    d.ellipse((360, 40, 420, 100), fill=(255, 236, 170))
    hills = [((70, 110, 70), 200, 25, 3.1), ((45, 85, 50), 240, 20, 5.3), ((35, 65, 35), 280, 15, 8.0)]
    for k, (colour, base, amp, freq) in enumerate(hills):
        xs = np.arange(width)
        ys = base + amp * np.sin(xs / width * freq * np.pi + k) + rng.normal(0, 1.5, width).cumsum() * 0.3
        d.polygon([(0, height), *((int(a), int(b)) for a, b in zip(xs, ys, strict=True)), (width, height)], fill=colour)
    d.rectangle((60, 170, 150, 250), fill=(180, 70, 50))
    d.polygon([(50, 172), (105, 120), (160, 172)], fill=(90, 50, 40))
    d.rectangle((95, 205, 118, 250), fill=(70, 45, 30))
    for wx in (70, 128):
        d.rectangle((wx, 182, wx + 14, 198), fill=(250, 240, 200), outline=(60, 40, 30), width=2)
    for i in range(24):  # a fan of thin lines: aliasing and edge sharpness are easy to judge on it
        d.line((200 + i * 5, 300, 230 + i * 2, 200), fill=(240, 240, 240), width=1)
    d.text(
        (250, 130),
        "photogan",
        fill=(255, 255, 255),
        font=ImageFont.load_default(size=28),
        stroke_width=2,
        stroke_fill=(30, 30, 60),
    )
    d.text((252, 168), "sample 480 x 320", fill=(20, 20, 40), font=ImageFont.load_default(size=14))
    pixels = np.asarray(img.filter(ImageFilter.GaussianBlur(0.6))).astype(np.float32)
    pixels += rng.normal(0, 2.0, pixels.shape)  # a little sensor-like noise
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def main() -> None:
    exif = Image.Exif()
    exif[0x0112] = 1
    exif[0x010F] = "photogan"
    exif[0x0131] = "photogan sample generator"
    exif.get_ifd(0x8769)[0x9003] = "2026:11:22 12:00:00"
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    draw().save(OUT, quality=92, exif=exif.tobytes(), icc_profile=srgb)


if __name__ == "__main__":
    main()
