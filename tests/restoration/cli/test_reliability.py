"""The ``cogd`` console script on bad input, tiny images, help, output modes and JPEG outputs.

Every test runs the installed console script in a subprocess, as a user would: a user error
exits with status 2 and one line ``cogd: error: ...`` on stderr, without a traceback, and leaves
every file as it was.
"""

import json
import os
import shutil
import subprocess
import sys

import imageio.v3 as iio
import numpy as np
import pytest

FAST = ["--max-iter", "2", "--quiet"]
LEARN = ["--n-filters", "2", "--filter-size", "3", "--max-iter", "1", "--quiet"]


def cogd_command():
    script = shutil.which("cogd")
    return [script] if script else [sys.executable, "-m", "restoration.cli"]


def run_cogd(*args, cwd=None, umask=None, env=None):
    preexec = (lambda: os.umask(umask)) if umask is not None else None
    environment = dict(os.environ, **(env or {}))
    return subprocess.run(cogd_command() + [str(a) for a in args], capture_output=True,
                          text=True, timeout=300, cwd=cwd, preexec_fn=preexec, env=environment)


def snapshot(folder):
    """Every file and folder below ``folder`` with its size, mode and modification time."""
    entries = {}
    for root, folders, files in os.walk(folder):
        for name in folders + files:
            path = os.path.join(root, name)
            info = os.stat(path)
            entries[os.path.relpath(path, folder)] = (info.st_size, info.st_mode,
                                                      info.st_mtime_ns)
    return entries


def assert_usage_error(result, message, folder, before):
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("cogd: error:") and message in lines[0], lines[0]
    assert "Traceback" not in result.stderr + result.stdout
    assert snapshot(folder) == before


@pytest.fixture
def files(tmp_path):
    """Inputs of every kind in one folder."""
    rng = np.random.default_rng(0)
    photo = (rng.random((24, 30, 3)) * 255).astype(np.uint8)
    iio.imwrite(tmp_path / "photo.png", photo)
    iio.imwrite(tmp_path / "one.png", np.array([[128]], np.uint8))
    iio.imwrite(tmp_path / "three.png", (rng.random((3, 3)) * 255).astype(np.uint8))
    iio.imwrite(tmp_path / "six.png", (rng.random((6, 100)) * 255).astype(np.uint8))
    (tmp_path / "zip.npz").write_bytes(b"PK\x03\x04garbage")
    (tmp_path / "text.npz").write_bytes(b"not a zip file")
    (tmp_path / "empty.npz").write_bytes(b"")
    (tmp_path / "folder.png").mkdir()
    filters = rng.standard_normal((2, 3, 3)).astype(np.float32)
    np.savez(tmp_path / "dictionary.npz", filters=filters,
             params=np.asarray(json.dumps({"n_filters": 2, "filter_size": 3})))
    np.savez(tmp_path / "nan.npz", filters=np.full((2, 3, 3), np.nan, np.float32),
             params=np.asarray(json.dumps({"n_filters": 2, "filter_size": 3})))
    np.savez(tmp_path / "badjson.npz", filters=filters, params=np.asarray("{bad"))
    return tmp_path


# -- help and the first line ------------------------------------------------------------------
@pytest.mark.parametrize("arguments", [["--help"], ["-h"], []])
def test_top_level_help_lists_every_command(arguments):
    result = run_cogd(*arguments)
    assert result.returncode == 0 and result.stderr == ""
    for command in ("inpaint", "reconstruct", "learn", "evaluate"):
        assert command in result.stdout


def test_version_is_that_of_the_installed_package():
    from importlib.metadata import version

    result = run_cogd("--version")
    assert result.returncode == 0 and result.stderr == ""
    assert result.stdout == f"cogd {version('cogd')}\n"


@pytest.mark.parametrize("command", ["inpaint", "reconstruct", "learn", "evaluate"])
def test_every_command_has_a_help_with_description_and_defaults(command):
    result = run_cogd(command, "--help")
    assert result.returncode == 0 and "Traceback" not in result.stderr
    assert "(default:" in result.stdout
    description = result.stdout.split("\n\n")[1]
    assert len(description) > 60  # a sentence, not only the usage line
    if command in ("inpaint", "reconstruct"):
        assert "objective" in result.stdout and "nnz" in result.stdout \
            and "lambda" in result.stdout


def test_reconstruct_help_says_only_what_applies_to_reconstruction(capsys):
    from restoration.cli import main

    texts = {}
    for command in ("inpaint", "reconstruct"):
        assert main([command, "--help"]) == 0
        texts[command] = " ".join(capsys.readouterr().out.split())
    for inpainting_only in ("observed", "missing", "hidden", "biharmonic", "chosen per image"):
        assert inpainting_only in texts["inpaint"]
        assert inpainting_only not in texts["reconstruct"], inpainting_only
    assert "(default: 0.25)" in texts["reconstruct"] and "(default: 1)" in texts["reconstruct"]


