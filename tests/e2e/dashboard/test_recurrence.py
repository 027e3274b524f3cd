"""The dashboard's detail panel says when an incident re-fired and how often its failure recurred."""

from __future__ import annotations

from datetime import UTC, datetime

from playwright.sync_api import Page, expect

from devtools.samples import sample_incident
from tests.e2e.dashboard.conftest import Dashboard


def test_the_detail_shows_the_refire_and_the_recurrence(dashboard: Dashboard, page: Page) -> None:
    sample = sample_incident(2, datetime.now(UTC), phase="Escalated")
    sample.body["spec"].update(occurrence=2, previousIncidentRef=f"{sample.name[:40]}-old")
    sample.status["recurrence"] = {
        "count": 3, "autoHealed": 2, "escalated": 1,
        "healedBy": [{"action": "RerunPipeline", "count": 2}], "previous": f"{sample.name[:40]}-old"}
    error_type = sample.status["analysis"]["errorType"]
    dashboard.seed(sample)
    page.goto(dashboard.url)
    page.locator('.tab[data-tab="All"]').click()
    page.locator(f'.card[data-key="{dashboard.namespace}/{sample.name}"]').click()
    lines = page.locator("#detail p.lineage")
    expect(lines).to_have_count(2)
    expect(lines.nth(0)).to_have_text(f"Re-fired after {sample.name[:40]}-old was resolved (occurrence 2 of this run).")
    expect(lines.nth(1)).to_have_text(
        f"Recurring: 4th {error_type} failure in 30 days (2 auto-healed (RerunPipeline 2x), 1 escalated);"
        f" previous: {sample.name[:40]}-old.")
