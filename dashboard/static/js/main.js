// The dashboard page: one EventSource (snapshot, then deltas; catch-up by Last-Event-ID after a
// reconnect), cards drawn from the in-memory card map, detail and audit fetched on demand.
import { extLink, h } from "./dom.js";
import { stackedBars, trendLine } from "./charts.js";
import {
  FILTER_FIELDS, PHASES, ROLE_MEMBER, ROLE_ROOT, SOURCE_LABEL, compareCards, formatAgo, formatDuration,
  formatTime, groupCards, makeFilter, matches, queryString, slaView,
} from "./model.js";

const PAGE = 60;
const MEMBERS_SHOWN = 60; // per open group; "show more" adds as many again
const TABS = ["Open", ...PHASES, "All"];
const FILTER_LABEL = { source: "All sources", errorType: "All error types", severity: "All severities", team: "All teams", namespace: "All namespaces" };
const PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#9c755f"];

const $ = (id) => document.getElementById(id);
const state = {
  cards: new Map(),
  overview: null,
  tab: "Open",
  view: "incidents", // or "audit"
  q: "",
  filters: {},
  shown: PAGE,
  expanded: new Map(), // root key -> how many of its members are shown
  detailKey: null,
  detailRv: null,
  lastEventId: "",
  snapshots: 0,
  resumes: 0,
};
const rendered = new Map(); // key -> { rv, el }
const colors = new Map();
let renderQueued = false;

function colorOf(name) {
  if (name === "Other") return "#8a8f98";
  if (!colors.has(name)) colors.set(name, PALETTE[colors.size % PALETTE.length]);
  return colors.get(name);
}

// ---------- stream ----------

let source = null;
let retryTimer = null;

function connect() {
  const url = state.lastEventId ? `/api/events?lastEventId=${encodeURIComponent(state.lastEventId)}` : "/api/events";
  source = new EventSource(url);
  source.addEventListener("open", () => setConn("live"));
  source.addEventListener("error", () => {
    if (source.readyState === EventSource.CLOSED) {
      // The server refused (e.g. 401 or restarting): start over by hand, keeping our place.
      setConn("offline");
      clearTimeout(retryTimer);
      retryTimer = setTimeout(connect, 3000);
    } else setConn("reconnecting");
  });
  source.addEventListener("snapshot", (ev) => {
    const data = JSON.parse(ev.data);
    state.lastEventId = ev.lastEventId;
    state.cards = new Map(data.cards.map((c) => [c.key, c]));
    rendered.clear();
    state.overview = data.overview;
    state.snapshots += 1;
    $("user").textContent = data.user ? `signed in as ${data.user}` : "";
    $("scope").textContent = data.namespaces.length ? `namespaces: ${data.namespaces.join(", ")}` : "all namespaces";
    $("scope").title = $("scope").textContent;
    setConn("live");
    document.body.dataset.snapshots = String(state.snapshots);
    changed({ overview: true, keys: null });
  });
  source.addEventListener("delta", (ev) => {
    const data = JSON.parse(ev.data);
    state.lastEventId = ev.lastEventId;
    for (const key of data.delete) state.cards.delete(key);
    for (const card of data.upsert) state.cards.set(card.key, card);
    changed({ overview: false, keys: [...data.delete, ...data.upsert.map((c) => c.key)] });
  });
  source.addEventListener("overview", (ev) => {
    state.overview = JSON.parse(ev.data);
    renderOverview();
  });
  source.addEventListener("resumed", () => {
    state.resumes += 1;
    document.body.dataset.resumes = String(state.resumes);
    setConn("live");
  });
}

function setConn(status) {
  const el = $("conn");
  el.dataset.state = status;
  el.textContent = { live: "live", reconnecting: "reconnecting…", offline: "offline – retrying", connecting: "connecting…" }[status];
}

function changed({ overview, keys }) {
  document.body.dataset.eventId = state.lastEventId;
  if (overview) renderOverview();
  if (state.detailKey && (keys === null || keys.includes(state.detailKey))) refreshDetail();
  if (state.view === "audit" && keys) scheduleAudit(1000);
  if (!renderQueued) {
    renderQueued = true;
    requestAnimationFrame(() => {
      renderQueued = false;
      renderList();
    });
  }
}

