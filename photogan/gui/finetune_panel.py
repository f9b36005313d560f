"""The fine-tune panel: teach a model the user's own photos.

Training runs in a subprocess (``python -m training --progress json``); its JSON lines feed live loss curves,
validation PSNR and the latest sample grid. Stop ends the chunk with a checkpoint (SIGTERM), so the run can be
resumed later; when it finishes, the model is exported into the user's models folder and becomes selectable.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QProcess, Qt, Signal
from PySide6.QtGui import QColor, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from photogan.app.finetune import (
    TRAIN_EXTRA_HINT,
    TrainHistory,
    TrainRequest,
    parse_event,
)
from photogan.app.models import ModelService
from photogan.app.runs import Event, RunFolder, RunStatus, new_run_dir, runs_folder
from photogan.gui.fields import FolderField
from photogan.gui.plot import LinePlot
from photogan.gui.queue_panel import format_seconds
from photogan.inference.model_info import model_id_from

G_COLOUR, D_COLOUR, PSNR_COLOUR = QColor(30, 120, 220), QColor(220, 90, 30), QColor(40, 160, 80)
PSNR_TITLE = "Validation PSNR (dB)"


#: Where the base combo keeps each model's task (beside its id, the item's data).
TASK_ROLE = Qt.ItemDataRole.UserRole + 1


class FineTunePanel(QWidget):
    """Runs and shows one fine-tuning run at a time.

    Signals:
        model_exported(str, bool): a finished run registered this model id; whether to select it (not a fine-tune
            that lost to its base).
    """

    model_exported = Signal(str, bool)

    def __init__(self, models: ModelService, torch_ok: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.models = models
        self.process: QProcess | None = None
        self.history = TrainHistory()
        self.run_dir: Path | None = None
        self.runs_folder = runs_folder()
        self._buffer = ""
        self._request: TrainRequest | None = None
        self._stop_asked = False
        self._sample_stamp: tuple[Path, int] | None = None

        self.folder = FolderField(
            "Folder of photos to learn from", placeholder="a folder of your best photos (at least a few dozen)"
        )
        self.base = QComboBox()
        self.minutes = QDoubleSpinBox()
        self.minutes.setRange(1, 24 * 60)
        self.minutes.setValue(10)
        self.minutes.setSuffix(" min")
        self.iters = QSpinBox()
        self.iters.setRange(0, 1_000_000)
        self.iters.setSingleStep(500)
        self.iters.setSpecialValueText("as many as the time budget holds")  # 0: the run is sized to the budget
        self.iters.setValue(0)
        self.iters.setToolTip(
            "Length of the run. By default the run is sized to the time budget (its learning-rate schedule ends "
            "with it); with a number, the time budget may end a chunk early with a checkpoint (Resume goes on)"
        )
        self.noisy_only = QCheckBox("My photos are noisy scans with no clean originals (learn from the noise itself)")
        self.noisy_only.setToolTip(
            "For restore: a self-supervised fine-tune (Neighbor2Neighbor) that needs no clean photo; it is judged "
            "against the base model on scans held out from training"
        )
        self.base.currentIndexChanged.connect(self._base_changed)
        self.name = QLineEdit()
        self.name.setPlaceholderText("e.g. my-film-scans")
        form = QFormLayout()
        form.addRow("Photos", self.folder)
        form.addRow("Start from", self.base)
        form.addRow("", self.noisy_only)
        form.addRow("Iterations", self.iters)
        form.addRow("Time budget", self.minutes)
        form.addRow("New model name", self.name)

        self.start_button = QPushButton("Start fine-tuning")
        self.start_button.clicked.connect(self.start)
        self.stop_button = QPushButton("Stop (keeps a checkpoint)")
        self.stop_button.clicked.connect(self.stop)
        self.resume_button = QPushButton("Resume")
        self.resume_button.clicked.connect(self.resume)
        self.resume_run_button = QPushButton("Resume a run…")
        self.resume_run_button.clicked.connect(self.choose_run)
        buttons = QHBoxLayout()
        for b in (self.start_button, self.stop_button, self.resume_button, self.resume_run_button):
            buttons.addWidget(b)
        buttons.addStretch(1)

        self.progress = QProgressBar()
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.loss_plot = LinePlot("Losses (generator, discriminator)")
        self.psnr_plot = LinePlot(PSNR_TITLE)
        self.sample = QLabel("The latest validation samples appear here.")
        self.sample.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.sample.setMinimumSize(260, 200)
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(2000)
        self.log.setPlaceholderText("Training log")

        setup = QGroupBox("Fine-tune a model on your photos")
        setup_layout = QVBoxLayout(setup)
        setup_layout.addLayout(form)
        setup_layout.addLayout(buttons)
        plots = QHBoxLayout()
        plots.addWidget(self.loss_plot, 1)
        plots.addWidget(self.psnr_plot, 1)
        plots.addWidget(self.sample, 1)
        layout = QVBoxLayout(self)
        self.hint = QLabel(TRAIN_EXTRA_HINT)
        self.hint.setWordWrap(True)
        self.hint.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.hint)
        layout.addWidget(setup)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addLayout(plots, 2)
        layout.addWidget(self.log, 1)
        self.torch_ok = torch_ok
        self.hint.setVisible(not torch_ok)
        setup.setEnabled(torch_ok)
        self.refresh_models()
        self._update_controls()

    # -- setup ----------------------------------------------------------------------------------------------

    def refresh_models(self) -> None:
        """Lists the models that can be fine-tuned (those with a training checkpoint beside them)."""
        current = self.base.currentData()
        self.base.clear()
        for entry in self.models.list():
            info = entry.info
            if info.path is not None and info.path.with_suffix(".safetensors").exists():
                self.base.addItem(f"{info.id} — {info.name}", info.id)
                self.base.setItemData(self.base.count() - 1, info.task, TASK_ROLE)
        index = self.base.findData(current)
        self.base.setCurrentIndex(max(index, 0))
        self._base_changed()

    def _base_changed(self) -> None:
        """Noisy-scans-only training is for restore models."""
        restore = self.base.currentData(TASK_ROLE) == "restore"
        self.noisy_only.setEnabled(restore)
        if not restore:
            self.noisy_only.setChecked(False)

    def choose_run(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "A fine-tuning run folder to resume", str(self.runs_folder))
        if folder:
            self.run_dir = Path(folder)
            self.resume()

    @property
    def running(self) -> bool:
        return self.process is not None

    def _update_controls(self) -> None:
        self.start_button.setEnabled(self.torch_ok and not self.running)
        self.stop_button.setEnabled(self.running)
        can_resume = self.run_dir is not None and RunFolder(self.run_dir).can_resume
        self.resume_button.setEnabled(self.torch_ok and not self.running and can_resume)
        self.resume_run_button.setEnabled(self.torch_ok and not self.running)

    # -- running --------------------------------------------------------------------------------------------

    def start(self) -> None:
        folder = self.folder.text().strip()
        if not folder or not Path(folder).is_dir():
            self.status.setText("Choose the folder of photos to learn from first.")
            return
        base = self.base.currentData()
        if base is None:
            self.status.setText("No model with a training checkpoint is installed to start from.")
            return
        name = self.name.text().strip() or f"{base}-{Path(folder).name}"
        name = model_id_from(name, "my-model")
        self.run_dir = new_run_dir(name, self.runs_folder)
        self.history = TrainHistory()
        self._launch(
            TrainRequest(
                self.run_dir,
                data=(Path(folder),),
                base=base,
                minutes=self.minutes.value(),
                iters=self.iters.value() or None,
                name=name,
                self_supervised=self.noisy_only.isChecked(),
            )
        )

    def start_texture(self, photo: Path, turnable: bool = False) -> bool:
        """Trains a texture model from one photo (``--task generate``) for the time budget, exported under the
        name field's text or ``texture-<photo name>``; a ``turnable`` texture (no up) is learned turned by 90° as
        well as mirrored. Returns whether the run started."""
        if not self.torch_ok or self.running:
            self.status.setText(TRAIN_EXTRA_HINT if not self.torch_ok else "A run is in progress; stop it first.")
            return False
        name = self.name.text().strip() or f"texture-{photo.stem}"
        name = model_id_from(name, "my-texture")
        # a texture learned again gets another seed: the same one would draw the same result (a collapse too)
        earlier = len(list(self.runs_folder.glob(f"{name}-*"))) if self.runs_folder.is_dir() else 0
        self.run_dir = new_run_dir(name, self.runs_folder)
        self.history = TrainHistory()
        request = TrainRequest(
            self.run_dir,
            data=(photo,),
            task="generate",
            minutes=self.minutes.value(),
            name=name,
            augment="rotate" if turnable else None,
            seed=earlier,
        )
        self._launch(request)
        return self.process is not None

    def resume(self) -> None:
        if self.run_dir is None:
            return
        self.history = TrainHistory()
        self.history.load_log(self.run_dir)
        name = self._request.name if self._request is not None else None
        self._launch(TrainRequest(self.run_dir, minutes=self.minutes.value(), name=name, resume=True))

    def _launch(self, request: TrainRequest) -> None:
        try:
            argv = request.argv()
        except ValueError as exc:
            self.status.setText(str(exc))
            return
        self._request = request
        self._buffer = ""
        self._stop_asked = False
        process = QProcess(self)
        process.setProgram(argv[0])
        process.setArguments(argv[1:])
        process.readyReadStandardOutput.connect(self._read_stdout)
        process.readyReadStandardError.connect(self._read_stderr)
        process.finished.connect(self._on_finished)
        process.errorOccurred.connect(self._on_error)
        self.process = process
        self.log.appendPlainText("$ " + " ".join(argv))
        process.start()
        self.status.setText(f"Starting… (run folder {request.run_dir})")
        self._update_controls()
        self._redraw()

    def stop(self) -> None:
        """Asks the run to stop after the current iteration; it saves a checkpoint first."""
        if self.process is not None:
            self._stop_asked = True
            self.status.setText("Stopping after the current iteration and saving a checkpoint…")
            self.process.terminate()

    def shutdown(self, timeout_ms: int = 30000) -> None:
        """Stops a running training (with its checkpoint) before the app quits."""
        if self.process is not None:
            self.process.terminate()
            if not self.process.waitForFinished(timeout_ms):
                self.process.kill()
                self.process.waitForFinished(5000)

    def _read_stdout(self) -> None:
        if self.process is None:
            return
        self._buffer += bytes(self.process.readAllStandardOutput().data()).decode("utf-8", "replace")
        *lines, self._buffer = self._buffer.split("\n")
        for line in lines:
            event = parse_event(line)
            if event is None:
                if line.strip():
                    self.log.appendPlainText(line)
                continue
            self.history.add(event)
            if event.kind == Event.EXPORTED:
                self.model_exported.emit(str(event.data.get("model")), self.history.select_export)
        self._redraw()

    def _read_stderr(self) -> None:
        if self.process is not None:
            text = bytes(self.process.readAllStandardError().data()).decode("utf-8", "replace")
            self.log.appendPlainText(text.rstrip())

    def _on_error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart:
            self.status.setText("The training program could not start. " + TRAIN_EXTRA_HINT)

    def _on_finished(self, exit_code: int, _status: QProcess.ExitStatus) -> None:
        self._read_stdout()
        self.process = None
        h = self.history
        if h.exported:
            self.status.setText(h.outcome())
        elif h.status in (RunStatus.STOPPED, RunStatus.TIME_BUDGET):
            self.status.setText(
                f"Paused at iteration {h.iteration} of {h.total} with a checkpoint ({h.improvement()}). "
                "Press Resume to continue."
            )
        elif self._stop_asked and not h.status:
            self.status.setText("Stopped before the first iteration; nothing was saved.")
        elif exit_code != 0:
            self.status.setText(f"Training failed (exit code {exit_code}); the log below says why.")
        else:
            self.status.setText(h.outcome())
        self._update_controls()

    def _redraw(self) -> None:
        h = self.history
        self.progress.setMaximum(max(h.total, 1))
        self.progress.setValue(h.iteration)
        if self.running and h.total:
            eta = h.eta_seconds
            left = f", about {format_seconds(eta)} left at this speed" if eta is not None else ""
            self.status.setText(f"Iteration {h.iteration} of {h.total} ({h.it_per_s:.1f}/s){left}. {h.improvement()}.")
        self.loss_plot.set_data([("G", G_COLOUR, h.g_loss), ("D", D_COLOUR, h.d_loss)])
        reference = (
            ("base model", h.base_psnr)
            if h.base_psnr is not None
            else ("unprocessed input", h.input_psnr)
            if h.input_psnr is not None
            else None
        )
        if h.diversity and not h.psnr:  # a texture run validates its samples' variety, not PSNR
            self.psnr_plot.title = "Sample diversity (0: every sample alike)"
            self.psnr_plot.set_data([("diversity", PSNR_COLOUR, h.diversity)])
        else:
            self.psnr_plot.title = PSNR_TITLE
            self.psnr_plot.set_data([("PSNR", PSNR_COLOUR, h.psnr)], reference)
        # the grid changes only at validation: read it again only when the file did
        stamp = (h.sample, h.sample.stat().st_mtime_ns) if h.sample is not None and h.sample.exists() else None
        if stamp is not None and stamp != self._sample_stamp:
            self._sample_stamp = stamp
            pixmap = QPixmap(str(h.sample))
            if not pixmap.isNull():
                self.sample.setPixmap(
                    pixmap.scaled(
                        self.sample.size(),
                        Qt.AspectRatioMode.KeepAspectRatio,
                        Qt.TransformationMode.SmoothTransformation,
                    )
                )
        self._update_controls()
