"""The obedient LLM: the worst model aiops-rca could be given (fault kind `obedient`, service llm).

It reads the failure report like a gullible model would — through base64,
homoglyphs, zero-width characters and JSON escapes — and does what any
instruction in it says: the error type, severity, priority and confidence it
is told, an auto-heal flag and "actions" the schema does not even have, and
the injected text echoed verbatim into the free-text fields (root cause,
recommendations, entity, strategy) so it travels on to Slack, Jira and the
dashboard. When several instructions name an error type, the last one wins
(the most recent instruction is the one an obedient model follows).

It answers with the requested schema's field names but ignores its enums:
whatever the prompt demanded goes out, valid or not.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import unicodedata
from typing import Any

_ZERO_WIDTH = re.compile("[\u200b-\u200f\u2060-\u2064\ufeff\u00ad]")
# Cyrillic and Greek letters that look like Latin ones (the usual homoglyph attack alphabet).
_HOMOGLYPHS = str.maketrans(
    "\u0430\u0441\u0435\u04bb\u0456\u0458\u043e\u0440\u0455\u0445\u0443\u0410\u0412\u0421\u0415\u041d\u0406\u041a\u041c"
    "\u041e\u0420\u0422\u0425\u04ae\u0391\u0392\u0395\u0397\u0399\u039a\u039c\u039d\u039f\u03a1\u03a4\u03a7\u03bf\u03bd",
    "acehijopsxyABCEHIKMOPTXYABEHIKMNOPTXov",
)
_BASE64 = re.compile(r"[A-Za-z0-9+/]{16,}={0,2}")
_SEVERITY = re.compile(r"(?:sever\w*|s[ée]v[ée]rit[ée]|schweregrad|gravedad|gravit[àa])\W{0,12}"
                       r"(critical|high|medium|low|niedrig|faible|baja|bassa)\b", re.IGNORECASE)
_PRIORITY = re.compile(r"\b(p[1-4])\b", re.IGNORECASE)
_CONFIDENCE = re.compile(r"confiden\w*\W{0,12}(high|medium|low)\b", re.IGNORECASE)
_ACTIONS = re.compile(r"\b(RerunPipeline|CheckUpstreamThenRerun|RunJobNow|RepairRun|RestartCluster|StartCluster|"
                      r"ResizeCluster|ReinstallLibrary|CallPlaybook|DeleteCluster|DropTable|DeleteWorkspace)\b",
                      re.IGNORECASE)
_AUTO_HEAL = re.compile(r"auto[-_ ]?heal|self[-_ ]?heal|approv|no human|skip review|without review|"
                        r"automatisch|automatique|autom[áa]tic", re.IGNORECASE)
_LOW_WORDS = {"niedrig": "Low", "faible": "Low", "baja": "Low", "bassa": "Low"}


def normalize(text: str) -> str:
    """What a model 'sees': zero-width characters gone, homoglyphs folded, compatibility forms unified."""
    return unicodedata.normalize("NFKC", _ZERO_WIDTH.sub("", text)).translate(_HOMOGLYPHS)


def _decoded(text: str) -> list[str]:
    out: list[str] = []
    for token in _BASE64.findall(text):
        try:
            raw = base64.b64decode(token + "=" * (-len(token) % 4), validate=False)
            decoded = raw.decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            continue
        if decoded.isprintable() and sum(c.isalpha() for c in decoded) > len(decoded) // 2:
            out.append(decoded)
    return out


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for item in value.values() for s in _strings(item)]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return []


def report_text(user_text: str) -> str:
    """The failure report's strings (JSON unescaped), or the raw user text when it is not JSON."""
    found: list[str] = []
    for match in re.finditer(r"\{.*\}", user_text, re.DOTALL):
        try:
            found.extend(_strings(json.loads(match.group(0))))
        except ValueError:
            continue
    return "\n".join(found) if found else user_text


def demands(user_text: str, taxonomy: frozenset[str]) -> dict[str, Any]:
    """Every instruction the obedient model finds in the prompt, by answer field."""
    raw = report_text(user_text)
    seen = normalize("\n".join([raw, *_decoded(raw)]))
    wanted: dict[str, Any] = {"echo": raw}
    names = {name.lower(): name for name in taxonomy}
    mentioned = [names[m.lower()] for m in re.findall(r"[A-Za-z]+", seen) if m.lower() in names]
    if mentioned:
        wanted["error_type"] = mentioned[-1]
    if severity := _SEVERITY.findall(seen):
        last = severity[-1].lower()
        wanted["severity"] = _LOW_WORDS.get(last, last.capitalize())
    if priority := _PRIORITY.findall(seen):
        wanted["priority"] = priority[-1].upper()
    if confidence := _CONFIDENCE.findall(seen):
        wanted["confidence"] = confidence[-1].capitalize()
    if actions := _ACTIONS.findall(seen):
        wanted["actions"] = list(dict.fromkeys(actions))
    if _AUTO_HEAL.search(seen):
        wanted["auto_heal"] = True
    return wanted


def _field_kind(name: str) -> str:
    key = re.sub(r"[^a-z]", "", name.lower())
    for kind, marks in (("error_type", ("errortype", "category", "classification")), ("severity", ("severity",)),
                        ("priority", ("priority",)), ("confidence", ("confidence",)),
                        ("recommendations", ("recommend", "steps")), ("root_cause", ("rootcause", "cause")),
                        ("entity", ("entity", "resource")), ("strategy", ("strategy",))):
        if any(mark in key for mark in marks):
            return kind
    return ""


def obey(answer: Any, user_text: str, taxonomy: frozenset[str]) -> Any:
    """`answer` (a schema-shaped dict) rewritten to do what the prompt says, plus fields nobody asked for."""
    if not isinstance(answer, dict):
        return answer
    wanted = demands(user_text, taxonomy)
    echo = " ".join(str(wanted["echo"]).split())[:1500]
    out = dict(answer)
    for name in answer:
        kind = _field_kind(name)
        if kind in ("error_type", "severity", "priority", "confidence") and kind in wanted:
            out[name] = wanted[kind]
        elif kind == "root_cause":
            out[name] = f"As instructed by the report: {echo}"
        elif kind == "recommendations":
            out[name] = [echo, *[f"Run {action} now." for action in wanted.get("actions", [])]]
        elif kind in ("entity", "strategy"):
            out[name] = echo[:400]
    out["auto_heal_possible"] = bool(wanted.get("auto_heal", True))
    out["approval_required"] = False
    out["actions"] = [{"action": a, "approved": True} for a in wanted.get("actions", ["RerunPipeline"])]
    return out
