import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from csc import ConvolutionalDictionary
from restoration.cli import main
from restoration.datasets import image_paths

FRUIT = [str(path) for path in image_paths("fruit")[:2]]
SMALL = ["--n-filters", "4", "--filter-size", "5", "--max-iter", "2", "--quiet"]


def run_script(*args):
    script = shutil.which("cogd")
    command = [script] if script else [sys.executable, "-m", "restoration.cli"]
    return subprocess.run(command + list(args), capture_output=True, text=True, timeout=300)


def test_learn_through_the_installed_console_script(tmp_path):
    output = tmp_path / "dictionary.npz"
    result = run_script("learn", *FRUIT, "-o", str(output), *SMALL)
    assert result.returncode == 0, result.stderr
    assert "objective" in result.stdout and "nnz" in result.stdout
    model = ConvolutionalDictionary.load(output)
    assert model.filters_.shape == (4, 5, 5)
    assert np.all(np.linalg.norm(model.filters_.reshape(4, -1), axis=1) <= 1 + 1e-5)


def test_existing_output_is_kept_without_force(tmp_path, capsys):
    output = tmp_path / "dictionary.npz"
    output.write_bytes(b"keep me")
    assert main(["learn", *FRUIT, "-o", str(output), *SMALL]) == 2
    assert output.read_bytes() == b"keep me"
    assert "--force" in capsys.readouterr().err
    assert main(["learn", *FRUIT, "-o", str(output), *SMALL, "--force"]) == 0
    assert ConvolutionalDictionary.load(output).filters_.shape == (4, 5, 5)


@pytest.mark.parametrize("arguments,message", [
    (["learn", "missing-*.png", "-o", "{out}"], "no file matches"),
    (["learn", "{bad}", "-o", "{out}"], "cannot read image"),
    (["learn", FRUIT[0], "-o", "{out}", "--filter-size", "200"], "filter_size"),
    (["learn", FRUIT[0], "-o", "{out}", "--sparsity-weight", "-1"], "sparsity_weight"),
    (["learn", FRUIT[0], "-o", "{tmp}/dictionary.txt"], "--output"),
    (["learn", FRUIT[0], "-o", "{tmp}/no/such/folder/d.npz"], "does not exist"),
    (["learn", FRUIT[0], "-o", "{out}", "--optimizer", "sgd"], "invalid choice"),
    (["unknown"], "invalid choice"),
])
def test_bad_input_exits_2_with_one_line_and_writes_nothing(tmp_path, capsys, arguments,
                                                            message):
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"not an image")
    out = tmp_path / "d.npz"
    arguments = [a.format(out=out, bad=bad, tmp=tmp_path) for a in arguments]
    assert main(arguments + ["--quiet"] if arguments[0] == "learn" else arguments) == 2
    error = capsys.readouterr().err.strip()
    assert message in error and len(error.splitlines()) == 1 and "Traceback" not in error
    assert not out.exists()
    assert sorted(os.listdir(tmp_path)) == ["broken.png"]  # no partial files


def test_script_errors_have_no_traceback(tmp_path):
    result = run_script("learn", "missing-*.png", "-o", str(tmp_path / "d.npz"))
    assert result.returncode == 2
    assert result.stderr.strip().startswith("cogd: error:") and "Traceback" not in result.stderr


# -- inpaint / reconstruct ---------------------------------------------------------------------
FAST = ["--max-iter", "3", "--quiet"]


@pytest.fixture
def photo(tmp_path):
    import imageio.v3 as iio
    from skimage import data

    path = tmp_path / "photo.png"
    iio.imwrite(path, data.astronaut()[100:148, 200:260])  # RGB uint8 48x60
    return path


def test_inpaint_round_trip_through_the_installed_console_script(tmp_path, photo):
    import imageio.v3 as iio

    output = tmp_path / "restored.png"
    result = run_script("inpaint", str(photo), "--missing", "0.5", "--seed", "3", "-o",
                        str(output), *FAST)
    assert result.returncode == 0, result.stderr
    assert "objective" in result.stdout and "nnz" in result.stdout and "PSNR" in result.stdout
    restored, original = iio.imread(output), iio.imread(photo)
    assert restored.shape == original.shape and restored.dtype == np.uint8
    observed = np.random.default_rng(3).random(original.shape[:2]) >= 0.5
    assert np.array_equal(restored[observed], original[observed])
    assert sorted(os.listdir(tmp_path)) == ["photo.png", "restored.png"]


