"""A shortened long outage: `bench/outage.py --quick` (a 45 s API-server cut, 300 alerts with resends).

The bench does the work (its own namespace, receiver process, TCP proxy as the
cut); this test runs it as a user would and asserts on its JSON figures.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]


def test_a_long_outage_loses_and_duplicates_nothing_and_holds_its_bounds(kubeconfig: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(REPO / "bench" / "outage.py"), "--quick", "--max-runtime-seconds", "240"],
        capture_output=True, text=True, timeout=300, cwd=REPO,
        env={**os.environ, "AIOPS_RCA_KEEP_CONTROLPLANE": "1"}, check=False,
    )
    assert done.stdout.strip(), done.stderr[-3000:]
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert figures["violations"] == [], figures
    assert done.returncode == 0, done.stderr[-3000:]
    assert figures["lost"] == 0
    assert figures["duplicated"] == 0
    assert figures["incidents"] == figures["unique_alerts"]
    assert figures["resends"] > 0  # duplicates were part of the load
    # The spool's bound was reached (alerts were turned away with 503 + Retry-After, then accepted on retry)...
    assert figures["answers"].get("503", 0) > 0, figures["answers"]
    assert figures["answers_503_without_retry_after"] == 0
    # ...and never exceeded, as the receiver's own metrics say.
    assert 0 < figures["spool_peak_depth"] <= figures["spool_limit_files"]
    assert 0 < figures["rss_peak_mib"] <= figures["rss_limit_mib"]
