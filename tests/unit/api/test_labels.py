"""Every `aiops-rca.io/` label and annotation key is spelled in one module: `aiops_operator.api.labels`."""

from __future__ import annotations

import ast
import itertools
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
PRODUCT = [REPO / "operator" / "aiops_operator", REPO / "webhook_receiver", REPO / "dashboard", REPO / "sandbox",
           REPO / "devtools"]
HOME = REPO / "operator" / "aiops_operator" / "api" / "labels.py"
PREFIX = "aiops-rca.io/"
NOT_A_KEY = ("aiops-rca.io/v1alpha1",)  # the apiVersion, not a label or annotation


def _docstrings(tree: ast.AST) -> set[int]:
    """ids of string constants that are documentation: bare string statements (docstrings, attribute docs)."""
    return {id(node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)}


def key_literals(source: str) -> list[tuple[int, str]]:
    """(line, text) of each place the source spells an `aiops-rca.io/` key: a string literal, or an f-string
    that puts `GROUP` in front of a `/`."""
    tree = ast.parse(source)
    docs = _docstrings(tree)
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs:
            text = node.value
            for allowed in NOT_A_KEY:
                text = text.replace(allowed, "")
            if PREFIX in text:
                found.append((node.lineno, node.value))
        elif isinstance(node, ast.JoinedStr):
            parts = node.values
            for left, right in itertools.pairwise(parts):
                if (isinstance(left, ast.FormattedValue) and isinstance(left.value, ast.Name)
                        and left.value.id == "GROUP" and isinstance(right, ast.Constant)
                        and len(str(right.value)) > 1 and str(right.value).startswith("/")
                        and not str(right.value).startswith("/v")):
                    found.append((node.lineno, ast.unparse(node)))
    return found


def test_keys_are_defined_only_in_api_labels() -> None:
    offenders = [
        f"{path.relative_to(REPO)}:{line}: {text!r}"
        for root in PRODUCT if root.exists()
        for path in sorted(root.rglob("*.py")) if path != HOME
        for line, text in key_literals(path.read_text())
    ]
    assert offenders == [], "define aiops-rca.io/ keys in aiops_operator/api/labels.py and import them:\n" + \
        "\n".join(offenders)


@pytest.mark.parametrize(
    ("source", "found"),
    [
        pytest.param('X = "aiops-rca.io/jira-key"\n', True, id="plain-literal"),
        pytest.param('X = f"{GROUP}/jira-key"\n', True, id="group-f-string"),
        pytest.param('m = f"kubectl annotate x aiops-rca.io/approval={v}"\n', True, id="spelled-out-command"),
        pytest.param('"""Set aiops-rca.io/resolve to close it."""\n', False, id="docstring"),
        pytest.param('API = "aiops-rca.io/v1alpha1"\n', False, id="api-version"),
        pytest.param('API = f"{GROUP}/v1alpha1"\n', False, id="api-version-f-string"),
    ],
)
def test_the_check_sees_a_second_definition(source: str, found: bool) -> None:
    assert bool(key_literals(source)) is found


def test_home_defines_the_keys() -> None:
    assert key_literals(HOME.read_text()), "api/labels.py should be where the keys are spelled"
