"""The layout of a training run, in one place: where runs live, the files of a run folder, and the JSON events a
run reports.

The training module writes it (``training.trainer``, ``training.cli``, ``training.bundle``); the app reads it (the
fine-tune panel, ``photogan train``). Torch-free, so both sides share it without the app importing training.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import platformdirs


class Event(StrEnum):
    """The ``event`` of a JSON line (on stdout with ``--progress json``, and in the run's log)."""

    SCHEDULE = "schedule"  # the schedule was sized to the time budget: it_per_s
    PROGRESS = "progress"  # losses, it_per_s, lr
    VALIDATION = "validation"  # metrics, sample (the grid's path)
    DONE = "done"  # status (a RunStatus), metrics, best
    EXPORTED = "exported"  # model, path, metrics; printed by the command line after the run, never logged


class RunStatus(StrEnum):
    """How a chunk of training ended (the ``status`` of the ``done`` event)."""

    FINISHED = "finished"  # the last iteration was reached
    STOPPED = "stopped"  # Ctrl-C, SIGTERM or the Stop button: a checkpoint was saved
    TIME_BUDGET = "time_budget"  # the --minutes budget ran out: a checkpoint was saved
    DRY_RUN = "dry_run"  # one iteration and a validation, nothing saved

    @property
    def exports(self) -> bool:
        """Whether a run that ended so exports its model when asked to (``--name``)."""
        return self in (RunStatus.FINISHED, RunStatus.TIME_BUDGET)


def runs_folder() -> Path:
    """Where runs live when no folder is given (the platformdirs data folder)."""
    return Path(platformdirs.user_data_dir("photogan")) / "runs"


def new_run_dir(name: str, parent: Path | None = None) -> Path:
    """A new run's folder: ``NAME-YYYYmmdd-HHMMSS`` in ``parent`` (the runs folder by default)."""
    return (parent or runs_folder()) / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}"


@dataclass(frozen=True)
class RunFolder:
    """The files of one run folder."""

    path: Path

    @property
    def config(self) -> Path:
        """The run's configuration (JSON of ``training.config.TrainConfig``); its presence makes a run folder."""
        return self.path / "config.json"

    @property
    def log(self) -> Path:
        """Every event of the run, one JSON line each (appended across chunks)."""
        return self.path / "log.jsonl"

    @property
    def data(self) -> Path:
        """The photo folders the run trains on (a JSON list), so a resumed run needs no ``--data``."""
        return self.path / "data.json"

    @property
    def last(self) -> Path:
        """The checkpoint a resumed run continues from (generator, EMA, critic, optimizers, iteration)."""
        return self.path / "last.safetensors"

    @property
    def best(self) -> Path:
        """The EMA weights of the best validation so far."""
        return self.path / "best.safetensors"

    @property
    def samples(self) -> Path:
        """The latest validation sample grid."""
        return self.path / "samples.png"

    @property
    def is_run(self) -> bool:
        return self.config.is_file()

    @property
    def can_resume(self) -> bool:
        return self.last.is_file()