def test_the_first_line_is_printed_before_the_restoration_starts(files, monkeypatch, capsys):
    """Something is on screen before the long work begins (the order, not a wall-clock time)."""
    import restoration.pipeline
    from restoration.cli import main

    printed_when_called = []

    def interrupted_restore(*args, **kwargs):
        printed_when_called.append(capsys.readouterr().out)
        raise KeyboardInterrupt

    monkeypatch.setattr(restoration.pipeline, "restore_image", interrupted_restore)
    status = main(["inpaint", str(files / "photo.png"), "--missing", "0.5",
                   "-o", str(files / "out.png"), "--quiet"])
    assert status == 130 and len(printed_when_called) == 1
    assert printed_when_called[0].startswith("cogd inpaint: ")
    assert not (files / "out.png").exists()


# -- tiny images ------------------------------------------------------------------------------
@pytest.mark.parametrize("arguments", [
    ["reconstruct", "one.png"],  # (--missing removes its one pixel or none: a usage error)
    ["inpaint", "three.png", "--missing", "0.5"],
    ["reconstruct", "six.png"],
])
def test_images_under_7_pixels_are_restored_and_measured_without_ssim(files, arguments):
    result = run_cogd(*arguments, "-o", "out.png", *FAST, cwd=files)
    assert result.returncode == 0, result.stderr
    assert "SSIM n/a" in result.stdout and "PSNR" in result.stdout
    assert iio.imread(files / "out.png").shape == iio.imread(files / arguments[1]).shape


# -- bad files and outputs ----------------------------------------------------------------------
@pytest.mark.parametrize("arguments,message", [
    (["inpaint", "photo.png", "--missing", "0.5", "-o", "out.png", "--dictionary", "zip.npz"],
     "zip.npz"),
    (["inpaint", "photo.png", "--missing", "0.5", "-o", "out.png", "--dictionary", "text.npz"],
     "not a NumPy .npz archive"),
    (["inpaint", "photo.png", "--missing", "0.5", "-o", "out.png", "--dictionary", "empty.npz"],
     "empty.npz"),
    (["inpaint", "photo.png", "--missing", "0.5", "-o", "out.png", "--dictionary", "nan.npz"],
     "NaN"),
    (["inpaint", "photo.png", "--missing", "0.5", "-o", "out.png", "--dictionary",
      "badjson.npz"], "badjson.npz"),
    (["inpaint", "photo.png", "--missing", "0.5", "-o", "out.png", "--dictionary", "photo.png"],
     "photo.png"),
    (["learn", "photo.png", "-o", "d.npz", "--checkpoint", "zip.npz"], "zip.npz"),
    (["learn", "photo.png", "-o", "d.npz", "--checkpoint", "text.npz"], "text.npz"),
    (["learn", "photo.png", "-o", "d.npz", "--checkpoint", "dictionary.npz"], "not a checkpoint"),
    (["learn", "photo.png", "-o", "d.npz", "--checkpoint", "folder.png"], "is a folder"),
    (["learn", "photo.png", "-o", "d.npz", "--checkpoint", "no/such/c.npz"], "does not exist"),
    (["inpaint", "photo.png", "--missing", "0.5", "-o", "folder.png", "--force"], "is a folder"),
    (["reconstruct", "photo.png", "-o", "folder.png", "--force"], "is a folder"),
    (["learn", "photo.png", "-o", "folder.png"], "--output must end with"),
    (["inpaint", "photo.png", "--missing", "0.5", "--seed", "-1", "-o", "out.png"], "--seed"),
    (["inpaint", "photo.png", "--missing", "1", "-o", "out.png"], "--missing"),
    (["inpaint", "photo.png", "--missing", "nan", "-o", "out.png"], "--missing"),
    (["inpaint", "photo.png", "--missing", "0.5", "-o", "out.jpg", "--jpeg-quality", "0"],
     "--jpeg-quality"),
    (["inpaint", "photo.png", "--missing", "0.5", "-o", "out.png", "--sparsity-weight", "nan"],
     "sparsity_weight"),
    (["inpaint", "photo.png", "--missing", "0.5", "-o", "out.png", "--sparsity-weight", "1e300"],
     "sparsity_weight"),
    (["inpaint", "photo.png", "--missing", "0.5", "-o", "out.png", "--smoothing", "-1"],
     "smoothing"),
    (["learn", "photo.png", "-o", "d.npz", "--n-filters", str(2**40)], "n_filters"),
    (["learn", "photo.png", "-o", "d.npz", "--sparsity-weight", "1e30"], "sparsity_weight"),
    (["learn", "photo.png", "-o", "d.npz", "--n-filters", "0"], "--n-filters"),
    (["evaluate", "fruit", "--out-dir", "photo.png"], "--out-dir"),
    (["evaluate", "fruit", "--seed", "-2"], "--seed"),
])
def test_bad_input_exits_2_with_one_line_and_changes_nothing(files, arguments, message):
    if "--learn" in arguments:  # the 24x30 photo is large enough: use a tiny one
        arguments = [a.replace("photo.png", "three.png") for a in arguments]
    before = snapshot(files)
    result = run_cogd(*arguments, "--quiet", cwd=files)
    assert_usage_error(result, message, files, before)


