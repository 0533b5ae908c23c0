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


def write_images(folder, shapes, seed=0):
    """Gray PNG images of the given shapes in ``folder`` (created)."""
    import imageio.v3 as iio

    folder.mkdir()
    rng = np.random.default_rng(seed)
    for index, shape in enumerate(shapes):
        iio.imwrite(folder / f"image{index}.png", (rng.random(shape) * 255).astype(np.uint8))
    return folder


ONLINE = ["--online", "--batch-size", "3", "--n-filters", "4", "--filter-size", "5"]


def test_online_learning_over_a_folder_of_images_of_two_sizes(tmp_path, capsys):
    folder = write_images(tmp_path / "images", [(24, 24), (32, 24)] * 3 + [(24, 24)])
    output = tmp_path / "d.npz"
    assert main(["learn", str(folder), "-o", str(output), *ONLINE, "--max-iter", "2"]) == 0
    captured = capsys.readouterr()
    assert "2 pass(es) in mini-batches of 3" in captured.out
    assert "cogd learn --online" in captured.err  # the progress bar
    model = ConvolutionalDictionary.load(output)
    assert model.filters_.shape == (4, 5, 5) and model.history_["n_images"][-1] == 14


def test_online_learning_resumes_its_checkpoint_exactly(tmp_path):
    folder = write_images(tmp_path / "images", [(20, 20)] * 7)
    checkpoint = str(tmp_path / "online.npz")
    outputs = [str(tmp_path / name) for name in ("straight.npz", "resumed.npz")]
    assert main(["learn", str(folder), "-o", outputs[0], *ONLINE, "--max-iter", "2",
                 "--quiet"]) == 0
    for passes in ("1", "2"):  # one pass, then the second from the checkpoint
        assert main(["learn", str(folder), "-o", outputs[1], *ONLINE, "--max-iter", passes,
                     "--checkpoint", checkpoint, "--quiet", "--force"]) == 0
    straight, resumed = (ConvolutionalDictionary.load(path) for path in outputs)
    np.testing.assert_array_equal(straight.filters_, resumed.filters_)
    assert resumed.history_["n_images"][-1] == 14


@pytest.mark.parametrize("arguments,message", [
    (["{folder}", "--batch-size", "3"], "add --online"),
    (["{folder}", "--online", "--batch-size", "0"], "--batch-size"),
    (["{empty}", "--online"], "holds no image"),
    (["{folder}", "{bad}", "--online"], "cannot read image"),
    (["{folder}", "--online", "--checkpoint", "{fit_checkpoint}"], "another problem"),
    (["{folder}", "--online", "--filter-size", "40"], "filter_size"),
])
def test_bad_input_to_online_learning_exits_2_with_one_line(tmp_path, capsys, arguments,
                                                             message):
    folder = write_images(tmp_path / "images", [(20, 20)] * 2)
    (tmp_path / "empty").mkdir()
    (tmp_path / "broken.png").write_bytes(b"not an image")
    fit_checkpoint = tmp_path / "fit.npz"
    assert main(["learn", str(folder), "-o", str(tmp_path / "fit-d.npz"), *SMALL,
                 "--checkpoint", str(fit_checkpoint)]) == 0
    capsys.readouterr()
    out = tmp_path / "d.npz"
    arguments = [a.format(folder=folder, empty=tmp_path / "empty", bad=tmp_path / "broken.png",
                          fit_checkpoint=fit_checkpoint) for a in arguments]
    assert main(["learn", *arguments, "-o", str(out), "--n-filters", "4", "--quiet"]) == 2
    error = capsys.readouterr().err.strip()
    assert message in error and len(error.splitlines()) == 1 and "Traceback" not in error
    assert not out.exists()
