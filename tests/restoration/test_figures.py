import pytest

from restoration import figures


def test_convergence_helper_draws_several_methods(tmp_path):
    pytest.importorskip("matplotlib")
    path = tmp_path / "admm_vs_cogd.png"
    figures.plot_convergence({"ADMM": [[3.0, 2.0, 1.5], [3.1, 2.2, 1.4]],
                                 "CoGD": [3.0, 1.9, 1.2]}, str(path), title="toy")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_figures_leave_pyplot_and_its_backend_alone(tmp_path):
    """Drawing never imports pyplot nor switches the caller's backend (a notebook's, say)."""
    import subprocess
    import sys

    pytest.importorskip("matplotlib")
    script = (
        "import sys, matplotlib\n"
        "matplotlib.use('svg')\n"
        "from restoration import figures\n"
        f"figures.plot_filters(__import__('numpy').eye(9).reshape(1, 9, 9), {str(tmp_path / 'f.png')!r})\n"
        "print(matplotlib.get_backend(), 'matplotlib.pyplot' in sys.modules)\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["svg", "False"]
    assert (tmp_path / "f.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
