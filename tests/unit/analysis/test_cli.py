"""`aiops-rca analyze`: stdin in, JSON out, exit 2 with a message on bad input."""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path

import pytest
from aiops_operator.analysis.cli import JSONL_HELP, _tolerant, add_arguments, run
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


def test_jsonl_bad_lines_get_an_error_line_and_the_batch_goes_on() -> None:
    stdin = "\n".join([
        '{"source": "adf", "message": "ErrorCode=UserErrorSourceBlobNotExists"}',
        "not json",
        '["adf", "x"]',
        '{"source": "adf", "text": "no message field"}',
        '{"source": "sap", "message": "x"}',
        '{"source": "adf", "message": "x", "code": {"nested": 1}}',
        "\u0000\u0001 binary junk",
        '{"source": "databricks", "message": "java.lang.OutOfMemoryError: Java heap space"}',
    ]) + "\n"
    code, out, err = call(["--jsonl"], stdin)
    assert code == 0
    results = [json.loads(line) for line in out.splitlines()]
    assert [r["line"] for r in results] == [1, 2, 3, 4, 5, 6, 7, 8]
    assert results[0]["errorType"] == "UserErrorSourceBlobNotExists"
    assert results[-1]["errorType"] == "DatabricksResourceExhausted"
    errors = {r["line"]: r["error"] for r in results if "error" in r}
    assert sorted(errors) == [2, 3, 4, 5, 6, 7]
    assert "not valid JSON" in errors[2]
    assert "JSON object" in errors[3]
    assert "'message'" in errors[4]
    assert "'sap'" in errors[5]
    assert "code must be" in errors[6]
    assert all("errorType" not in r for r in results if "error" in r)
    assert "6 of 8 lines could not be analyzed" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        pytest.param({"message": "Login failed for user 'etl'."}, "AuthenticationError", id="no-source-is-generic"),
        pytest.param({"source": "AzureDataFactory", "message": "x", "code": 3208}, "HttpConnectionFailed",
                     id="numeric-code-and-enum-source"),
        pytest.param({"source": "DatabricksCluster", "message": "", "code": "SPOT_INSTANCE_TERMINATION"},
                     "ClusterUnexpectedTermination", id="cluster-code-only"),
        pytest.param({"source": "adf", "message": {"errorCode": "2200", "message": "ErrorCode=BlobNotFound"}},
                     "UserErrorSourceBlobNotExists", id="message-as-json-object"),
        pytest.param({"source": "adf", "message": None}, "UnknownError", id="null-message"),
        pytest.param({"source": "adf", "error_message": "ErrorCode: 'ServerBusy'", "errorCode": None},
                     "ThrottlingError", id="field-aliases"),
    ],
)
def test_jsonl_accepts_the_shapes_users_write(line: dict[str, object], expected: str) -> None:
    code, out, _ = call(["--jsonl"], json.dumps({**line, "id": "case-1"}) + "\n")
    assert code == 0
    result = json.loads(out)
    assert (result["errorType"], result["id"], result["line"]) == (expected, "case-1", 1)


def test_jsonl_tolerates_a_byte_order_mark_and_a_double_encoded_line() -> None:
    inner = json.dumps({"source": "adf", "message": "ErrorCode: 'ServerBusy'"})
    code, out, _ = call(["--jsonl"], "\ufeff" + inner + "\n" + json.dumps(inner) + "\n")
    assert code == 0
    assert [json.loads(line)["errorType"] for line in out.splitlines()] == ["ThrottlingError", "ThrottlingError"]


def test_undecodable_stdin_bytes_become_replacement_characters() -> None:
    raw = io.TextIOWrapper(io.BytesIO(b'{"message": "bad \xff bytes: Login failed for user x"}\n'), encoding="utf-8")
    line = next(iter(_tolerant(raw)))
    assert "\ufffd" in line


def test_help_documents_the_jsonl_contract() -> None:
    parser = argparse.ArgumentParser(prog="aiops-rca analyze")
    add_arguments(parser)
    help_text = parser.format_help()
    for needle in ("message   required", "source    optional", "code      optional", '"line"', "errorType", "error"):
        assert needle in help_text
    assert JSONL_HELP.splitlines()[0] in help_text


def test_llm_flag_without_a_configured_llm_exits_2(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AIOPS_LLM_PROVIDER", raising=False)
    code, out, err = call(["--source", "adf", "--llm"], "ErrorCode=2200")
    assert (code, out) == (2, "")
    assert "AIOPS_LLM_PROVIDER" in err
