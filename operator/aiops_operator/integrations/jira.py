"""Jira: one issue per incident, with an Atlassian Document Format description, and comments.

Idempotency: the issue carries the label `aiops-rca-<incident uid>`. Before
creating, Jira is searched for that label, so an operator killed between
"created" and "recorded in status" finds its issue instead of creating a
second one. Comments carry a marker `[aiops-rca:<key>]` and are looked for
before commenting.

Rate limits: one Jira call at a time per process; a 429's Retry-After holds
every later call (JiraRateLimited, unsent) until it has elapsed, and the
reconcile retries then (integrations/ratelimits.py).

The document builders are pure (table-tested); `JiraNotifier` is the only
place that talks to Jira, through the `jira` package (synchronous, so each
call runs in a worker thread).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from aiops_operator.api import Incident, JiraRef
from aiops_operator.api.naming import dashboard_incident_url
from aiops_operator.api.recurrence import lineage_notes
from aiops_operator.api.sanitize import truncate
from aiops_operator.integrations.ratelimits import RateGate, RateLimited, retry_after_seconds

LABEL = "aiops-rca"
"""Label on every issue the operator creates."""
SUMMARY_CHARS = 250


class JiraError(Exception):
    """Jira refused or could not be reached; the reconcile retries with backoff."""


class JiraRateLimited(JiraError, RateLimited):
    """Jira answered 429 (or an earlier 429 still holds): retry after `retry_after` seconds; nothing was sent."""


JIRA_BUCKET = "jira"
"""One bucket for all of Jira: its 429s name a scope (RateLimit-Reason: an endpoint, an issue) we would
have to map onto calls; waiting out any 429 before the next call is simpler and never early."""


def identity_label(incident: Incident) -> str:
    """The label that identifies this incident's issue (the incident's uid: unique, never reused)."""
    return f"{LABEL}-{incident.metadata.uid or incident.metadata.name}"


def comment_marker(key: str) -> str:
    return f"[aiops-rca:{key}]"


# --- Atlassian Document Format ------------------------------------------------------------


def _text(text: str, *, strong: bool = False, code: bool = False, link: str | None = None) -> dict[str, Any]:
    node: dict[str, Any] = {"type": "text", "text": text}
    marks: list[dict[str, Any]] = []
    if strong:
        marks.append({"type": "strong"})
    if code:
        marks.append({"type": "code"})
    if link:
        marks.append({"type": "link", "attrs": {"href": link}})
    if marks:
        node["marks"] = marks
    return node


def _paragraph(*nodes: dict[str, Any]) -> dict[str, Any]:
    return {"type": "paragraph", "content": [n for n in nodes if n.get("text")]}


def _heading(text: str, level: int = 3) -> dict[str, Any]:
    return {"type": "heading", "attrs": {"level": level}, "content": [_text(text)]}


def _field(label: str, value: str | None) -> dict[str, Any] | None:
    if not value:
        return None
    return {"type": "listItem", "content": [_paragraph(_text(f"{label}: ", strong=True), _text(value))]}


def _bullets(items: list[dict[str, Any] | None]) -> dict[str, Any]:
    return {"type": "bulletList", "content": [i for i in items if i is not None]}


def build_description(incident: Incident, dashboard_url: str | None = None) -> dict[str, Any]:
    """The issue description as an ADF document: root cause, recommendations, details, ownership."""
    spec, status = incident.spec, incident.status
    analysis = status.analysis
    content: list[dict[str, Any]] = []
    if status.escalation_reason:
        content.append(_paragraph(_text("A human is needed: ", strong=True), _text(status.escalation_reason)))
    content.append(_heading("Root cause"))
    content.append(_paragraph(_text(analysis.root_cause if analysis else "Analysis pending.")))
    if analysis and analysis.recommendations:
        content.append(_heading("Recommendations"))
        content.append({
            "type": "orderedList",
            "content": [{"type": "listItem", "content": [_paragraph(_text(r))]} for r in analysis.recommendations],
        })
    lineage = lineage_notes(spec.previous_incident_ref, spec.occurrence, status.recurrence,
                            analysis.error_type.value if analysis else None)
    if lineage:
        content.append(_heading("History"))
        content.extend(_paragraph(_text(note)) for note in lineage)
    content.append(_heading("Details"))
    activity = (status.enrichment.activity if status.enrichment else None) or spec.error.activity
    error = (status.enrichment.error_message if status.enrichment else None) or spec.error.message
    content.append(_bullets([
        _field("Incident", f"{incident.metadata.namespace}/{incident.metadata.name}"),
        _field("Source", spec.source.value),
        _field("Resource", spec.resource.name),
        _field("Factory", spec.resource.factory),
        _field("Run id", spec.run_id),
        _field("Activity/Task", activity),
        _field("Error code", (status.enrichment.error_code if status.enrichment else None) or spec.error.code),
        _field("Error type", analysis.error_type.value if analysis else None),
        _field("Severity", analysis.severity.value if analysis else None),
        _field("Priority", analysis.priority.value if analysis else None),
        _field("Confidence", analysis.confidence.value if analysis else None),
        _field("Analyzed by", f"{analysis.provider}{' ' + analysis.model if analysis.model else ''}"
               if analysis else None),
        _field("SLA deadline", status.sla.deadline_time.isoformat() if status.sla else None),
    ]))
    if error:
        content.append({"type": "codeBlock", "content": [_text(truncate(error, 4000))]})
    links = []
    if spec.run_url:
        links.append(_text("Failed run", link=spec.run_url))
    if dashboard_url:
        url = dashboard_incident_url(dashboard_url, incident.metadata.namespace or "default", incident.metadata.name)
        if links:
            links.append(_text(" · "))
        links.append(_text("Dashboard", link=url))
    if links:
        content.append(_paragraph(*links))
    if status.ownership:
        own = status.ownership
        content.append(_heading("Ownership"))
        content.append(_bullets([
            _field("Team", own.team),
            _field("Owner", own.owner),
            _field("Cost center", own.cost_center),
            _field("Slack channel", own.slack_channel),
            _field("Routed by", own.origin.value),
        ]))
    return {"type": "doc", "version": 1, "content": content}


def build_summary(incident: Incident) -> str:
    analysis = incident.status.analysis
    kind = analysis.error_type.value if analysis else "failure"
    prio = f"[{analysis.priority.value}] " if analysis else ""
    return truncate(f"{prio}{incident.spec.resource.name}: {kind}", SUMMARY_CHARS)


def build_fields(incident: Incident, project: str, issue_type: str, dashboard_url: str | None = None) -> dict[str, Any]:
    """Fields of the create request (project and issue type by key/name: no lookups needed)."""
    labels = [LABEL, identity_label(incident)]
    if incident.status.analysis:
        labels.append(f"{LABEL}-{incident.status.analysis.error_type.value}")
    return {
        "project": {"key": project},
        "issuetype": {"name": issue_type},
        "summary": build_summary(incident),
        "description": build_description(incident, dashboard_url),
        "labels": labels,
    }


def comment_document(key: str, text: str) -> dict[str, Any]:
    """A comment body (ADF) ending in the marker that makes it findable."""
    return {"type": "doc", "version": 1, "content": [
        _paragraph(_text(text)),
        _paragraph(_text(comment_marker(key), code=True)),
    ]}


class JiraNotifier:
    """Creates and comments on the incident's issue through the `jira` package."""

    def __init__(
        self,
        url: str,
        user: str | None,
        token: Callable[[], str | None],
        *,
        issue_type: str = "Task",
        dashboard_url: str | None = None,
        timeout: float = 15.0,
        gate: RateGate | None = None,
    ) -> None:
        """`gate` holds the Retry-After of Jira's 429s for every incident (one per process)."""
        self._url = url.rstrip("/")
        self._gate = gate or RateGate()
        self._user = user
        self._token = token
        self._issue_type = issue_type
        self._dashboard_url = dashboard_url
        self._timeout = timeout
        self._client: Any = None
        self._client_token: str | None = None

    def _jira(self) -> Any:
        from jira import JIRA

        token = self._token() or ""
        if self._client is None or token != self._client_token:
            auth = {"basic_auth": (self._user, token)} if self._user else {"token_auth": token}
            self._client = JIRA(
                server=self._url,
                options={"rest_api_version": "3", "agile_rest_path": "agile"},
                get_server_info=False,
                max_retries=0,
                timeout=self._timeout,
                **auth,
            )
            self._client_token = token
        return self._client

    async def _run(self, what: str, fn: Callable[[], Any]) -> Any:
        """`fn` in a worker thread, one Jira call at a time; a closed gate or a 429 raises JiraRateLimited."""
        from jira.exceptions import JIRAError

        try:
            async with self._gate.slot(JIRA_BUCKET, what):
                try:
                    return await asyncio.to_thread(fn)
                except JIRAError as exc:
                    if exc.status_code == 429:
                        wait = retry_after_seconds(getattr(exc.response, "headers", None))
                        self._gate.refuse(JIRA_BUCKET, wait)
                        raise JiraRateLimited(what, wait) from None
                    raise
        except RateLimited as exc:
            if isinstance(exc, JiraRateLimited):
                raise
            raise JiraRateLimited(exc.what, exc.retry_after) from None
        except JiraError:
            raise
        except JIRAError as exc:
            raise JiraError(f"{what}: HTTP {exc.status_code} {truncate(str(exc.text or ''), 300)}") from None
        except OSError as exc:
            raise JiraError(f"{what}: {type(exc).__name__}") from None
        except Exception as exc:  # requests' own exceptions and the like
            raise JiraError(f"{what}: {type(exc).__name__}") from None

    def _ref(self, key: str, status: str | None) -> JiraRef:
        return JiraRef(key=key, url=f"{self._url}/browse/{key}", status=status)

    async def find_issue(self, incident: Incident) -> JiraRef | None:
        """The incident's issue, searched by its identity label."""
        jql = f'labels = "{identity_label(incident)}" ORDER BY created ASC'

        def search() -> Any:
            return self._jira().search_issues(jql, maxResults=1, fields=["status"], json_result=True)

        found = await self._run("search", search)
        issues = found.get("issues", []) if isinstance(found, dict) else []
        if not issues:
            return None
        first = issues[0]
        status = ((first.get("fields") or {}).get("status") or {}).get("name")
        return self._ref(str(first["key"]), status)

    async def create_incident_issue(self, incident: Incident, project: str) -> tuple[JiraRef, bool]:
        """The incident's issue: found by label, or created now. Returns (ref, created_now)."""
        found = await self.find_issue(incident)
        if found is not None:
            return found, False
        fields = build_fields(incident, project, self._issue_type, self._dashboard_url)

        def create() -> Any:
            return self._jira().create_issue(fields=fields, prefetch=False)

        issue = await self._run("create issue", create)
        return self._ref(str(issue.key), None), True

    async def comment_once(self, incident: Incident, key: str, text: str) -> bool:
        """Comment on the incident's issue unless a comment with this `key` exists; whether it commented now."""
        notes = incident.status.notifications
        if notes is None or notes.jira is None:
            raise JiraError("the incident has no Jira issue yet")
        issue_key = notes.jira.key
        marker = comment_marker(key)

        def existing() -> bool:
            comments = self._jira().comments(issue_key)
            return any(marker in json.dumps(getattr(c, "raw", {}).get("body", "")) for c in comments)

        if await self._run("list comments", existing):
            return False
        body = comment_document(key, text)
        await self._run("comment", lambda: self._jira().add_comment(issue_key, body))
        return True

    async def transition_once(self, incident: Incident, name: str) -> bool:
        """Move the issue to `name` (found by transition name, else by the status it leads to; case-insensitive),
        unless its status already is `name`; whether it moved now.

        Idempotent: a repeated call (after a crash between the move and the status write) reads the
        issue's status first and finds it moved already.
        """
        notes = incident.status.notifications
        if notes is None or notes.jira is None:
            raise JiraError("the incident has no Jira issue yet")
        issue_key = notes.jira.key
        wanted = name.strip().lower()

        def move() -> bool:
            jira = self._jira()
            issue = jira.issue(issue_key, fields="status")
            current = str(getattr(getattr(issue.fields, "status", None), "name", "") or "")
            if current.lower() == wanted:
                return False
            transitions = jira.transitions(issue_key)
            found = transition_id(transitions, wanted)
            if found is None:
                names = ", ".join(str(t.get("name")) for t in transitions)
                raise JiraError(f"no transition {name!r} on {issue_key} (available: {names})")
            jira.transition_issue(issue_key, found)
            return True

        moved: bool = await self._run("transition", move)
        return moved


def transition_id(transitions: list[dict[str, Any]], wanted: str) -> str | None:
    """The id of the transition called `wanted`, else of one leading to a status called `wanted` (lower-case)."""
    for t in transitions:
        if str(t.get("name", "")).lower() == wanted:
            return str(t["id"])
    for t in transitions:
        if str((t.get("to") or {}).get("name", "")).lower() == wanted:
            return str(t["id"])
    return None