def test_an_existing_output_is_left_alone_and_a_dictionary_is_kept_by_checkpoint(files):
    (files / "out.png").write_bytes(b"keep")
    before = snapshot(files)
    result = run_cogd("inpaint", "photo.png", "--missing", "0.5", "-o", "out.png", *FAST,
                      cwd=files)
    assert_usage_error(result, "--force", files, before)


# -- the float policy, JPEG, masks --------------------------------------------------------------
def test_learn_scales_16_bit_gray_like_8_bit(tmp_path):
    rng = np.random.default_rng(1)
    image = rng.random((20, 20))
    iio.imwrite(tmp_path / "gray8.png", np.round(image * 255).astype(np.uint8))
    iio.imwrite(tmp_path / "gray16.png", np.round(image * 65535).astype(np.uint16))
    iio.imwrite(tmp_path / "rgb16.tif", np.round(np.stack([image] * 3, -1) * 65535)
                .astype(np.uint16))
    objectives = {}
    for name in ("gray8.png", "gray16.png", "rgb16.tif"):
        output = tmp_path / f"{name}.npz"
        result = run_cogd("learn", name, "-o", output, "--no-lcn", *LEARN, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        from csc import ConvolutionalDictionary

        objectives[name] = ConvolutionalDictionary.load(output).history_["objective"][-1]
    assert objectives["gray8.png"] < 0.5 * image.size  # images in [0, 1], not [0, 65535]
    assert objectives["gray16.png"] == pytest.approx(objectives["gray8.png"], rel=0.05)
    assert objectives["rgb16.tif"] == pytest.approx(objectives["gray8.png"], rel=0.05)


def test_jpeg_output_is_measured_as_written(files):
    from restoration.metrics import psnr

    result = run_cogd("inpaint", "photo.png", "--missing", "0.5", "-o", "out.jpg",
                      "--jpeg-quality", "40", *FAST, cwd=files)
    assert result.returncode == 0, result.stderr
    line = next(x for x in result.stdout.splitlines() if x.strip().startswith("inpaint "))
    printed = float(line.split("PSNR ")[1].split(" dB")[0])
    on_disk = psnr(iio.imread(files / "photo.png") / 255.0, iio.imread(files / "out.jpg") / 255.0,
                   data_range=1.0)
    assert printed == pytest.approx(on_disk, abs=0.006)
    assert "JPG uint8 as written" in line


def test_baseline_is_printed_for_a_user_image_with_missing(files):
    result = run_cogd("inpaint", "photo.png", "--missing", "0.3", "-o", "out.png", *FAST,
                      cwd=files)
    assert result.returncode == 0 and "biharmonic vs original" in result.stdout
    result = run_cogd("inpaint", "photo.png", "--missing", "0.3", "-o", "out2.png",
                      "--no-baseline", *FAST, cwd=files)
    assert result.returncode == 0 and "biharmonic" not in result.stdout


def test_a_mask_pixel_black_in_one_channel_is_missing(files):
    mask = np.full((24, 30, 3), 255, np.uint8)
    mask[5, 5, 2] = 0  # black in blue only
    iio.imwrite(files / "mask.png", mask)
    filled = np.zeros((24, 30, 3), np.uint8)
    iio.imwrite(files / "black.png", filled)
    result = run_cogd("inpaint", "black.png", "--mask", "mask.png", "-o", "out.png", *FAST,
                      cwd=files)
    assert result.returncode == 0, result.stderr
    assert "1 of 720 pixels missing" in result.stdout


# -- file modes ------------------------------------------------------------------------------
@pytest.mark.parametrize("umask,mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_outputs_honour_the_umask(files, umask, mode):
    runs = [("inpaint", "photo.png", "--missing", "0.5", "-o", "image.png", *FAST),
            ("learn", "photo.png", "-o", "d.npz", "--checkpoint", "c.npz", *LEARN),
            ("evaluate", "fruit", "--max-iter", "1", "--n-filters", "2", "--filter-size", "3",
             "--no-figures", "--out-dir", "tables", "--quiet")]
    (files / "tables").mkdir()
    for arguments in runs:
        result = run_cogd(*arguments, cwd=files, umask=umask)
        assert result.returncode == 0, result.stderr
    written = ["image.png", "d.npz", "c.npz"] + [f"tables/{name}" for name in
                                                   os.listdir(files / "tables")]
    assert len(written) == 6
    for name in written:
        assert os.stat(files / name).st_mode & 0o777 == mode, name
