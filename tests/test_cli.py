"""The command line as scripts use it: batch behaviour, exit codes, outputs, inputs left untouched."""

from __future__ import annotations

import hashlib
import io
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import SAMPLE
from PIL import Image

from photogan.cli.main import main
from photogan.core.load import load_image


def digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def album(tmp_path: Path) -> Path:
    folder = tmp_path / "album"
    (folder / "2019" / "summer").mkdir(parents=True)
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)).save(folder / "a.jpg")
    Image.fromarray(rng.integers(0, 256, (16, 16, 4), dtype=np.uint8)).save(folder / "b.png")
    Image.fromarray(rng.integers(0, 256, (12, 18), dtype=np.uint8)).save(folder / "2019" / "c.tif")
    Image.fromarray(rng.integers(0, 256, (10, 10, 3), dtype=np.uint8)).save(folder / "2019" / "summer" / "d.webp")
    (folder / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not really a jpeg")
    (folder / "zero.png").write_bytes(b"")
    return folder


def test_batch_with_bad_files_finishes_the_rest_and_exits_1(
    album: Path, tmp_path: Path, models_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = digest(album)
    out = tmp_path / "out"
    code = main(["enhance", str(album), "-o", str(out), "--model", str(models_dir / "nearest2.onnx"), "--tile", "8"])
    assert code == 1
    assert sorted(p.name for p in out.iterdir()) == ["a.jpg", "b.png"]
    err = capsys.readouterr().err
    assert "corrupt.jpg" in err and "zero.png" in err and "empty" in err
    assert "2 enhanced, 0 skipped, 2 failed" in err
    b = load_image(out / "b.png")
    assert b.width == 32 and b.alpha is not None
    assert digest(album) == before  # inputs byte-identical


def test_in_a_terminal_the_lines_come_above_progress_bars(
    album: Path, tmp_path: Path, models_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    out = tmp_path / "out"
    assert main(["enhance", str(album / "a.jpg"), "-o", str(out), "--model", str(models_dir / "nearest2.onnx")]) == 0
    shown = terminal.getvalue()
    assert f"done     {album / 'a.jpg'} -> {out / 'a.jpg'}" in shown
    assert "photos: 100%" in shown and "1/1" in shown  # the files bar, finished


def test_recursive_mirrors_sub_folders_and_format_conversion(album: Path, tmp_path: Path, models_dir: Path) -> None:
    (album / "corrupt.jpg").unlink()
    (album / "zero.png").unlink()
    out = tmp_path / "out"
    code = main(
        [
            "enhance",
            str(album),
            "-o",
            str(out),
            "--model",
            str(models_dir / "identity.onnx"),
            "--recursive",
            "--format",
            "png",
        ]
    )
    assert code == 0
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*.png")) == [
        "2019/c.png",
        "2019/summer/d.png",
        "a.png",
        "b.png",
    ]
    assert load_image(out / "2019" / "c.png").grayscale


def test_skip_existing_leaves_existing_outputs_alone(
    tmp_path: Path, models_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "in.png"
    Image.new("RGB", (8, 8), (10, 20, 30)).save(src)
    out = tmp_path / "out"
    out.mkdir()
    (out / "in.png").write_bytes(b"keep me")
    assert (
        main(["enhance", str(src), "-o", str(out), "--model", str(models_dir / "identity.onnx"), "--skip-existing"])
        == 0
    )
    assert (out / "in.png").read_bytes() == b"keep me"
    assert "1 skipped" in capsys.readouterr().err


def test_refuses_an_output_folder_that_would_overwrite_inputs(tmp_path: Path, models_dir: Path) -> None:
    src = tmp_path / "in.jpg"
    Image.new("RGB", (8, 8)).save(src)
    before = src.read_bytes()
    assert main(["enhance", str(src), "-o", str(tmp_path), "--model", str(models_dir / "identity.onnx")]) == 2
    assert src.read_bytes() == before


def test_same_name_from_two_folders_is_reported_not_overwritten(tmp_path: Path, models_dir: Path) -> None:
    for name in ("x", "y"):
        (tmp_path / name).mkdir()
        Image.new("RGB", (8, 8)).save(tmp_path / name / "p.png")
    code = main(
        [
            "enhance",
            str(tmp_path / "x"),
            str(tmp_path / "y"),
            "-o",
            str(tmp_path / "out"),
            "--model",
            str(models_dir / "identity.onnx"),
        ]
    )
    assert code == 1 and (tmp_path / "out" / "p.png").exists()


def test_usage_errors_exit_2(tmp_path: Path, models_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "in.png"
    Image.new("RGB", (8, 8)).save(src)
    assert main(["enhance", str(src), "--model", "no-such-model", "-o", str(tmp_path / "o")]) == 2
    assert "no model named 'no-such-model'" in capsys.readouterr().err
    assert (
        main(
            [
                "enhance",
                str(src),
                "--model",
                str(models_dir / "nearest2.onnx"),
                "--scale",
                "4",
                "-o",
                str(tmp_path / "o"),
            ]
        )
        == 2
    )
    assert main(["enhance", str(src), "--device", "gpu7", "-o", str(tmp_path / "o")]) == 2
    with pytest.raises(SystemExit) as exc:
        main(["enhance"])
    assert exc.value.code == 2


def test_device_reports_the_provider_used(tmp_path: Path, models_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "in.png"
    Image.new("RGB", (8, 8)).save(src)
    assert (
        main(
            [
                "enhance",
                str(src),
                "--device",
                "cpu",
                "-o",
                str(tmp_path / "o"),
                "--model",
                str(models_dir / "identity.onnx"),
            ]
        )
        == 0
    )
    assert "on CPUExecutionProvider (asked for cpu)" in capsys.readouterr().err


def test_models_import_list_info(models_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "import", str(models_dir / "nearest2.onnx")]) == 0
    assert main(["models", "list"]) == 0
    listing = capsys.readouterr().out
    assert "upscale-x4" in listing and "test-nearest-x2" in listing and "user" in listing
    assert main(["models", "info", "test-nearest-x2"]) == 0
    assert "task:          upscale ×2" in capsys.readouterr().out
    assert main(["models", "import", str(models_dir / "nearest2.onnx")]) == 2  # the id is taken


def test_default_upscale_of_the_bundled_sample(tmp_path: Path) -> None:
    """The README's main job, through the installed entry point."""
    exe = shutil.which("photogan", path=str(Path(sys.executable).parent))
    assert exe, "the photogan entry point is not installed"
    result = subprocess.run(
        [exe, "enhance", str(SAMPLE), "-o", str(tmp_path)], capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stderr
    src, out = load_image(SAMPLE), load_image(tmp_path / SAMPLE.name)
    assert (out.width, out.height) == (src.width * 4, src.height * 4)
    assert out.icc_profile == src.icc_profile and out.exif is not None


def test_output_folder_inside_the_input_folder_is_not_rescanned(album: Path, models_dir: Path) -> None:
    (album / "corrupt.jpg").unlink()
    (album / "zero.png").unlink()
    args = [
        "enhance",
        str(album),
        "-o",
        str(album / "enhanced"),
        "--recursive",
        "--format",
        "png",
        "--model",
        str(models_dir / "identity.onnx"),
    ]
    assert main(args) == 0
    first = sorted(p.relative_to(album) for p in (album / "enhanced").rglob("*.png"))
    assert main(args) == 0
    assert sorted(p.relative_to(album) for p in (album / "enhanced").rglob("*.png")) == first
    assert not (album / "enhanced" / "enhanced").exists()


def test_output_into_the_input_folder_with_another_format_is_allowed(tmp_path: Path, models_dir: Path) -> None:
    src = tmp_path / "photo.jpg"
    Image.new("RGB", (8, 8), (90, 20, 40)).save(src)
    before = src.read_bytes()
    assert (
        main(
            [
                "enhance",
                str(tmp_path),
                "-o",
                str(tmp_path),
                "--format",
                "png",
                "--model",
                str(models_dir / "identity.onnx"),
            ]
        )
        == 0
    )
    assert (tmp_path / "photo.png").exists() and src.read_bytes() == before


def test_an_unexpected_error_fails_that_file_only(tmp_path: Path, models_dir: Path) -> None:
    from conftest import open_session

    from photogan.app.batch import OutputOptions, plan_batch, run_batch
    from photogan.core.tiling import TileOptions

    for name in ("a.png", "b.png"):
        Image.new("RGB", (8, 8)).save(tmp_path / name)
    session = open_session(models_dir / "identity.onnx")
    real_run, calls = session.run, []

    def flaky(batch: np.ndarray, extra: np.ndarray | None = None, token: object = None) -> np.ndarray:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("boom")
        return real_run(batch)

    session.run = flaky  # type: ignore[method-assign]
    plan = plan_batch([tmp_path / "a.png", tmp_path / "b.png"], tmp_path / "out")
    results = run_batch(plan, session, TileOptions(tile_size=0), OutputOptions())
    assert [r.status for r in results] == ["failed", "done"]
    assert results[0].reason == "internal error: RuntimeError('boom')"


def test_a_pipe_and_a_device_link_in_a_folder_are_reported_not_waited_on(
    tmp_path: Path, models_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import os

    from conftest import random_image

    from photogan.core.image import Photo
    from photogan.core.save import save_image

    src = tmp_path / "src"
    src.mkdir()
    save_image(Photo(random_image(8, 8)), src / "good.png")
    os.mkfifo(src / "pipe.jpg")
    (src / "zero.png").symlink_to("/dev/zero")
    out = tmp_path / "out"
    assert main(["enhance", str(src), "-o", str(out), "--model", str(models_dir / "identity.onnx")]) == 1
    err = capsys.readouterr().err
    assert "1 enhanced, 0 skipped, 2 failed" in err
    assert "pipe.jpg: not a regular file" in err and "zero.png: not a regular file" in err
    assert sorted(p.name for p in out.iterdir()) == ["good.png"]


def test_sigterm_stops_like_ctrl_c_and_a_rerun_clears_what_a_kill_left(tmp_path: Path, models_dir: Path) -> None:
    """SIGTERM (logout, shutdown, `timeout`) ends a batch with the interrupted message and no temporary file; a
    temporary file left by a SIGKILLed run is removed by the next run into that folder (a fresh one is not)."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from conftest import random_image

    from photogan.core.image import Photo
    from photogan.core.save import save_image

    src, out = tmp_path / "src", tmp_path / "out"
    src.mkdir()
    out.mkdir()
    for i in range(400):
        save_image(Photo(random_image(48, 48, seed=i)), src / f"p{i:03d}.png")
    killed = out / ".photogan-tmp-0123456789ab.png"
    killed.write_bytes(b"half a png")
    os.utime(killed, (time.time() - 3600, time.time() - 3600))
    live = out / ".photogan-tmp-ba9876543210.png"
    live.write_bytes(b"another writer's")
    args = [sys.executable, "-m", "photogan", "enhance", str(src), "-o", str(out)]
    args += ["--model", str(models_dir / "identity.onnx"), "--tile", "8"]
    child = subprocess.Popen(args, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not any(out.glob("p*.png")) and time.monotonic() < deadline:
        time.sleep(0.05)
    child.send_signal(signal.SIGTERM)
    _, err = child.communicate(timeout=60)
    assert child.returncode == 130 and "interrupted" in err
    outputs = sorted(out.glob("p*.png"))
    assert 0 < len(outputs) < 400
    assert all(load_image(p).width == 48 for p in outputs)  # every output whole
    assert not killed.exists() and live.exists()
    assert [p.name for p in out.glob(".photogan-tmp-*")] == [live.name]


def _photos(folder: Path, count: int) -> Path:
    from conftest import random_image

    from photogan.core.image import Photo
    from photogan.core.save import save_image

    folder.mkdir()
    for i in range(count):
        save_image(Photo(random_image(8, 8, seed=i)), folder / f"p{i}.png")
    return folder


def test_an_output_folder_that_cannot_take_files_stops_before_any_work(
    tmp_path: Path, models_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import errno

    import photogan.app.batch as batch
    import photogan.core.save as save

    src = _photos(tmp_path / "src", 3)
    enhanced: list[object] = []
    real_chain = batch.enhance_chain
    monkeypatch.setattr(batch, "enhance_chain", lambda *a, **k: enhanced.append(1) or real_chain(*a, **k))
    model = str(models_dir / "identity.onnx")
    a_file = tmp_path / "out.txt"
    a_file.write_text("not a folder")
    assert main(["enhance", str(src), "-o", str(a_file), "--model", model]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err

    def read_only(path: Path, data: bytes) -> None:
        raise OSError(errno.EROFS, "Read-only file system", str(path))

    monkeypatch.setattr(save, "_write_new", read_only)
    assert main(["enhance", str(src), "-o", str(tmp_path / "ro"), "--model", model]) == 2
    err = capsys.readouterr().err
    assert f"the output folder {tmp_path / 'ro'} cannot be written: Read-only file system" in err
    assert enhanced == []  # not one photo enhanced to be thrown away


def test_a_full_disk_stops_the_batch_at_the_first_photo_it_cannot_save(
    tmp_path: Path, models_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import errno

    import photogan.core.save as save

    src = _photos(tmp_path / "src", 5)
    real_write, writes = save._write_new, []

    def filling(path: Path, data: bytes) -> None:
        writes.append(path)
        if len(writes) > 3:  # the probe and two photos fit
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        real_write(path, data)

    monkeypatch.setattr(save, "_write_new", filling)
    out = tmp_path / "out"
    assert main(["enhance", str(src), "-o", str(out), "--model", str(models_dir / "identity.onnx")]) == 2
    assert "No space left on device" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["p0.png", "p1.png"]  # no temporary file left either
    assert len(writes) == 4  # photos 4 and 5 were never enhanced


def test_a_bomb_under_the_pixel_limit_is_refused_from_its_header_and_the_batch_goes_on(
    tmp_path: Path, models_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A tiny PNG of 100 MP (under the limit) on a machine with 1 GiB free: decoding it (600 MB) and its ×2 result
    (2.4 GB) cannot fit, which the header says before a pixel is decoded; the next photo is done."""
    import time

    import photogan.core.memory as memory

    src = _photos(tmp_path / "src", 1)
    Image.new("L", (10000, 10000)).save(src / "bomb.png")
    assert (src / "bomb.png").stat().st_size < 1_000_000
    monkeypatch.setattr(memory, "available_memory", lambda: 2**30)
    started = time.monotonic()
    code = main(["enhance", str(src), "-o", str(tmp_path / "out"), "--model", str(models_dir / "nearest2.onnx")])
    assert code == 1 and time.monotonic() - started < 10
    err = capsys.readouterr().err
    assert "bomb.png: a 100 MP photo and its result needs about" in err and "1 enhanced" in err


_CAPPED = """
import resource, sys
from pathlib import Path
import onnxruntime  # loaded before the cap, as photogan enhance loads it before the first photo
from photogan.cli.main import main
status = Path("/proc/self/status").read_text().splitlines()
size = next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmSize:"))
resource.setrlimit(resource.RLIMIT_AS, (size + 1536 * 2**20, resource.RLIM_INFINITY))
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux's /proc")
def test_a_bomb_in_a_memory_capped_process_is_refused_and_the_batch_goes_on(tmp_path: Path, models_dir: Path) -> None:
    """The same bomb in a process that may allocate only 1.5 GiB more (``ulimit -v``; a container's or a desktop
    session's memory cgroup is read the same way): the cap, not the machine's free memory, is what counts."""
    src = _photos(tmp_path / "src", 1)
    Image.new("L", (10000, 10000)).save(src / "bomb.png")
    out = tmp_path / "out"
    args = ["enhance", str(src), "-o", str(out), "--model", str(models_dir / "nearest2.onnx")]
    child = subprocess.run([sys.executable, "-c", _CAPPED, *args], capture_output=True, text=True, timeout=120)
    assert child.returncode == 1, child.stderr  # not killed, not a crash: one photo failed
    assert "bomb.png: a 100 MP photo and its result needs about" in child.stderr and "1 enhanced" in child.stderr
    assert sorted(p.name for p in out.iterdir()) == ["p0.png"]


def test_an_output_records_what_made_it_in_its_xmp(tmp_path: Path, models_dir: Path) -> None:
    from photogan.core.load import load_image
    from photogan.core.xmp import history

    src = _photos(tmp_path / "src", 1)
    assert main(["enhance", str(src), "-o", str(tmp_path / "out"), "--model", str(models_dir / "nearest2.onnx")]) == 0
    [entry] = history(load_image(tmp_path / "out" / "p0.png").xmp)
    assert "photogan" in entry and "test-nearest-x2 (upscale ×2)" in entry and entry.endswith("16×16 px")
    from photogan.app.batch import OutputOptions
    from photogan.core.image import Photo

    private = OutputOptions(keep_metadata=False).apply(Photo(np.zeros((2, 2, 3), np.float32), xmp=b"<x/>"), entry)
    assert private.xmp is None  # metadata left out: no history either
