"""Build the wheel and sdist users install, from a copy of the checkout as a fresh clone holds it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
_NOT_IN_A_CLONE = shutil.ignore_patterns(
    ".git", ".venv", "*.egg-info", "__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache",
    "build", "dist", "test-artifacts", "node_modules",
)


def build(work: Path, *, sdist: bool = False) -> tuple[Path, Path | None]:
    """(wheel, sdist or None) built into `work/dist` from a copy of the checkout in `work/src`.

    No isolated build environment: setuptools comes from the dev extras. The copy is removed
    afterwards, so what was built is the only copy of the code left in `work`.
    """
    src, out = work / "src", work / "dist"
    shutil.copytree(REPO, src, ignore=_NOT_IN_A_CLONE)
    # build_meta rewrites sys.argv while it runs: read the output folder first.
    script = ("import sys; out = sys.argv[1]; from setuptools import build_meta as b; b.build_wheel(out)"
              + ("; b.build_sdist(out)" if sdist else ""))
    subprocess.run([sys.executable, "-c", script, str(out)], cwd=src, check=True, capture_output=True, timeout=300)
    shutil.rmtree(src)
    return next(out.glob("aiops_rca-*.whl")), next(out.glob("aiops_rca-*.tar.gz"), None) if sdist else None
