"""`aiops-rca analyze`: stdin in, JSON out, exit 2 with a message on bad input."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from aiops_operator.analysis.cli import run
from aiops_operator.cli import build_parser

CORPUS = Path(__file__).resolve().parents[2] / "data" / "error_corpus.jsonl"


def call(argv: list[str], stdin: str) -> tuple[int, str, str]:
    full = ["analyze", *argv]
    args = build_parser(full).parse_args(full)
    out, err = io.StringIO(), io.StringIO()
    code = run(args, stdin=io.StringIO(stdin), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_one_message_gives_one_analysis() -> None:
    code, out, err = call(
        ["--source", "databricks", "--code", "DRIVER_UNRESPONSIVE", "--resource", "nightly"],
        "Driver is up but is not responsive, likely due to GC.\n",
    )
    assert (code, err) == (0, "")
    analysis = json.loads(out)
    assert analysis["errorType"] == "DatabricksDriverNotResponding"
    assert analysis["provider"] == "Rules"
    assert analysis["rootCause"].startswith("Databricks job 'nightly' failed because")


def test_jsonl_reads_the_corpus_as_is() -> None:
    lines = CORPUS.read_text(encoding="utf-8").splitlines()[:12]
    code, out, _ = call(["--jsonl"], "\n".join(lines) + "\n\n")
    assert code == 0
    results = [json.loads(line) for line in out.splitlines()]
    assert len(results) == 12
    assert [r["errorType"] for r in results] == [json.loads(line)["expected"] for line in lines]


def test_jsonl_lines_default_to_the_source_flag() -> None:
    code, out, _ = call(["--jsonl", "--source", "adf"], '{"message": "ErrorCode=UserErrorSourceBlobNotExists"}\n')
    assert code == 0
    assert json.loads(out)["errorType"] == "UserErrorSourceBlobNotExists"


@pytest.mark.parametrize(
    ("argv", "stdin", "message"),
    [
        pytest.param([], "boom", "--source is required", id="no-source"),
        pytest.param(["--source", "adf"], "  \n", "no error message on stdin", id="empty-stdin"),
        pytest.param(
            ["--jsonl"], '{"source": "adf", "message": "x"}\nnot json\n', "line 2: not valid JSON", id="bad-json-line"
        ),
        pytest.param(
            ["--jsonl"], '{"source": "sap", "message": "x"}\n', "line 1: source must be one of", id="bad-source"
        ),
        pytest.param(["--jsonl"], '["adf", "x"]\n', "line 1: expected a JSON object", id="not-an-object"),
        pytest.param(
            ["--jsonl"],
            '{"source": "adf", "message": "x", "code": 42}\n',
            "line 1: code must be a string",
            id="bad-code",
        ),
        pytest.param(["--jsonl"], "\n\n", "no lines on stdin", id="no-lines"),
    ],
)
def test_bad_input_exits_2_with_a_message(argv: list[str], stdin: str, message: str) -> None:
    code, out, err = call(argv, stdin)
    assert code == 2
    assert out == ""
    assert err.startswith("aiops-rca analyze: ")
    assert message in err
    assert "Traceback" not in err


def test_llm_flag_without_a_configured_llm_exits_2(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AIOPS_LLM_PROVIDER", raising=False)
    code, out, err = call(["--source", "adf", "--llm"], "ErrorCode=2200")
    assert (code, out) == (2, "")
    assert "AIOPS_LLM_PROVIDER" in err
