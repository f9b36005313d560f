"""Where outputs go: one planner for the command line's batch, the desktop app's queue and the viewer's Save.

The rules, in one place:

- ``photo.jpg`` found at ``a/photo.jpg`` below the folder it was given with becomes
  ``OUTPUT/a/photo{suffix}.jpg`` (the extension follows the output format; the suffix says what was done, ``-x4``,
  ``-restored``..., unless the user set one);
- an output never overwrites an input: the photo itself or any other photo of the same batch;
- two photos never write one file (``a/x.png`` and ``b/x.png`` into one flat folder): the second is refused with
  the name of the first.

What happens to an output file that is *already there* (from an earlier run) is the writer's choice, not the
plan's: the batch replaces, skips or renames (:func:`free_name`) as :class:`photogan.app.batch.OutputOptions`
say, and the viewer asks.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from photogan.core.errors import UsageError
from photogan.core.formats import FORMAT_CHOICES, same_format_suffix, suffix_for_format
from photogan.inference.model_info import ModelInfo


class PlanError(UsageError):
    """The work cannot start as asked (e.g. it would overwrite its own inputs)."""


class OverwritesInputError(PlanError):
    """An output would replace an input photo."""


class NameClashError(PlanError):
    """Two photos would write one output file."""


def check_format(fmt: str) -> None:
    """Raises :class:`PlanError` unless ``fmt`` is ``same`` or an output format photogan writes."""
    if fmt != "same" and fmt not in FORMAT_CHOICES:
        raise PlanError(f"unknown output format {fmt!r}: use same, {', '.join(FORMAT_CHOICES)}")


def chain_suffix(infos: Sequence[ModelInfo]) -> str:
    """The name suffix that says what a chain did: ``-x4``, ``-restored``, ``-repaired-colorized-x4``..."""
    tags: list[str] = []
    for k, info in enumerate(infos):
        if info.task == "detect":
            continue
        if info.task == "upscale":
            tag = f"x{info.scale}"
        elif info.task == "inpaint":
            tag = "repaired" if k and infos[k - 1].task == "detect" else "filled"
        else:
            tag = {"restore": "restored", "colorize": "colorized"}.get(info.task, info.id)
        if tag == "restored" and tags[-1:] == ["repaired"]:
            continue  # repair includes its restore step
        tags.append(tag)
    return "-" + "-".join(tags) if tags else ""


def free_name(path: Path) -> Path:
    """``path`` if nothing is there, else the first of ``NAME-2.ext``, ``NAME-3.ext``... that is free."""
    if not path.exists():
        return path
    for n in range(2, 10_000):
        candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
        if not candidate.exists():
            return candidate
    raise PlanError(f"no free name for {path.name} in {path.parent}")


class OutputPlanner:
    """Maps photos to output files by the rules above, remembering what it has handed out.

    Args:
        output_dir: The output folder.
        fmt: ``same`` (each photo keeps its format) or a key of ``FORMAT_CHOICES``.
        name_suffix: Added before the extension; ``suffix=`` of :meth:`target` overrides it per photo (a queue row
            names its output for its own chain).
        inputs: The photos of the batch: no output may replace one of them.
    """

    def __init__(self, output_dir: Path, fmt: str = "same", name_suffix: str = "", inputs: Iterable[Path] = ()):
        check_format(fmt)
        self.output_dir, self.fmt, self.name_suffix = output_dir, fmt, name_suffix
        self._inputs = {p.resolve() for p in inputs}
        self._claimed: dict[Path, Path] = {}

    def add_inputs(self, paths: Iterable[Path]) -> None:
        self._inputs.update(p.resolve() for p in paths)

    def target(self, source: Path, relative: Path | None = None, suffix: str | None = None) -> Path:
        """Where ``source`` (found at ``relative`` below the folder it was given with; its name by default) goes."""
        relative = Path(source.name) if relative is None else relative
        ext = same_format_suffix(source) if self.fmt == "same" else suffix_for_format(FORMAT_CHOICES[self.fmt], source)
        tag = self.name_suffix if suffix is None else suffix
        return self.output_dir / relative.parent / (source.stem + tag + ext)

    def check(self, source: Path, target: Path) -> None:
        """Raises if ``source`` may not be written to ``target`` (any path, e.g. one the user typed).

        Raises:
            OverwritesInputError: ``target`` is ``source`` or another input of the batch.
            NameClashError: Another photo was given ``target`` already.
        """
        key = target.resolve()
        if key == source.resolve() or key in self._inputs:
            original = source if key == source.resolve() else key
            raise OverwritesInputError(
                f"{target.name} would overwrite the original {original}: photogan never overwrites an original; "
                "choose another name or output folder"
            )
        owner = self._claimed.get(key)
        if owner is not None and owner != source.resolve():
            raise NameClashError(f"{owner} already writes {target.name} (same name): add the folder above both instead")

    def claim(self, source: Path, relative: Path | None = None, suffix: str | None = None) -> Path:
        """:meth:`target`, checked with :meth:`check` and then reserved for ``source``."""
        target = self.target(source, relative, suffix)
        self.check(source, target)
        self.reserve(source, target)
        return target

    def reserve(self, source: Path, target: Path) -> None:
        """Marks ``target`` as ``source``'s (an output written earlier, e.g. by a finished queue row)."""
        self._claimed[target.resolve()] = source.resolve()