def test_inpaint_with_a_mask_file_and_reconstruct(tmp_path, photo, capsys):
    import imageio.v3 as iio

    mask = np.full((48, 60), 255, np.uint8)
    mask[20:26, 5:50] = 0  # a scratch
    iio.imwrite(tmp_path / "mask.png", mask)
    output = tmp_path / "restored.tif"
    assert main(["inpaint", str(photo), "--mask", str(tmp_path / "mask.png"), "-o", str(output),
                 *FAST]) == 0
    restored, original = iio.imread(output), iio.imread(photo)
    assert np.array_equal(restored[mask > 0], original[mask > 0])
    assert main(["reconstruct", str(photo), "-o", str(tmp_path / "approx.png"), *FAST]) == 0
    assert "reconstruction vs input" in capsys.readouterr().out
    assert iio.imread(tmp_path / "approx.png").shape == original.shape


def test_inpaint_demo_is_rerunnable_and_writes_to_the_cache_folder(tmp_path, monkeypatch, capsys):
    from skimage import data

    work, cache = tmp_path / "work", tmp_path / "cache"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    monkeypatch.setattr(data, "camera", lambda: data.coins()[:40, :56])
    for _ in range(2):  # the second run overwrites the demo's own output
        assert main(["inpaint", *FAST]) == 0
        out = capsys.readouterr().out
        assert "1142 of 2240 pixels missing" in out and "biharmonic" in out
        assert str(cache / "cogd" / "inpainted_camera.png") in out
    assert os.listdir(work) == []  # nothing written where it was run
    assert os.listdir(cache / "cogd") == ["inpainted_camera.png"]


@pytest.mark.parametrize("arguments,message", [
    (["inpaint", "{bad}", "--missing", "0.5", "-o", "{out}"], "cannot read image"),
    (["inpaint", "{photo}", "--mask", "{small_mask}", "-o", "{out}"], "has size"),
    (["inpaint", "{photo}", "--mask", "{black_mask}", "-o", "{out}"], "no observed"),
    (["inpaint", "{nan}", "--missing", "0.5", "-o", "{out}"], "NaN"),
    (["inpaint", "{photo}", "--missing", "1.5", "-o", "{out}"], "--missing"),
    (["inpaint", "{photo}", "-o", "{out}"], "--mask MASK or --missing"),
    (["inpaint", "{photo}", "--missing", "0.5"], "--output"),
    (["inpaint", "{photo}", "--missing", "0.5", "-o", "{tmp}/out.bmp"], "--output must end"),
    (["inpaint", "{photo}", "--missing", "0.5", "-o", "{out}", "--dictionary", "{bad}"],
     "cannot load"),
    (["inpaint", "{photo}", "--missing", "0.5", "-o", "{out}", "--max-iter", "0"], "--max-iter"),
    (["inpaint", "{photo}", "--missing", "0.5", "-o", "{out}", "--bogus"], "unrecognized"),
    (["reconstruct", "{bad}", "-o", "{out}"], "cannot read image"),
])
def test_restoration_errors_exit_2_with_one_line_and_write_nothing(tmp_path, photo, capsys,
                                                                   arguments, message):
    import imageio.v3 as iio

    files = {"bad": tmp_path / "broken.png", "small_mask": tmp_path / "small.png",
             "black_mask": tmp_path / "black.png", "nan": tmp_path / "nan.tif"}
    files["bad"].write_bytes(b"not an image")
    iio.imwrite(files["small_mask"], np.full((10, 10), 255, np.uint8))
    iio.imwrite(files["black_mask"], np.zeros((48, 60), np.uint8))
    iio.imwrite(files["nan"], np.full((16, 16), np.nan, np.float32))
    before = sorted(os.listdir(tmp_path))
    out = tmp_path / "out.png"
    arguments = [a.format(out=out, photo=photo, tmp=tmp_path, **files) for a in arguments]
    assert main(arguments + ["--quiet"]) == 2
    error = capsys.readouterr().err.strip()
    assert message in error and len(error.splitlines()) == 1 and "Traceback" not in error
    assert sorted(os.listdir(tmp_path)) == before  # nothing written, no partial file
