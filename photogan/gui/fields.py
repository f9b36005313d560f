"""Small input widgets shared by the panels and dialogs."""

from __future__ import annotations

from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLineEdit, QPushButton, QWidget


class FolderField(QWidget):
    """A folder path with a Choose… button that opens a folder dialog at the current path."""

    def __init__(self, caption: str, text: str = "", placeholder: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.caption = caption
        self.edit = QLineEdit(text)
        self.edit.setPlaceholderText(placeholder)
        browse = QPushButton("Choose…")
        browse.clicked.connect(self.choose)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.edit, 1)
        row.addWidget(browse)

    def text(self) -> str:
        return self.edit.text()

    def setText(self, text: str) -> None:  # noqa: N802 (the QLineEdit name, so callers read the same)
        self.edit.setText(text)

    def choose(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, self.caption, self.edit.text())
        if folder:
            self.edit.setText(folder)
