"""The main window: open a photo, pick a model or a chain and a device, preview the visible region, enhance,
compare, save; the batch queue, fine-tuning and generating live in tabs beside the viewer.
"""

from __future__ import annotations

import html
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QByteArray, QSettings, QSize, Qt, QTimer, QUrl
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QColor,
    QDesktopServices,
    QDragEnterEvent,
    QDropEvent,
    QIcon,
    QImage,
    QKeySequence,
)
from PySide6.QtWidgets import (
    QCheckBox,
    QColorDialog,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QLabel,
    QLineEdit,
    QListView,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QTabWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from photogan import __version__
from photogan.app.batch import provenance
from photogan.app.chain import Region, detect_damage, enhance_chain, preview_region
from photogan.app.doctor import report
from photogan.app.finetune import torch_available
from photogan.app.models import ModelService, chain_choices, picker_thumbnail, provider_label
from photogan.app.outputs import OutputPlanner, PlanError, chain_suffix, free_name
from photogan.app.queue import BatchQueue, QueueItem
from photogan.app.settings import Settings, load_settings, save_settings
from photogan.app.sizing import describe_print
from photogan.core.errors import PhotoganError
from photogan.core.formats import FORMAT_CHOICES, IMAGE_FILTER, SAVE_FILTER, is_writable_name
from photogan.core.hints import Hint, load_hints, save_hints, sidecar_for
from photogan.core.image import Photo
from photogan.core.load import load_image
from photogan.core.masks import load_mask, mask_sidecar_for, save_mask
from photogan.core.progress import Progress, time_left
from photogan.core.save import save_image
from photogan.core.tiling import AUTO_TILE, TileOptions
from photogan.gui.diagnostics import DiagnosticsDialog
from photogan.gui.fields import FolderField
from photogan.gui.filmstrip import Filmstrip
from photogan.gui.finetune_panel import FineTunePanel
from photogan.gui.generate_panel import GeneratePanel
from photogan.gui.images import to_qimage
from photogan.gui.mask_brush import MAX_RADIUS, MIN_RADIUS, MaskBrush
from photogan.gui.models_dialog import ModelsDialog
from photogan.gui.photo_info import PhotoInfoDialog
from photogan.gui.queue_panel import QueuePanel, RunSetup
from photogan.gui.viewer import CompareView
from photogan.gui.workers import Worker, WorkerError
from photogan.inference.model_info import ModelInfo
from photogan.inference.session import ModelSession, cuda_offered

log = logging.getLogger(__name__)

VIEW_MODES = (
    ("Split", "split", "1"),
    ("Side by side", "side", "2"),
    ("Original", "before", "3"),
    ("Result", "after", "4"),
)


MAX_HISTORY = 4  # results kept per photo for undo and A/B (a ×4 result of a large scan is big)


def describe_photo(photo: Photo) -> str:
    kind = "grayscale" if photo.grayscale else "RGB"
    extras = [f"{photo.bit_depth}-bit", kind + ("+alpha" if photo.alpha is not None else "")]
    if photo.icc_profile:
        extras.append("ICC profile")
    return f"{photo.width}×{photo.height} ({photo.width * photo.height / 1e6:.1f} MP), " + ", ".join(extras)


def _choices(options: Sequence[tuple[str, str]], current: str) -> QComboBox:
    """A combo box of (label, value) options showing ``current`` (the first when it is none of them)."""
    combo = QComboBox()
    for label, value in options:
        combo.addItem(label, value)
    combo.setCurrentIndex(max(combo.findData(current), 0))
    return combo


class OutputDialog(QDialog):
    """Output settings: folder, format, quality, bit depth, metadata, naming, tile size."""

    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Output settings")
        self.folder = FolderField("Output folder", settings.output_dir)
        self.format_combo = _choices(
            (
                ("Same as the original", "same"),
                ("PNG", "png"),
                ("JPEG", "jpg"),
                ("TIFF", "tiff"),
                ("WebP", "webp"),
                ("HEIC", "heic"),
                ("AVIF", "avif"),
            ),
            settings.format,
        )
        self.quality = QSpinBox()
        self.quality.setRange(1, 100)
        self.quality.setValue(settings.quality)
        self.depth_combo = _choices(
            (("Same as the original", "same"), ("8 bits", "8"), ("16 bits (PNG, TIFF)", "16")), settings.bit_depth
        )
        self.metadata = QCheckBox("Keep EXIF, XMP and IPTC (the colour profile is always kept)")
        self.metadata.setChecked(settings.keep_metadata)
        self.existing = _choices(
            (
                ("Rename the new one (photo-x4-2.jpg)", "rename"),
                ("Skip the photo", "skip"),
                ("Replace it", "replace"),
            ),
            settings.existing,
        )
        self.existing.setToolTip("When a batch or queue output is already there; Save in the viewer always asks")
        self.suffix = QLineEdit(settings.name_suffix)
        self.suffix.setPlaceholderText("automatic: what the model did, e.g. -x4, -restored, -repaired-colorized")
        self.tile = QSpinBox()
        self.tile.setRange(AUTO_TILE, 4096)
        self.tile.setSingleStep(128)
        self.tile.setValue(settings.tile)
        self.tile.setSpecialValueText("automatic (the fastest for each model)")
        self.tile.setToolTip(
            "Tile side in pixels. Automatic uses each model's own, measured as the fastest on a CPU; smaller tiles "
            "use less memory; 0 processes the whole image at once"
        )
        # the output size: the chain's own scale, or resized to a factor, a long side or a print
        self.size_mode = _choices(
            (
                ("As the models make it", "model"),
                ("Enlarge by a factor", "factor"),
                ("Long side in pixels", "long_side"),
                ("Print size", "print"),
            ),
            settings.size_mode,
        )
        self.size_factor = QDoubleSpinBox()
        self.size_factor.setRange(0.1, 16.0)
        self.size_factor.setSingleStep(0.5)
        self.size_factor.setPrefix("×")
        self.size_factor.setValue(settings.size_factor)
        self.size_long_side = QSpinBox()
        self.size_long_side.setRange(16, 100_000)
        self.size_long_side.setSingleStep(500)
        self.size_long_side.setSuffix(" px")
        self.size_long_side.setValue(settings.size_long_side)
        self.print_size = QLineEdit(settings.print_size)
        self.print_size.setPlaceholderText("e.g. 40x60cm, 300x400mm, 16x20in")
        self.print_dpi = QSpinBox()
        self.print_dpi.setRange(50, 2400)
        self.print_dpi.setSuffix(" DPI")
        self.print_dpi.setValue(round(settings.print_dpi))
        self.size_mode.currentIndexChanged.connect(self._show_size_fields)
        form = QFormLayout(self)
        form.addRow("Folder", self.folder)
        form.addRow("Format", self.format_combo)
        form.addRow("JPEG/WebP quality", self.quality)
        form.addRow("Bit depth", self.depth_combo)
        form.addRow("", self.metadata)
        form.addRow("Name suffix", self.suffix)
        form.addRow("If the file exists", self.existing)
        form.addRow("Tile size", self.tile)
        self.int8 = QCheckBox("Faster on the CPU: 8-bit models, at most 0.05 dB less")
        self.int8.setChecked(settings.int8)
        self.int8.setToolTip(
            "Runs a model's 8-bit copy on the CPU where photogan measured it loses less than 0.05 dB "
            "(networks 1.2–1.5× faster; restore and the upscalers). GPUs always run the full-precision model."
        )
        form.addRow("Speed", self.int8)
        form.addRow("Output size", self.size_mode)
        form.addRow("Factor", self.size_factor)
        form.addRow("Long side", self.size_long_side)
        form.addRow("Print", self.print_size)
        form.addRow("Print resolution", self.print_dpi)
        self._form = form
        self._show_size_fields()
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def _show_size_fields(self) -> None:
        mode = self.size_mode.currentData()
        shown = {
            self.size_factor: mode == "factor",
            self.size_long_side: mode == "long_side",
            self.print_size: mode == "print",
            self.print_dpi: mode == "print",
        }
        for widget, visible in shown.items():
            self._form.setRowVisible(widget, visible)

    def accept(self) -> None:
        """Refuses a print size that does not parse, with the reason, before the dialog closes."""
        try:
            self.apply(Settings()).size_request()
        except ValueError as exc:
            QMessageBox.warning(self, "Output size", str(exc))
            return
        super().accept()

    def apply(self, settings: Settings) -> Settings:
        return replace(
            settings,
            output_dir=self.folder.text().strip() or settings.output_dir,
            format=self.format_combo.currentData(),
            quality=self.quality.value(),
            bit_depth=self.depth_combo.currentData(),
            keep_metadata=self.metadata.isChecked(),
            name_suffix=self.suffix.text().strip(),
            existing=self.existing.currentData(),
            tile=self.tile.value(),
            int8=self.int8.isChecked(),
            size_mode=self.size_mode.currentData(),
            size_factor=self.size_factor.value(),
            size_long_side=self.size_long_side.value(),
            print_size=self.print_size.text().strip(),
            print_dpi=float(self.print_dpi.value()),
        )


class MainWindow(QMainWindow):
    """photogan's window. ``settings_path``/``queue`` let tests keep their state in a temporary folder."""

    def __init__(
        self,
        models: ModelService | None = None,
        queue: BatchQueue | None = None,
        settings_path: Path | None = None,
        qsettings: QSettings | None = None,
    ) -> None:
        super().__init__()
        self.models = models or ModelService()
        self._settings_path = settings_path
        self.settings = load_settings(settings_path)
        self._qsettings = qsettings or QSettings("photogan", "photogan")
        self.photo: Photo | None = None
        self.photo_path: Path | None = None
        self.result: Photo | None = None
        self.result_chain: tuple[str, ...] = ()
        #: This photo's last results (for undo and A/B), and which one is shown.
        self.history: list[tuple[Photo, QImage, tuple[str, ...]]] = []
        self.history_index = -1
        self.worker: Worker | None = None
        self.last_error: str | None = None
        self._busy_message = ""
        self.setWindowTitle("photogan")
        self.setAcceptDrops(True)
        self.resize(1280, 820)

        self.viewer = CompareView()
        self.viewer.view_changed.connect(self._update_zoom_label)
        self.viewer.hints_changed.connect(self._hints_changed)
        self.viewer.hint_color_requested.connect(self._edit_hint_color)
        self.viewer.mask_changed.connect(self._mask_changed)
        self._tasks: dict[str, str] = {}  # model id → task, for what the chosen chain can do
        self._hint_preview = QTimer(self)  # the preview follows the colour points, once they stop changing
        self._hint_preview.setSingleShot(True)
        self._hint_preview.setInterval(400)
        self._hint_preview.timeout.connect(self._preview_after_hints)
        self.queue_panel = QueuePanel(
            queue or BatchQueue(),
            self._queue_setup,
            chain_of=lambda: self.current_chain(),
            output_of=lambda: self.settings,
            edit_output=self._edit_rows_output,
        )
        self.queue_panel.open_item.connect(self.open_queue_item)
        self.queue_panel.error.connect(self.show_message)
        self.finetune_panel = FineTunePanel(self.models, torch_available())
        self.finetune_panel.model_exported.connect(self._model_added)
        self.generate_panel = GeneratePanel(self.models, lambda: self.settings.device)
        self.generate_panel.error.connect(self.show_message)
        self.generate_panel.learn_requested.connect(self.learn_texture)

        self._build_actions()
        self._swatch()
        viewer_page = QWidget()
        viewer_layout = QVBoxLayout(viewer_page)
        viewer_layout.setContentsMargins(0, 0, 0, 0)
        viewer_layout.addWidget(self._viewer_bar())
        viewer_layout.addWidget(self.viewer, 1)
        self.filmstrip = Filmstrip()
        self.filmstrip.setVisible(False)  # until a photo is open
        self.filmstrip.chosen.connect(self._open_from_filmstrip)
        viewer_layout.addWidget(self.filmstrip)
        self.tabs = QTabWidget()
        self.tabs.addTab(viewer_page, "Viewer")
        self.tabs.addTab(self.queue_panel, "Batch queue")
        self.tabs.addTab(self.finetune_panel, "Fine-tune")
        self.tabs.addTab(self.generate_panel, "Generate")
        self.setCentralWidget(self.tabs)

        self._build_toolbar()
        self._build_menus()
        self._build_status_bar()
        self.refresh_models()
        self._restore_window()
        self._update_actions()
        queue_state = self.queue_panel.queue
        queue_state.claim()  # one window saves the queue; a second one says so
        if queue_state.problems:  # once the window is up, so the message has a parent the user sees
            text = "The batch queue: " + "\n\n".join(queue_state.problems)
            QTimer.singleShot(0, lambda: self.show_message(text))

    # -- construction -----------------------------------------------------------------------------------------

    def _action(
        self,
        text: str,
        slot: Callable[[], Any],
        shortcut: QKeySequence | QKeySequence.StandardKey | str | None = None,
        tip: str = "",
    ) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.setToolTip(tip or text)
        action.setStatusTip(tip or text)
        action.triggered.connect(slot)
        return action

    def _build_actions(self) -> None:
        self.open_action = self._action("Open…", self.open_dialog, QKeySequence.StandardKey.Open, "Open a photo")
        self.add_queue_action = self._action("Add to queue…", self.queue_panel.add_files_dialog, "Ctrl+Shift+O")
        self.preview_action = self._action(
            "Preview", self.preview, "P", "Enhance only the visible region (a quick look before the whole photo)"
        )
        self.enhance_action = self._action("Enhance", self.enhance, "Ctrl+Return", "Enhance the whole photo")
        self.cancel_action = self._action("Cancel", self.cancel, "Esc", "Stop the current enhancement")
        self.save_action = self._action(
            "Save", self.save, QKeySequence.StandardKey.Save, "Save the result into the output folder"
        )
        self.save_as_action = self._action("Save as…", self.save_as, QKeySequence.StandardKey.SaveAs)
        self.output_action = self._action("Output settings…", self.output_settings, "Ctrl+,")
        self.models_action = self._action("Manage models…", self.manage_models, "Ctrl+M")
        self.details_action = self._action("Details", self.show_model_details)
        self.details_action.setToolTip("The chosen model's card: what it was trained on, measured, and its limits")
        self.quit_action = self._action("Quit", self.close, QKeySequence.StandardKey.Quit)
        self.fit_action = self._action("Fit", self.viewer.fit, "Ctrl+0", "Fit the photo in the window")
        self.actual_action = self._action(
            "100 %", self.viewer.actual_size, "Ctrl+1", "One photo pixel per screen pixel"
        )
        self.zoom_in_action = self._action("Zoom in", self.viewer.zoom_in, QKeySequence.StandardKey.ZoomIn)
        self.zoom_out_action = self._action("Zoom out", self.viewer.zoom_out, QKeySequence.StandardKey.ZoomOut)
        self.hints_action = self._action(
            "Colour points",
            self._toggle_hints,
            "H",
            "Tell the colorizer colours you know: click the photo to place a point in the point colour, drag to "
            "move it, right-click to remove it, double-click to change its colour. Only hue and saturation are "
            "used; the photo's own brightness is kept. The colorizer sees the luminance only, so a sepia or "
            "toned print is colorized like a gray one.",
        )
        self.hints_action.setCheckable(True)
        self.hint_color_action = self._action(
            "Point colour…", self._choose_hint_color, tip="The colour of the next colour point"
        )
        self.clear_hints_action = self._action("Clear points", self._clear_hints, tip="Remove every colour point")
        self.mask_action = self._action(
            "Damage mask",
            self._toggle_mask,
            "M",
            "Paint what the inpainter fills (scratches, dust, tears): left button paints, right button or Shift "
            "erases, [ and ] change the brush size; less hardness fades the stroke's edge. The mask is saved "
            "beside the photo (NAME.mask.png) for batches too; choose an Inpaint or Repair model and Preview or "
            "Enhance to fill it.",
        )
        self.mask_action.setCheckable(True)
        self.find_damage_action = self._action(
            "Find damage", self.find_damage, tip="Let the damage detector mark scratches, dust and tears (editable)"
        )
        self.undo_mask_action = self._action("Undo stroke", self._undo_mask, QKeySequence.StandardKey.Undo)
        self.redo_mask_action = self._action("Redo stroke", self._redo_mask, QKeySequence.StandardKey.Redo)
        self.clear_mask_action = self._action("Clear mask", self._clear_mask, tip="Remove the whole damage mask")
        self.smaller_brush_action = self._action("Smaller brush", partial(self._brush_step, 1 / 1.25), "[")
        self.larger_brush_action = self._action("Larger brush", partial(self._brush_step, 1.25), "]")
        for action in (self.smaller_brush_action, self.larger_brush_action):
            self.addAction(action)  # shortcuts only
        self.previous_result_action = self._action(
            "Previous result", self.previous_result, "Ctrl+Alt+Z", "Back to the result before this one"
        )
        self.next_result_action = self._action("Next result", self.next_result, "Ctrl+Alt+Shift+Z")
        self.compare_action = self._action(
            "A/B: compare with the previous result",
            self._toggle_compare,
            "B",
            "Show the result before this one where the original is shown (split, side by side, Original)",
        )
        self.compare_action.setCheckable(True)
        self.mode_actions: list[QAction] = []
        for text, mode, key in VIEW_MODES:
            action = self._action(text, partial(self.set_view_mode, mode), key)
            action.setCheckable(True)
            action.setChecked(mode == "split")
            self.mode_actions.append(action)

    def _build_toolbar(self) -> None:
        bar = QToolBar("Main")
        bar.setObjectName("main-toolbar")
        bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        bar.addAction(self.open_action)
        bar.addSeparator()
        bar.addWidget(QLabel(" Model "))
        self.model_combo = QComboBox()
        self.model_combo.setMinimumWidth(300)
        self.model_combo.setIconSize(QSize(48, 24))  # the choices' before/after thumbnails
        picker = QListView()
        picker.setIconSize(QSize(48, 24))
        picker.setMinimumWidth(400)
        picker.setSpacing(1)
        self.model_combo.setView(picker)
        self.model_combo.setToolTip("The model, or chain of models, to run")
        self.model_combo.currentIndexChanged.connect(self._chain_changed)
        bar.addWidget(self.model_combo)
        bar.addAction(self.details_action)
        bar.addWidget(QLabel(" Device "))
        self.device_combo = QComboBox()
        self.device_combo.addItem("Auto (GPU when available)", "auto")
        self.device_combo.addItem("CPU", "cpu")
        if cuda_offered():
            for index in range(4):
                self.device_combo.addItem(f"GPU {index}", f"cuda:{index}")
        self.device_combo.setCurrentIndex(max(self.device_combo.findData(self.settings.device), 0))
        self.device_combo.currentIndexChanged.connect(self._device_changed)
        bar.addWidget(self.device_combo)
        bar.addSeparator()
        for action in (self.preview_action, self.enhance_action, self.cancel_action, self.save_action):
            bar.addAction(action)
        self.addToolBar(bar)

    def _viewer_bar(self) -> QWidget:
        bar = QToolBar("View")
        bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        for action in self.mode_actions:
            bar.addAction(action)
        bar.addSeparator()
        for action in (self.fit_action, self.actual_action, self.zoom_in_action, self.zoom_out_action):
            bar.addAction(action)
        bar.addSeparator()
        for action in (self.hints_action, self.hint_color_action, self.clear_hints_action):
            bar.addAction(action)
        bar.addSeparator()
        for action in (self.mask_action, self.find_damage_action, self.clear_mask_action):
            bar.addAction(action)
        self.brush_spin = QSpinBox()
        self.brush_spin.setRange(MIN_RADIUS, MAX_RADIUS)
        self.brush_spin.setValue(12)
        self.brush_spin.setSuffix(" px")
        self.brush_spin.setToolTip("Brush radius in photo pixels ([ and ] change it)")
        self.brush_spin.valueChanged.connect(self._brush_size)
        bar.addWidget(self.brush_spin)
        self.hardness_spin = QSpinBox()
        self.hardness_spin.setRange(0, 100)
        self.hardness_spin.setValue(100)
        self.hardness_spin.setSuffix(" % hard")
        self.hardness_spin.setToolTip(
            "Brush hardness: at 100 % the stroke's edge is hard; lower, it fades out, and the fill is blended "
            "into the photo there (for stains and fades without a sharp border)"
        )
        self.hardness_spin.valueChanged.connect(self._brush_hardness)
        bar.addWidget(self.hardness_spin)
        bar.addSeparator()
        self.hold_button = QPushButton("Hold for original")
        self.hold_button.setToolTip("Press and hold (or hold Space over the photo) to see the original")
        self.hold_button.pressed.connect(lambda: self.viewer.hold_original(True))
        self.hold_button.released.connect(lambda: self.viewer.hold_original(False))
        bar.addWidget(self.hold_button)
        self.zoom_label = QLabel()
        bar.addWidget(self.zoom_label)
        return bar

    def _build_menus(self) -> None:
        menu = self.menuBar()
        file_menu = menu.addMenu("&File")
        file_menu.addAction(self.open_action)
        self.recent_menu = file_menu.addMenu("Open recent")
        file_menu.addAction(self.add_queue_action)
        file_menu.addSeparator()
        file_menu.addAction(self.save_action)
        file_menu.addAction(self.save_as_action)
        file_menu.addAction(self.output_action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        enhance_menu = menu.addMenu("&Enhance")
        for action in (self.preview_action, self.enhance_action, self.cancel_action):
            enhance_menu.addAction(action)
        enhance_menu.addSeparator()
        for action in (
            self.mask_action,
            self.find_damage_action,
            self.undo_mask_action,
            self.redo_mask_action,
            self.clear_mask_action,
        ):
            enhance_menu.addAction(action)
        view_menu = menu.addMenu("&View")
        for action in self.mode_actions:
            view_menu.addAction(action)
        view_menu.addSeparator()
        for action in (self.fit_action, self.actual_action, self.zoom_in_action, self.zoom_out_action):
            view_menu.addAction(action)
        view_menu.addSeparator()
        for action in (self.compare_action, self.previous_result_action, self.next_result_action):
            view_menu.addAction(action)
        view_menu.addSeparator()
        view_menu.addAction(
            self._action("Photo info…", self.photo_info, "I", "File, pixels, camera, profile, histogram")
        )
        models_menu = menu.addMenu("&Models")
        models_menu.addAction(self.models_action)
        help_menu = menu.addMenu("&Help")
        help_menu.addAction(self._action("Keyboard shortcuts", self.shortcuts, QKeySequence.StandardKey.HelpContents))
        help_menu.addAction(self._action("Open log folder", self.open_log_folder))
        help_menu.addAction(self._action("Diagnostics…", self.diagnostics))
        help_menu.addAction(self._action("About photogan", self.about))
        self._rebuild_recent()

    def _build_status_bar(self) -> None:
        status = self.statusBar()
        self.photo_label = QLabel("No photo")
        self.provider_label = QLabel("Device: not used yet")
        self.provider_label.setToolTip("Where the last model actually ran")
        self.progress_bar = QProgressBar()
        self.progress_bar.setMaximumWidth(260)
        self.progress_bar.setMaximum(1000)
        self.progress_bar.setVisible(False)
        self.output_label = QLabel("")
        self.output_label.setToolTip("What the chosen model or chain makes of this photo, and the print it gives")
        status.addWidget(self.photo_label, 1)
        status.addPermanentWidget(self.output_label)
        status.addPermanentWidget(self.progress_bar)
        status.addPermanentWidget(self.provider_label)

    # -- settings and state -----------------------------------------------------------------------------------

    def _save_settings(self) -> None:
        try:
            save_settings(self.settings, self._settings_path)
        except OSError as exc:
            log.warning("could not save the settings: %s", exc)

    def _restore_window(self) -> None:
        geometry = self._qsettings.value("geometry")
        state = self._qsettings.value("state")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        if isinstance(state, QByteArray):
            self.restoreState(state)
        mode = self._qsettings.value("view_mode", "split")
        if isinstance(mode, str) and mode in {m for _, m, _ in VIEW_MODES}:
            self.set_view_mode(mode)

    def refresh_models(self) -> None:
        """Fills the model picker, grouped by the job each model is for, in plain words (keeps the choice; falls
        back to the ×4 upscaler)."""
        entries = self.models.list()
        self._tasks = {e.info.id: e.info.task for e in entries}
        choices = chain_choices(entries)
        descriptions = {e.info.id: e.info.description for e in entries}
        wanted = tuple(self.settings.chain or ("upscale-x4",))
        self.model_combo.blockSignals(True)
        self.model_combo.clear()
        model = self.model_combo.model()
        job = None
        index_of: dict[tuple[str, ...], int] = {}
        for choice in choices:
            if choice.job != job:  # a heading: the job, not a choice
                job = choice.job
                self.model_combo.addItem(job)
                heading = model.item(self.model_combo.count() - 1)  # type: ignore[attr-defined]
                heading.setFlags(Qt.ItemFlag.NoItemFlags)
                font = heading.font()
                font.setBold(True)
                heading.setFont(font)
            self.model_combo.addItem(choice.label, choice.chain)
            index = self.model_combo.count() - 1
            # which photos it is for, then each model's own card line; the before/after thumbnail beside it, larger
            # in the tooltip
            details = "\n".join(f"{m}: {descriptions[m]}" for m in choice.chain if descriptions.get(m))
            tip = "\n\n".join(t for t in (choice.sentence, details) if t)
            thumb = picker_thumbnail(choice.chain)
            if thumb is not None:
                self.model_combo.setItemIcon(index, QIcon(str(thumb)))
                picture = f'<img src="{QUrl.fromLocalFile(str(thumb)).toString()}" width="388" height="192">'
                text = html.escape(tip).replace("\n", "<br>")
                tip = f"{picture}<br><i>Before (as it comes in) and after, at 100 %</i><br><br>{text}"
            if tip:
                self.model_combo.setItemData(index, tip, Qt.ItemDataRole.ToolTipRole)
            index_of[choice.chain] = index
        first = next(iter(index_of.values()), -1)
        self.model_combo.setCurrentIndex(index_of.get(wanted, index_of.get(("upscale-x4",), first)))
        self.model_combo.blockSignals(False)
        self.finetune_panel.refresh_models()
        self.generate_panel.refresh_models()

    def current_chain(self) -> tuple[str, ...]:
        data = self.model_combo.currentData()
        return tuple(data) if data else ()

    def select_chain(self, chain: Sequence[str]) -> bool:
        for index in range(self.model_combo.count()):
            data = self.model_combo.itemData(index)
            if data is not None and tuple(data) == tuple(chain):
                self.model_combo.setCurrentIndex(index)
                return True
        return False

    def _chain_changed(self) -> None:
        self.settings = replace(self.settings, chain=self.current_chain())
        self._save_settings()
        self._update_actions()
        self._update_output_label()
        if self.result is not None and self.result_chain != self.current_chain():
            self.statusBar().showMessage(
                f"The result shown is {' → '.join(self.result_chain)}'s: Preview or Enhance to see the new choice",
                10000,
            )

    def _update_output_label(self) -> None:
        """Before running: the output's pixels and its print size, at the print resolution asked for or the
        photo's DPI (300 when it has none); with an output size set, how it is reached from the models' scale."""
        photo = self.photo
        if photo is None or not hasattr(self, "output_label"):
            return
        try:
            scale = math.prod(info.scale for info in self._chain_infos())
            request = self.settings.size_request()
        except (PhotoganError, ValueError):
            self.output_label.setText("")
            return
        dpi = photo.dpi[0] if photo.dpi and photo.dpi[0] > 1 else 300.0
        if request is None:
            self.output_label.setText(f"Output {describe_print(photo.width * scale, photo.height * scale, dpi)}")
            return
        width, height = request.target(photo.width, photo.height)
        resize = width / (photo.width * scale)
        how = f"×{scale} model" + ("" if abs(resize - 1) < 0.005 else f", then resized ×{resize:.2f}")
        if resize > 1.25:  # Lanczos adds pixels, not detail
            how += ": beyond what the model adds, softer"
        self.output_label.setText(f"Output {describe_print(width, height, request.output_dpi() or dpi)} ({how})")

    def chain_colorizes(self) -> bool:
        return any(self._tasks.get(m) == "colorize" for m in self.current_chain())

    # -- colour points --------------------------------------------------------------------------------------------

    def _toggle_hints(self) -> None:
        on = self.hints_action.isChecked()
        self.viewer.set_hint_mode(on)
        if on:
            unused = "" if self.chain_colorizes() else " (they guide Colorize: pick it, or a chain with it, in Model)"
            self.statusBar().showMessage(
                "Click the photo to place a colour point; right-click removes one, double-click changes its colour"
                + unused,
                10000,
            )

    def _swatch(self) -> None:
        r, g, b = self.viewer.hint_color
        self.hint_color_action.setText(f"Point colour #{r:02x}{g:02x}{b:02x}…")

    def _choose_hint_color(self) -> None:
        chosen = QColorDialog.getColor(QColor(*self.viewer.hint_color), self, "Colour of the next point")
        if chosen.isValid():
            self.viewer.hint_color = (chosen.red(), chosen.green(), chosen.blue())
            self._swatch()

    def _edit_hint_color(self, index: int) -> None:
        hint = self.viewer.hints[index]
        chosen = QColorDialog.getColor(QColor(*hint.color), self, "Colour of this point")
        if chosen.isValid():
            self.viewer.hints[index] = Hint(hint.x, hint.y, (chosen.red(), chosen.green(), chosen.blue()))
            self.viewer.hint_color = self.viewer.hints[index].color
            self._swatch()
            self.viewer.update()
            self._hints_changed()

    def _clear_hints(self) -> None:
        if self.viewer.hints:
            self.viewer.set_hints([])
            self._hints_changed()

    def _hints_changed(self) -> None:
        """Keeps the points in the photo's sidecar (``NAME.hints.json``, what batches use too) and refreshes the
        preview of a colorizing chain."""
        if self.photo_path is not None:
            try:
                save_hints(sidecar_for(self.photo_path), self.viewer.hints)
            except OSError as exc:
                self.statusBar().showMessage(f"The colour points are not saved beside the photo: {exc}", 10000)
        if self.chain_colorizes():
            self._hint_preview.start()

    def _preview_after_hints(self) -> None:
        if self.worker is not None:  # busy: try again once the current work is done
            self._hint_preview.start()
            return
        self.preview()

    # -- damage mask ----------------------------------------------------------------------------------------------

    def chain_inpaints(self) -> bool:
        return any(self._tasks.get(m) == "inpaint" for m in self.current_chain())

    def _toggle_mask(self) -> None:
        on = self.mask_action.isChecked()
        if on and self.hints_action.isChecked():
            self.hints_action.setChecked(False)
            self._toggle_hints()
        self.viewer.set_mask_mode(on)
        if on:
            unused = "" if self.chain_inpaints() else " (the mask is filled by Fill the damage mask or a Repair chain)"
            self.statusBar().showMessage(
                "Paint over scratches, dust and tears; right-click or Shift erases; [ and ] change the brush" + unused,
                10000,
            )

    def _brush_size(self, radius: int) -> None:
        if self.viewer.brush is not None:
            self.viewer.brush.set_radius(radius)
            self.viewer.update()

    def _brush_hardness(self, percent: int) -> None:
        if self.viewer.brush is not None:
            self.viewer.brush.set_hardness(percent / 100)

    def _brush_step(self, factor: float) -> None:
        self.brush_spin.setValue(
            max(MIN_RADIUS, round(self.brush_spin.value() * factor + (0.5 if factor > 1 else -0.5)))
        )

    def _mask_changed(self) -> None:
        """Keeps the mask in the photo's sidecar (``NAME.mask.png``, what batches use too)."""
        brush = self.viewer.brush
        if self.photo_path is not None and brush is not None:
            try:
                save_mask(mask_sidecar_for(self.photo_path), brush.mask)
            except OSError as exc:
                self.statusBar().showMessage(f"The damage mask is not saved beside the photo: {exc}", 10000)
        self._update_actions()

    def _undo_mask(self) -> None:
        if self.viewer.brush is not None and self.viewer.brush.undo():
            self.viewer.update()
            self._mask_changed()

    def _redo_mask(self) -> None:
        if self.viewer.brush is not None and self.viewer.brush.redo():
            self.viewer.update()
            self._mask_changed()

    def _clear_mask(self) -> None:
        if self.viewer.brush is not None and self.viewer.brush.mask.any():
            self.viewer.brush.clear()
            self.viewer.update()
            self._mask_changed()

    def _current_mask(self) -> np.ndarray | None:
        brush = self.viewer.brush
        return brush.mask.copy() if brush is not None and brush.mask.any() and self.chain_inpaints() else None

    def find_damage(self) -> None:
        """Runs the damage detector on the photo and adds what it finds to the mask (shown, editable)."""
        photo = self.photo
        if photo is None:
            return
        models, device, tile = self.models, self.settings.device, self._tile()

        def job(progress: Progress) -> np.ndarray:
            session = models.open(models.registry.default_for("detect", None), device)
            return detect_damage(photo, session, tile, progress)

        def done(found: np.ndarray) -> None:
            brush = self.viewer.brush
            if brush is None:
                return
            brush.set_mask(found, add=True)
            if not self.mask_action.isChecked():
                self.mask_action.setChecked(True)
                self._toggle_mask()
            self.viewer.update()
            self._mask_changed()
            share = 100 * float(found.mean())
            self.statusBar().showMessage(
                f"Damage found on {share:.2f} % of the photo; paint or erase to correct", 10000
            )

        self._run(job, done, "Finding damage…", "Could not find the damage")

    def _saved_mask(self, path: Path, photo: Photo) -> np.ndarray | None:
        """The mask saved beside the photo (None when there is none or it does not fit)."""
        sidecar = mask_sidecar_for(path)
        if not sidecar.is_file():
            return None
        try:
            return load_mask(sidecar, photo.width, photo.height)
        except PhotoganError as exc:
            self.show_message(f"The damage mask beside {path.name} was not loaded: {exc}")
            return None

    def _device_changed(self) -> None:
        self.settings = replace(self.settings, device=self.device_combo.currentData())
        self._save_settings()

    def _model_added(self, model_id: str, select: bool = True) -> None:
        self.refresh_models()
        if select:
            self.select_chain((model_id,))
            self.statusBar().showMessage(f"{model_id} is installed and selected", 8000)
        else:  # a fine-tune that lost to its base: installed, the user decides
            self.statusBar().showMessage(f"{model_id} is installed, not selected: it did not beat its base", 8000)

    def set_view_mode(self, mode: str) -> None:
        self.viewer.set_mode(mode)
        for action, (_, m, _) in zip(self.mode_actions, VIEW_MODES, strict=True):
            action.setChecked(m == mode)

    def _update_zoom_label(self) -> None:
        zoom, scale = self.viewer.zoom(), self.viewer.result_scale()
        if scale != 1.0:  # what the result is seen at, the original's zoom beside it
            self.zoom_label.setText(f"  result {zoom * scale * 100:.0f} % (original {zoom * 100:.0f} %)  ")
        else:
            self.zoom_label.setText(f"  {zoom * 100:.0f} %  ")

    def _update_actions(self) -> None:
        busy = self.worker is not None
        has_photo = self.photo is not None
        self.preview_action.setEnabled(has_photo and not busy and self.model_combo.count() > 0)
        self.enhance_action.setEnabled(has_photo and not busy and self.model_combo.count() > 0)
        self.cancel_action.setEnabled(busy)
        self.save_action.setEnabled(self.result is not None and not busy)
        self.save_as_action.setEnabled(self.result is not None and not busy)
        self.progress_bar.setVisible(busy)
        for action in (self.hints_action, self.hint_color_action, self.clear_hints_action, self.mask_action):
            action.setEnabled(has_photo)
        brush = self.viewer.brush
        self.previous_result_action.setEnabled(self.history_index > 0 and not busy)
        self.next_result_action.setEnabled(0 <= self.history_index < len(self.history) - 1 and not busy)
        self.find_damage_action.setEnabled(has_photo and not busy)
        self.undo_mask_action.setEnabled(brush is not None and brush.can_undo())
        self.redo_mask_action.setEnabled(brush is not None and brush.can_redo())
        self.clear_mask_action.setEnabled(brush is not None and bool(brush.mask.any()))

    def show_message(self, text: str) -> None:
        """Tells the user something went wrong, in plain words (also kept for tests)."""
        self.last_error = text
        log.info("message to the user: %s", text)
        if self.isVisible():
            QMessageBox.warning(self, "photogan", text)
        else:
            self.statusBar().showMessage(text, 15000)

    # -- opening ------------------------------------------------------------------------------------------------

    def open_dialog(self) -> None:
        start = str(Path(self.settings.recent[0]).parent) if self.settings.recent else ""
        path, _ = QFileDialog.getOpenFileName(self, "Open a photo", start, IMAGE_FILTER)
        if path:
            self.open_photo(Path(path))

    def open_paths(self, paths: Sequence[Path]) -> None:
        """Opens one photo in the viewer; several photos or folders go into the batch queue."""
        paths = list(paths)
        if len(paths) == 1 and paths[0].is_file():
            self.open_photo(paths[0])
        elif paths:
            added = self.queue_panel.add_paths(paths)
            self.tabs.setCurrentWidget(self.queue_panel)
            self.statusBar().showMessage(f"{added} photos added to the queue", 8000)

    def open_photo(self, path: Path, result_path: Path | None = None) -> None:
        """Loads a photo (and optionally its saved result) in a worker, then shows it."""

        def job(progress: Progress) -> tuple[Photo, Photo | None, QImage, QImage | None]:
            photo = load_image(path)
            progress.set_progress(0.5)
            result = load_image(result_path) if result_path is not None and result_path.exists() else None
            # display copies are made here too: converting a large photo must not hold up the window
            return photo, result, to_qimage(photo), None if result is None else to_qimage(result)

        def done(value: tuple[Photo, Photo | None, QImage, QImage | None]) -> None:
            photo, result, shown, shown_result = value
            self.photo, self.photo_path, self.result = photo, path, result
            self.history, self.history_index = [], -1
            # a queue's output opened beside its photo: already saved; it counts as the current choice's
            self.result_chain = self.current_chain() if result is not None else ()
            self.viewer.result_label = result_path.name if result is not None and result_path is not None else ""
            self.viewer.set_images(shown, shown_result)
            self.viewer.set_hints(self._saved_hints(path))
            brush = MaskBrush(photo.width, photo.height, self._saved_mask(path, photo))
            brush.set_radius(self.brush_spin.value())
            brush.set_hardness(self.hardness_spin.value() / 100)
            self.viewer.set_brush(brush)
            self.setWindowTitle(f"{path.name} — photogan")
            self.photo_label.setText(f"{path.name}: {describe_photo(photo)}")
            self._update_output_label()
            self.settings = self.settings.with_recent(path)
            self._save_settings()
            self._rebuild_recent()
            self.filmstrip.show_photo(path)
            self.filmstrip.setVisible(True)
            self.tabs.setCurrentIndex(0)

        self._run(job, done, f"Opening {path.name}…", f"Could not open {path.name}")

    def _open_from_filmstrip(self, path: Path) -> None:
        if path != self.photo_path:
            self.open_photo(path)

    def _saved_hints(self, path: Path) -> list[Hint]:
        """The colour points saved beside the photo (none when there is no sidecar or it cannot be read)."""
        sidecar = sidecar_for(path)
        if not sidecar.is_file():
            return []
        try:
            return load_hints(sidecar)
        except PhotoganError as exc:
            self.show_message(f"The colour points beside {path.name} were not loaded: {exc}")
            return []

    def open_queue_item(self, item: QueueItem) -> None:
        target = Path(item.target) if item.target else None
        self.open_photo(Path(item.source), target)

    def _rebuild_recent(self) -> None:
        self.recent_menu.clear()
        for path in self.settings.recent:
            action = self.recent_menu.addAction(Path(path).name)
            action.setToolTip(path)
            action.triggered.connect(lambda _=False, p=path: self.open_photo(Path(p)))
        self.recent_menu.setEnabled(bool(self.settings.recent))

    # -- running --------------------------------------------------------------------------------------------

    def _sessions(self) -> list[ModelSession]:
        """Opens the chosen chain on the chosen device (called in workers)."""
        chain = self.current_chain()
        if not chain:
            raise ValueError("no model is installed for this task")
        return self._open_chain(chain)

    def _open_chain(self, chain: Sequence[str]) -> list[ModelSession]:
        """Sessions for these model ids on the chosen device."""
        device, int8 = self.settings.device, self.settings.int8
        return [self.models.open(self.models.resolve(None, None, model_id), device, int8) for model_id in chain]

    def _chain_infos(self) -> list[ModelInfo]:
        """What the chosen chain's models say of themselves (raises PhotoganError for a missing one)."""
        return [self.models.registry.get(model_id) for model_id in self.current_chain()]

    def _tile(self) -> TileOptions:
        return TileOptions(tile_size=self.settings.tile)

    def _show_provider(self, sessions: Sequence[ModelSession]) -> None:
        providers = sorted({provider_label(s.provider) for s in sessions})
        self.provider_label.setText(f"Ran on: {', '.join(providers)}")

    def _run(
        self, job: Callable[[Progress], Any], done: Callable[[Any], None], message: str, failure: str = ""
    ) -> Worker | None:
        """Runs ``job`` in a worker (one at a time); ``failure`` prefixes its error message."""
        if self.worker is not None:
            self.statusBar().showMessage("Busy: wait for the current work or cancel it (Esc)", 5000)
            return None
        worker = Worker(job, message, self)
        started = time.monotonic()

        def progressed(fraction: float) -> None:
            self.progress_bar.setValue(round(fraction * 1000))
            left = time_left(fraction, time.monotonic() - started)  # a large photo: how long it still takes
            self.progress_bar.setFormat(f"%p% · {left} left" if left else "%p%")

        worker.progressed.connect(progressed)
        worker.succeeded.connect(done)
        worker.failed.connect(lambda error: self._worker_failed(error, failure))
        worker.cancelled.connect(lambda: self.statusBar().showMessage("Cancelled; nothing was written", 5000))
        worker.finished.connect(self._worker_finished)
        self.worker = worker
        self.progress_bar.setValue(0)
        self.progress_bar.setFormat("%p%")
        self._busy_message = message
        self.statusBar().showMessage(message)
        self._update_actions()
        worker.start_job()
        return worker

    def _worker_failed(self, error: WorkerError, failure: str = "") -> None:
        self.statusBar().clearMessage()
        self.show_message(f"{failure}: {error.message}" if failure else error.message)

    def _worker_finished(self) -> None:
        self.worker = None
        if self.statusBar().currentMessage() == self._busy_message:  # "Opening X…" must not outlive the work
            self.statusBar().clearMessage()
        self._update_actions()

    def preview(self) -> None:
        """Enhances only the visible part of the photo and shows it in place."""
        photo = self.photo
        if photo is None:
            return
        region = self.viewer.visible_region()
        sessions_of = self._sessions
        tile = self._tile()
        hints = list(self.viewer.hints)
        mask = self._current_mask()

        def job(progress: Progress) -> tuple[Region, Photo, list[ModelSession]]:
            sessions = sessions_of()
            inside, crop = preview_region(photo, region, sessions, tile, progress, hints, mask)
            return inside, crop, sessions

        chain = self.current_chain()

        def done(value: tuple[Region, Photo, list[ModelSession]]) -> None:
            inside, crop, sessions = value
            self.result, self.result_chain = None, ()  # the preview shows the current settings; Enhance for a result
            self.viewer.result_label = " → ".join(chain)
            self.viewer.set_preview(inside, to_qimage(crop))
            self._show_provider(sessions)
            self.statusBar().showMessage(
                f"Preview of {inside.width}×{inside.height} px; Enhance for the whole photo", 8000
            )

        self._run(job, done, "Previewing the visible region…", "The preview failed")

    def enhance(self) -> None:
        photo = self.photo
        if photo is None:
            return
        sessions_of = self._sessions
        tile = self._tile()
        chain = self.current_chain()
        hints = list(self.viewer.hints)
        mask = self._current_mask()

        def job(progress: Progress) -> tuple[Photo, QImage, list[ModelSession]]:
            sessions = sessions_of()
            result = enhance_chain(photo, sessions, tile, progress, hints, mask=mask)
            return result, to_qimage(result), sessions

        def done(value: tuple[Photo, QImage, list[ModelSession]]) -> None:
            result, shown, sessions = value
            del self.history[self.history_index + 1 :]  # a new result after going back drops the ones after it
            self.history = [*self.history, (result, shown, chain)][-MAX_HISTORY:]
            self.history_index = len(self.history) - 1
            self._show_history()
            self._show_provider(sessions)
            self.statusBar().showMessage(
                f"Enhanced to {result.width}×{result.height}. Save (Ctrl+S) writes it to the output folder", 10000
            )

        self._run(
            job, done, "Enhancing…", f"Could not enhance {self.photo_path.name if self.photo_path else 'the photo'}"
        )

    def cancel(self) -> None:
        if self.worker is not None:
            self.worker.cancel()

    # -- saving ---------------------------------------------------------------------------------------------

    def _planner(self) -> OutputPlanner:
        s = self.settings
        return OutputPlanner(Path(s.output_dir), s.format, s.name_suffix or self.automatic_suffix())

    def default_target(self) -> Path | None:
        return None if self.photo_path is None else self._planner().target(self.photo_path)

    def automatic_suffix(self) -> str:
        """What the chosen chain does, for the saved file's name (the Output settings' suffix replaces it)."""
        try:
            return chain_suffix(self._chain_infos())
        except PhotoganError:
            return ""

    def _ask_overwrite(self, target: Path) -> str | None:
        """``replace``, ``rename`` (a free ``NAME-2`` beside it) or None (cancel) for a file that exists; with no
        window on screen (scripts, tests) a new name, never a silent replace."""
        if not self.isVisible():
            return "rename"
        box = QMessageBox(self)
        box.setIcon(QMessageBox.Icon.Question)
        box.setWindowTitle("photogan")
        box.setText(f"{target.name} already exists in {target.parent}.")
        box.setInformativeText(f"Replace it, or save as {free_name(target).name}?")
        replace_button = box.addButton("Replace", QMessageBox.ButtonRole.DestructiveRole)
        rename_button = box.addButton(f"Save as {free_name(target).name}", QMessageBox.ButtonRole.AcceptRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(rename_button)
        box.exec()
        clicked = box.clickedButton()
        return "replace" if clicked is replace_button else "rename" if clicked is rename_button else None

    def save(self) -> None:
        target = self.default_target()
        if target is not None:
            self.save_to(target)

    def save_as(self) -> None:
        target = self.default_target()
        path, _ = QFileDialog.getSaveFileName(self, "Save the result", str(target or ""), SAVE_FILTER)
        if path:
            self.save_to(Path(path))

    def save_to(self, target: Path) -> None:
        """Writes the result atomically; never over the original, never a result of other settings than the ones
        chosen now."""
        result, source = self.result, self.photo_path
        if result is None or source is None:
            return
        if self.result_chain != self.current_chain():
            made, chosen = " → ".join(self.result_chain), " → ".join(self.current_chain())
            self.show_message(
                f"The result shown was made with {made}, and {chosen} is chosen now: Enhance again to save "
                f"{chosen}'s result, or choose {made} again to save this one."
            )
            return
        try:
            self._planner().check(source, target)
        except PlanError as exc:
            self.show_message(f"{exc}.")
            return
        if target.exists():
            choice = self._ask_overwrite(target)
            if choice is None:
                return
            target = free_name(target) if choice == "rename" else target
        if target.suffix.lower() and not is_writable_name(target):
            names = ", ".join(sorted(FORMAT_CHOICES))
            self.show_message(f"{target.name}: unknown image type; use one of {names}.")
            return
        try:
            options = self.settings.output_options()
        except ValueError as exc:
            self.show_message(str(exc))
            return

        source_size = (self.photo.width, self.photo.height) if self.photo is not None else (0, 0)
        infos = self._chain_infos()

        def job(progress: Progress) -> Path:
            target.parent.mkdir(parents=True, exist_ok=True)
            sized = options.sized(result, *source_size)[0] if source_size[0] else result  # the size asked for
            photo = options.apply(sized, provenance(infos, sized.width, sized.height))
            return save_image(photo, target, quality=options.quality, png_level=options.png_compression)

        self._run(
            job,
            lambda path: self.statusBar().showMessage(f"Saved {path}", 10000),
            f"Saving {target.name}…",
            f"Could not save {target}",
        )

    # -- dialogs ----------------------------------------------------------------------------------------------

    def _edit_rows_output(self, current: Settings) -> Settings | None:
        """The Output dialog for queue rows: their output settings, or None when cancelled."""
        dialog = OutputDialog(replace(self.settings, **current.output_fields()), self)
        dialog.setWindowTitle("Output settings of the selected photos")
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return None
        return dialog.apply(self.settings)

    def output_settings(self) -> None:
        dialog = OutputDialog(self.settings, self)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            settings = dialog.apply(self.settings)
            try:
                settings.output_options()
            except ValueError as exc:
                self.show_message(str(exc))
                return
            self.settings = settings
            self._save_settings()
            self._update_output_label()

    def learn_texture(self) -> None:
        """Trains a texture model on the photo in the viewer (the Fine-tune tab shows the run)."""
        if self.photo_path is None:
            self.show_message("Open a photo of a texture first (File → Open), then learn from it.")
            return
        if self.finetune_panel.start_texture(self.photo_path, turnable=self.generate_panel.turnable.isChecked()):
            self.tabs.setCurrentWidget(self.finetune_panel)

    def model_details(self) -> ModelsDialog:
        """The Models dialog on the card of the chosen choice's defining model (a chain's last step)."""
        dialog = ModelsDialog(self.models, self)
        dialog.models_changed.connect(self.refresh_models)
        chain = self.current_chain()
        if chain:
            dialog.select(chain[-1])
        return dialog

    def show_model_details(self) -> None:
        self.model_details().exec()

    def manage_models(self) -> None:
        dialog = ModelsDialog(self.models, self)
        dialog.models_changed.connect(self.refresh_models)
        dialog.exec()

    def open_log_folder(self) -> None:
        from photogan.app.settings import log_dir

        QDesktopServices.openUrl(QUrl.fromLocalFile(str(log_dir())))

    def about(self) -> None:
        QMessageBox.about(
            self,
            "About photogan",
            f"<b>photogan {__version__}</b><p>Upscale, restore and colorize photos with neural networks that run "
            "on your own computer.</p>",
        )

    # -- results: history and A/B -------------------------------------------------------------------------------

    def _show_history(self) -> None:
        """Shows the result at ``history_index`` (and, with A/B on, the one before it in the original's place)."""
        if not self.history:
            return
        result, shown, chain = self.history[self.history_index]
        self.result, self.result_chain = result, chain
        self.viewer.result_label = " → ".join(chain)
        self.viewer.set_result(shown)
        previous = self.history[self.history_index - 1] if self.history_index > 0 else None
        if self.compare_action.isChecked() and previous is not None:
            self.viewer.set_reference(previous[1], "Earlier: " + " → ".join(previous[2]))
        else:
            self.viewer.set_reference(None)
        self._update_actions()

    def previous_result(self) -> None:
        """Undo: back to the result before this one (kept for this photo: the last few)."""
        if self.history_index > 0:
            self.history_index -= 1
            self._show_history()

    def next_result(self) -> None:
        if self.history_index < len(self.history) - 1:
            self.history_index += 1
            self._show_history()

    def _toggle_compare(self) -> None:
        if self.compare_action.isChecked() and self.history_index < 1:
            self.statusBar().showMessage("A/B needs an earlier result: Enhance with another model first", 8000)
        self._show_history()

    def photo_info(self) -> None:
        """View → Photo info: the open photo's facts and histogram."""
        if self.photo is None:
            return
        self.info_dialog = PhotoInfoDialog(self.photo, self.photo_path, self)
        self.info_dialog.show()

    def shortcut_table(self) -> list[tuple[str, str]]:
        """(keys, what they do) for every action with a shortcut, and the viewer's own keys and buttons."""
        rows = []
        for action in self.findChildren(QAction):
            keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
            if keys:
                rows.append((keys, action.text().replace("&", "").rstrip("…")))
        rows += [
            ("Space (hold)", "Show the original"),
            ("Middle button (hold)", "Show the original"),
            ("Wheel", "Zoom at the pointer"),
            ("Double-click", "Fit / 100 %"),
            ("Left / right button", "Damage mask: paint / erase (Shift+left erases too)"),
        ]
        return sorted(set(rows), key=lambda row: row[1].lower())

    def shortcuts(self) -> None:
        """Help → Keyboard shortcuts: every key and mouse gesture the window knows."""
        rows = "".join(f"<tr><td><b>{k}</b></td><td>&nbsp;&nbsp;{t}</td></tr>" for k, t in self.shortcut_table())
        box = QMessageBox(self)
        box.setWindowTitle("photogan — Keyboard shortcuts")
        box.setText(f"<table>{rows}</table>")
        box.show()
        self.shortcuts_box = box

    def diagnostics(self) -> None:
        """Help → Diagnostics: what ``photogan doctor`` says, gathered in a worker (it tries every provider)."""

        def done(data: dict[str, Any]) -> None:
            self.diagnostics_dialog = DiagnosticsDialog(data, self)
            self.diagnostics_dialog.show()

        self._run(lambda _progress: report(), done, "Checking this machine…", "The diagnostics failed")

    def _queue_setup(self) -> RunSetup:
        """The queue's run: each row through the chain it was added with (rows of an older photogan: the one
        chosen now, opened here so a problem is told before anything starts)."""
        s = self.settings
        chosen, current = self._sessions(), self.current_chain()

        def sessions_for(chain: tuple[str, ...]) -> list[ModelSession]:
            return chosen if not chain or chain == current else self._open_chain(chain)

        return sessions_for, Path(s.output_dir), s.output_options(), self._tile()

    # -- drag and drop, closing -------------------------------------------------------------------------------

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 (Qt override)
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        paths = [Path(url.toLocalFile()) for url in event.mimeData().urls() if url.isLocalFile()]
        self.open_paths(paths)
        event.acceptProposedAction()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        if self.queue_panel.running:
            answer = QMessageBox.question(
                self,
                "Quit photogan",
                "The batch queue is running. Quit anyway? Finished photos are kept and the rest waits for next time.",
            )
            if answer != QMessageBox.StandardButton.Yes:
                event.ignore()
                return
        self._qsettings.setValue("geometry", self.saveGeometry())
        self._qsettings.setValue("state", self.saveState())
        self._qsettings.setValue("view_mode", self.viewer.mode)
        self.finetune_panel.shutdown()
        self.filmstrip.stop()
        Worker.stop_all()
        self._save_settings()
        super().closeEvent(event)
