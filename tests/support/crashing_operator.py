"""`python -m tests.support.crashing_operator [operator args]`: the operator with the chaos tests' crash hook.

The same `aiops-rca operator` entry, with a `CrashHook` built from
`AIOPS_RCA_CRASH_AT` / `AIOPS_RCA_CRASH_MARKER` injected; the product reads
neither variable.
"""

from __future__ import annotations

import argparse
import os
import sys

from aiops_operator import operator_cli

from tests.support.crash import CrashHook


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="crashing-operator")
    operator_cli.add_arguments(parser)
    args = parser.parse_args(argv)
    return operator_cli.run(args, crash_hook=CrashHook.from_env(dict(os.environ)))


if __name__ == "__main__":
    sys.exit(main())
