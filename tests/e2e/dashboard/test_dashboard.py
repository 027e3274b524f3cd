"""The dashboard in a real browser against the real API server: what an on-call engineer sees."""

from __future__ import annotations

import csv
import io
import urllib.request
from datetime import UTC, datetime

from aiops_operator.api.labels import approve_command
from playwright.sync_api import Page, expect

from devtools.samples import sample_incident, sample_storm
from tests.e2e.conftest import REPO, Kubectl
from tests.e2e.dashboard.conftest import Dashboard, Watched


def now() -> datetime:
    return datetime.now(UTC)


def card(page: Page, name: str, dash: Dashboard) -> str:
    return f'.card[data-key="{dash.namespace}/{name}"]'


def test_card_appears_live_and_moves_between_tabs(dashboard: Dashboard, page: Page, kubectl: Kubectl) -> None:
    page.goto(dashboard.url)
    expect(page.locator("#conn")).to_have_attribute("data-state", "live")
    expect(page.locator(".empty-list")).to_be_visible()

    sample = sample_incident(0, now(), phase="Analyzing")
    dashboard.seed(sample)
    selector = card(page, sample.name, dashboard)
    expect(page.locator(selector)).to_have_attribute("data-phase", "Analyzing")
    expect(page.locator(selector)).to_contain_text("pl_copy_sales_daily")
    page.locator('.tab[data-tab="Analyzing"]').click()
    expect(page.locator(selector)).to_be_visible()

    full = sample_incident(0, now(), phase="Remediating")
    dashboard.patch_status(sample.name, full.status)
    expect(page.locator(selector)).to_have_count(0)  # it left the Analyzing tab by itself
    expect(page.locator('.tab[data-tab="Remediating"] .tab-count')).to_have_text("1")
    page.locator('.tab[data-tab="Remediating"]').click()
    expect(page.locator(selector)).to_contain_text("GatewayTimeout")
    expect(page.locator(f"{selector} .prio")).to_have_text(full.status["analysis"]["priority"])
    expect(page.locator('.tile[data-phase="Remediating"] .tile-value')).to_have_text("1")

    # A switched-off policy explains why nothing heals: the header says so.
    policy = (REPO / "crds" / "samples" / "policy-default.yaml").read_text().replace("enabled: true", "enabled: false")
    kubectl("apply", "-n", dashboard.namespace, "-f", "-", input=policy)
    expect(page.locator("#policies")).to_have_text(f"policies: {dashboard.namespace}/default disabled")

    with urllib.request.urlopen(dashboard.url + "/") as response:  # noqa: S310  (loopback)
        csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp


def test_tabs_search_filters_and_csv(dashboard: Dashboard, page: Page) -> None:
    t = now()
    samples = [sample_incident(i, t) for i in range(16)]
    dashboard.seed(*samples)
    page.goto(dashboard.url)
    open_ = [s for s in samples if s.status["phase"] != "Resolved"]
    expect(page.locator('.tab[data-tab="Open"] .tab-count')).to_have_text(str(len(open_)))
    page.locator('.tab[data-tab="All"]').click()
    expect(page.locator(".card")).to_have_count(16)

    phases = {s.status["phase"] for s in samples}
    for phase in phases:
        page.locator(f'.tab[data-tab="{phase}"]').click()
        expected = sum(1 for s in samples if s.status["phase"] == phase)
        expect(page.locator(".card")).to_have_count(expected)
        expect(page.locator(f'.card:not([data-phase="{phase}"])')).to_have_count(0)
    page.locator('.tab[data-tab="All"]').click()

    # Priority, then severity, then age: the first card is never less urgent than the second.
    ranks = page.locator(".card .prio").all_inner_texts()
    assert ranks == sorted(ranks)

    page.locator("#search").fill("ml-churn")
    expect(page.locator(".card")).to_have_count(sum(1 for s in samples if "ml-churn" in s.name))
    page.locator("#search").fill("DATA-1005")
    expect(page.locator(".card")).to_have_count(1)
    expect(page.locator(".card")).to_contain_text("DATA-1005")
    page.locator("#search").fill("")

    page.locator("#f-source").select_option("DatabricksJob")
    databricks = [s for s in samples if s.body["spec"]["source"] == "DatabricksJob"]
    expect(page.locator(".card")).to_have_count(len(databricks))
    team = next(s.status["ownership"]["team"] for s in databricks if "ownership" in s.status)
    page.locator("#f-team").select_option(team)
    both = [s for s in databricks if s.status.get("ownership", {}).get("team") == team]
    assert both
    expect(page.locator(".card")).to_have_count(len(both))
    expect(page.locator("#count")).to_have_text(f"{len(both)} of 16 incidents")

    with page.expect_download() as download:
        page.locator("#csv").click()
    rows = list(csv.DictReader(io.StringIO(download.value.path().read_text(encoding="utf-8"))))
    assert {r["name"] for r in rows} == {s.name for s in both}
    assert {r["source"] for r in rows} == {"DatabricksJob"}

    page.locator("#clear").click()
    expect(page.locator(".card")).to_have_count(16)