// ---------- overview ----------

function tile(label, value, sub, attrs = {}) {
  return h("button", { class: "tile", type: "button", ...attrs }, h("span", { class: "tile-label" }, label), h("span", { class: "tile-value" }, value), sub ? h("span", { class: "tile-sub" }, sub) : null);
}

function renderOverview() {
  const o = state.overview;
  if (!o) return;
  const phaseTiles = PHASES.map((p) =>
    tile(p, String(o.phases[p] ?? 0), p === "Remediating" && o.awaitingApproval ? `${o.awaitingApproval} awaiting approval` : null, {
      dataset: { phase: p },
      on: { click: () => selectTab(p) },
      class: `tile phase-${p.toLowerCase()}`,
    }),
  );
  const rate = o.successRate === null ? "–" : `${Math.round(o.successRate * 100)}%`;
  $("tiles").replaceChildren(
    ...phaseTiles,
    tile("Auto-remediation", rate, `${o.autoRemediated} of ${o.remediationFinished} healed`, { class: "tile stat" }),
    tile("MTTR p50 / p90", `${formatDuration(o.mttrP50)} / ${formatDuration(o.mttrP90)}`, "resolved incidents", { class: "tile stat" }),
    tile("SLA breached", String(o.slaBreached), `${o.slaMet} met · ${o.slaPending} running`, { class: `tile stat ${o.slaBreached ? "has-breach" : ""}` }),
  );
  renderPolicies(o.policies);
  stackedBars($("chart-types"), $("legend-types"), o.chart, colorOf);
  trendLine($("chart-mttr"), o.chart);
}

function renderPolicies(p) {
  const el = $("policies");
  if (!p) return;
  const problems = [...p.disabled.map((n) => `${n} disabled`), ...p.notReady.map((n) => `${n} not ready`)];
  el.className = `small ${problems.length || !p.total ? "policy-warn" : "muted"}`;
  el.textContent = problems.length
    ? `policies: ${problems.join(", ")}`
    : `${p.total} ${p.total === 1 ? "policy" : "policies"}${p.total ? `, ${p.ready} ready` : " – nothing is auto-healed"}`;
  el.title = `${el.textContent}\nRemediationPolicies decide what may be healed automatically`;
}

// ---------- tabs, filters, list ----------

function renderTabs(counts) {
  const nav = $("tabs");
  const buttons = TABS.map((t) =>
    h("button", { type: "button", class: "tab", role: "tab", "aria-selected": state.view === "incidents" && state.tab === t ? "true" : "false", dataset: { tab: t }, on: { click: () => selectTab(t) } },
      t, h("span", { class: "tab-count" }, String(counts[t] ?? 0))),
  );
  buttons.push(h("button", { type: "button", class: "tab", role: "tab", "aria-selected": state.view === "audit" ? "true" : "false", dataset: { tab: "Audit" }, on: { click: () => selectAudit() } }, "Audit trail"));
  nav.replaceChildren(...buttons);
}

function selectTab(tab) {
  state.view = "incidents";
  state.tab = tab;
  state.shown = PAGE;
  $("audit").hidden = true;
  $("audit-toolbar").hidden = true;
  $("toolbar").hidden = false;
  $("list").hidden = false;
  renderList();
}

function selectAudit() {
  state.view = "audit";
  $("list").hidden = true;
  $("more").hidden = true;
  $("toolbar").hidden = true;
  $("audit").hidden = false;
  $("audit-toolbar").hidden = false;
  renderList();
  scheduleAudit(0);
}

function refreshFilterOptions() {
  for (const field of FILTER_FIELDS) {
    const values = new Set();
    for (const c of state.cards.values()) if (c[field]) values.add(c[field]);
    const select = $(`f-${field}`);
    const wanted = [...values].sort();
    const current = select.dataset.options || "";
    const joined = wanted.join("\u0000");
    if (current === joined) continue;
    select.dataset.options = joined;
    const label = (v) => (field === "source" ? SOURCE_LABEL[v] || v : v);
    select.replaceChildren(h("option", { value: "" }, FILTER_LABEL[field]), ...wanted.map((v) => h("option", { value: v }, label(v))));
    select.value = state.filters[field] || "";
  }
}

