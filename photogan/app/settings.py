"""The desktop app's settings (output, device, model chain, recent files), saved as JSON in the platformdirs
config folder. Qt-free: the GUI keeps only window geometry in QSettings.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import platformdirs

from photogan.app.batch import OutputOptions
from photogan.app.sizing import SizeRequest, parse_print
from photogan.core.save import DEFAULT_JPEG_QUALITY
from photogan.core.tiling import AUTO_TILE

log = logging.getLogger(__name__)

MAX_RECENT = 10


def default_settings_path() -> Path:
    return Path(platformdirs.user_config_dir("photogan")) / "settings.json"


def log_dir() -> Path:
    """Where the desktop app writes ``photogan.log``."""
    return Path(platformdirs.user_log_dir("photogan"))


def default_output_dir() -> Path:
    return Path(platformdirs.user_pictures_dir()) / "photogan"


#: The settings that say how and where outputs are written (a batch-queue row keeps its own copy of them).
OUTPUT_FIELDS = (
    "output_dir",
    "format",
    "quality",
    "bit_depth",
    "keep_metadata",
    "name_suffix",
    "existing",
    "size_mode",
    "size_factor",
    "size_long_side",
    "print_size",
    "print_dpi",
)


@dataclass(frozen=True)
class Settings:
    """Everything the app remembers between sessions.

    Attributes:
        chain: Model ids run one after the other (``["restore", "colorize", "upscale-x4"]``); empty = the default
            ×4 upscaler.
        device: ``auto``, ``cpu``, ``cuda`` or ``cuda:N``.
        int8: On a CPU, run the 8-bit copy of a model where it has one (``photogan enhance --int8``).
        tile: Tile size in input pixels (0 = whole image, ``AUTO_TILE`` = each model's own).
        output_dir, format, quality, bit_depth, keep_metadata, name_suffix, existing: as :class:`OutputOptions`
            (the app renames a new output rather than replace a file that is there).
        size_mode: The output size: ``model`` (the chain's own scale), ``factor`` (``size_factor`` times the
            photo), ``long_side`` (``size_long_side`` pixels) or ``print`` (``print_size``, e.g. ``40x60cm``, at
            ``print_dpi``).
        recent: Recently opened photos, newest first.
    """

    chain: tuple[str, ...] = ()
    device: str = "auto"
    int8: bool = False
    tile: int = AUTO_TILE
    output_dir: str = field(default_factory=lambda: str(default_output_dir()))
    format: str = "same"
    quality: int = DEFAULT_JPEG_QUALITY
    bit_depth: str = "same"
    keep_metadata: bool = True
    name_suffix: str = ""
    existing: str = "rename"
    size_mode: str = "model"
    size_factor: float = 3.0
    size_long_side: int = 6000
    print_size: str = "40x60cm"
    print_dpi: float = 300.0
    recent: tuple[str, ...] = ()

    def size_request(self) -> SizeRequest | None:
        """The output size these settings ask for (None: as the models make it).

        Raises:
            UsageError: A size that cannot be (a print size that does not parse, a factor out of range).
        """
        if self.size_mode == "factor":
            return SizeRequest(factor=self.size_factor)
        if self.size_mode == "long_side":
            return SizeRequest(width=self.size_long_side, height=self.size_long_side)
        if self.size_mode == "print":
            return SizeRequest(print_inches=parse_print(self.print_size), dpi=self.print_dpi)
        return None

    def output_options(self, skip_existing: bool = False) -> OutputOptions:
        """The output options these settings describe (raises ``PlanError`` for invalid values)."""
        return OutputOptions(
            format=self.format,
            quality=self.quality,
            skip_existing=skip_existing,
            existing=self.existing,  # type: ignore[arg-type]  # checked by OutputOptions
            keep_metadata=self.keep_metadata,
            bit_depth=self.bit_depth,
            name_suffix=self.name_suffix,
            size=self.size_request(),
        )

    def output_fields(self) -> dict[str, Any]:
        """The output settings alone (:data:`OUTPUT_FIELDS`), as a queue row keeps them."""
        return {name: getattr(self, name) for name in OUTPUT_FIELDS}

    @classmethod
    def from_output_fields(cls, values: dict[str, Any]) -> Settings:
        """Settings with these output fields (the others at their defaults).

        Raises:
            UsageError: A value the output options refuse (an unknown format, a quality out of range...).
            TypeError: A field that is not an output field.
        """
        unknown = set(values) - set(OUTPUT_FIELDS)
        if unknown:
            raise TypeError(f"not output settings: {', '.join(sorted(unknown))}")
        defaults = cls()
        for name, value in values.items():
            kind = type(getattr(defaults, name))
            number = kind is float and isinstance(value, int)
            if isinstance(value, bool) != (kind is bool) or not (isinstance(value, kind) or number):
                raise TypeError(f"the output setting {name} should be a {kind.__name__}, not {value!r}")
        settings = cls(**values)
        settings.output_options()
        return settings

    def with_recent(self, path: Path) -> Settings:
        """These settings with ``path`` first among the recent files (no duplicates, at most ``MAX_RECENT``)."""
        key = str(path.resolve())
        return replace(self, recent=(key, *[p for p in self.recent if p != key])[:MAX_RECENT])


def load_settings(path: Path | None = None) -> Settings:
    """The saved settings; defaults for a missing file, and for an unreadable one (kept aside, with a warning)."""
    path = path or default_settings_path()
    if not path.exists():
        return Settings()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        known = {f.name for f in fields(Settings)}
        values: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items() if k in known}
        settings = Settings(**values)
        settings.output_options()  # validates format, quality, depth and suffix
        return settings
    except Exception as exc:  # a damaged settings file must never stop the app from starting
        backup = path.with_suffix(".damaged.json")
        log.warning("the settings file %s is unreadable (%s); starting with defaults, kept as %s", path, exc, backup)
        os.replace(path, backup)
        return Settings()


def save_settings(settings: Settings, path: Path | None = None) -> None:
    """Saves atomically (a crash leaves the old file or the new one)."""
    path = path or default_settings_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(asdict(settings), indent=1), encoding="utf-8")
    os.replace(tmp, path)
