"""Measuring the rule-based analyzer against a labelled corpus.

The corpus has two parts, one file each: tests/data/error_corpus.jsonl is the
tuning part (rules may be adjusted until it passes) and
tests/data/error_corpus_heldout.jsonl the held-out part (written from vendor
documentation before the rules were tuned on it, and never tuned on since).
Shared by the accuracy test and bench/analyzer.py so both count the same way.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from aiops_operator.analysis.request import AnalysisRequest
from aiops_operator.api import ErrorType, IncidentSource

CLI_SOURCES: dict[str, IncidentSource] = {
    "adf": IncidentSource.AZURE_DATA_FACTORY,
    "databricks": IncidentSource.DATABRICKS_JOB,
    "databricks-cluster": IncidentSource.DATABRICKS_CLUSTER,
    "generic": IncidentSource.GENERIC,
}
"""Short source names used by the corpus and `aiops-rca analyze`."""


class CorpusCase(BaseModel):
    """One labelled error message."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str
    message: str
    code: str | None = None
    expected: ErrorType
    variant: str = "plain"
    """How the text is presented: plain, json-envelope, escaped, injection, wrapped, noisy, localized, no-code..."""
    ref: str = Field(pattern=r"^https://")
    """The vendor page the message follows."""

    def request(self) -> AnalysisRequest:
        return AnalysisRequest(source=CLI_SOURCES[self.source], error_message=self.message, error_code=self.code)


def load_corpus(path: Path) -> list[CorpusCase]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [CorpusCase.model_validate(json.loads(line)) for line in lines if line.strip()]


@dataclass
class TypeScore:
    total: int = 0
    correct: int = 0

    @property
    def accuracy(self) -> float:
        return self.correct / self.total if self.total else 0.0


@dataclass
class Scorecard:
    by_type: dict[ErrorType, TypeScore] = field(default_factory=dict)
    misses: list[tuple[CorpusCase, ErrorType]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(s.total for s in self.by_type.values())

    @property
    def correct(self) -> int:
        return sum(s.correct for s in self.by_type.values())

    @property
    def accuracy(self) -> float:
        return self.correct / self.total if self.total else 0.0

    def confusion(self) -> list[tuple[ErrorType, ErrorType, int]]:
        """Misses as (expected, got, count), most frequent first."""
        counts = Counter((case.expected, got) for case, got in self.misses)
        return [(expected, got, n) for (expected, got), n in counts.most_common()]

    def table(self) -> str:
        """Per-type accuracy as aligned text, taxonomy order."""
        rows = [f"{'type':36} {'correct':>7} {'total':>5} {'accuracy':>8}"]
        for error_type in ErrorType:
            score = self.by_type.get(error_type)
            if score:
                rows.append(f"{error_type.value:36} {score.correct:7} {score.total:5} {score.accuracy:8.1%}")
        rows.append(f"{'overall':36} {self.correct:7} {self.total:5} {self.accuracy:8.1%}")
        return "\n".join(rows)


def score(cases: Iterable[CorpusCase], classify: Callable[[AnalysisRequest], ErrorType]) -> Scorecard:
    card = Scorecard()
    for case in cases:
        got = classify(case.request())
        entry = card.by_type.setdefault(case.expected, TypeScore())
        entry.total += 1
        if got is case.expected:
            entry.correct += 1
        else:
            card.misses.append((case, got))
    return card
