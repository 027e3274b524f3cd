"""The rule-based analyzer against the labelled corpus: report per-type accuracy, fail below 90 %."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from aiops_operator.analysis.evaluation import CorpusCase, load_corpus, score
from aiops_operator.analysis.rules import classify
from aiops_operator.api import ErrorType

CORPUS = Path(__file__).resolve().parents[2] / "data" / "error_corpus.jsonl"
TARGET = 0.90


@pytest.fixture(scope="module")
def cases() -> list[CorpusCase]:
    return load_corpus(CORPUS)


def test_corpus_is_big_and_covers_every_type(cases: list[CorpusCase]) -> None:
    assert len(cases) >= 150
    per_type = Counter(case.expected for case in cases)
    assert set(per_type) == set(ErrorType)
    assert min(per_type.values()) >= 5, per_type
    assert {case.source for case in cases} == {"adf", "databricks"}
    assert {"plain", "json-envelope", "escaped", "injection", "held-out"} <= {case.variant for case in cases}


def test_rule_based_accuracy(cases: list[CorpusCase], capsys: pytest.CaptureFixture[str]) -> None:
    card = score(cases, lambda request: classify(request).error_type)
    with capsys.disabled():
        print("\nrule-based analyzer on tests/data/error_corpus.jsonl\n" + card.table())
        for case, got in card.misses:
            print(f"  miss: expected {case.expected.value}, got {got.value} ({case.variant}, {case.source})")
    assert card.accuracy >= TARGET, card.table()
