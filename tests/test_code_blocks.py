"""Every code block of the README and of the user guide runs as written.

Each ```python block runs alone as a script in a fresh interpreter (so it must import what it
uses, and guard what starts processes with ``if __name__ == "__main__":``), and each ```bash
block in ``bash -e``, both in an empty temporary folder that holds the small input
files the commands name (``photo.jpg``, ``mask.png``, ``photos/``, ``scans/``): see
:func:`input_files`. Not run: the README's two set-up commands (they install the package; CI
runs exactly them) and ```console blocks, which show sessions of long-running servers (a Dask
scheduler and its workers), builds and experiments that take many minutes.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs" / "user_guide").glob("*.md"))]
FENCE = re.compile(r"^```(python|bash)[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)


def code_blocks():
    blocks = []
    for document in DOCUMENTS:
        text = document.read_text(encoding="utf-8")
        for number, match in enumerate(FENCE.finditer(text), start=1):
            language, code = match[1], match[2]
            if document.name == "README.md" and language == "bash" and "pip install" in code:
                continue  # the set-up commands
            line = text.count("\n", 0, match.start()) + 1
            name = f"{document.relative_to(ROOT)}:{line}"
            blocks.append(pytest.param(language, code, id=name))
    return blocks


def input_files(folder):
    """The small inputs the documented commands name, written into ``folder``."""
    import imageio.v3 as iio
    from skimage import data

    camera = data.camera()[192:288, 192:288]
    astronaut = data.astronaut()[96:192, 160:256]
    iio.imwrite(folder / "photo.jpg", astronaut, quality=95)
    iio.imwrite(folder / "photo.png", camera)
    mask = np.where(np.random.default_rng(0).random(camera.shape) >= 0.3, 255, 0)
    iio.imwrite(folder / "mask.png", mask.astype(np.uint8))
    for name, crops in (("photos", [data.camera(), data.coins(), data.moon()]),
                        ("scans", [data.camera(), data.text()])):
        (folder / name).mkdir()
        for index, image in enumerate(crops):
            iio.imwrite(folder / name / f"{name[:-1]}{index}.png", image[:80, :80])


@pytest.mark.slow
@pytest.mark.parametrize(("language", "code"), code_blocks())
def test_the_code_block_runs_as_written(language, code, tmp_path):
    input_files(tmp_path)
    environment = dict(os.environ, MPLBACKEND="Agg", TQDM_DISABLE="1",
                       XDG_CACHE_HOME=str(tmp_path / "cache"),
                       PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    script = tmp_path / ("block.py" if language == "python" else "block.sh")
    script.write_text(code, encoding="utf-8")
    command = [sys.executable, script.name] if language == "python" else ["bash", "-e", script.name]
    run = subprocess.run(command, cwd=tmp_path, env=environment, capture_output=True, text=True,
                         timeout=600, check=False)
    assert run.returncode == 0, f"{language} block failed:\n{code}\n--- output ---\n" \
                                f"{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
