"""Benchmark of the rule-based analyzer: accuracy on the tuning and held-out corpus parts, and throughput.

Run: .venv/bin/python bench/analyzer.py [--tuning PATH] [--held-out PATH] [--seconds S]
Prints per-type tables and the confusion of misses for each part; the last line of output is one JSON
object with the figures. The held-out part was written before the rules were tuned on it and is never
tuned on; its accuracy is the figure that says whether the rules generalise.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from aiops_operator.analysis.evaluation import CorpusCase, Scorecard, load_corpus, score
from aiops_operator.analysis.rules import analyze_with_rules, classify

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "tests" / "data"


def _report(name: str, cases: list[CorpusCase]) -> Scorecard:
    card = score(cases, lambda request: classify(request).error_type)
    print(f"\n== {name}: {card.correct}/{card.total} = {card.accuracy:.1%}")
    print(card.table())
    for expected, got, count in card.confusion():
        print(f"  miss x{count}: expected {expected.value}, got {got.value}")
    return card


def _figures(card: Scorecard) -> dict[str, object]:
    return {
        "size": card.total,
        "accuracy": round(card.accuracy, 4),
        "accuracy_by_type": {t.value: round(s.accuracy, 4) for t, s in card.by_type.items()},
        "misses": [{"expected": e.value, "got": g.value, "count": n} for e, g, n in card.confusion()],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tuning", type=Path, default=DATA / "error_corpus.jsonl")
    parser.add_argument("--held-out", type=Path, default=DATA / "error_corpus_heldout.jsonl")
    parser.add_argument("--seconds", type=float, default=2.0, help="how long to measure throughput")
    args = parser.parse_args(argv)

    tuning, held_out = load_corpus(args.tuning), load_corpus(args.held_out)
    tuning_card = _report("tuning part", tuning)
    held_out_card = _report("held-out part", held_out)

    # Throughput of the full analysis (classification, entity, root cause, recommendations).
    requests = [case.request() for case in [*tuning, *held_out]]
    analyzed = 0
    started = time.perf_counter()
    while time.perf_counter() - started < args.seconds:
        for request in requests:
            analyze_with_rules(request)
        analyzed += len(requests)
    elapsed = time.perf_counter() - started
    per_second = analyzed / elapsed
    print(f"\nthroughput: {per_second:,.0f} messages/s ({analyzed} analyses in {elapsed:.2f} s)")

    figures = {
        "bench": "analyzer",
        "corpus_size": tuning_card.total + held_out_card.total,
        "tuning": _figures(tuning_card),
        "held_out": _figures(held_out_card),
        "messages_per_second": round(per_second, 1),
        "mean_latency_ms": round(1000 * elapsed / analyzed, 4),
    }
    print(json.dumps(figures, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
