"""Fine-tuning from a front end: the training module runs in a subprocess (``python -m training``) that reports
JSON lines; this module builds its command line and turns its lines into a history to plot.

The app never imports torch: a torch crash cannot take the GUI down, and the app works without it.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from photogan.app.runs import Event, RunFolder, TextureVerdict, Verdict, read_verdict

TRAIN_EXTRA_HINT = (
    "Fine-tuning needs PyTorch, which is not installed. Add it with:\n"
    "    pip install 'photogan[train]'\n"
    "(the CPU build is about 200 MB; on an NVIDIA machine the CUDA build trains much faster)."
)


def torch_available() -> bool:
    """Whether the training module can run (torch is importable)."""
    return importlib.util.find_spec("torch") is not None


@dataclass(frozen=True)
class TrainRequest:
    """One chunk of a fine-tuning run.

    Attributes:
        run_dir: The run's folder (checkpoints, samples, log); resuming continues it.
        data: Folders of photos (a new run; a resumed run remembers its own).
        base: Model id to fine-tune from (its ``.safetensors`` checkpoint), or None for training from scratch.
        task, scale: Needed only without ``base``.
        minutes: Time budget of this chunk (it ends with a checkpoint).
        iters: Total iterations of the run (None: the training module's default).
        name: Model id to export and register when the run finishes.
        resume: Continue ``run_dir`` instead of starting it.
        self_supervised: A restore fine-tune from noisy photos alone (scans with no clean originals).
        augment: Views of the photos a new run may learn from (``--augment``: ``rotate``, ``flip``, ``none``), or
            None for the recipe's own.
        seed: A new run's seed (``--seed``), or None for the recipe's own.
    """

    run_dir: Path
    data: tuple[Path, ...] = ()
    base: str | None = None
    task: str | None = None
    scale: int | None = None
    minutes: float | None = None
    iters: int | None = None
    name: str | None = None
    resume: bool = False
    self_supervised: bool = False
    augment: str | None = None
    seed: int | None = None

    def argv(self) -> list[str]:
        """The command line of the subprocess (JSON progress on stdout)."""
        args = [sys.executable, "-m", "training", "--progress", "json"]
        if self.resume:
            args += ["--resume", str(self.run_dir)]
        else:
            if not self.data:
                raise ValueError("choose a folder of photos to train on")
            args += ["--run-dir", str(self.run_dir), "--data", *map(str, self.data)]
            if self.base:
                args += ["--base", self.base]
            else:
                if not self.task:
                    raise ValueError("choose a task or a base model")
                args += ["--task", self.task]
                if self.scale:
                    args += ["--scale", str(self.scale)]
            if self.self_supervised:
                args.append("--self-supervised")
            if self.augment:
                args += ["--augment", self.augment]
            if self.seed is not None:
                args += ["--seed", str(self.seed)]
        if self.minutes is not None:
            args += ["--minutes", f"{self.minutes:g}"]
        if self.iters is not None:
            args += ["--iters", str(self.iters)]
        if self.name:
            args += ["--name", self.name]
        return args


@dataclass(frozen=True)
class TrainEvent:
    """One JSON line of the training subprocess."""

    kind: str
    iteration: int
    total: int
    data: dict[str, Any]


def parse_event(line: str) -> TrainEvent | None:
    """A JSON progress line as an event; None for anything else (log lines, blank lines)."""
    line = line.strip()
    if not line.startswith("{"):
        return None
    try:
        record = json.loads(line)
    except ValueError:
        return None
    if not isinstance(record, dict) or "event" not in record:
        return None
    return TrainEvent(str(record["event"]), int(record.get("iteration", 0)), int(record.get("total", 0)), record)


@dataclass
class TrainHistory:
    """What a front end plots: loss curves, validation scores, the latest sample grid, the outcome."""

    iteration: int = 0
    total: int = 0
    it_per_s: float = 0.0
    g_loss: list[tuple[int, float]] = field(default_factory=list)
    d_loss: list[tuple[int, float]] = field(default_factory=list)
    psnr: list[tuple[int, float]] = field(default_factory=list)
    diversity: list[tuple[int, float]] = field(default_factory=list)  # a texture run's samples (0: all alike)
    input_psnr: float | None = None
    base_psnr: float | None = None  # a fine-tune's base model on the validation crops (the level to beat)
    sample: Path | None = None
    status: str | None = None
    exported: str | None = None
    verdict: Verdict | TextureVerdict | None = None  # a fine-tune against its base; a texture model's variety

    def add(self, event: TrainEvent) -> None:
        if "iteration" in event.data:  # "exported" carries no iteration
            self.iteration, self.total = event.iteration, event.total or self.total
        if event.kind == Event.PROGRESS:
            losses = event.data.get("losses", {})
            self.it_per_s = float(event.data.get("it_per_s", 0.0))
            if "g" in losses:
                self.g_loss.append((event.iteration, float(losses["g"])))
            if "d" in losses:
                self.d_loss.append((event.iteration, float(losses["d"])))
        elif event.kind == Event.VALIDATION:
            metrics = event.data.get("metrics", {})
            if "psnr" in metrics:
                self.psnr.append((event.iteration, float(metrics["psnr"])))
                if event.iteration == 0:  # only a fine-tune validates before its first step: its base's score
                    self.base_psnr = float(metrics["psnr"])
            if "diversity" in metrics:
                self.diversity.append((event.iteration, float(metrics["diversity"])))
            if "input_psnr" in metrics:
                self.input_psnr = float(metrics["input_psnr"])
            if event.data.get("sample"):
                self.sample = Path(event.data["sample"])
        elif event.kind == Event.DONE:
            self.status = str(event.data.get("status"))
        elif event.kind == Event.VERDICT:
            self.verdict = _verdict(event.data)
        elif event.kind == Event.EXPORTED:
            self.exported = str(event.data.get("model"))
            if isinstance(event.data.get("verdict"), dict):
                self.verdict = _verdict(event.data["verdict"])

    def load_log(self, run_dir: Path) -> None:
        """Replays a run's ``log.jsonl`` (to show the curves of a run being resumed)."""
        log_file = RunFolder(run_dir).log
        if log_file.exists():
            for line in log_file.read_text(encoding="utf-8").splitlines():
                if (event := parse_event(line)) is not None:
                    self.add(event)

    @property
    def eta_seconds(self) -> float | None:
        if self.it_per_s <= 0 or self.total <= self.iteration:
            return None
        return (self.total - self.iteration) / self.it_per_s

    @property
    def select_export(self) -> bool:
        """Whether the exported model should become the selected one: not a fine-tune that lost to its base (the
        user can still pick it)."""
        return self.exported is not None and (self.verdict is None or self.verdict.better)

    def outcome(self) -> str:
        """What a finished run produced, in plain words."""
        if self.exported is None:
            return f"Finished ({self.improvement()})."
        if self.verdict is None:
            return f"Finished: {self.exported} is ready in the model list. Measured: {self.improvement()}."
        if self.verdict.better:
            return f"Finished: {self.exported} is ready and selected: {self.verdict.sentence()}."
        if isinstance(self.verdict, TextureVerdict):
            return (
                f"Finished, but {self.verdict.sentence()}. {self.exported} is in the model list, not selected; "
                "learn the texture again (each run draws another seed)."
            )
        return (
            f"Finished, but {self.exported} is {self.verdict.sentence()}. It is in the model list, not selected; "
            "compare the two on your photos before you use it."
        )

    def improvement(self) -> str:
        """The measured improvement in plain words ("31.20 dB, +2.10 dB over the input photos")."""
        if not self.psnr:
            return "not measured yet"
        best = max(v for _, v in self.psnr)
        if self.input_psnr is None:
            return f"best validation PSNR {best:.2f} dB"
        return f"best validation PSNR {best:.2f} dB, {best - self.input_psnr:+.2f} dB over the unprocessed input"


def _verdict(data: dict[str, Any]) -> Verdict | TextureVerdict | None:
    try:
        return read_verdict(data)
    except ValueError:  # a damaged line: the run's outcome is still shown, without the comparison
        return None
