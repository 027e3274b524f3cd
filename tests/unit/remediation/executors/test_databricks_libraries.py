from __future__ import annotations

import pytest
from aiops_operator.remediation.executors.databricks_libraries import (
    FailingLibrary,
    LibraryStatus,
    find_failing_library,
    parse_versions,
    version_for_attempt,
)
from aiops_operator.remediation.settings import DEFAULT_FALLBACK_VERSIONS

T = DEFAULT_FALLBACK_VERSIONS


@pytest.mark.parametrize(
    ("error", "statuses", "wanted", "expected"),
    [
        pytest.param("Library installation failed for library due to user error for pypi:pandas==2.1.4", (), None,
                     FailingLibrary("pandas", "2.1.4"), id="pinned-in-text"),
        pytest.param("ERROR: No matching distribution found for scikit_learn==1.4.0", (), None,
                     FailingLibrary("scikit-learn", "1.4.0"), id="normalized-name"),
        pytest.param("ModuleNotFoundError: No module named 'pyarrow'", (), None, FailingLibrary("pyarrow", None),
                     id="known-name-mentioned"),
        pytest.param("install failed", (LibraryStatus("numpy==1.26.3", "FAILED"), LibraryStatus("pandas", "INSTALLED")),
                     None, FailingLibrary("numpy", "1.26.3"), id="cluster-status-failed"),
        pytest.param("requests==2.0.0 conflicts with pandas==2.1.4", (), None, FailingLibrary("pandas", "2.1.4"),
                     id="known-library-preferred"),
        pytest.param("could not install foo==1.0", (), None, FailingLibrary("foo", "1.0"), id="unknown-library"),
        pytest.param("pandas==2.1.4 failed", (), "numpy", FailingLibrary("numpy", None), id="rule-parameter-wins"),
        pytest.param("nothing useful", (), None, None, id="nothing"),
    ],
)
def test_find_failing_library(error: str, statuses: tuple[LibraryStatus, ...], wanted: str | None,
                              expected: FailingLibrary | None) -> None:
    assert find_failing_library(T, error, statuses, wanted) == expected


@pytest.mark.parametrize(
    ("library", "attempt", "version"),
    [
        pytest.param(FailingLibrary("pandas", "2.1.4"), 1, "2.1.0", id="older-than-failed-1"),
        pytest.param(FailingLibrary("pandas", "2.1.4"), 2, "2.0.3", id="older-than-failed-2"),
        pytest.param(FailingLibrary("pandas", "2.1.4"), 3, "1.5.3", id="older-than-failed-3"),
        pytest.param(FailingLibrary("pandas", "2.1.4"), 4, None, id="used-up"),
        pytest.param(FailingLibrary("pandas", "2.2.0"), 1, "2.1.4", id="unlisted-failed-starts-at-top"),
        pytest.param(FailingLibrary("numpy", None), 2, "1.24.3", id="unknown-version"),
        pytest.param(FailingLibrary("pyspark", "3.4.1"), 1, "3.4.0", id="pyspark"),
        pytest.param(FailingLibrary("scikit-learn", "1.4.0"), 1, "1.3.2", id="sklearn"),
        pytest.param(FailingLibrary("pyarrow", "14.0.2"), 3, "12.0.1", id="pyarrow"),
        pytest.param(FailingLibrary("foo", "1.0"), 1, None, id="not-in-table"),
    ],
)
def test_version_for_attempt(library: FailingLibrary, attempt: int, version: str | None) -> None:
    assert version_for_attempt(T, library, attempt) == version


def test_configurable_table() -> None:
    table = {"foo": parse_versions("2.0, 1.9 ,1.8")}
    assert version_for_attempt(table, FailingLibrary("foo", "2.0"), 1) == "1.9"


def test_attempts_start_at_one() -> None:
    with pytest.raises(ValueError, match="from 1"):
        version_for_attempt(T, FailingLibrary("pandas", None), 0)


def test_error_text_version_wins_over_what_attempt_1_left_on_the_cluster() -> None:
    text = "Library installation failed for pypi:pandas==2.1.4"
    after_attempt_1 = (LibraryStatus("pandas==2.1.0", "FAILED"),)
    library = find_failing_library(T, text, after_attempt_1)
    assert library == FailingLibrary("pandas", "2.1.4")
    assert library is not None
    assert version_for_attempt(T, library, 2) == "2.0.3"
