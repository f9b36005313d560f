"""The models dialog: bundled and user models with their cards (and the sample sheets they show); import an ONNX
file; delete user models."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QMessageBox,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from photogan.app.models import ModelService, describe
from photogan.core.errors import PhotoganError
from photogan.inference.model_info import is_spatial

COLUMNS = ("Model", "Task", "Scale", "Source")


class ModelsDialog(QDialog):
    """Signals: models_changed() after an import or a delete."""

    models_changed = Signal()

    def __init__(self, models: ModelService, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Models")
        self.resize(900, 560)
        self.models = models
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.itemSelectionChanged.connect(self._show_card)
        self.card = QTextBrowser()
        self.card.setOpenExternalLinks(False)
        self.import_button = QPushButton("Import ONNX model…")
        self.import_button.clicked.connect(self.import_dialog)
        self.delete_button = QPushButton("Delete")
        self.delete_button.clicked.connect(self.delete_selected)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.table)
        split.addWidget(self.card)
        split.setSizes([400, 500])
        buttons = QHBoxLayout()
        buttons.addWidget(self.import_button)
        buttons.addWidget(self.delete_button)
        buttons.addStretch(1)
        buttons.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addWidget(split, 1)
        layout.addLayout(buttons)
        self.refresh()

    def refresh(self) -> None:
        entries = self.models.list()
        self.table.setRowCount(len(entries))
        for row, entry in enumerate(entries):
            info = entry.info
            scale = "any size" if is_spatial(info) else f"×{info.scale}"  # a texture model's scale is its cell
            cells = (info.id, info.task, scale, "bundled" if entry.origin == "bundled" else "yours")
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, info.id)
                self.table.setItem(row, column, item)
        if entries:
            self.table.selectRow(0)
        self._show_card()

    def select(self, model_id: str) -> bool:
        """Shows ``model_id``'s card (False when it is not listed)."""
        for row in range(self.table.rowCount()):
            cell = self.table.item(row, 0)
            if cell is not None and cell.data(Qt.ItemDataRole.UserRole) == model_id:
                self.table.selectRow(row)
                return True
        return False

    def selected(self) -> str | None:
        items = self.table.selectedItems()
        return items[0].data(Qt.ItemDataRole.UserRole) if items else None

    def _show_card(self) -> None:
        model_id = self.selected()
        entry = next((e for e in self.models.list() if e.info.id == model_id), None)
        self.delete_button.setEnabled(entry is not None and entry.origin != "bundled")
        if entry is None:
            self.card.setPlainText("")
            return
        card = entry.info.path.with_suffix(".md") if entry.info.path else None
        if card is not None and card.exists():
            # the card's own folder resolves its images (a texture model's sample sheet sits beside it)
            self.card.document().setBaseUrl(QUrl.fromLocalFile(str(card.parent) + "/"))
            self.card.setMarkdown(card.read_text(encoding="utf-8"))
        else:
            self.card.setPlainText(describe(entry.info))

    def import_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self,
            "Import a model",
            "",
            "Models (*.onnx *.pth *.pt *.ckpt *.safetensors);;ONNX models (*.onnx);;PyTorch checkpoints "
            "(*.pth *.pt *.ckpt *.safetensors)",
        )
        if path:
            self.import_path(Path(path))

    def import_path(self, path: Path) -> bool:
        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)  # measuring (and converting) takes seconds
        try:
            info = self.models.import_file(path)
        except (PhotoganError, OSError) as exc:
            QApplication.restoreOverrideCursor()
            QMessageBox.warning(self, "Import failed", f"{path.name} could not be imported:\n{exc}")
            return False
        QApplication.restoreOverrideCursor()
        self.refresh()
        self.models_changed.emit()
        QMessageBox.information(self, "Model imported", f"{info.id} ({info.task} ×{info.scale}) is ready to use.")
        return True

    def delete_selected(self) -> None:
        model_id = self.selected()
        if model_id is None:
            return
        answer = QMessageBox.question(self, "Delete model", f"Delete your model {model_id}? This cannot be undone.")
        if answer != QMessageBox.StandardButton.Yes:
            return
        try:
            self.models.delete(model_id)
        except (PhotoganError, OSError) as exc:
            QMessageBox.warning(self, "Delete failed", str(exc))
            return
        self.refresh()
        self.models_changed.emit()
