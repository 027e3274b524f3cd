"""Benchmark of the rule-based analyzer: accuracy per error type on the labelled corpus, and throughput.

Run: .venv/bin/python bench/analyzer.py [--corpus PATH] [--seconds S]
The last line of output is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from aiops_operator.analysis.evaluation import load_corpus, score
from aiops_operator.analysis.rules import analyze_with_rules, classify

REPO = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=REPO / "tests" / "data" / "error_corpus.jsonl")
    parser.add_argument("--seconds", type=float, default=2.0, help="how long to measure throughput")
    args = parser.parse_args(argv)

    cases = load_corpus(args.corpus)
    card = score(cases, lambda request: classify(request).error_type)
    print(card.table())
    held_out = [c for c in cases if c.variant == "held-out"]
    held_out_card = score(held_out, lambda request: classify(request).error_type)

    # Throughput of the full analysis (classification, entity, root cause, recommendations).
    requests = [case.request() for case in cases]
    analyzed = 0
    started = time.perf_counter()
    while time.perf_counter() - started < args.seconds:
        for request in requests:
            analyze_with_rules(request)
        analyzed += len(requests)
    elapsed = time.perf_counter() - started
    per_second = analyzed / elapsed
    print(f"throughput: {per_second:,.0f} messages/s ({analyzed} analyses in {elapsed:.2f} s)")

    figures = {
        "bench": "analyzer",
        "corpus_size": card.total,
        "accuracy": round(card.accuracy, 4),
        "held_out_size": held_out_card.total,
        "held_out_accuracy": round(held_out_card.accuracy, 4),
        "accuracy_by_type": {t.value: round(s.accuracy, 4) for t, s in card.by_type.items()},
        "messages_per_second": round(per_second, 1),
        "mean_latency_ms": round(1000 * elapsed / analyzed, 4),
    }
    print(json.dumps(figures, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
