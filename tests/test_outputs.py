"""The one output planner: names, never over an original, never two photos into one file."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from photogan.app.outputs import NameClashError, OutputPlanner, OverwritesInputError, free_name


def test_names_follow_the_folder_the_format_and_the_suffix(tmp_path: Path) -> None:
    planner = OutputPlanner(tmp_path / "out", "png", "-x4")
    assert planner.target(Path("/photos/a/cat.JPG"), Path("a/cat.JPG")) == tmp_path / "out" / "a" / "cat-x4.png"
    assert planner.target(Path("/photos/cat.heic"), suffix="-restored") == tmp_path / "out" / "cat-restored.png"
    same = OutputPlanner(tmp_path / "out")
    assert same.target(Path("/photos/scan.tif")) == tmp_path / "out" / "scan.tif"
    assert same.target(Path("/photos/anim.gif")).suffix == ".png"  # GIF is read, never written


def test_an_original_is_never_a_target(tmp_path: Path) -> None:
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    planner = OutputPlanner(tmp_path, inputs=[a, b])
    with pytest.raises(OverwritesInputError, match="never overwrites an original"):
        planner.claim(a)  # its own output folder, no suffix: itself
    with pytest.raises(OverwritesInputError, match=re.escape(str(b))):
        planner.check(a, b)  # a path the user typed: another photo of the batch


def test_two_photos_never_share_an_output_and_reserved_names_stay_taken(tmp_path: Path) -> None:
    planner = OutputPlanner(tmp_path / "out", name_suffix="-x2")
    first = planner.claim(tmp_path / "a" / "x.png")
    assert planner.claim(tmp_path / "a" / "x.png") == first  # the same photo again is no clash
    with pytest.raises(NameClashError, match=r"already writes x-x2\.png"):
        planner.claim(tmp_path / "b" / "x.png")
    planner.reserve(tmp_path / "c" / "y.png", tmp_path / "out" / "y-x2.png")  # written by an earlier run
    with pytest.raises(NameClashError):
        planner.claim(tmp_path / "d" / "y.png")


def test_a_free_name_counts_up_past_files_that_are_there(tmp_path: Path) -> None:
    (tmp_path / "p-x4.jpg").write_bytes(b"1")
    (tmp_path / "p-x4-2.jpg").write_bytes(b"2")
    assert free_name(tmp_path / "p-x4.jpg") == tmp_path / "p-x4-3.jpg"
    assert free_name(tmp_path / "new.jpg") == tmp_path / "new.jpg"
