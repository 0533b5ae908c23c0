"""docs/architecture.md checks itself against the code, and the structure budget holds.

- the Layout tree of docs/architecture.md lists exactly the modules of ``csc``, ``restoration``
  and ``nets``: a module added, moved or removed without the file being updated fails here;
- every name of the ``__all__`` of those packages is named in the file;
- ``../shared/tools/structure_check.py`` (line budget, no import cycle) passes, when the shared
  folder is beside the repository (as in CI, which also runs it before the tests).
"""

import importlib
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ARCHITECTURE = ROOT / "docs" / "architecture.md"
PACKAGES = ("csc", "restoration", "nets")


def modules_in_tree():
    """Dotted module names of the Layout tree (indentation gives the nesting)."""
    text = ARCHITECTURE.read_text(encoding="utf-8")
    layout = text.split("## Layout", 1)[1].split("```", 2)[1]
    names, parents = set(), []  # parents: [(indent, dotted package)]
    for line in layout.splitlines():
        # an entry: a name at most 8 columns in, then its description after two spaces
        match = re.match(r"( {0,8})([\w.]+?)(/|\.py)(?= {2}|$)", line)
        if not match or match[2] == "__init__":
            continue
        indent, name, kind = len(match[1]), match[2], match[3]
        while parents and parents[-1][0] >= indent:
            parents.pop()
        dotted = f"{parents[-1][1]}.{name}" if parents else name
        if kind == "/":
            parents.append((indent, dotted))
        else:
            names.add(dotted)
    return names


def modules_on_disk():
    names = set()
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = list(path.relative_to(ROOT / package).with_suffix("").parts)
            if parts[-1] == "__init__":
                continue
            names.add(".".join([package, *parts]))
    return names


def test_the_layout_tree_lists_every_module_and_no_other():
    listed = {name for name in modules_in_tree() if name.split(".")[0] in PACKAGES}
    on_disk = modules_on_disk()
    assert sorted(on_disk - listed) == [], "modules missing from docs/architecture.md's Layout"
    assert sorted(listed - on_disk) == [], "Layout lists modules that do not exist"


@pytest.mark.parametrize("package", PACKAGES)
def test_every_public_name_is_named_in_the_architecture(package):
    text = ARCHITECTURE.read_text(encoding="utf-8")
    names = importlib.import_module(package).__all__
    missing = [name for name in names if not re.search(rf"(?<![\w.]){re.escape(name)}\b", text)]
    assert missing == []


def test_the_structure_check_passes():
    checker = ROOT.parent / "shared" / "tools" / "structure_check.py"
    if not checker.exists():
        pytest.skip("../shared/tools/structure_check.py is not beside the repository")
    run = subprocess.run([sys.executable, str(checker)], cwd=ROOT, capture_output=True,
                         text=True, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
