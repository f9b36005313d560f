"""``photogan doctor`` and Help → Diagnostics: what the machine offers, in text and JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from photogan.app.doctor import format_report, report
from photogan.cli.main import main


def test_doctor_text_and_json_say_what_runs_and_where_things_are(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main(["doctor"]) == 0
    text = capsys.readouterr().out
    assert "CPUExecutionProvider: runs" in text and "model folders:" in text and "bundled:" in text
    assert main(["doctor", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["photogan"] and "numpy" in data["packages"]
    assert {"name": "CPUExecutionProvider", "works": True, "detail": "runs"} in data["providers"]
    assert data["model folders"]["bundled"]["models"] >= 1
    assert all(row["writable"] for row in data["folders"].values())


def test_a_provider_that_does_not_start_is_reported_with_its_reason() -> None:
    data = report(providers=["NoSuchExecutionProvider", "CPUExecutionProvider"])
    bad, good = data["providers"]
    assert bad["name"] == "NoSuchExecutionProvider" and not bad["works"] and bad["detail"]
    assert good["works"]
    text = format_report(data)
    assert "FAIL NoSuchExecutionProvider" in text and "photogan runs on the CPU here" in text


def test_an_unwritable_folder_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("PHOTOGAN_MODELS_DIR", str(blocker / "models"))
    data = report(providers=["CPUExecutionProvider"])
    row = data["folders"]["user models"]
    assert not row["writable"] and row["detail"].startswith("not writable")
    assert not (blocker / "models").exists()


def test_the_diagnostics_dialog_copies_the_report(qtbot) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtGui import QGuiApplication

    from photogan.gui.diagnostics import DiagnosticsDialog

    dialog = DiagnosticsDialog(report(providers=["CPUExecutionProvider"]))
    qtbot.addWidget(dialog)
    dialog.copy()
    assert "CPUExecutionProvider: runs" in QGuiApplication.clipboard().text()