function renderList() {
  const all = [...state.cards.values()];
  const base = makeFilter({ ...state, tab: "All" });
  const counts = { All: 0, Open: 0 };
  for (const c of all) {
    if (!matches(c, base)) continue;
    counts.All += 1;
    if (c.phase !== "Resolved") counts.Open += 1;
    counts[c.phase] = (counts[c.phase] || 0) + 1;
  }
  renderTabs(counts);
  refreshFilterOptions();
  $("csv").setAttribute("href", `/api/incidents.csv?${queryString(state)}`);
  if (state.view !== "incidents") return;
  const filter = makeFilter(state);
  const visible = all.filter((c) => matches(c, filter)).sort(compareCards);
  const groups = groupCards(visible);
  const page = groups.slice(0, state.shown);
  const keep = new Set();
  const els = page.map((g) => groupElement(g, keep));
  if (rendered.size > 4 * PAGE + state.shown) {
    for (const k of rendered.keys()) if (!keep.has(k)) rendered.delete(k);
  }
  const list = $("list");
  list.replaceChildren(...(els.length ? els : [h("p", { class: "empty-list" }, state.cards.size ? "No incidents match." : "No incidents. All quiet.")]));
  $("more").hidden = groups.length <= state.shown;
  $("more").textContent = `Show more (${groups.length - state.shown} left)`;
  $("count").textContent = `${visible.length} of ${state.cards.size} incidents`;
  tickSla();
}

function cardFor(c, keep) {
  keep.add(c.key);
  const known = rendered.get(c.key);
  if (known && known.rv === c.rv && known.phase === c.phase) return known.el;
  const el = cardElement(c);
  rendered.set(c.key, { rv: c.rv, phase: c.phase, el });
  return el;
}

// A root with members in this view: its card, then a toggle, then (when open) its members' cards.
function groupElement(g, keep) {
  const head = cardFor(g.head, keep);
  if (!g.members.length) return head;
  const key = g.head.key;
  const shown = state.expanded.get(key) || 0;
  const n = g.members.length;
  const toggle = h("button", { type: "button", class: "ghost group-toggle", "aria-expanded": shown ? "true" : "false", on: { click: () => toggleGroup(key) } },
    `${shown ? "▾ Hide" : "▸ Show"} ${n} member${n === 1 ? "" : "s"}${n < g.head.memberCount ? ` (of ${g.head.memberCount}; the rest are filtered out)` : ""}`);
  const members = shown
    ? h("div", { class: "members" }, ...g.members.slice(0, shown).map((m) => cardFor(m, keep)),
      n > shown ? h("button", { type: "button", class: "ghost members-more", on: { click: () => toggleGroup(key, shown + MEMBERS_SHOWN) } }, `Show more members (${n - shown} left)`) : null)
    : null;
  return h("div", { class: `group${shown ? " open" : ""}`, dataset: { root: key } }, head, toggle, members);
}

function toggleGroup(key, shown) {
  if (shown) state.expanded.set(key, shown);
  else if (state.expanded.has(key)) state.expanded.delete(key);
  else state.expanded.set(key, MEMBERS_SHOWN);
  renderList();
}

function badge(text, cls) {
  return h("span", { class: `badge ${cls}` }, text);
}

