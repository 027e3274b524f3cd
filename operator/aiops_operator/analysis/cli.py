"""`aiops-rca analyze`: try the analyzer without a cluster.

One error message on stdin → the analysis as JSON on stdout; with --jsonl,
lines of {"source": ..., "message": ...} in and one analysis per line out (the
labelled corpus can be piped in as is). Rules by default; --llm uses the LLM
configured by the AIOPS_LLM_* environment variables, through the same
`analysis.service.analyze` the operator calls. Bad input exits 2 with a
message, never a traceback.
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
PROG = "aiops-rca analyze"


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
        help='read lines {"source": ..., "message": ..., "code"?: ...} and write one analysis per line',
    )
    parser.add_argument("--llm", action="store_true", help="use the configured LLM (rules answer on LLM failure)")


def run(
    args: argparse.Namespace,
    *,
    stdin: IO[str] | None = None,
    stdout: IO[str] | None = None,
    stderr: IO[str] | None = None,
) -> int:
    stdin = stdin if stdin is not None else sys.stdin
    stdout = stdout if stdout is not None else sys.stdout
    stderr = stderr if stderr is not None else sys.stderr
    try:
        text = stdin.read(MAX_INPUT_BYTES + 1)
        if len(text) > MAX_INPUT_BYTES:
            raise InputError(f"input is larger than {MAX_INPUT_BYTES // (1024 * 1024)} MiB")
        requests = _jsonl_requests(text, args) if args.jsonl else [_single_request(text, args)]
        llm = _llm() if args.llm else None
    except InputError as exc:
        print(f"{PROG}: {exc}", file=stderr)
        return 2
    results = asyncio.run(_analyze_all(requests, llm))
    for result in results:
        wire = result.to_wire()
        stdout.write((json.dumps(wire, ensure_ascii=False) if args.jsonl else json.dumps(wire, indent=2)) + "\n")
    return 0


async def _analyze_all(requests: list[AnalysisRequest], llm: LlmAnalyzer | None) -> list[Analysis]:
    try:
        return [await analyze(request, llm=llm) for request in requests]
    finally:
        if llm is not None:
            await llm.aclose()


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


def _jsonl_requests(text: str, args: argparse.Namespace) -> list[AnalysisRequest]:
    requests: list[AnalysisRequest] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except ValueError:
            raise InputError(f"line {number}: not valid JSON") from None
        if not isinstance(item, dict):
            raise InputError(f"line {number}: expected a JSON object with 'source' and 'message'")
        message = item.get("message")
        if not isinstance(message, str):
            raise InputError(f"line {number}: needs a string 'message'")
        try:
            requests.append(
                _request(
                    item.get("source", args.source),
                    message,
                    item.get("code", args.code),
                    item.get("activity", args.activity),
                    item.get("resource", args.resource),
                )
            )
        except InputError as exc:
            raise InputError(f"line {number}: {exc}") from None
    if not requests:
        raise InputError("no lines on stdin")
    return requests


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
