"""``cogd inpaint|reconstruct`` on several inputs: in process and on a local Dask cluster."""

import contextlib
import socket

import imageio.v3 as iio
import numpy as np
import pytest
from skimage import data

from tests.restoration.cli.test_reliability import FAST, assert_usage_error, run_cogd, snapshot


@pytest.fixture
def photos(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    camera = data.camera()
    for index, (y, x) in enumerate([(100, 100), (200, 250), (300, 50)]):
        iio.imwrite(folder / f"crop{index}.png", camera[y:y + 48, x:x + 48])
    out = tmp_path / "out"
    out.mkdir()
    return folder, out


@pytest.mark.parametrize("where", [[], ["--workers", "2"]], ids=["in-process", "dask"])
def test_several_inputs_are_written_into_the_folder(photos, where):
    folder, out = photos
    with socket.socket() as dashboard_port:  # a port a dashboard would take: held elsewhere
        dashboard_port.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        with contextlib.suppress(OSError):  # already held by another process: as good
            dashboard_port.bind(("", 8787))
            dashboard_port.listen()
        result = run_cogd("inpaint", folder / "*.png", "--missing", "0.5", "-o", out, *FAST,
                          *where)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # only the tool's own lines: no Dask warning or log line
    assert len(result.stdout.splitlines()) == 4
    assert sorted(p.name for p in out.iterdir()) == ["crop0.png", "crop1.png", "crop2.png"]
    lines = [line for line in result.stdout.splitlines() if " nnz " in line]
    assert len(lines) == 3 and all("PSNR" in line and "nnz" in line for line in lines)
    for index in range(3):  # the same restoration as one input at a time
        single = out.parent / f"single{index}.png"
        alone = run_cogd("inpaint", folder / f"crop{index}.png", "--missing", "0.5", "-o",
                         single, *FAST)
        assert alone.returncode == 0, alone.stderr
        np.testing.assert_array_equal(iio.imread(single), iio.imread(out / f"crop{index}.png"))


def test_reconstruct_takes_several_inputs(photos):
    folder, out = photos
    result = run_cogd("reconstruct", folder / "crop0.png", folder / "crop1.png", "-o", out, *FAST)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["crop0.png", "crop1.png"]


def test_a_folder_input_is_its_image_files(photos, capsys):
    from restoration.cli import main

    folder, out = photos
    (folder / "notes.txt").write_text("not an image")
    assert main(["reconstruct", str(folder), "-o", str(out), *FAST]) == 0
    assert "3 images" in capsys.readouterr().out
    assert sorted(p.name for p in out.iterdir()) == ["crop0.png", "crop1.png", "crop2.png"]


@pytest.mark.parametrize("extra,message", [
    (["-o", "missing-folder"], "must be an existing folder"),
    (["--workers", "2", "--scheduler", "tcp://127.0.0.1:1"], "not both"),
])
def test_bad_batch_arguments_exit_2(photos, extra, message):
    folder, out = photos
    before = snapshot(out.parent)
    if extra[0] == "-o":
        extra = ["-o", str(out.parent / extra[1])]
    else:
        extra = ["-o", str(out)] + extra
    result = run_cogd("inpaint", folder / "*.png", "--missing", "0.5", *extra, *FAST)
    assert_usage_error(result, message, out.parent, before)


def test_an_existing_output_stops_the_batch_before_any_work(photos):
    folder, out = photos
    (out / "crop1.png").write_bytes(b"keep")
    before = snapshot(out.parent)
    result = run_cogd("inpaint", folder / "*.png", "--missing", "0.5", "-o", out, *FAST)
    assert_usage_error(result, "exists; pass --force", out.parent, before)


def test_workers_need_several_inputs(photos):
    folder, out = photos
    result = run_cogd("inpaint", folder / "crop0.png", "--missing", "0.5", "-o",
                      out / "a.png", "--workers", "2", *FAST)
    assert result.returncode == 2 and "for several inputs" in result.stderr


def test_adaptation_learns_one_dictionary_from_every_input(photos, capsys, monkeypatch):
    import restoration.adaptation as adaptation
    from csc import ConvolutionalDictionary
    from restoration.cli import main

    monkeypatch.setattr(adaptation, "LEARN_MAX_ITER", 2)
    folder, out = photos
    saved = out.parent / "batch.npz"
    assert main(["inpaint", str(folder / "*.png"), "--missing", "0.5", "-o", str(out),
                 "--adapt", "--save-dictionary", str(saved), *FAST]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert any(line.startswith("one dictionary learned from the 3 images: 3 window(s)")
               for line in lines)
    assert sum(" nnz " in line for line in lines) == 3
    assert ConvolutionalDictionary.load(saved).filters_.shape == (36, 16, 16)


def test_a_task_that_fails_on_dask_is_one_failed_file():
    from restoration.cli.batch import _task_result

    class Lost:  # a future whose worker died
        def result(self):
            raise RuntimeError("worker\nlost")

    assert _task_result(Lost(), "a.png") == (False, "a.png: the Dask task failed: RuntimeError: "
                                                    "worker lost")