function cardElement(c) {
  const sla = h("span", { class: "sla", dataset: { key: c.key } });
  const el = h("article", { class: `card phase-${c.phase.toLowerCase()}`, tabindex: "0", dataset: { key: c.key, phase: c.phase, rv: c.rv }, on: { click: () => openDetail(c.key), keydown: (e) => e.key === "Enter" && openDetail(c.key) } },
    h("div", { class: "card-top" },
      c.priority ? badge(c.priority, `prio prio-${c.priority.toLowerCase()}`) : badge("P?", "prio"),
      c.severity ? badge(c.severity, `sev sev-${c.severity.toLowerCase()}`) : null,
      h("span", { class: "pipeline", title: c.pipeline }, c.pipeline || "(unknown resource)"),
      sla),
    h("div", { class: "card-meta" },
      h("span", { class: "chip phase" }, c.phase),
      h("span", {}, SOURCE_LABEL[c.source] || c.source),
      h("span", { class: "mono name", title: c.name }, c.name),
      c.dependency ? h("span", { class: "dependency", title: "the shared dependency behind the storm" }, c.dependency) : null,
      h("span", { class: "muted" }, c.namespace)),
    h("div", { class: "card-cause" },
      c.errorType ? h("span", { class: "etype" }, c.errorType) : h("span", { class: "etype pending" }, "analyzing…"),
      h("span", { class: "cause" }, c.rootCause || c.errorMessage || "")),
    h("div", { class: "card-bottom" },
      c.role === ROLE_ROOT ? badge(`Root · ${c.memberCount} member${c.memberCount === 1 ? "" : "s"}`, "status group-root") : null,
      c.role === ROLE_MEMBER && c.root ? h("a", { class: "member-of", href: incidentHash(c.namespace, c.root), title: c.rootReason ? `grouped by ${c.rootReason}` : "" }, `member of ${c.root}`) : null,
      ...c.badges.map((b) => badge(b, `status ${b.toLowerCase().replace(/[^a-z]+/g, "-")}`)),
      c.maxAttempts || c.attemptsMade ? h("span", { class: "attempts", title: "remediation attempts made / allowed" }, `attempts ${c.attemptsMade}/${c.maxAttempts || "–"}`) : null,
      h("span", { class: "spacer" }),
      c.team ? h("span", { class: "team" }, c.team) : null,
      c.jiraKey ? extLink(c.jiraUrl, c.jiraKey, "jira") : null,
      h("span", { class: "muted age", title: formatTime(c.started), dataset: { started: c.started || "" } }, formatAgo(c.started))));
  for (const a of el.querySelectorAll("a")) a.addEventListener("click", (e) => e.stopPropagation());
  return el;
}

function tickSla() {
  const now = Date.now();
  for (const el of document.querySelectorAll(".sla[data-key]")) {
    const card = state.cards.get(el.dataset.key);
    const v = card && slaView(card, now);
    el.className = `sla ${v ? v.cls : ""}`;
    el.textContent = v ? v.text : "";
  }
  for (const el of document.querySelectorAll(".age[data-started]")) el.textContent = formatAgo(Number(el.dataset.started), now);
}

// ---------- detail ----------

let detailSeq = 0;

function incidentHash(namespace, name) {
  return `#/incident/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}`;
}

function openDetail(key) {
  const [ns, ...rest] = key.split("/");
  location.hash = incidentHash(ns, rest.join("/"));
}

function closeDetail() {
  if (location.hash.startsWith("#/incident/")) history.pushState(null, "", location.pathname + location.search);
  showDetailFromHash();
}

