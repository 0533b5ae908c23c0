"""examples/rvscgd_toy.py writes where it is told, by default into a new temporary folder: never
into the repository or the current folder unless asked."""

import os
import tempfile
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("matplotlib")

from .example_loader import EXAMPLES, load_example  # noqa: E402

TINY = ["--seeds", "0", "--features", "6", "--patches", "2", "--iter", "2", "--paper-iter", "2",
        "--batch-size", "8", "--record-every", "1"]
NAMES = ["rvscgd_toy.json", "rvscgd_toy.md", "rvscgd_toy.png"]


def repository_files():
    root = EXAMPLES.parent
    return {path: path.stat().st_mtime_ns for path in (root / "benchmarks" / "results").iterdir()}


def test_by_default_it_writes_into_a_new_temporary_folder(tmp_path, monkeypatch, capsys):
    toy = load_example("rvscgd_toy")
    work, temporary = tmp_path / "work", tmp_path / "tmp"
    work.mkdir()
    temporary.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setattr(tempfile, "tempdir", str(temporary))
    before = repository_files()
    assert toy.main(TINY) == 0
    (folder,) = temporary.iterdir()
    assert sorted(os.listdir(folder)) == NAMES
    assert f"to {folder}" in capsys.readouterr().out
    assert os.listdir(work) == [] and repository_files() == before


def test_it_writes_into_the_folder_given_creating_it(tmp_path):
    toy = load_example("rvscgd_toy")
    folder = Path(tmp_path, "a", "b")
    assert toy.main(TINY + ["--out", str(folder)]) == 0
    assert sorted(os.listdir(folder)) == NAMES