def test_detail_shows_attempts_timeline_history_and_approval(dashboard: Dashboard, page: Page) -> None:
    t = now()
    resolved = sample_incident(1, t, phase="Resolved")  # attempt 1 failed, attempt 2 succeeded
    waiting = sample_incident(3, t, phase="Remediating", awaiting_approval=True)
    dashboard.seed(resolved, waiting)
    page.goto(dashboard.url)
    page.locator('.tab[data-tab="All"]').click()
    page.locator(card(page, resolved.name, dashboard)).click()
    detail = page.locator("#detail")
    expect(detail.locator(".attempt")).to_have_count(2)
    expect(detail.locator(".attempt").nth(0)).to_contain_text("#1 CheckUpstreamThenRerun")
    expect(detail.locator(".attempt").nth(0)).to_contain_text("Failed")
    expect(detail.locator(".attempt").nth(0)).to_contain_text("The re-run failed with the same error.")
    expect(detail.locator(".attempt").nth(1)).to_contain_text("Succeeded")
    expect(detail.locator(".attempt").nth(1)).to_contain_text("1m 35s")
    run_link = detail.locator(".attempt").nth(1).locator("a")
    expect(run_link).to_have_attribute("href", resolved.attempts[1][1]["externalRun"]["url"])
    expect(detail.locator(".root-cause")).to_have_text(resolved.status["analysis"]["rootCause"])
    expect(detail).to_contain_text("Rules")  # analysis provider
    expect(detail.locator("table.history tr")).to_have_count(len(resolved.status["history"]))
    jira = resolved.status["notifications"]["jira"]
    expect(detail.locator(f'a[href="{jira["url"]}"]')).to_contain_text(jira["key"])
    expect(detail).to_contain_text("MTTR")
    page.keyboard.press("Escape")
    expect(detail).to_be_hidden()

    page.locator(card(page, waiting.name, dashboard)).click()
    attempt = waiting.attempts[-1][0]["metadata"]["name"]
    expected = approve_command(attempt, dashboard.namespace)
    expect(detail.locator(".approval .approve-command")).to_have_text(expected)
    expect(page.locator(f'{card(page, waiting.name, dashboard)} .badge.awaiting-approval')).to_be_visible()

    page.keyboard.press("Escape")
    page.locator('.tab[data-tab="Audit"]').click()
    entries = len(resolved.status["history"]) + len(waiting.status["history"])
    expect(page.locator("#audit tbody tr")).to_have_count(entries)
    page.locator("#audit-action").select_option("Resolved")
    expect(page.locator("#audit tbody tr")).to_have_count(1)
    expect(page.locator("#audit tbody tr")).to_contain_text(resolved.name)


XSS_ROOT_CAUSE = '<img src=x onerror="window.__pwned=1;alert(1)"> DROP <b>bold</b>'
XSS_MESSAGE = '<script>window.__pwned=2;alert(2)</script><svg onload="alert(3)">'


def test_xss_payload_is_inert(dashboard: Dashboard, page: Page, watched: Watched) -> None:
    sample = sample_incident(2, now(), phase="Escalated", root_cause=XSS_ROOT_CAUSE, error_message=XSS_MESSAGE)
    sample.status["notifications"]["jira"]["url"] = "javascript:alert(4)"
    sample.status["history"].append({"time": sample.status["history"][0]["time"], "action": "Escalated",
                                     "message": XSS_MESSAGE})  # fmt: skip
    dashboard.seed(sample)
    page.goto(dashboard.url)
    selector = card(page, sample.name, dashboard)
    expect(page.locator(f"{selector} .cause")).to_have_text(XSS_ROOT_CAUSE)
    expect(page.locator(f"{selector} .jira")).to_have_text(sample.status["notifications"]["jira"]["key"])
    expect(page.locator(f"{selector} a.jira")).to_have_count(0)  # javascript: links are not links
    page.locator(selector).click()
    expect(page.locator("#detail .root-cause")).to_have_text(XSS_ROOT_CAUSE)
    expect(page.locator("#detail pre.errmsg")).to_have_text(XSS_MESSAGE)
    expect(page.locator("#detail table.history")).to_contain_text(XSS_MESSAGE)
    page.keyboard.press("Escape")
    page.locator('.tab[data-tab="Audit"]').click()
    expect(page.locator("#audit")).to_contain_text(XSS_MESSAGE)
    page.wait_for_timeout(300)
    assert page.evaluate("window.__pwned") is None
    assert page.locator("img, script:not([src]), b, svg[onload]").count() == 0
    assert watched.dialogs == []
    assert watched.errors == []


