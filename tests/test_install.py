"""Installing wordlens claims one top-level name, ``wordlens``: it installs into a
fresh virtual environment beside another package called ``app`` and both work.

Nothing is downloaded: the wheel is built without build isolation, with the
setuptools of the test environment, from a copy of the sources (a build writes into
its source tree), and the fresh environment borrows the test environment's
dependencies (numpy, FastAPI, …) through a path file.
"""

import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

from conftest import ROOT

PIP = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input", "-q"]


def run(*command, cwd=None):
    return subprocess.run(command, cwd=cwd, check=True, capture_output=True, text=True).stdout


def test_installs_beside_another_app_package(tmp_path):
    source = tmp_path / "source"
    kept = ("pyproject.toml", "README.md", "LICENSE", "wordlens", "app", "training", "corpus")
    shutil.copytree(
        ROOT,
        source,
        symlinks=True,  # wordlens/app, wordlens/training, wordlens/corpus are links
        ignore=lambda folder, names: (
            [name for name in names if Path(folder) == ROOT and name not in kept]
            + [name for name in names if name == "__pycache__"]
        ),
    )
    wheels = tmp_path / "wheels"
    run(*PIP, "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", wheels, source)
    (wheel,) = wheels.glob("wordlens-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        top_level = {Path(name).parts[0] for name in archive.namelist()}
    assert top_level == {"wordlens", wheel.name.split("-py")[0] + ".dist-info"}

    dummy = tmp_path / "dummy"
    (dummy / "app").mkdir(parents=True)
    (dummy / "app" / "__init__.py").write_text('WHO = "the other app"\n')
    (dummy / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n'
        '[project]\nname = "other-app"\nversion = "1.0"\n'
        '[tool.setuptools]\npackages = ["app"]\n'
    )

    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", venv)
    python = venv / "bin" / "python"
    site = Path(run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))").strip())
    (site / "borrowed.pth").write_text(sysconfig.get_path("purelib") + "\n")
    for package in (dummy, wheel):
        run(*PIP, "--python", python, "install", "--no-deps", "--no-build-isolation",
            "--no-index", package)  # fmt: skip

    check = (
        "import app, wordlens, wordlens.app.server, wordlens.cli;"
        "assert app.WHO == 'the other app', app.__file__;"
        f"assert wordlens.__file__.startswith({str(site)!r}), wordlens.__file__;"
        "import wordlens.corpus as c; assert c.DEFAULT_ENGLISH.is_file();"
        "print(wordlens.__version__)"
    )
    assert (
        run(python, "-c", check, cwd=tmp_path).strip()
        == run(sys.executable, "-c", "import wordlens; print(wordlens.__version__)").strip()
    )
    assert "usage: wordlens" in run(venv / "bin" / "wordlens", "--help", cwd=tmp_path)
