"""The generate panel: textures and backgrounds from a ``generate`` model; size (print presets), reseed,
interpolate, a 2×2 preview that shows the seam if there is one, save; learn a texture from the open photo."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from photogan.app.generate import (
    DEFAULT_SIZE,
    MAX_SIDE,
    generate,
    interpolate,
    is_spatial,
    is_tileable,
    noise,
    save_generated,
    tile,
)
from photogan.app.models import ModelService
from photogan.core.image import Photo
from photogan.core.progress import Progress
from photogan.gui.images import to_qimage
from photogan.gui.workers import Worker
from photogan.inference.session import ModelSession

MAX_SEED = 2**31 - 1
#: Size presets of the texture size picker: (label, width, height) in pixels; prints at 300 dpi.
SIZE_PRESETS = (
    ("512 × 512 (preview)", 512, 512),
    ("Full HD screen 1920 × 1080", 1920, 1080),
    ("4K screen 3840 × 2160", 3840, 2160),
    ("Print 6 × 4 in, 300 dpi", 1800, 1200),
    ("Print 10 × 8 in, 300 dpi", 3000, 2400),
    ("Print A4, 300 dpi", 3508, 2480),
    ("Print A3, 300 dpi", 4961, 3508),
    ("Backdrop 60 × 40 in, 150 dpi", 9000, 6000),
)


class GeneratePanel(QWidget):
    """Samples a generate model.

    Signals:
        error(str): something to tell the user.
        learn_requested(): train a texture model from the photo in the viewer (``turnable`` says whether it has no
            up).
    """

    error = Signal(str)
    #: The user asked to train a texture model on the photo open in the viewer.
    learn_requested = Signal()

    def __init__(self, models: ModelService, device: Callable[[], str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.models = models
        self._device = device
        self.photos: list[Photo] = []
        self.worker: Worker | None = None
        self.model = QComboBox()
        self.seed = QSpinBox()
        self.seed.setRange(0, MAX_SEED)
        self.seed.setValue(1)
        self.seed_b = QSpinBox()
        self.seed_b.setRange(0, MAX_SEED)
        self.seed_b.setValue(2)
        self.count = QSpinBox()
        self.count.setRange(1, 64)
        self.count.setValue(8)
        self.tiled_preview = QCheckBox("Show 2×2")
        self.tiled_preview.setToolTip("Show each image repeated 2×2, to check that it tiles without a seam")
        self.tiled_preview.toggled.connect(lambda _: self._show(self.photos))
        self.save_tiles = QSpinBox()
        self.save_tiles.setRange(1, 16)
        self.save_tiles.setPrefix("×")
        self.save_tiles.setToolTip("Save each image as N×N copies side by side: a larger seamless background")
        self.width_box, self.height_box = QSpinBox(), QSpinBox()
        for box, value in ((self.width_box, DEFAULT_SIZE[0]), (self.height_box, DEFAULT_SIZE[1])):
            box.setRange(16, MAX_SIDE)
            box.setSingleStep(64)
            box.setSuffix(" px")
            box.setValue(value)
        self.width_box.setToolTip("Width of each texture; any size tiles without a seam")
        self.height_box.setToolTip("Height of each texture")
        self.preset = QComboBox()
        self.preset.addItem("Size preset…", None)
        for label, w, h in SIZE_PRESETS:
            self.preset.addItem(label, (w, h))
        self.preset.activated.connect(self._apply_preset)
        self.learn_button = QPushButton("Learn a texture from the open photo…")
        self.learn_button.setToolTip(
            "Train a texture model on the photo in the viewer (Fine-tune tab; about 10 minutes on a CPU)"
        )
        self.learn_button.clicked.connect(self.learn_requested.emit)
        self.turnable = QCheckBox("Has no up")
        self.turnable.setToolTip(
            "The texture looks right turned by 90° (paving, gravel, fabric seen from above): it is also learned "
            "turned, which teaches a small photo more. Leave it off for bark, grass, walls lit from one side."
        )
        self.generate_button = QPushButton("Generate")
        self.generate_button.clicked.connect(self.run_generate)
        self.reseed_button = QPushButton("New seed")
        self.reseed_button.clicked.connect(self.reseed)
        self.interpolate_button = QPushButton("Interpolate A → B")
        self.interpolate_button.clicked.connect(self.run_interpolate)
        self.save_button = QPushButton("Save all…")
        self.save_button.clicked.connect(self.save_all)
        self.empty = QLabel(
            "No texture model is installed. Import one in Models → Manage models, or fine-tune one from a folder "
            "of texture photos."
        )
        self.empty.setWordWrap(True)
        self.grid = QListWidget()
        self.grid.setViewMode(QListView.ViewMode.IconMode)
        self.grid.setIconSize(QSize(192, 192))
        self.grid.setResizeMode(QListView.ResizeMode.Adjust)
        row = QHBoxLayout()
        for label, widget in (
            ("Model", self.model),
            ("Seed A", self.seed),
            ("Seed B", self.seed_b),
            ("Count", self.count),
        ):
            row.addWidget(QLabel(label))
            row.addWidget(widget)
        size_row = QHBoxLayout()
        for label, widget in (("Width", self.width_box), ("Height", self.height_box)):
            size_row.addWidget(QLabel(label))
            size_row.addWidget(widget)
        size_row.addWidget(self.preset)
        size_row.addStretch(1)
        size_row.addWidget(self.learn_button)
        size_row.addWidget(self.turnable)
        row.addWidget(self.tiled_preview)
        row.addWidget(QLabel("Save tiled"))
        row.addWidget(self.save_tiles)
        row.addStretch(1)
        buttons = QHBoxLayout()
        for b in (self.generate_button, self.reseed_button, self.interpolate_button, self.save_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.empty)
        layout.addLayout(row)
        layout.addLayout(size_row)
        layout.addLayout(buttons)
        layout.addWidget(self.grid, 1)
        self.model.currentIndexChanged.connect(self._update_controls)
        self.refresh_models()

    def refresh_models(self) -> None:
        current = self.model.currentData()
        self.model.clear()
        for entry in self.models.list():
            if entry.info.task == "generate":
                self.model.addItem(f"{entry.info.id} — {entry.info.name}", entry.info.id)
        self.model.setCurrentIndex(max(self.model.findData(current), 0))
        self._update_controls()

    def _tileable(self) -> bool:
        model_id = self.model.currentData()
        return model_id is not None and is_tileable(self.models.resolve("generate", None, model_id))

    def _spatial(self) -> bool:
        model_id = self.model.currentData()
        return model_id is not None and is_spatial(self.models.resolve("generate", None, model_id))

    def texture_size(self) -> tuple[int, int] | None:
        """The size asked for (a texture model's), or None for a model that draws one fixed size."""
        return (self.width_box.value(), self.height_box.value()) if self._spatial() else None

    def _apply_preset(self, index: int) -> None:
        size = self.preset.itemData(index)
        if size is not None:
            self.width_box.setValue(size[0])
            self.height_box.setValue(size[1])
        self.preset.setCurrentIndex(0)

    def _update_controls(self) -> None:
        has_model = self.model.count() > 0
        spatial = has_model and self._spatial()
        for widget in (self.width_box, self.height_box, self.preset):
            widget.setEnabled(spatial)
        busy = self.worker is not None
        self.empty.setVisible(not has_model)
        for b in (self.generate_button, self.reseed_button, self.interpolate_button):
            b.setEnabled(has_model and not busy)
        self.save_button.setEnabled(bool(self.photos) and not busy)
        tileable = has_model and self._tileable()
        self.tiled_preview.setEnabled(tileable)
        self.save_tiles.setEnabled(tileable)
        if not tileable:
            self.tiled_preview.setChecked(False)
            self.save_tiles.setValue(1)

    def reseed(self) -> None:
        self.seed.setValue((self.seed.value() * 1103515245 + 12345) % MAX_SEED)
        self.run_generate()

    def run_generate(self) -> None:
        seed, count, size = self.seed.value(), self.count.value(), self.texture_size()
        self._start(lambda session: np.concatenate([noise(session, seed + k, size=size) for k in range(count)]))

    def run_interpolate(self) -> None:
        a, b, steps, size = self.seed.value(), self.seed_b.value(), max(self.count.value(), 2), self.texture_size()
        self._start(lambda session: interpolate(noise(session, a, size=size), noise(session, b, size=size), steps))

    def _start(self, vectors: Callable[[ModelSession], np.ndarray]) -> None:
        model_id = self.model.currentData()
        if model_id is None or self.worker is not None:
            return
        models, device, size = self.models, self._device(), self.texture_size()

        def job(progress: Progress) -> list[Photo]:
            session = models.open(models.resolve(None, None, model_id), device)
            progress.check_cancelled()
            return generate(session, vectors(session), size=size, progress=progress)

        self.worker = Worker(job, "generate", self)
        self.worker.succeeded.connect(self._show)
        self.worker.failed.connect(lambda e: self.error.emit(e.message))
        self.worker.finished.connect(self._done)
        self.worker.start_job()
        self._update_controls()

    def _show(self, photos: list[Photo]) -> None:
        self.photos = photos
        self.grid.clear()
        times = 2 if self.tiled_preview.isChecked() else 1
        for k, photo in enumerate(photos, start=1):
            shown = tile(photo, times) if times > 1 else photo
            icon = to_qimage(shown).scaled(
                self.grid.iconSize(), Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
            )
            label = f"#{k}  {photo.width}×{photo.height}"
            self.grid.addItem(QListWidgetItem(QIcon(QPixmap.fromImage(icon)), label))

    def _done(self) -> None:
        self.worker = None
        self._update_controls()

    def save_all(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Save the generated images into")
        if not folder:
            return
        try:
            stem = f"{self.model.currentData()}-seed{self.seed.value()}"
            paths = save_generated(self.photos, Path(folder), stem, tiles=self.save_tiles.value())
        except (OSError, ValueError) as exc:
            self.error.emit(f"Could not save: {exc}")
            return
        self.error.emit(f"Saved {len(paths)} images to {folder}")
