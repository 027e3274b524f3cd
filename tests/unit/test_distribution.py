"""The wheel and sdist users install hold every package and asset of the source tree.

Built from a copy of the checkout (as a fresh clone would be), without an isolated build
environment: setuptools comes from the dev extras. A source folder with Python files
that is not a package, or an asset that package-data does not name, fails here instead
of in a user's `pip install`.
"""

from __future__ import annotations

import tarfile
import tomllib
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.distribution import REPO, build


def _shipped_roots() -> list[Path]:
    """The top-level package folders pyproject.toml ships (setuptools' find config)."""
    find = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]
    roots: list[Path] = []
    for where in find["where"]:
        for pattern in find["include"]:
            name = pattern.rstrip("*")
            candidate = REPO / where / name
            if candidate.is_dir() and (candidate / "__init__.py").exists():
                roots.append(candidate)
    return roots


def _source_files(root: Path) -> Iterator[Path]:
    for path in root.rglob("*"):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
            yield path


def _installed_path(path: Path) -> str:
    """The path a source file has inside the wheel (relative to site-packages)."""
    rel = path.relative_to(REPO)
    return str(rel.relative_to("operator") if rel.parts[0] == "operator" else rel)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[set[str], set[str]]:
    """(files in the wheel, files in the sdist) built from a copy of the checkout."""
    wheel, sdist = build(tmp_path_factory.mktemp("dist"), sdist=True)
    assert sdist is not None
    with zipfile.ZipFile(wheel) as zf:
        wheel_files = set(zf.namelist())
    with tarfile.open(sdist) as tf:
        top = tf.getnames()[0].split("/")[0]
        sdist_files = {name.removeprefix(f"{top}/") for name in tf.getnames()}
    return wheel_files, sdist_files


def test_every_shipped_source_file_is_in_the_wheel(built: tuple[set[str], set[str]]) -> None:
    wheel_files, _ = built
    roots = _shipped_roots()
    assert roots, "pyproject.toml ships no package"
    missing = [
        _installed_path(path) for root in roots for path in _source_files(root)
        if _installed_path(path) not in wheel_files
    ]
    assert missing == [], f"files of the source tree missing from the wheel: {missing}"


def test_every_folder_with_python_files_is_a_package(built: tuple[set[str], set[str]]) -> None:
    # A folder without __init__.py is dropped by `namespaces = false`: its modules would
    # import from a checkout and fail from the wheel.
    not_packages = [
        str(folder.relative_to(REPO)) for root in _shipped_roots() for folder in [root, *root.rglob("*")]
        if folder.is_dir() and "__pycache__" not in folder.parts
        and any(folder.glob("*.py")) and not (folder / "__init__.py").exists()
    ]
    assert not_packages == []


def test_dashboard_assets_are_in_the_wheel(built: tuple[set[str], set[str]]) -> None:
    wheel_files, _ = built
    for page in ("dashboard/static/index.html", "dashboard/static/login.html", "dashboard/static/js/main.js"):
        assert page in wheel_files


def test_sdist_holds_every_shipped_file_and_the_build_files(built: tuple[set[str], set[str]]) -> None:
    _, sdist_files = built
    wanted = {"pyproject.toml", "README.md"} | {
        str(path.relative_to(REPO)) for root in _shipped_roots() for path in _source_files(root)
    }
    assert sorted(wanted - sdist_files) == []


def test_dev_tools_stay_out_of_the_wheel(built: tuple[set[str], set[str]]) -> None:
    # The local cluster runs apt-get and patches Kubernetes' source; the demo imports the sandbox.
    wheel_files, _ = built
    assert (REPO / "devtools" / "__init__.py").exists()
    assert sorted(f for f in wheel_files if f.startswith("devtools/")) == []