function showDetailFromHash() {
  const m = location.hash.match(/^#\/incident\/([^/]+)\/([^/]+)$/);
  if (!m) {
    state.detailKey = null;
    $("detail").hidden = true;
    $("scrim").hidden = true;
    return;
  }
  state.detailKey = `${decodeURIComponent(m[1])}/${decodeURIComponent(m[2])}`;
  state.detailRv = null;
  $("detail").hidden = false;
  $("scrim").hidden = false;
  $("detail").replaceChildren(h("p", { class: "muted pad" }, "Loading…"));
  refreshDetail();
}

async function refreshDetail() {
  const key = state.detailKey;
  const card = state.cards.get(key);
  if (card && card.rv === state.detailRv) return;
  const seq = ++detailSeq;
  const [ns, ...rest] = key.split("/");
  const res = await fetch(`/api/incidents/${encodeURIComponent(ns)}/${encodeURIComponent(rest.join("/"))}`, { headers: { Accept: "application/json" } });
  if (seq !== detailSeq || key !== state.detailKey) return;
  if (!res.ok) {
    $("detail").replaceChildren(detailHeader(null, key), h("p", { class: "pad" }, res.status === 404 ? "This incident no longer exists." : `Could not load it (${res.status}).`));
    return;
  }
  const d = await res.json();
  state.detailRv = d.rv;
  renderDetail(d);
}

function detailHeader(d, key) {
  return h("header", { class: "detail-head" },
    h("div", {},
      h("div", { class: "detail-title" }, d ? d.pipeline || d.name : key),
      d ? h("div", { class: "muted mono small" }, `${d.namespace}/${d.name}`) : null),
    h("button", { type: "button", class: "ghost close", title: "Close (Esc)", on: { click: closeDetail } }, "✕"));
}

function kv(pairs) {
  return h("dl", { class: "kv" }, ...pairs.filter(([, v]) => v !== null && v !== undefined && v !== "").map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
}

function section(title, ...body) {
  return h("section", { class: "dsec" }, h("h3", {}, title), ...body);
}

function renderDetail(d) {
  const sla = slaView(d);
  const waiting = d.attempts.filter((a) => a.approveCommand);
  const body = [
    detailHeader(d),
    h("div", { class: "detail-badges" },
      h("span", { class: "chip phase" }, d.phase),
      d.priority ? badge(d.priority, `prio prio-${d.priority.toLowerCase()}`) : null,
      d.severity ? badge(d.severity, `sev sev-${d.severity.toLowerCase()}`) : null,
      ...d.badges.map((b) => badge(b, `status ${b.toLowerCase().replace(/[^a-z]+/g, "-")}`)),
      sla ? h("span", { class: `sla ${sla.cls}` }, sla.text) : null),
    h("div", { class: "links" },
      d.runUrl ? extLink(d.runUrl, "Failed run", "button") : null,
      d.slackLink ? extLink(d.slackLink, `Slack ${d.slackChannel || ""}`.trim(), "button") : d.slackChannel ? h("span", { class: "muted" }, `Slack ${d.slackChannel}`) : null,
      d.jiraKey ? extLink(d.jiraUrl, `Jira ${d.jiraKey}${d.jiraStatus ? ` · ${d.jiraStatus}` : ""}`, "button") : null),
  ];
  const group = groupSection(d);
  if (group) body.push(group);
  if (waiting.length) {
    body.push(h("section", { class: "dsec approval" },
      h("h3", {}, "Awaiting approval"),
      h("p", {}, "This dashboard is read-only. To approve the waiting attempt, run:"),
      ...waiting.map((a) => h("div", { class: "cmd" }, h("code", { class: "approve-command" }, a.approveCommand),
        h("button", { type: "button", class: "ghost copy", on: { click: (e) => copy(a.approveCommand, e.target) } }, "Copy")))));
  }
  if (d.escalationReason) body.push(section("Escalated because", h("p", { class: "pre" }, d.escalationReason)));
  body.push(section("Root cause",
    h("p", { class: "pre root-cause" }, d.rootCause || "Not analyzed yet."),
    d.recommendations.length ? h("ol", { class: "recs" }, ...d.recommendations.map((r) => h("li", {}, r))) : null));
  if (d.lineage && d.lineage.length) body.push(section("Recurrence", ...d.lineage.map((l) => h("p", { class: "lineage" }, l))));
  body.push(section("Error",
    kv([["Error type", d.errorType], ["Code", d.errorCode], ["Activity / task", d.activity], ["Source", SOURCE_LABEL[d.source] || d.source], ["Where", d.location], ["Run id", d.runId]]),
    h("pre", { class: "errmsg" }, d.errorMessage || "")));
  body.push(section("Analysis",
    kv([["Provider", [d.provider, d.model].filter(Boolean).join(" · ")], ["Confidence", d.confidence], ["Affected", d.affectedEntity], ["Auto-heal possible", d.provider ? (d.autoHealPossible ? "yes" : "no") : ""]])));
  body.push(section("Ownership", kv([["Team", d.team], ["Owner", d.owner], ["Cost center", d.costCenter], ["Slack channel", d.slackChannel]])));
  body.push(section("SLA & MTTR", kv([
    ["SLA", d.slaSeconds ? formatDuration(d.slaSeconds) : ""],
    ["Deadline", d.slaDeadline ? formatTime(d.slaDeadline) : ""],
    ["State", d.slaState],
    ["Started", formatTime(d.started)],
    ["Resolved", d.resolved ? formatTime(d.resolved) : ""],
    ["MTTR", d.mttrSeconds !== null && d.mttrSeconds !== undefined ? formatDuration(d.mttrSeconds) : ""],
    ["Resolved by", [d.resolvedBy, d.resolvedActor].filter(Boolean).join(" · ")],
  ])));
  body.push(section(`Remediation · attempts ${d.attemptsMade}/${d.maxAttempts || "–"}`,
    kv([["Policy / rule", [d.policy, d.rule].filter(Boolean).join(" / ")], ["Action", d.action], ["Next attempt", d.nextAttempt ? formatTime(d.nextAttempt) : ""]]),
    d.attempts.length ? h("ol", { class: "timeline" }, ...d.attempts.map(attemptItem)) : h("p", { class: "muted" }, "No remediation attempts.")));
  body.push(section("History",
    d.history.length ? h("table", { class: "history" }, h("tbody", {}, ...[...d.history].reverse().map((e) =>
      h("tr", {}, h("td", { class: "mono small nowrap" }, formatTime(e.time)), h("td", {}, h("span", { class: "chip" }, e.action)), h("td", {}, e.message), h("td", { class: "muted" }, e.actor || ""))))) : h("p", { class: "muted" }, "No history yet.")));
  $("detail").replaceChildren(...body);
}

function groupSection(d) {
  if (d.role === ROLE_MEMBER && d.root) {
    return h("section", { class: "dsec group-detail" }, h("h3", {}, "Group"),
      h("p", {}, "Member of ", h("a", { class: "mono root-link", href: incidentHash(d.namespace, d.root) }, d.root), d.rootReason ? ` (${d.rootReason})` : ""),
      d.rootMessage ? h("p", { class: "muted" }, d.rootMessage) : null,
      h("p", { class: "muted small" }, "It waits for its root: it is not remediated or notified on its own while the root is open."));
  }
  if (d.role !== ROLE_ROOT) return null;
  const more = d.memberCount - d.members.length;
  return h("section", { class: "dsec group-detail" }, h("h3", {}, `Group · ${d.memberCount} member${d.memberCount === 1 ? "" : "s"}`),
    kv([["Shared dependency", d.dependency]]),
    d.members.length ? h("table", { class: "history members-table" }, h("tbody", {}, ...d.members.map((m) =>
      h("tr", {}, h("td", {}, h("a", { class: "mono", href: incidentHash(d.namespace, m.name) }, m.name)), h("td", {}, SOURCE_LABEL[m.source] || m.source), h("td", {}, m.target), h("td", {}, m.phase ? h("span", { class: "chip phase" }, m.phase) : ""))))) : null,
    more > 0 ? h("p", { class: "muted small" }, `… and ${more} more: `, h("code", {}, d.membersCommand)) : null);
}

function attemptItem(a) {
  const outcome = a.failureReason || a.wouldHaveDone || (a.externalRun && a.externalRun.detail) || "";
  const approval = a.approval
    ? `${a.approval.decision} by ${a.approval.by} via ${a.approval.via}${a.approval.time ? ` at ${formatTime(a.approval.time)}` : ""}${a.approval.reason ? ` (${a.approval.reason})` : ""}`
    : a.approvalRequired ? "required, pending" : "not required";
  return h("li", { class: `attempt attempt-${a.phase.toLowerCase()}`, dataset: { attempt: a.name } },
    h("div", { class: "attempt-head" },
      h("strong", {}, `#${a.attempt} ${a.action}`),
      h("span", { class: `chip aphase aphase-${a.phase.toLowerCase()}` }, a.phase),
      a.dryRun ? badge("dry run", "status") : null,
      h("span", { class: "spacer" }),
      h("span", { class: "muted small" }, a.durationSeconds !== null && a.durationSeconds !== undefined ? formatDuration(a.durationSeconds) : a.start ? `running ${formatAgo(a.start)}` : "")),
    kv([
      ["Approval", approval],
      ["External run", a.externalRun ? [a.externalRun.system, " ", extLink(a.externalRun.url, a.externalRun.runId, "mono"), a.externalRun.state ? ` · ${a.externalRun.state}` : ""] : ""],
      ["Started", a.start ? formatTime(a.start) : a.notBefore ? `not before ${formatTime(a.notBefore)}` : ""],
      ["Finished", a.completion ? formatTime(a.completion) : ""],
      ["Outcome", outcome],
      ["Parameters", a.parameters.map((p) => `${p.name}=${p.value}`).join(", ")],
    ]),
    a.approveCommand ? h("div", { class: "cmd" }, h("code", { class: "approve-command" }, a.approveCommand)) : null);
}

async function copy(text, button) {
  try {
    await navigator.clipboard.writeText(text);
    button.textContent = "Copied";
  } catch {
    button.textContent = "Select and copy";
  }
  setTimeout(() => (button.textContent = "Copy"), 1500);
}

// ---------- audit ----------

let auditTimer = null;
let auditSeq = 0;

function scheduleAudit(delay) {
  clearTimeout(auditTimer);
  auditTimer = setTimeout(loadAudit, delay);
}

async function loadAudit() {
  const params = new URLSearchParams();
  const action = $("audit-action").value;
  const q = $("audit-search").value.trim();
  if (action) params.set("action", action);
  if (q) params.set("q", q);
  $("audit-csv").setAttribute("href", `/api/audit.csv?${params}`);
  const seq = ++auditSeq;
  const res = await fetch(`/api/audit?${params}`, { headers: { Accept: "application/json" } });
  if (!res.ok || seq !== auditSeq) return;
  const data = await res.json();
  const select = $("audit-action");
  const joined = data.actions.join("\u0000");
  if (select.dataset.options !== joined) {
    select.dataset.options = joined;
    select.replaceChildren(h("option", { value: "" }, "All actions"), ...data.actions.map((a) => h("option", { value: a }, a)));
    select.value = action;
  }
  $("audit-count").textContent = `${data.entries.length} entries${data.entries.length >= 500 ? " (newest 500)" : ""}`;
  $("audit").replaceChildren(h("table", { class: "history audit-table" },
    h("thead", {}, h("tr", {}, h("th", {}, "Time"), h("th", {}, "Incident"), h("th", {}, "Action"), h("th", {}, "Message"), h("th", {}, "Actor"))),
    h("tbody", {}, ...data.entries.map((e) => h("tr", {},
      h("td", { class: "mono small nowrap" }, formatTime(e.time)),
      h("td", {}, h("a", { href: `#/incident/${encodeURIComponent(e.namespace)}/${encodeURIComponent(e.incident)}`, class: "mono" }, e.incident), h("div", { class: "muted small" }, e.namespace)),
      h("td", {}, h("span", { class: "chip" }, e.action)),
      h("td", {}, e.message),
      h("td", { class: "muted" }, e.actor || ""))))));
}

// ---------- wiring ----------

function applyTheme(theme) {
  if (theme) document.documentElement.dataset.theme = theme;
  else delete document.documentElement.dataset.theme;
}

function init() {
  applyTheme(localStorage.getItem("aiops-rca-theme"));
  $("theme").addEventListener("click", () => {
    const dark = document.documentElement.dataset.theme ? document.documentElement.dataset.theme === "dark" : matchMedia("(prefers-color-scheme: dark)").matches;
    const next = dark ? "light" : "dark";
    localStorage.setItem("aiops-rca-theme", next);
    applyTheme(next);
  });
  const search = $("search");
  search.addEventListener("input", () => {
    state.q = search.value.trim();
    state.shown = PAGE;
    renderList();
  });
  for (const field of FILTER_FIELDS) {
    $(`f-${field}`).addEventListener("change", (e) => {
      state.filters[field] = e.target.value;
      state.shown = PAGE;
      renderList();
    });
  }
  $("clear").addEventListener("click", () => {
    state.filters = {};
    state.q = "";
    search.value = "";
    for (const field of FILTER_FIELDS) $(`f-${field}`).value = "";
    renderList();
  });
  $("more").addEventListener("click", () => {
    state.shown += PAGE * 2;
    renderList();
  });
  $("audit-action").addEventListener("change", () => scheduleAudit(0));
  $("audit-search").addEventListener("input", () => scheduleAudit(150));
  $("scrim").addEventListener("click", closeDetail);
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && state.detailKey) closeDetail();
    if (e.key === "/" && document.activeElement !== search && !(e.target instanceof HTMLInputElement)) {
      e.preventDefault();
      search.focus();
    }
  });
  window.addEventListener("hashchange", showDetailFromHash);
  setInterval(tickSla, 1000);
  renderList();
  showDetailFromHash();
  connect();
}

init();
