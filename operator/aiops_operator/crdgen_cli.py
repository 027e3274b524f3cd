"""`aiops-rca crds`: write (or check) the CRD YAML generated from the API models."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from aiops_operator.cli import repo_root
from aiops_operator.crdgen import KINDS, render, write_crds


def default_dirs() -> list[Path]:
    root = repo_root()
    return [root / "crds", root / "charts" / "aiops-rca" / "crds"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--out", type=Path, action="append", metavar="DIR",
        help="directory to write into (repeatable; default: crds/ and charts/aiops-rca/crds/)",
    )
    parser.add_argument(
        "--check", action="store_true",
        help="write nothing; exit 1 and name the files that differ from the models",
    )
    parser.add_argument(
        "--stdout", action="store_true", help="print all CRDs as one YAML stream instead"
    )


def run(args: argparse.Namespace) -> int:
    dirs: list[Path] = args.out or default_dirs()
    if args.stdout:
        sys.stdout.write("---\n".join(render(info) for info in KINDS))
        return 0
    if args.check:
        stale = [
            d / info.file_name
            for d in dirs
            for info in KINDS
            if not (d / info.file_name).exists()
            or (d / info.file_name).read_text(encoding="utf-8") != render(info)
        ]
        for path in stale:
            print(f"out of date: {path} (run `aiops-rca crds`)", file=sys.stderr)
        return 1 if stale else 0
    for path in write_crds(dirs):
        print(f"wrote {path}")
    return 0