def test_reconnect_catches_up_after_the_stream_drops(dashboard: Dashboard, page: Page) -> None:
    first = sample_incident(4, now(), phase="Analyzing")
    dashboard.seed(first)
    page.goto(dashboard.url)
    expect(page.locator(card(page, first.name, dashboard))).to_be_visible()
    expect(page.locator("body")).to_have_attribute("data-snapshots", "1")

    dashboard.call(dashboard.app.state.broadcaster.disconnect_all)
    second = sample_incident(5, now(), phase="Remediating")
    dashboard.seed(second)  # while the browser waits to reconnect
    dashboard.patch_status(first.name, sample_incident(4, now(), phase="Escalated").status)

    expect(page.locator(card(page, second.name, dashboard))).to_be_visible()
    expect(page.locator(card(page, first.name, dashboard))).to_have_attribute("data-phase", "Escalated")
    expect(page.locator("body")).to_have_attribute("data-resumes", "1")
    expect(page.locator("body")).to_have_attribute("data-snapshots", "1")  # caught up, no full reload
    expect(page.locator("#conn")).to_have_attribute("data-state", "live")


def test_storm_members_are_grouped_under_their_root(dashboard: Dashboard, page: Page, watched: Watched) -> None:
    t = now()
    storm = sample_storm(t, 61)
    root, members = storm[0], storm[1:]
    loose = [sample_incident(2, t, phase="Escalated"), sample_incident(3, t, phase="Remediating")]
    dashboard.seed(*storm, *loose)
    page.goto(dashboard.url)
    page.locator('.tab[data-tab="All"]').click()
    expect(page.locator("#count")).to_have_text(f"{len(storm) + 2} of {len(storm) + 2} incidents")

    # One entry for the whole storm, its members folded away under the root.
    group = page.locator(f'.group[data-root="{dashboard.namespace}/{root.name}"]')
    expect(page.locator("#list > *")).to_have_count(3)
    expect(group.locator(".badge.group-root")).to_have_text("Root · 61 members")
    expect(group.locator(".card")).to_have_count(1)
    expect(group.locator(".card .dependency")).to_have_text("IntegrationRuntime ir-shared-weu")
    group.locator(".group-toggle").click()
    expect(group.locator(".members .card")).to_have_count(60)
    group.locator(".members-more").click()
    expect(group.locator(".members .card")).to_have_count(61)
    expect(group.locator(".members .card").first).to_contain_text(f"member of {root.name}")

    # Live: an incident the operator joins to the group moves under its root.
    joined = {**loose[0].status, "correlation": {"role": "Member", "root": {"name": root.name, "reason": "Storm"}}}
    dashboard.patch_status(loose[0].name, joined)
    expect(page.locator("#list > *")).to_have_count(2)
    expect(group.locator(f'.members .card[data-key="{dashboard.namespace}/{loose[0].name}"]')).to_be_visible()
    expect(group.locator(".group-toggle")).to_contain_text("62 members")

    # Filtered to Escalated the root (Remediating) is out of view: members stand alone, each naming its root.
    page.locator('.tab[data-tab="Escalated"]').click()
    expect(page.locator(".group")).to_have_count(0)
    expect(page.locator(".card")).to_have_count(60)  # a page of entries
    page.locator("#more").click()
    expect(page.locator(".card")).to_have_count(62)
    expect(page.locator(".card a.member-of")).to_have_count(62)

    # The root's detail lists its members, bounded, and how to see them all.
    page.locator(".card a.member-of").first.click()
    detail = page.locator("#detail")
    expect(detail.locator(".group-detail h3")).to_have_text("Group · 61 members")
    expect(detail.locator(".members-table tr")).to_have_count(50)
    expect(detail.locator(".group-detail code")).to_have_text(
        f"kubectl get incidents -n {dashboard.namespace} -l aiops-rca.io/root={root.name}")
    detail.locator(".members-table a").first.click()
    expect(detail.locator(".group-detail")).to_contain_text(f"Member of {root.name} (Storm)")
    assert sorted(m.name for m in members)[0] in page.url
    assert watched.errors == []
