"""Jira REST (v2 and v3): the issue, comment, transition and search slice the `jira` package calls.

v2 carries descriptions and comments as strings, v3 as Atlassian Document
Format (ADF). Both are stored as sent and converted when read through the
other version. The workflow is Jira's default one: To Do, In Progress, Done,
each reachable from anywhere by a transition of the same name.
"""

from __future__ import annotations

import base64
import datetime as dt
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.responses import Response
from starlette.routing import Route

from sandbox.endpoint import ApiError, Exchange, LimitKeys, endpoint, json_response, retry_after_header
from sandbox.ratelimits import Limit, jira_keys
from sandbox.scenario import JiraProject, Scenario

if TYPE_CHECKING:
    from sandbox.world import World

STATUS_IDS = {"To Do": "10000", "In Progress": "3", "Done": "10001"}
STATUS_CATEGORIES: dict[str, tuple[str, str, int]] = {
    "To Do": ("new", "To Do", 2),
    "In Progress": ("indeterminate", "In Progress", 4),
    "Done": ("done", "Done", 3),
}
TRANSITIONS = {"11": "To Do", "21": "In Progress", "31": "Done"}


def adf_to_text(node: Any) -> str:
    """Plain text of an ADF document (paragraphs on their own lines)."""
    if isinstance(node, str):
        return node
    if not isinstance(node, dict):
        return ""
    if node.get("type") == "text":
        return str(node.get("text", ""))
    if node.get("type") == "hardBreak":
        return "\n"
    parts = [adf_to_text(child) for child in node.get("content") or []]
    block = node.get("type") in ("doc", "bulletList", "orderedList")
    return ("\n" if block else "").join(parts)


def text_to_adf(text: str) -> dict[str, Any]:
    return {"type": "doc", "version": 1, "content": [
        {"type": "paragraph", "content": [{"type": "text", "text": line}] if line else []}
        for line in text.split("\n")
    ]}


