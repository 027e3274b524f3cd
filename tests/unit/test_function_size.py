"""The size half of the complexity gate: no product function longer than 80 lines.

(Cyclomatic complexity above 20 is ruff's C901, configured in pyproject.toml.)
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PRODUCT = ("operator/aiops_operator", "webhook_receiver", "dashboard", "sandbox")
MAX_LINES = 80


def too_long(source: str, max_lines: int = MAX_LINES) -> list[tuple[str, int]]:
    """(name, lines) of each function (nested ones too) longer than `max_lines`."""
    return [(node.name, node.end_lineno - node.lineno + 1) for node in ast.walk(ast.parse(source))
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno is not None
            and node.end_lineno - node.lineno + 1 > max_lines]


def test_no_product_function_is_longer_than_80_lines() -> None:
    offenders = [
        f"{path.relative_to(REPO)}: {name} has {lines} lines"
        for root in PRODUCT
        for path in sorted((REPO / root).rglob("*.py"))
        for name, lines in too_long(path.read_text())
    ]
    assert offenders == [], "split these into smaller functions or a table:\n" + "\n".join(offenders)


@pytest.mark.parametrize(("body_lines", "flagged"), [
    pytest.param(78, False, id="80-lines-pass"),
    pytest.param(79, True, id="81-lines-fail"),
])
def test_the_check_counts_lines_from_def_to_last_statement(body_lines: int, flagged: bool) -> None:
    source = "def f():\n    '''doc'''\n" + "    x = 1\n" * body_lines
    assert bool(too_long(source)) is flagged
