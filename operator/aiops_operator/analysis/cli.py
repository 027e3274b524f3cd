"""`aiops-rca analyze`: try the analyzer without a cluster.

One error message on stdin → the analysis as JSON on stdout. With --jsonl,
one JSON object per input line → one JSON object per output line, in order
(the labelled corpus can be piped in as is); a line that cannot be used (not
JSON, no message, unknown source) gets an output line {"line", "error"} and
the batch goes on. Rules by default; --llm uses the LLM configured by the
AIOPS_LLM_* environment variables, through the same `analysis.service.analyze`
the operator calls. Bad input never produces a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import IO, TYPE_CHECKING, Any

from pydantic import ValidationError

from aiops_operator.analysis.evaluation import CLI_SOURCES
from aiops_operator.analysis.request import AnalysisRequest, bound_text
from aiops_operator.analysis.service import analyze
from aiops_operator.api import Analysis

if TYPE_CHECKING:
    from aiops_operator.analysis.llm import LlmAnalyzer

MAX_INPUT_BYTES = 64 * 1024 * 1024
MAX_LINE_CHARS = 8 * 1024 * 1024
"""A --jsonl line longer than this gets an error line (the message itself is cut to the analyzed size)."""
PROG = "aiops-rca analyze"
JSONL_HELP = """\
--jsonl input: one JSON object per line, blank lines skipped.
  message   required: the error text (a string; a JSON object is re-encoded; null means none)
  source    optional: adf, databricks, databricks-cluster or generic (default: --source, else generic;
            AzureDataFactory, DatabricksJob, DatabricksCluster accepted)
  code      optional: vendor error code (string or number), e.g. 2200, DRIVER_UNREACHABLE
  activity, resource, id   optional; other fields (expected, ref ...) are ignored
--jsonl output: one JSON object per non-blank input line, in input order, each with "line"
  (1-based input line number) and "id" when the input had one:
  the analysis (errorType, rootCause, confidence, severity, priority, affectedEntity,
  recommendations, autoHealPossible, provider ...), or {"error": "<why>"} for an unusable line.
  Exit status 0 when every line was read (error lines included), 2 when there was no line at all.
"""


class InputError(ValueError):
    """Input the command cannot use; the message says what to fix."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Analyze ADF or Databricks error messages read from stdin and print the analysis as JSON."
        " Rules by default; --llm uses the LLM configured by AIOPS_LLM_* environment variables."
    )
    parser.add_argument(
        "--source",
        choices=sorted(CLI_SOURCES),
        help="where the error comes from (required without --jsonl; the default for --jsonl lines that have no source)",
    )
    parser.add_argument("--code", help="vendor error code (ADF error code, Databricks termination code)")
    parser.add_argument("--activity", help="failing ADF activity or Databricks task")
    parser.add_argument("--resource", default="", help="pipeline, job or cluster name")
    parser.add_argument(
        "--jsonl",
        action="store_true",
        help="read one JSON object per line and write one JSON object per line (see below)",
    )
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = JSONL_HELP
    parser.add_argument("--llm", action="store_true", help="use the configured LLM (rules answer on LLM failure)")


def run(
    args: argparse.Namespace,
    *,
    stdin: IO[str] | None = None,
    stdout: IO[str] | None = None,
    stderr: IO[str] | None = None,
) -> int:
    stdin = stdin if stdin is not None else _tolerant(sys.stdin)
    stdout = stdout if stdout is not None else sys.stdout
    stderr = stderr if stderr is not None else sys.stderr
    try:
        llm = _llm() if args.llm else None
        if args.jsonl:
            return asyncio.run(_jsonl(stdin, stdout, stderr, args, llm))
        text = stdin.read(MAX_INPUT_BYTES + 1)
        if len(text) > MAX_INPUT_BYTES:
            raise InputError(f"input is larger than {MAX_INPUT_BYTES // (1024 * 1024)} MiB")
        request = _single_request(text, args)
    except InputError as exc:
        print(f"{PROG}: {exc}", file=stderr)
        return 2
    result = asyncio.run(_analyze_one(request, llm))
    stdout.write(json.dumps(result.to_wire(), indent=2) + "\n")
    return 0


def _tolerant(stream: IO[str]) -> IO[str]:
    """stdin that turns undecodable bytes into U+FFFD instead of raising mid-stream."""
    reconfigure = getattr(stream, "reconfigure", None)
    if reconfigure is not None:
        reconfigure(errors="replace")
    return stream


async def _analyze_one(request: AnalysisRequest, llm: LlmAnalyzer | None) -> Analysis:
    try:
        return await analyze(request, llm=llm)
    finally:
        if llm is not None:
            await llm.aclose()


async def _jsonl(stdin: IO[str], stdout: IO[str], stderr: IO[str], args: argparse.Namespace,
                 llm: LlmAnalyzer | None) -> int:
    """One output line per non-blank input line, in order: the analysis, or {"line", "error"} for bad input."""
    seen = failed = 0
    try:
        for number, line in enumerate(stdin, start=1):
            if not line.strip():
                continue
            seen += 1
            wire = await _jsonl_line(number, line, args, llm)
            failed += "error" in wire
            stdout.write(json.dumps(wire, ensure_ascii=False) + "\n")
    finally:
        if llm is not None:
            await llm.aclose()
    if not seen:
        print(f"{PROG}: no lines on stdin", file=stderr)
        return 2
    if failed:
        print(f"{PROG}: {failed} of {seen} lines could not be analyzed; their output lines say why", file=stderr)
    return 0


