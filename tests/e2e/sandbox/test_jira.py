"""The jira package against the sandbox: create, comment, transition by name, search."""

from __future__ import annotations

import pytest
from jira import JIRA, JIRAError

from sandbox.testing import RunningSandbox


def test_issue_lifecycle(sandbox: RunningSandbox, jira: JIRA) -> None:
    issue = jira.create_issue(project="OPS", summary="ingest_sales failed: blob missing",
                              description="Root cause: the input blob is missing.", issuetype={"name": "Task"},
                              labels=["aiops-rca"])
    assert issue.key == "OPS-1"
    assert issue.fields.status.name == "To Do"
    jira.add_comment(issue, "Attempt 1: re-run started")
    names = [t["name"] for t in jira.transitions(issue)]
    assert "Done" in names
    jira.transition_issue(issue, "Done")
    assert jira.issue("OPS-1").fields.status.name == "Done"

    found = jira.search_issues('project = OPS AND labels = "aiops-rca" AND status = Done ORDER BY created DESC')
    assert [i.key for i in found] == ["OPS-1"]
    assert list(jira.search_issues("project = OPS AND status != Done")) == []

    view = sandbox.control.jira_issue("OPS-1")
    assert view["status"] == "Done"
    assert view["comments"] == ["Attempt 1: re-run started"]
    assert view["description"] == "Root cause: the input blob is missing."
    assert len(sandbox.control.calls(service="jira", op="doTransition")) == 1


def test_adf_descriptions_through_api_v3(sandbox: RunningSandbox) -> None:
    e = sandbox.endpoints
    v3 = JIRA(server=e.jira_url, basic_auth=(e.credentials.jira_user, e.credentials.jira_api_token),
              options={"rest_api_version": "3"})
    document = {"type": "doc", "version": 1, "content": [
        {"type": "paragraph", "content": [{"type": "text", "text": "Cluster ran out of memory."}]}]}
    issue = v3.create_issue(fields={"project": {"key": "DATA"}, "summary": "nightly_etl failed",
                                    "description": document, "issuetype": {"name": "Bug"}})
    v3.add_comment(issue.key, {"type": "doc", "version": 1, "content": [
        {"type": "paragraph", "content": [{"type": "text", "text": "Resized the cluster."}]}]})
    assert v3.issue(issue.key).raw["fields"]["description"] == document
    view = sandbox.control.jira_issue(issue.key)
    assert view["description"] == "Cluster ran out of memory."
    assert view["comments"] == ["Resized the cluster."]
    v3.close()  # type: ignore[no-untyped-call]


def test_unknown_project_and_bad_credentials(sandbox: RunningSandbox, jira: JIRA) -> None:
    sandbox.control.load({"jira": {"projects": {"OPS": {"name": "Operations"}}}})
    with pytest.raises(JIRAError) as missing:
        jira.create_issue(project="NOPE", summary="x", issuetype={"name": "Task"})
    assert missing.value.status_code == 404
    with pytest.raises(JIRAError) as unauthorized:
        JIRA(server=sandbox.endpoints.jira_url, basic_auth=("someone", "wrong"), max_retries=0)
    assert unauthorized.value.status_code == 401


def test_jira_rate_limit_reaches_the_jira_package_as_429_with_retry_after(sandbox: RunningSandbox) -> None:
    sandbox.control.apply({"rate_limits": {"jira": {"per_endpoint": {"per_minute": 60, "burst": 2}}}})
    client = JIRA(server=sandbox.endpoints.jira_url, max_retries=0,
                  basic_auth=(sandbox.endpoints.credentials.jira_user, sandbox.endpoints.credentials.jira_api_token))
    fields = {"project": {"key": "OPS"}, "summary": "storm", "issuetype": {"name": "Task"}}
    client.create_issue(fields=fields)
    client.create_issue(fields=fields)
    with pytest.raises(JIRAError) as refused:
        client.create_issue(fields=fields)
    assert refused.value.status_code == 429
    assert refused.value.response is not None
    headers = refused.value.response.headers
    assert int(headers["Retry-After"]) >= 1
    assert headers["RateLimit-Reason"] == "jira-burst-based"
    assert len(sandbox.control.jira_issues("OPS")) == 2  # the refused create created nothing
    client.close()  # type: ignore[no-untyped-call]
