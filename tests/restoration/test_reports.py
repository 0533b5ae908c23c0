import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from restoration import reports
from restoration.cli import main

ROOT = Path(__file__).resolve().parents[2]


def test_tables_agree_with_the_result(inpainted, tmp_path):
    paths = reports.write_results(inpainted, str(tmp_path), figures=False)
    assert sorted(os.listdir(tmp_path)) == sorted(os.path.basename(p) for p in paths.values())
    with open(paths["json"]) as stream:
        stored = json.load(stream)
    assert stored["averages"] == inpainted["averages"]
    assert "arrays" not in stored
    with open(paths["csv"]) as stream:
        rows = list(csv.DictReader(stream))
    assert [r["image"] for r in rows] == ["1", "2", "mean"]
    assert float(rows[-1]["protocol_psnr"]) == inpainted["averages"]["protocol_psnr"]
    assert float(rows[-1]["objective"]) == inpainted["objective"]
    markdown = Path(paths["md"]).read_text()
    assert f"{inpainted['averages']['protocol_psnr']:.2f}" in markdown


def test_outputs_are_refused_without_force_and_written_atomically(inpainted, tmp_path,
                                                                  monkeypatch):
    pytest.importorskip("matplotlib")
    paths = reports.write_results(inpainted, str(tmp_path))
    assert {"convergence", "filters", "panel"} <= set(paths)
    for path in paths.values():
        assert os.path.getsize(path) > 0
    with pytest.raises(FileExistsError, match="force"):
        reports.write_results(inpainted, str(tmp_path))
    before = {name: Path(tmp_path, name).read_bytes() for name in os.listdir(tmp_path)}

    def failing_replace(source, target):
        raise OSError("disk full")

    monkeypatch.setattr(reports.os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk full"):
        reports.write_results(inpainted, str(tmp_path), force=True)
    after = {name: Path(tmp_path, name).read_bytes() for name in os.listdir(tmp_path)}
    assert after == before  # old files intact, no temporary left behind


def test_evaluate_command_writes_tables_and_figures_then_refuses(tiny_set, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    arguments = ["evaluate", "fruit", "--task", "inpaint", "--optimizer", "cogd", "--n-filters",
                 "4", "--filter-size", "5", "--max-iter", "2", "--quiet", "--out-dir",
                 str(tmp_path)]
    assert main(arguments) == 0
    output = capsys.readouterr().out
    assert "PSNR (papers)" in output and "objective" in output
    names = sorted(os.listdir(tmp_path))
    assert names == sorted(f"fruit_inpaint_cogd_seed0{suffix}" for suffix in (
        ".md", ".csv", ".json", "_convergence.png", "_filters.png", "_panel.png"))
    before = Path(tmp_path, "fruit_inpaint_cogd_seed0.json").read_bytes()
    assert main(arguments) == 2
    assert "--force" in capsys.readouterr().err
    assert Path(tmp_path, "fruit_inpaint_cogd_seed0.json").read_bytes() == before
    assert main(arguments + ["--force", "--seed", "0"]) == 0


def test_evaluate_creates_a_missing_out_dir_and_its_parents_then_keeps_its_files(
        tiny_set, tmp_path, capsys):
    folder = tmp_path / "results" / "run1"
    arguments = ["evaluate", "fruit", "--n-filters", "4", "--filter-size", "5", "--max-iter",
                 "2", "--quiet", "--no-figures", "--out-dir", str(folder)]
    assert main(arguments) == 0
    names = [f"fruit_reconstruct_admm_seed0{suffix}" for suffix in (".csv", ".json", ".md")]
    assert sorted(os.listdir(folder)) == names
    before = {name: (folder / name).read_bytes() for name in names}
    assert main(arguments) == 2  # the folder now exists: its files are not overwritten
    assert "pass --force" in capsys.readouterr().err
    assert {name: (folder / name).read_bytes() for name in names} == before


def test_evaluate_refuses_an_out_dir_below_a_file_before_any_work(tiny_set, tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("keep")
    assert main(["evaluate", "fruit", "--quiet", "--no-figures", "--out-dir",
                 str(tmp_path / "notes.txt" / "results")]) == 2
    error = capsys.readouterr().err.strip()
    assert "--out-dir" in error and "is a file, not a folder" in error
    assert len(error.splitlines()) == 1 and os.listdir(tmp_path) == ["notes.txt"]


def run_module_cli(*args):
    """The ``cogd`` command of this source tree (the installed script may point elsewhere)."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
    return subprocess.run([sys.executable, "-m", "restoration.cli", *args], capture_output=True,
                          text=True, timeout=120, env=env, cwd=str(ROOT))


BAD_ARGUMENTS = [
    (["evaluate", "moon"], "invalid choice"),
    (["evaluate", "fruit", "--task", "denoise"], "invalid choice"),
    (["evaluate", "fruit", "--optimizer", "sgd"], "invalid choice"),
    (["evaluate", "fruit", "--max-iter", "two"], "invalid int"),
    (["evaluate", "fruit", "--max-iter", "0", "--out-dir", "{tmp}", "--no-figures"], "--max-iter"),
    (["evaluate", "fruit", "--sparsity-weight", "-1", "--out-dir", "{tmp}", "--no-figures"],
     "sparsity_weight"),
]


@pytest.mark.parametrize("arguments,message", BAD_ARGUMENTS)
def test_evaluate_command_exits_2_on_bad_arguments(tiny_set, tmp_path, capsys, arguments,
                                                   message):
    assert main([a.format(tmp=tmp_path) for a in arguments] + ["--quiet"]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("cogd: error:") and message in error
    assert len(error.splitlines()) == 1 and "Traceback" not in error
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("arguments,message", [BAD_ARGUMENTS[0], BAD_ARGUMENTS[5]])
def test_evaluate_script_exits_2_without_traceback(tmp_path, arguments, message):
    result = run_module_cli(*[a.format(tmp=tmp_path) for a in arguments], "--quiet")
    assert result.returncode == 2, result.stderr
    error = result.stderr.strip()
    assert error.startswith("cogd: error:") and message in error
    assert len(error.splitlines()) == 1 and "Traceback" not in error
    assert os.listdir(tmp_path) == []
