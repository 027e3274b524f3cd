"""The rule-based analyzer against the labelled corpus: per-type accuracy, floors on both parts.

tests/data/error_corpus.jsonl is the tuning part; tests/data/error_corpus_heldout.jsonl the held-out
part, written from vendor documentation before any rule was tuned on it (see analysis/evaluation.py).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from aiops_operator.analysis.evaluation import CorpusCase, load_corpus, score
from aiops_operator.analysis.rules import classify
from aiops_operator.api import ErrorType

DATA = Path(__file__).resolve().parents[2] / "data"
TUNING = DATA / "error_corpus.jsonl"
HELD_OUT = DATA / "error_corpus_heldout.jsonl"
TUNING_FLOOR = 0.97
HELD_OUT_FLOOR = 0.95
UNKNOWN_MISS_CEILING = 0.01
"""At most this share of held-out messages that name a cause may come out as UnknownError."""


@pytest.fixture(scope="module")
def tuning() -> list[CorpusCase]:
    return load_corpus(TUNING)


@pytest.fixture(scope="module")
def held_out() -> list[CorpusCase]:
    return load_corpus(HELD_OUT)


def test_corpus_is_big_and_covers_every_type(tuning: list[CorpusCase], held_out: list[CorpusCase]) -> None:
    assert len(tuning) + len(held_out) >= 600
    assert len(held_out) >= 300
    for part in (tuning, held_out):
        per_type = Counter(case.expected for case in part)
        assert set(per_type) == set(ErrorType)
        assert min(per_type.values()) >= 5, per_type
    assert {case.source for case in held_out} == {"adf", "databricks", "databricks-cluster"}
    assert {"plain", "json-envelope", "escaped", "injection"} <= {case.variant for case in tuning}
    assert {"plain", "wrapped", "json-envelope", "noisy", "localized", "no-code"} <= {c.variant for c in held_out}


def test_the_parts_do_not_share_a_message(tuning: list[CorpusCase], held_out: list[CorpusCase]) -> None:
    assert not {c.message for c in tuning} & {c.message for c in held_out}


def _check(cases: list[CorpusCase], name: str, floor: float, capsys: pytest.CaptureFixture[str]) -> None:
    card = score(cases, lambda request: classify(request).error_type)
    with capsys.disabled():
        print(f"\nrule-based analyzer on the {name} part\n" + card.table())
        for expected, got, count in card.confusion():
            print(f"  miss x{count}: expected {expected.value}, got {got.value}")
    assert card.accuracy >= floor, card.table()


def test_rule_based_accuracy_on_the_tuning_part(tuning: list[CorpusCase], capsys: pytest.CaptureFixture[str]) -> None:
    _check(tuning, "tuning", TUNING_FLOOR, capsys)


def test_rule_based_accuracy_on_the_held_out_part(
    held_out: list[CorpusCase], capsys: pytest.CaptureFixture[str]
) -> None:
    _check(held_out, "held-out", HELD_OUT_FLOOR, capsys)


def test_unknown_only_when_nothing_points_to_a_type(held_out: list[CorpusCase]) -> None:
    named = [case for case in held_out if case.expected is not ErrorType.UNKNOWN_ERROR]
    shrugged = [c for c in named if classify(c.request()).error_type is ErrorType.UNKNOWN_ERROR]
    assert len(shrugged) <= UNKNOWN_MISS_CEILING * len(named), [c.message[:120] for c in shrugged]
    for case in held_out:
        if case.expected is ErrorType.UNKNOWN_ERROR:
            assert classify(case.request()).error_type is ErrorType.UNKNOWN_ERROR, case.message[:200]
