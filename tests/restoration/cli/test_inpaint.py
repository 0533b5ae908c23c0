"""``cogd inpaint`` and ``cogd reconstruct`` on one input or the demo (restoration/cli/inpaint.py
and the restore-one-file path of restoration/cli/files.py)."""

import os

import numpy as np
import pytest

from restoration.cli import main
from tests.restoration.cli.test_reliability import run_cogd

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
    result = run_cogd("inpaint", str(photo), "--missing", "0.5", "--seed", "3", "-o",
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
    (["inpaint", "{photo}", "--missing", "0", "-o", "{out}"], "--missing: invalid fraction in "
                                                              "(0, 1) value: '0'"),
    (["inpaint", "{photo}", "--missing", "1e-9", "-o", "{out}"], "--missing 1e-09 removes no "
                                                                 "pixel"),
    (["inpaint", "{photo}", "--missing", "0.99999", "-o", "{out}"], "removes every pixel"),
    (["inpaint", "{photo}", "-o", "{out}"], "--mask MASK or --missing"),
    (["inpaint", "{photo}", "--missing", "0.5"], "--output"),
    (["inpaint", "{photo}", "--missing", "0.5", "-o", "{tmp}/out.bmp"], "--output must end"),
    (["inpaint", "{photo}", "--missing", "0.5", "-o", "{out}", "--dictionary", "{bad}"],
     "cannot load"),
    (["inpaint", "{photo}", "--missing", "0.5", "-o", "{out}", "--max-iter", "0"], "--max-iter"),
    (["inpaint", "{photo}", "--missing", "0.5", "-o", "{out}", "--bogus"], "unrecognized"),
    (["reconstruct", "{bad}", "-o", "{out}"], "cannot read image"),
    (["inpaint", "{photo}", "--missing", "0.5", "-o", "{out}", "--no-adapt",
      "--save-dictionary", "{tmp}/d.npz"], "drop --no-adapt"),
    (["inpaint", "{photo}", "--missing", "0.5", "-o", "{out}", "--save-dictionary",
      "{tmp}/d.txt"], "--save-dictionary must end with one of .npz"),
    (["inpaint", "{photo}", "--missing", "0.5", "-o", "{out}", "--adapt", "--save-dictionary",
      "{photo}.npz", "--sparsity-weight", "-1"], "sparsity_weight"),
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


def test_save_dictionary_keeps_the_learned_filters_for_dictionary(tmp_path, photo, capsys,
                                                                   monkeypatch):
    import restoration.adaptation as adaptation
    from csc import ConvolutionalDictionary

    monkeypatch.setattr(adaptation, "LEARN_MAX_ITER", 2)
    saved = tmp_path / "learned.npz"
    assert main(["inpaint", str(photo), "--missing", "0.5", "-o", str(tmp_path / "a.png"),
                 "--save-dictionary", str(saved), *FAST]) == 0
    out = capsys.readouterr().out
    assert "dictionary: learned from 1 window(s)" in out and str(saved) in out
    filters = ConvolutionalDictionary.load(saved).filters_
    assert filters.shape == (36, 16, 16) and np.isfinite(filters).all()
    assert main(["inpaint", str(photo), "--missing", "0.5", "-o", str(tmp_path / "b.png"),
                 "--dictionary", str(saved), "--no-adapt", *FAST]) == 0
    assert "dictionary: none learned" in capsys.readouterr().out


def test_a_16_bit_rgb_tiff_written_as_png_stays_16_bit(tmp_path):
    import imageio.v3 as iio

    from restoration.io import read_image

    rng = np.random.default_rng(4)
    tiff = tmp_path / "photo.tif"
    iio.imwrite(tiff, rng.integers(0, 65536, (20, 24, 3), dtype=np.uint16))
    output = tmp_path / "restored.png"
    assert main(["inpaint", str(tiff), "--missing", "0.3", "-o", str(output), *FAST]) == 0
    restored, original = read_image(output), iio.imread(tiff)
    assert restored.dtype == np.uint16 and restored.shape == original.shape
    observed = np.random.default_rng(0).random((20, 24)) >= 0.3
    np.testing.assert_array_equal(restored[observed], original[observed])  # all 16 bits kept


@pytest.mark.parametrize("interrupt", [False, True])
def test_the_output_is_written_before_the_biharmonic_baseline_begins(tmp_path, photo,
                                                                      monkeypatch, capsys,
                                                                      interrupt):
    import imageio.v3 as iio

    from restoration.cli import files

    output = tmp_path / "restored.png"
    fill, seen = files._biharmonic, []

    def baseline(*args, **kwargs):  # the comparison's fill (the pipeline's are others)
        seen.append(output.exists() and iio.imread(output).shape == (48, 60, 3))
        if interrupt:
            raise KeyboardInterrupt
        return fill(*args, **kwargs)

    monkeypatch.setattr(files, "_biharmonic", baseline)
    status = main(["inpaint", str(photo), "--missing", "0.5", "-o", str(output), *FAST])
    assert seen == [True]  # the baseline ran once, with the whole output already there
    out = capsys.readouterr().out.splitlines()
    assert out[1].endswith(f"-> {output}") and "inpaint    vs original" in out[3]
    if interrupt:  # Ctrl-C while comparing: the output stays
        assert status == 130 and len(out) == 4 and output.exists()
    else:
        assert status == 0 and "biharmonic vs original" in out[4]
