"""``cogd learn`` (restoration/cli/learn.py), through ``main`` and the installed console script."""

import os

import numpy as np
import pytest

from csc import ConvolutionalDictionary
from restoration.cli import main
from restoration.datasets import image_paths
from tests.restoration.cli.test_reliability import run_cogd

FRUIT = [str(path) for path in image_paths("fruit")[:2]]
SMALL = ["--n-filters", "4", "--filter-size", "5", "--max-iter", "2", "--quiet"]


def test_learn_through_the_installed_console_script(tmp_path):
    output = tmp_path / "dictionary.npz"
    result = run_cogd("learn", *FRUIT, "-o", str(output), *SMALL)
    assert result.returncode == 0, result.stderr
    assert "objective" in result.stdout and "nnz" in result.stdout
    model = ConvolutionalDictionary.load(output)
    assert model.filters_.shape == (4, 5, 5)
    assert np.all(np.linalg.norm(model.filters_.reshape(4, -1), axis=1) <= 1 + 1e-5)


def test_learn_takes_a_folder_as_its_sorted_image_files(tmp_path, capsys):
    import shutil

    folder = tmp_path / "images"
    folder.mkdir()
    for index, path in enumerate(FRUIT):
        shutil.copy(path, folder / f"{index}{os.path.splitext(path)[1]}")
    (folder / "notes.txt").write_text("not an image")
    (folder / "sub.png").mkdir()
    assert main(["learn", str(folder), "-o", str(tmp_path / "a.npz"), *SMALL]) == 0
    assert "cogd learn: 2 image(s)" in capsys.readouterr().out
    assert main(["learn", *FRUIT, "-o", str(tmp_path / "b.npz"), *SMALL]) == 0
    np.testing.assert_array_equal(ConvolutionalDictionary.load(tmp_path / "a.npz").filters_,
                                  ConvolutionalDictionary.load(tmp_path / "b.npz").filters_)
    (folder / "0.jpg").unlink()
    (folder / "1.jpg").unlink()
    assert main(["learn", str(folder), "-o", str(tmp_path / "c.npz"), *SMALL]) == 2
    assert "holds no image file" in capsys.readouterr().err


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
    result = run_cogd("learn", "missing-*.png", "-o", str(tmp_path / "d.npz"))
    assert result.returncode == 2
    assert result.stderr.strip().startswith("cogd: error:") and "Traceback" not in result.stderr