async def _jsonl_line(number: int, line: str, args: argparse.Namespace, llm: LlmAnalyzer | None) -> dict[str, Any]:
    item: Any = None
    try:
        if len(line) > MAX_LINE_CHARS:
            raise InputError(f"line is longer than {MAX_LINE_CHARS // (1024 * 1024)} MiB")
        item = _parse_line(line)
        request = _item_request(item, args)
        wire: dict[str, Any] = (await analyze(request, llm=llm)).to_wire()
    except InputError as exc:
        wire = {"error": str(exc)}
    except Exception as exc:  # one bad line must not end the batch; the line says what happened
        wire = {"error": f"could not analyze this line: {type(exc).__name__}"}
    wire["line"] = number
    if isinstance(item, dict) and isinstance(item.get("id"), str | int) and not isinstance(item.get("id"), bool):
        wire["id"] = item["id"]
    return wire


def _parse_line(line: str) -> Any:
    """The JSON value of one line; a byte-order mark is dropped and a JSON string holding an object unwrapped."""
    try:
        item = json.loads(line.lstrip("\ufeff"))
        if isinstance(item, str) and item.strip().startswith("{"):
            item = json.loads(item)
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid JSON ({exc.msg} at column {exc.colno})") from None
    return item


def _request(source: str | None, message: str, code: Any, activity: Any, resource: Any) -> AnalysisRequest:
    if source not in CLI_SOURCES:
        raise InputError(f"source must be one of {', '.join(sorted(CLI_SOURCES))}")
    for name, value in (("code", code), ("activity", activity), ("resource", resource)):
        if value is not None and not isinstance(value, str):
            raise InputError(f"{name} must be a string")
    try:
        return AnalysisRequest(
            source=CLI_SOURCES[source],
            error_message=bound_text(message),
            error_code=code or None,
            activity=activity or None,
            resource_name=resource or "",
        )
    except ValidationError as exc:
        fields = ", ".join(sorted({str(err["loc"][0]) for err in exc.errors()}))
        raise InputError(f"invalid {fields} (too long?)") from None


def _single_request(text: str, args: argparse.Namespace) -> AnalysisRequest:
    if args.source is None:
        raise InputError("--source is required (adf or databricks) unless --jsonl is given")
    if not text.strip():
        raise InputError(
            "no error message on stdin; pipe one in, e.g. echo 'ErrorCode=2200 ...' | aiops-rca analyze --source adf"
        )
    return _request(args.source, text.strip(), args.code, args.activity, args.resource)


_SOURCE_ALIASES = {
    **dict.fromkeys(("adf", "azuredatafactory", "datafactory"), "adf"),
    **dict.fromkeys(("databricks", "databricksjob", "databricksjobs", "job"), "databricks"),
    **dict.fromkeys(("databrickscluster", "databricksclusters", "cluster"), "databricks-cluster"),
    **dict.fromkeys(("generic", "other"), "generic"),
}
_FIELDS = {
    "message": ("message", "error_message", "errorMessage"),
    "code": ("code", "error_code", "errorCode"),
    "activity": ("activity",),
    "resource": ("resource", "resource_name", "resourceName"),
}


def _field(item: dict[str, Any], name: str) -> Any:
    return next((item[key] for key in _FIELDS[name] if key in item), None)


def _item_request(item: Any, args: argparse.Namespace) -> AnalysisRequest:
    """The request of one --jsonl object; lenient about shapes a user or another tool writes."""
    if not isinstance(item, dict):
        raise InputError("expected a JSON object with a 'message' field")
    if not any(key in item for key in _FIELDS["message"]):
        raise InputError("needs a 'message' field (the error text; null or \"\" for none)")
    return _request(
        _source(item.get("source"), args.source),
        _text(_field(item, "message"), "message", None),
        _optional(_field(item, "code"), "code", 128, args.code),
        _optional(_field(item, "activity"), "activity", 260, args.activity),
        _optional(_field(item, "resource"), "resource", 260, args.resource) or "",
    )


def _source(value: Any, default: str | None) -> str:
    if value is None:
        return default or "generic"
    if not isinstance(value, str):
        raise InputError(f"source must be one of {', '.join(sorted(CLI_SOURCES))}")
    source = _SOURCE_ALIASES.get("".join(ch for ch in value.lower() if ch.isalpha()))
    if source is None:
        raise InputError(f"source {value[:40]!r} is not one of {', '.join(sorted(CLI_SOURCES))}")
    return source


def _text(value: Any, name: str, limit: int | None) -> str:
    """A field's text: strings as they are, JSON documents re-encoded, numbers spelled out, null as empty."""
    if value is None:
        return ""
    if isinstance(value, dict | list):
        text = json.dumps(value, ensure_ascii=False)
    elif isinstance(value, str | int | float | bool):
        text = str(value)
    else:  # pragma: no cover - json.loads yields nothing else
        raise InputError(f"{name} must be a string")
    return text[:limit] if limit else text


def _optional(value: Any, name: str, limit: int, default: str | None) -> str | None:
    if value is None:
        return default
    if isinstance(value, dict | list):
        raise InputError(f"{name} must be a string or a number")
    return _text(value, name, limit) or None


def _llm() -> LlmAnalyzer | None:
    from aiops_operator.analysis.settings import LlmConfigurationError, LlmSettings

    try:
        settings = LlmSettings()
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'settings'}: {err['msg']}"
            for err in exc.errors(include_input=False)
        )
        raise InputError(f"invalid LLM settings: {problems}") from None
    if not settings.enabled:
        raise InputError("--llm needs an LLM: set AIOPS_LLM_PROVIDER (and AIOPS_LLM_API_KEY, AIOPS_LLM_MODEL ...)")
    from aiops_operator.analysis.service import llm_from_settings

    try:
        return llm_from_settings(settings)
    except LlmConfigurationError as exc:
        raise InputError(str(exc)) from None
