"""Check that an installed aiops-rca is complete: every module imports and every asset is there.

`python -m aiops_operator.install_check` is the Dockerfile's smoke check and the first step of
the installed-wheel test; it exits non-zero naming what is missing. It imports, it does not run:
no component is started and nothing is contacted.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from collections.abc import Sequence
from importlib import resources

COMPONENT_PACKAGES = ("aiops_operator", "webhook_receiver", "dashboard", "sandbox")
"""The top-level packages of the distribution; every module below them must import."""

ASSETS = {"dashboard": ("static/index.html", "static/login.html", "static/app.css", "static/js/main.js")}
"""Files a component serves or reads at run time, per package."""


def problems(packages: Sequence[str] = COMPONENT_PACKAGES) -> list[str]:
    """One line per module that fails to import or asset that is missing; empty when complete."""
    found: list[str] = []
    for name in packages:
        try:
            package = importlib.import_module(name)
        except Exception as exc:  # every failure is reported, none is fatal here
            found.append(f"{name}: {type(exc).__name__}: {exc}")
            continue
        for module in pkgutil.walk_packages(package.__path__, prefix=f"{name}."):
            try:
                importlib.import_module(module.name)
            except Exception as exc:
                found.append(f"{module.name}: {type(exc).__name__}: {exc}")
        for asset in ASSETS.get(name, ()):
            if not resources.files(name).joinpath(asset).is_file():
                found.append(f"{name}: asset {asset} is missing")
    return found


def main() -> int:
    found = problems()
    for line in found:
        print(f"aiops-rca install check: {line}", file=sys.stderr)
    if not found:
        print(f"aiops-rca install check: every module of {', '.join(COMPONENT_PACKAGES)} imports")
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main())
