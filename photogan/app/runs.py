"""The layout of a training run, in one place: where runs live, the files of a run folder, and the JSON events a
run reports.

The training module writes it (``training.trainer``, ``training.cli``, ``training.bundle``); the app reads it (the
fine-tune panel, ``photogan train``). Torch-free, so both sides share it without the app importing training.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import platformdirs


class Event(StrEnum):
    """The ``event`` of a JSON line (on stdout with ``--progress json``, and in the run's log)."""

    SCHEDULE = "schedule"  # the schedule was sized to the time budget: it_per_s
    PROGRESS = "progress"  # losses, it_per_s, lr
    VALIDATION = "validation"  # metrics, sample (the grid's path)
    DONE = "done"  # status (a RunStatus), metrics, best
    VERDICT = "verdict"  # a fine-tune against its base (Verdict) or a texture model's variety (TextureVerdict)
    EXPORTED = "exported"  # model, path, metrics, verdict (if any); printed by the command line after the run


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


#: A fine-tune is better than its base only by at least this much (dB): less is within the rounding and the draw
#: of the held-out photos' degradations.
BETTER_BY = 0.02


@dataclass(frozen=True)
class Verdict:
    """A fine-tuned model against the model it started from, on the user's photos it never trained on.

    Attributes:
        base: The base model's id.
        photos: How many held-out photos (whole, each degraded as in training with fixed seeds).
        metric: What was measured ("PSNR-Y", or "PSNR" on RGB for a colorizer).
        base_score: The base model's mean score in dB.
        score: The fine-tuned model's.
    """

    base: str
    photos: int
    metric: str
    base_score: float
    score: float

    @property
    def gain(self) -> float:
        return self.score - self.base_score

    @property
    def better(self) -> bool:
        """Whether the fine-tune is measurably better than its base (by :data:`BETTER_BY`)."""
        return self.gain >= BETTER_BY

    def sentence(self) -> str:
        """The verdict in plain words: "+0.42 dB over upscale-x4 on 5 of your photos"."""
        where = f"on {self.photos} of your photos it did not train on"
        if self.better:
            return f"{self.gain:+.2f} dB over {self.base} {where}"
        if self.gain > -BETTER_BY:
            return f"no better than {self.base} {where} ({self.gain:+.2f} dB): keep using {self.base}"
        return f"{-self.gain:.2f} dB worse than {self.base} {where}: keep using {self.base}"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "gain": round(self.gain, 4), "better": self.better}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Verdict:
        """From an event's ``verdict`` (extra keys such as ``gain`` are derived and ignored).

        Raises:
            ValueError: A field is missing or of the wrong type.
        """
        try:
            return cls(
                str(data["base"]),
                int(data["photos"]),
                str(data["metric"]),
                float(data["base_score"]),
                float(data["score"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not a fine-tune verdict: {exc}") from exc


#: A texture model varies enough only when its samples differ at least this much, as a fraction of how much
#: random crops of its photo differ (issue 20's bar): below it the run collapsed towards one picture.
VARIETY_FLOOR = 0.5
#: ... and its colours are its photo's only while the colour histograms of its samples' crops and of the photo's
#: crops differ by at most this (total-variation distance, 0 same to 1 disjoint): runs that learned their photo
#: measured 0.07-0.49, one whose critic won early and never let go drew a purple-gray haze at 0.92.
COLOUR_CEILING = 0.7


@dataclass(frozen=True)
class TextureVerdict:
    """A texture model's samples against the photo it learned: do they vary the way the photo does, in its
    colours?

    A run can collapse (every seed draws the same flat picture, "it did nothing") or diverge (varied pictures in
    colours the photo does not have); the trainer reports so at the end rather than leaving the user to find out.

    Attributes:
        samples: How many seeded samples were drawn.
        variety: The samples' diversity (mean RMS distance between same-place crops of different seeds).
        photo_variety: The diversity of as many random crops of the photo.
        seed: The run's seed (a run with another seed may not collapse).
        colours: Colour-histogram distance of the samples' crops to the photo's (0 for verdicts from before it
            was measured).
    """

    samples: int
    variety: float
    photo_variety: float
    seed: int = 0
    colours: float = 0.0

    @property
    def ratio(self) -> float:
        return self.variety / self.photo_variety if self.photo_variety > 0 else 0.0

    @property
    def better(self) -> bool:
        """Whether the model is worth using (selected after training): it neither collapsed nor diverged."""
        return self.ratio >= VARIETY_FLOOR and self.colours <= COLOUR_CEILING

    def sentence(self) -> str:
        """The verdict in plain words."""
        if self.ratio < VARIETY_FLOOR:
            return (
                f"its textures are nearly all alike ({self.ratio:.2f} of your photo's variety): the training collapsed"
            )
        if self.colours > COLOUR_CEILING:
            return (
                f"its colours are not your photo's (colour distance {self.colours:.2f}, at most {COLOUR_CEILING:g} "
                "for a texture that learned its photo): the training failed"
            )
        return f"its textures vary like your photo ({self.ratio:.2f} of the photo's variety)"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ratio": round(self.ratio, 4), "better": self.better}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TextureVerdict:
        """From an event's ``verdict`` (extra keys such as ``ratio`` are derived and ignored).

        Raises:
            ValueError: A field is missing or of the wrong type.
        """
        try:
            return cls(
                int(data["samples"]),
                float(data["variety"]),
                float(data["photo_variety"]),
                int(data["seed"]),
                float(data.get("colours", 0.0)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not a texture verdict: {exc}") from exc


def read_verdict(data: dict[str, Any]) -> Verdict | TextureVerdict:
    """An event's verdict: a texture model's (it has ``variety``) or a fine-tune's.

    Raises:
        ValueError: A field is missing or of the wrong type.
    """
    return TextureVerdict.from_dict(data) if "variety" in data else Verdict.from_dict(data)
