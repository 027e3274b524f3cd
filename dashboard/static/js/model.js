// Filtering, sorting, grouping and formatting of cards. Mirrors dashboard/viewmodel.py (matches,
// sort_key, grouped), which is the table-tested reference and what the CSV export uses.

export const PHASES = ["Analyzing", "Remediating", "Monitoring", "Resolved", "Escalated"];
const PRIORITY_RANK = { P1: 0, P2: 1, P3: 2, P4: 3 };
const SEVERITY_RANK = { Critical: 0, High: 1, Medium: 2, Low: 3 };
const UNRANKED = 99;
export const ROLE_ROOT = "Root"; // viewmodel.ROLE_ROOT
export const ROLE_MEMBER = "Member"; // viewmodel.ROLE_MEMBER
export const FILTER_FIELDS = ["source", "errorType", "severity", "team", "namespace"];

export function compareCards(a, b) {
  return (
    (PRIORITY_RANK[a.priority] ?? UNRANKED) - (PRIORITY_RANK[b.priority] ?? UNRANKED) ||
    (SEVERITY_RANK[a.severity] ?? UNRANKED) - (SEVERITY_RANK[b.severity] ?? UNRANKED) ||
    (a.started ?? Infinity) - (b.started ?? Infinity) ||
    (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)
  );
}

// A member goes under its root when the root is in the same view; otherwise it stays an entry of its
// own. A group ranks by its most urgent incident. `cards` come sorted by compareCards.
export function groupCards(cards) {
  const present = new Set(cards.map((c) => c.key));
  const nested = new Map();
  const heads = [];
  for (const c of cards) {
    const root = c.role === ROLE_MEMBER && c.root ? `${c.namespace}/${c.root}` : null;
    if (root && root !== c.key && present.has(root)) {
      if (!nested.has(root)) nested.set(root, []);
      nested.get(root).push(c);
    } else heads.push(c);
  }
  const groups = heads.map((head) => ({ head, members: nested.get(head.key) || [] }));
  const lead = (g) => (g.members.length && compareCards(g.members[0], g.head) < 0 ? g.members[0] : g.head);
  return groups.sort((a, b) => compareCards(lead(a), lead(b)));
}

export function matches(card, filter) {
  if (filter.phase === "Open") {
    if (card.phase === "Resolved") return false;
  } else if (filter.phase && card.phase !== filter.phase) return false;
  for (const field of FILTER_FIELDS) {
    if (filter[field] && card[field] !== filter[field]) return false;
  }
  const words = filter.words;
  if (!words.length) return true;
  if (card._hay === undefined) {
    card._hay = [card.name, card.pipeline, card.rootCause, card.jiraKey].join("\n").toLowerCase();
  }
  return words.every((w) => card._hay.includes(w));
}

export function makeFilter(state) {
  const f = { phase: state.tab === "All" ? "" : state.tab, words: state.q.toLowerCase().split(/\s+/).filter(Boolean) };
  for (const field of FILTER_FIELDS) f[field] = state.filters[field] || "";
  return f;
}

export function queryString(state) {
  const params = new URLSearchParams();
  if (state.tab !== "All") params.set("phase", state.tab);
  if (state.q) params.set("q", state.q);
  for (const field of FILTER_FIELDS) if (state.filters[field]) params.set(field, state.filters[field]);
  return params.toString();
}

export function formatDuration(seconds) {
  if (seconds === null || seconds === undefined || Number.isNaN(seconds)) return "–";
  const sign = seconds < 0 ? "-" : "";
  let s = Math.round(Math.abs(seconds));
  const d = Math.floor(s / 86400); s -= d * 86400;
  const hh = Math.floor(s / 3600); s -= hh * 3600;
  const m = Math.floor(s / 60); s -= m * 60;
  if (d) return `${sign}${d}d ${hh}h`;
  if (hh) return `${sign}${hh}h ${String(m).padStart(2, "0")}m`;
  if (m) return `${sign}${m}m ${String(s).padStart(2, "0")}s`;
  return `${sign}${s}s`;
}

export function formatAgo(ms, now = Date.now()) {
  if (!ms) return "–";
  const s = (now - ms) / 1000;
  if (s < 45) return "just now";
  return `${formatDuration(s).split(" ")[0]} ago`;
}

export function formatTime(ms) {
  if (!ms) return "–";
  const d = new Date(ms);
  return d.toISOString().replace("T", " ").slice(0, 19) + "Z";
}

// Green while more than two minutes remain, amber under two minutes, red once breached.
export function slaView(card, now = Date.now()) {
  if (card.slaState === "Met") return { cls: "sla-met", text: "SLA met" };
  if (!card.slaDeadline) return card.slaState === "Breached" ? { cls: "sla-breached", text: "SLA breached" } : null;
  if (card.phase === "Resolved") return { cls: card.slaState === "Breached" ? "sla-breached" : "sla-met", text: `SLA ${card.slaState.toLowerCase() || "met"}` };
  // Whether it is breached is the server's word (slaState); the clock only words the countdown.
  const left = (card.slaDeadline - now) / 1000;
  if (card.slaState === "Breached") return { cls: "sla-breached", text: `SLA breached ${formatDuration(Math.max(0, -left))} ago` };
  return { cls: left < 120 ? "sla-warn" : "sla-ok", text: `SLA ${formatDuration(Math.max(0, left))} left` };
}

export const SOURCE_LABEL = {
  AzureDataFactory: "ADF",
  DatabricksJob: "Databricks job",
  DatabricksCluster: "Databricks cluster",
  Generic: "Generic",
};