def jira_time(ts: float) -> str:
    moment = dt.datetime.fromtimestamp(ts, tz=dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


@dataclass
class Comment:
    id: str
    body: Any
    created: float


@dataclass
class Issue:
    id: str
    key: str
    project: str
    fields: dict[str, Any]
    status: str
    created: float
    updated: float
    comments: list[Comment] = field(default_factory=list)
    transitions: list[dict[str, Any]] = field(default_factory=list)


class JiraState:
    def __init__(self, scenario: Scenario) -> None:
        self.projects: dict[str, tuple[str, JiraProject]] = {}
        self.issues: dict[str, Issue] = {}
        self.strict = False
        self.deployment_type = scenario.jira.deployment_type
        self._counter: dict[str, int] = {}
        self._next_id = 10000
        self.apply(scenario)

    def apply(self, scenario: Scenario) -> None:
        for key, project in scenario.jira.projects.items():
            self.strict = True
            self._add_project(key, project)

    def _add_project(self, key: str, project: JiraProject) -> tuple[str, JiraProject]:
        entry = (str(10000 + len(self.projects)), project)
        self.projects[key.upper()] = entry
        return entry

    def project(self, ref: str) -> tuple[str, str, JiraProject]:
        """(key, id, definition) by key or id; unknown keys are created unless projects are listed."""
        for key, (pid, definition) in self.projects.items():
            if ref.upper() == key or ref == pid:
                return key, pid, definition
        if self.strict or not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", ref):
            raise ApiError(404, None, f"No project could be found with key '{ref}'.")
        pid, definition = self._add_project(ref, JiraProject())
        return ref.upper(), pid, definition

    def issue(self, ref: str) -> Issue:
        found = self.issues.get(ref.upper()) or next((i for i in self.issues.values() if i.id == ref), None)
        if found is None:
            raise ApiError(404, None, "Issue does not exist or you do not have permission to see it.")
        return found

    def create(self, fields: dict[str, Any], now: float) -> Issue:
        project_field = fields.get("project") or {}
        ref = str(project_field.get("key") or project_field.get("id") or "") if isinstance(project_field, dict) \
            else str(project_field)
        if not ref:
            raise ApiError(400, None, "", )
        key, _, definition = self.project(ref)
        if not fields.get("summary"):
            raise ApiError(400, "summary", "You must specify a summary of the issue.")
        issue_type = fields.get("issuetype") or {}
        type_name = _issue_type_name(issue_type, definition)
        number = self._counter.get(key, 0) + 1
        self._counter[key] = number
        self._next_id += 1
        stored = {k: v for k, v in fields.items() if k not in ("project", "issuetype")}
        issue = Issue(id=str(self._next_id), key=f"{key}-{number}", project=key,
                      fields={**stored, "issuetype": type_name}, status="To Do", created=now, updated=now)
        self.issues[issue.key] = issue
        return issue

    def comment(self, ref: str, body: Any, now: float) -> Comment:
        issue = self.issue(ref)
        if body in (None, "") or (isinstance(body, dict) and not adf_to_text(body).strip()):
            raise ApiError(400, "comment", "Comment body can not be empty!")
        self._next_id += 1
        comment = Comment(id=str(self._next_id), body=body, created=now)
        issue.comments.append(comment)
        issue.updated = now
        return comment

    def transition(self, ref: str, transition_id: str, now: float) -> Issue:
        issue = self.issue(ref)
        target = TRANSITIONS.get(transition_id)
        if target is None:
            raise ApiError(400, None, f"Transition id '{transition_id}' is not valid for this issue.")
        issue.transitions.append({"from": issue.status, "to": target, "at": jira_time(now)})
        issue.status = target
        issue.updated = now
        return issue

    def search(self, jql: str) -> list[Issue]:
        clauses, order = parse_jql(jql)
        found = [i for i in self.issues.values() if all(_clause_matches(i, c) for c in clauses)]
        field_name, descending = order
        found.sort(key=lambda i: (i.created, int(i.id)) if field_name in ("created", "key") else (i.updated, 0),
                   reverse=descending)
        return found

    def view(self, ref: str) -> dict[str, Any]:
        """An issue as a person reads it: plain-text description, status, comments and transitions."""
        issue = self.issue(ref)
        return {
            "key": issue.key, "summary": issue.fields.get("summary"), "status": issue.status,
            "issue_type": issue.fields.get("issuetype"),
            "priority": (issue.fields.get("priority") or {}).get("name")
            if isinstance(issue.fields.get("priority"), dict) else issue.fields.get("priority"),
            "labels": issue.fields.get("labels") or [],
            "description": adf_to_text(issue.fields.get("description") or ""),
            "comments": [adf_to_text(c.body) for c in issue.comments],
            "transitions": issue.transitions,
        }


def _issue_type_name(issue_type: Any, project: JiraProject) -> str:
    if isinstance(issue_type, dict):
        if issue_type.get("name"):
            name = str(issue_type["name"])
            if name not in project.issue_types:
                raise ApiError(400, "issuetype", "Specify a valid issue type")
            return name
        if issue_type.get("id"):
            index = int(str(issue_type["id"])) - 10001
            if 0 <= index < len(project.issue_types):
                return project.issue_types[index]
    raise ApiError(400, "issuetype", "Specify a valid issue type")


# --- JQL (the small subset an operator uses) --------------------------------------------------

_CLAUSE = re.compile(
    r'^\s*(?P<field>[\w.]+)\s*(?P<op>!=|!~|=|~|\bnot\s+in\b|\bin\b|\bis\s+not\b|\bis\b)\s*(?P<value>.+?)\s*$',
    re.IGNORECASE)


def parse_jql(jql: str) -> tuple[list[tuple[str, str, list[str]]], tuple[str, bool]]:
    """Clauses joined by AND, plus ORDER BY; anything else is a 400 like Jira's parser error."""
    text = jql.strip()
    order = ("created", True)
    match = re.search(r"\border\s+by\s+(\w+)(?:\s+(asc|desc))?\s*$", text, re.IGNORECASE)
    if match:
        order = (match.group(1).lower(), (match.group(2) or "asc").lower() == "desc")
        text = text[: match.start()].strip()
    clauses = []
    for part in re.split(r"\s+and\s+", text, flags=re.IGNORECASE) if text else []:
        if re.search(r"\bor\b", part, re.IGNORECASE):
            raise ApiError(400, None, f"Error in the JQL Query: the sandbox understands only AND-ed clauses: {part!r}")
        m = _CLAUSE.match(part)
        if m is None:
            raise ApiError(400, None, f"Error in the JQL Query: cannot parse {part!r}.")
        raw = m.group("value").strip()
        if raw.startswith("(") and raw.endswith(")"):
            values = [v.strip().strip("'\"") for v in raw[1:-1].split(",")]
        else:
            values = [raw.strip("'\"")]
        clauses.append((m.group("field").lower(), re.sub(r"\s+", " ", m.group("op").lower()), values))
    return clauses, order


def _field_values(issue: Issue, name: str) -> list[str]:
    if name == "project":
        return [issue.project]
    if name in ("key", "issuekey", "id"):
        return [issue.key, issue.id]
    if name == "status":
        return [issue.status, STATUS_IDS[issue.status]]
    if name in ("issuetype", "type"):
        return [str(issue.fields.get("issuetype"))]
    if name == "labels":
        return [str(v) for v in issue.fields.get("labels") or []]
    if name == "summary":
        return [str(issue.fields.get("summary", ""))]
    if name == "description":
        return [adf_to_text(issue.fields.get("description") or "")]
    if name == "text":
        return [str(issue.fields.get("summary", "")), adf_to_text(issue.fields.get("description") or ""),
                *(adf_to_text(c.body) for c in issue.comments)]
    if name == "statuscategory":
        return [STATUS_CATEGORIES[issue.status][1]]
    if name == "resolution":
        return ["Done"] if issue.status == "Done" else []
    raise ApiError(400, None, f"Error in the JQL Query: field '{name}' is not supported by the sandbox.")


def _clause_matches(issue: Issue, clause: tuple[str, str, list[str]]) -> bool:
    name, op, values = clause
    have = [v.lower() for v in _field_values(issue, name)]
    wanted = [v.lower() for v in values]
    if op in ("is", "is not"):
        return (not have) if op == "is" else bool(have)
    if op in ("=", "in"):
        if name == "resolution" and wanted and wanted[0] == "unresolved":
            return not have
        return any(w in have for w in wanted)
    if op in ("!=", "not in"):
        if name == "resolution" and wanted and wanted[0] == "unresolved":
            return bool(have)
        return not any(w in have for w in wanted)
    if op == "~":
        return any(wanted[0].strip("*") in h for h in have)
    return not any(wanted[0].strip("*") in h for h in have)


# --- wire shapes ------------------------------------------------------------------------------


def _status_wire(name: str, base: str) -> dict[str, Any]:
    key, cat_name, cat_id = STATUS_CATEGORIES[name]
    return {"self": f"{base}/status/{STATUS_IDS[name]}", "id": STATUS_IDS[name], "name": name, "description": "",
            "statusCategory": {"id": cat_id, "key": key, "name": cat_name, "colorName": "blue-gray"}}


def _user(world: World) -> dict[str, Any]:
    return {"accountId": "5b10ac8d82e05b22cc7d4ef5", "emailAddress": world.credentials.jira_user,
            "displayName": "aiops-rca", "active": True, "timeZone": "UTC", "accountType": "atlassian"}


def _body_for(version: str, body: Any) -> Any:
    if version == "2":
        return adf_to_text(body) if isinstance(body, dict) else body
    return body if isinstance(body, dict) else text_to_adf(str(body))


class JiraApi:
    """The Jira Cloud REST API slice: one method per endpoint."""

    def __init__(self, world: World, prefix: str = "/jira") -> None:
        self.world = world
        self.prefix = prefix

    def api(self, ex: Exchange) -> str:
        return f"{ex.base_url}{self.prefix}/rest/api/{ex.path_params['version']}"

    def check(self, ex: Exchange) -> None:
        auth = ex.header("authorization") or ""
        expected = base64.b64encode(
            f"{self.world.credentials.jira_user}:{self.world.credentials.jira_api_token}".encode()).decode()
        if auth != f"Basic {expected}" and ex.bearer() != self.world.credentials.jira_api_token:
            raise ApiError(401, None, "Client must be authenticated to access this resource.")
        if ex.path_params.get("version") not in ("2", "3", "latest"):
            raise ApiError(404, None, "Unsupported REST API version.")

    def version(self, ex: Exchange) -> str:
        return "2" if ex.path_params["version"] == "latest" else ex.path_params["version"]

    def project_wire(self, ex: Exchange, key: str, pid: str, definition: JiraProject) -> dict[str, Any]:
        return {
            "self": f"{self.api(ex)}/project/{pid}", "id": pid, "key": key, "name": definition.name or key,
            "projectTypeKey": "software", "simplified": False, "style": "classic",
            "issueTypes": [{"self": f"{self.api(ex)}/issuetype/{10001 + i}", "id": str(10001 + i), "name": name,
                            "subtask": False, "description": name} for i, name in enumerate(definition.issue_types)],
        }

    def comment_wire(self, ex: Exchange, issue: Issue, c: Comment) -> dict[str, Any]:
        return {"self": f"{self.api(ex)}/issue/{issue.id}/comment/{c.id}", "id": c.id, "author": _user(self.world),
                "body": _body_for(self.version(ex), c.body), "updateAuthor": _user(self.world),
                "created": jira_time(c.created), "updated": jira_time(c.created), "jsdPublic": True}

    def issue_wire(self, ex: Exchange, issue: Issue) -> dict[str, Any]:
        key, pid, definition = self.world.jira.project(issue.project)
        fields = {k: v for k, v in issue.fields.items() if k != "issuetype"}
        type_name = str(issue.fields["issuetype"])
        type_id = str(10001 + definition.issue_types.index(type_name)) if type_name in definition.issue_types \
            else "10001"
        if "description" in fields:
            fields["description"] = _body_for(self.version(ex), fields["description"])
        fields.update({
            "summary": issue.fields.get("summary"),
            "issuetype": {"self": f"{self.api(ex)}/issuetype/{type_id}", "id": type_id, "name": type_name,
                          "subtask": False},
            "project": {"self": f"{self.api(ex)}/project/{pid}", "id": pid, "key": key,
                        "name": definition.name or key},
            "status": _status_wire(issue.status, self.api(ex)),
            "resolution": {"id": "10000", "name": "Done"} if issue.status == "Done" else None,
            "created": jira_time(issue.created), "updated": jira_time(issue.updated),
            "labels": issue.fields.get("labels") or [],
            "priority": issue.fields.get("priority") or {"id": "3", "name": "Medium"},
            "reporter": _user(self.world), "creator": _user(self.world), "assignee": issue.fields.get("assignee"),
            "comment": {"comments": [self.comment_wire(ex, issue, c) for c in issue.comments],
                        "maxResults": len(issue.comments), "total": len(issue.comments), "startAt": 0},
        })
        return {"expand": "renderedFields,names,schema,transitions,changelog", "id": issue.id,
                "self": f"{self.api(ex)}/issue/{issue.id}", "key": issue.key, "fields": fields}

    async def server_info(self, ex: Exchange) -> Response:
        self.check(ex)
        return json_response({"baseUrl": f"{ex.base_url}{self.prefix}", "version": "1001.0.0-SNAPSHOT",
                              "versionNumbers": [1001, 0, 0], "deploymentType": self.world.jira.deployment_type,
                              "buildNumber": 100280, "serverTitle": "Jira (aiops-rca sandbox)",
                              "buildDate": "2025-01-01T00:00:00.000+0000",
                              "serverTime": jira_time(ex.now)})

    async def myself(self, ex: Exchange) -> Response:
        self.check(ex)
        return json_response({"self": f"{self.api(ex)}/myself", **_user(self.world)})

    async def fields(self, ex: Exchange) -> Response:
        self.check(ex)
        names = ["summary", "description", "status", "labels", "priority", "issuetype", "project", "created",
                 "updated", "comment", "assignee", "resolution"]
        return json_response([{"id": n, "key": n, "name": n.capitalize(), "custom": False, "orderable": True,
                               "navigable": True, "searchable": True, "clauseNames": [n]} for n in names])

    async def get_project(self, ex: Exchange) -> Response:
        self.check(ex)
        key, pid, definition = self.world.jira.project(ex.path_params["project"])
        return json_response(self.project_wire(ex, key, pid, definition))

    async def create_issue(self, ex: Exchange) -> Response:
        self.check(ex)
        body = ex.body if isinstance(ex.body, dict) else {}
        issue = self.world.jira.create(body.get("fields") or {}, ex.now)
        ex.call.target.update({"key": issue.key, "project": issue.project})
        return json_response({"id": issue.id, "key": issue.key, "self": f"{self.api(ex)}/issue/{issue.id}"}, 201)

    async def get_issue(self, ex: Exchange) -> Response:
        self.check(ex)
        issue = self.world.jira.issue(ex.path_params["issue"])
        ex.call.target["key"] = issue.key
        return json_response(self.issue_wire(ex, issue))

    async def add_comment(self, ex: Exchange) -> Response:
        self.check(ex)
        body = ex.body if isinstance(ex.body, dict) else {}
        issue = self.world.jira.issue(ex.path_params["issue"])
        comment = self.world.jira.comment(issue.key, body.get("body"), ex.now)
        ex.call.target.update({"key": issue.key, "comment_id": comment.id})
        return json_response(self.comment_wire(ex, issue, comment), 201)

    async def get_comments(self, ex: Exchange) -> Response:
        self.check(ex)
        issue = self.world.jira.issue(ex.path_params["issue"])
        return json_response({"comments": [self.comment_wire(ex, issue, c) for c in issue.comments],
                              "maxResults": len(issue.comments), "total": len(issue.comments), "startAt": 0})

    async def get_transitions(self, ex: Exchange) -> Response:
        self.check(ex)
        issue = self.world.jira.issue(ex.path_params["issue"])
        ex.call.target["key"] = issue.key
        return json_response({"expand": "transitions", "transitions": [
            {"id": tid, "name": name, "to": _status_wire(name, self.api(ex)), "hasScreen": False, "isGlobal": True,
             "isInitial": False, "isAvailable": True, "isConditional": False, "isLooped": False}
            for tid, name in TRANSITIONS.items()]})

    async def do_transition(self, ex: Exchange) -> Response:
        self.check(ex)
        body = ex.body if isinstance(ex.body, dict) else {}
        transition = body.get("transition") or {}
        tid = str(transition.get("id", "")) if isinstance(transition, dict) else ""
        issue = self.world.jira.transition(ex.path_params["issue"], tid, ex.now)
        for entry in ((body.get("update") or {}).get("comment") or []):
            added = (entry or {}).get("add") or {}
            if added.get("body"):
                self.world.jira.comment(issue.key, added["body"], ex.now)
        ex.call.target.update({"key": issue.key, "transition_id": tid, "to": issue.status})
        return Response(status_code=204)

    def search_params(self, ex: Exchange) -> tuple[str, int, int, str | None]:
        body = ex.body if isinstance(ex.body, dict) else {}
        jql = str(body.get("jql") or ex.query.get("jql") or "")
        max_results = int(body.get("maxResults") or ex.query.get("maxResults") or 50)
        start = int(body.get("startAt") or ex.query.get("startAt") or 0)
        token = body.get("nextPageToken") or ex.query.get("nextPageToken")
        ex.call.target["jql"] = jql
        return jql, max_results, start, token

    async def search(self, ex: Exchange) -> Response:
        self.check(ex)
        jql, max_results, start, _ = self.search_params(ex)
        found = self.world.jira.search(jql)
        page = found[start: start + max_results]
        return json_response({"expand": "schema,names", "startAt": start, "maxResults": max_results,
                              "total": len(found), "issues": [self.issue_wire(ex, i) for i in page]})

    async def search_jql(self, ex: Exchange) -> Response:
        self.check(ex)
        jql, max_results, _, token = self.search_params(ex)
        found = self.world.jira.search(jql)
        start = int(token or 0)
        page = found[start: start + max_results]
        more = start + max_results < len(found)
        out: dict[str, Any] = {"issues": [self.issue_wire(ex, i) for i in page], "isLast": not more}
        if more:
            out["nextPageToken"] = str(start + max_results)
        return json_response(out)

    def limit_keys(self, op: str) -> LimitKeys:
        def keys(ex: Exchange) -> list[tuple[str, str, Limit]]:
            return jira_keys(self.world.plumbing.limiter.limits.jira, op, ex.request.method,
                             ex.path_params.get("issue"))

        return keys

    def route(self, path: str, op: str, handler: Any, methods: list[str]) -> Route:
        return Route(f"{self.prefix}/rest/api/{{version}}{path}",
                     endpoint(self.world.plumbing, "jira", op, handler, jira_error, self.limit_keys(op)),
                     methods=methods)


    def routes(self) -> list[Route]:
        return [
            self.route("/serverInfo", "serverInfo", self.server_info, ["GET"]),
            self.route("/myself", "myself", self.myself, ["GET"]),
            self.route("/field", "fields", self.fields, ["GET"]),
            self.route("/project/{project}", "getProject", self.get_project, ["GET"]),
            self.route("/issue", "createIssue", self.create_issue, ["POST"]),
            self.route("/issue/{issue}", "getIssue", self.get_issue, ["GET"]),
            self.route("/issue/{issue}/comment", "addComment", self.add_comment, ["POST"]),
            self.route("/issue/{issue}/comment", "getComments", self.get_comments, ["GET"]),
            self.route("/issue/{issue}/transitions", "getTransitions", self.get_transitions, ["GET"]),
            self.route("/issue/{issue}/transitions", "doTransition", self.do_transition, ["POST"]),
            self.route("/search", "search", self.search, ["GET", "POST"]),
            self.route("/search/jql", "search", self.search_jql, ["GET", "POST"]),
        ]


def routes(world: World, prefix: str = "/jira") -> list[Route]:
    return JiraApi(world, prefix).routes()


def jira_error(err: ApiError) -> Response:
    """Jira's error collection: messages in errorMessages, field errors in errors.

    A 429 also carries X-RateLimit-Reset (when the limit resets, `yyyy-MM-ddTHH:mmZ`) and, when the
    sandbox's limiter refused it, RateLimit-Reason (`jira-burst-based`, `jira-per-issue-on-write`)."""
    message = err.message or ("Rate limit exceeded." if err.status == 429 else
                              f"The request failed with status {err.status}.")
    if err.code and err.status == 400:
        body: dict[str, Any] = {"errorMessages": [], "errors": {err.code: message}}
    else:
        body = {"errorMessages": [message], "errors": {}}
    headers = retry_after_header(err)
    if err.status == 429:
        headers.setdefault("Retry-After", "1")
        # Wall time, not the sandbox clock: the shaper has none, and the header is advice to a person.
        reset = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=int(headers["Retry-After"]))
        headers["X-RateLimit-Reset"] = reset.strftime("%Y-%m-%dT%H:%MZ")
        if err.code and err.code.startswith("jira-"):
            headers["RateLimit-Reason"] = err.code
    return json_response(body, err.status, headers)
