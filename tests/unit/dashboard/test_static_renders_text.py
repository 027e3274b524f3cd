"""The dashboard front end renders incident data as text, never as HTML (the prompt-injection invariant).

Root causes and recommendations can be an LLM's echo of attacker text
(`<img onerror=...>`, `<script>`); the only safe sink is a text node. These
checks fail the build when a script gains an HTML-parsing sink.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

STATIC = Path(__file__).resolve().parents[3] / "dashboard" / "static"
SCRIPTS = sorted((STATIC / "js").glob("*.js"))
HTML_SINKS = re.compile(r"\.innerHTML\b|\.outerHTML\b|insertAdjacentHTML|document\.write|\beval\s*\(|"
                        r"new\s+Function\b|\.srcdoc\b|createContextualFragment|DOMParser")


def test_there_are_scripts_to_check() -> None:
    assert len(SCRIPTS) >= 3


@pytest.mark.parametrize("script", SCRIPTS, ids=[s.name for s in SCRIPTS])
def test_no_script_parses_data_as_html(script: Path) -> None:
    found = HTML_SINKS.findall(script.read_text(encoding="utf-8"))
    assert not found, f"{script.name} uses HTML sinks {found}"


def test_nodes_are_built_from_text_and_links_only_keep_http() -> None:
    dom = (STATIC / "js" / "dom.js").read_text(encoding="utf-8")
    assert "document.createTextNode(String(child))" in dom
    assert 'url.protocol === "https:" || url.protocol === "http:"' in dom  # no javascript: hrefs


@pytest.mark.parametrize("page", ["index.html", "login.html"])
def test_pages_carry_no_inline_handlers(page: str) -> None:
    html = (STATIC / page).read_text(encoding="utf-8")
    assert not re.search(r"\son[a-z]+\s*=", html, re.IGNORECASE)
