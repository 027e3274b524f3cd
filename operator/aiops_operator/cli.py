"""The `aiops-rca` command: one subcommand per component.

Each component module that offers a subcommand exposes
`add_arguments(parser)` and `run(args) -> int`; it is imported only when the
command line names it, so `aiops-rca crds` does not pay for Kopf or the SDKs.

`controlplane` and `demo` are development tools (the top-level `devtools`
package): they are named here by string only, never imported by the product,
and exist in a source checkout, not in the wheel or the image.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

# (subcommand, module, one-line help). The module provides add_arguments() and run().
SUBCOMMANDS: list[tuple[str, str, str]] = [
    ("crds", "aiops_operator.crdgen_cli", "write the CRDs generated from the API models"),
    (
        "controlplane",
        "devtools.localcluster.cli",
        "build, start, stop or inspect the local Kubernetes control plane and node (source checkout only)",
    ),
    ("dashboard", "dashboard.cli", "serve the read-only live dashboard (watches the CRDs, pushes to browsers)"),
    ("receiver", "webhook_receiver.cli", "run the webhook receiver: alert webhooks in, Incidents out"),
    ("operator", "aiops_operator.operator_cli", "run the operator: analyze, notify and hand Incidents to remediation"),
    ("sandbox", "sandbox.cli", "run the local stand-in for ADF, Azure AD, Databricks, Slack, Jira and the LLM"),
    ("analyze", "aiops_operator.analysis.cli", "analyze ADF/Databricks error messages from stdin (rules, or --llm)"),
    (
        "demo",
        "devtools.demo.cli",
        "run everything locally and fire six realistic failures through it (source checkout only)",
    ),
]
DEVTOOLS = "devtools"


class DevtoolsMissing(Exception):
    """A development subcommand was asked for where only the product is installed."""


class _LazyCommand:
    """Imports a subcommand's module the first time its arguments or runner are needed."""

    def __init__(self, module: str) -> None:
        self.module_name = module
        self._module: ModuleType | None = None

    @property
    def module(self) -> ModuleType:
        if self._module is None:
            if self.module_name.partition(".")[0] == DEVTOOLS:
                _find_devtools()
            self._module = importlib.import_module(self.module_name)
        return self._module


def _find_devtools() -> None:
    """Make the checkout's `devtools` importable; it is never part of the installed distribution."""
    if importlib.util.find_spec(DEVTOOLS) is not None:
        return
    root = repo_root()
    if not (root / DEVTOOLS / "__init__.py").is_file():
        raise DevtoolsMissing(
            "this subcommand is a development tool, only available from a source checkout of"
            " aiops-rca (run it there, e.g. `.venv/bin/aiops-rca ...` after `make venv`); the"
            " installed package and the image ship only the product"
        )
    sys.path.insert(0, str(root))


def build_parser(argv: Sequence[str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="aiops-rca",
        description=(
            "Self-healing incidents for Azure Data Factory and Databricks failures, run as a"
            " Kubernetes operator. Every component is a subcommand of this one command."
        ),
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    wanted = next((a for a in argv if not a.startswith("-")), None)
    for name, module, help_text in SUBCOMMANDS:
        command = _LazyCommand(module)
        sub_parser = sub.add_parser(name, help=help_text, description=help_text)
        # Only the named subcommand's module is imported; the others show their help line.
        if name == wanted:
            command.module.add_arguments(sub_parser)
            sub_parser.set_defaults(_run=command.module.run)
    return parser


def repo_root() -> Path:
    """The checkout this package runs from (editable installs), else the working directory."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "pyproject.toml").exists() and (parent / "crds").is_dir():
            return parent
    return Path.cwd()


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    try:
        parser = build_parser(args_list)
    except DevtoolsMissing as exc:
        print(f"aiops-rca: {exc}", file=sys.stderr)
        return 2
    args = parser.parse_args(args_list)
    result: int = args._run(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
