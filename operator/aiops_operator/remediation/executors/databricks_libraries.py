"""Which library failed to install, and which version attempt n tries instead (pure; ReinstallLibrary only).

The version for attempt n depends only on the library, the version that
originally failed and n, never on what the cluster shows now: attempt n
re-launched after a crash picks the same version as before.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

_PINNED = re.compile(r"(?<![A-Za-z0-9_.-])([A-Za-z][A-Za-z0-9_.-]*)\s*==\s*([0-9][A-Za-z0-9.+!-]*)")
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_.-]*")


def normalize(name: str) -> str:
    """PEP 503 name: lowercase, runs of `-_.` as one dash (scikit_learn == scikit-learn)."""
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class LibraryStatus:
    """One library of a cluster as libraries/cluster-status reports it (PyPI only)."""

    package: str
    """The PyPI requirement, e.g. `pandas==2.1.4` or `pandas`."""
    status: str
    """INSTALLED, FAILED, PENDING, INSTALLING, RESOLVING, SKIPPED, UNINSTALL_ON_RESTART."""
    messages: tuple[str, ...] = ()


@dataclass(frozen=True)
class FailingLibrary:
    name: str
    """Normalized library name, e.g. scikit-learn."""
    version: str | None
    """The version that failed, when known."""


def split_requirement(requirement: str) -> tuple[str, str | None]:
    """`pandas==2.1.4` → ('pandas', '2.1.4'); `pandas` → ('pandas', None)."""
    name, sep, version = requirement.partition("==")
    return normalize(name.strip().split("[")[0]), (version.strip() or None) if sep else None


def find_failing_library(
    table: Mapping[str, Sequence[str]],
    error_text: str,
    statuses: Iterable[LibraryStatus] = (),
    wanted: str | None = None,
) -> FailingLibrary | None:
    """The library to reinstall.

    Preference: the rule's `library` parameter; a pinned `name==version` in
    the error text; a library the cluster reports FAILED; a known library
    named in the error text. Known libraries (those in `table`) win over
    unknown ones. The error text comes first because it is the incident's
    immutable fact: after attempt 1 the cluster reports attempt 1's version
    as FAILED, and counting from that would make attempt 2 skip a version.
    """
    known = {normalize(k) for k in table}
    failed = [split_requirement(s.package) for s in statuses if s.status.upper() == "FAILED"]
    pinned = [(normalize(m.group(1)), m.group(2)) for m in _PINNED.finditer(error_text)]
    mentioned = [(normalize(w), None) for w in _WORD.findall(error_text) if normalize(w) in known]
    candidates: list[tuple[str, str | None]] = [*pinned, *failed, *mentioned]
    if wanted is not None:
        want = normalize(wanted)
        version = next((v for n, v in candidates if n == want and v), None)
        return FailingLibrary(want, version)
    for name, version in candidates:
        if name in known:
            if version is None:
                version = next((v for n, v in candidates if n == name and v), None)
            return FailingLibrary(name, version)
    if candidates:
        name, version = candidates[0]
        return FailingLibrary(name, version)
    return None


def version_for_attempt(
    table: Mapping[str, Sequence[str]], library: FailingLibrary, attempt: int,
) -> str | None:
    """The version attempt `attempt` (1-based) installs; None when the list is used up.

    The candidates are the versions older than the one that failed (the whole
    list when that version is unknown or not listed); attempt n takes the n-th.
    """
    if attempt < 1:
        raise ValueError(f"attempts are numbered from 1, got {attempt}")
    versions = next((list(v) for k, v in table.items() if normalize(k) == library.name), [])
    if library.version in versions:
        versions = versions[versions.index(library.version) + 1:]
    return versions[attempt - 1] if attempt <= len(versions) else None


def parse_versions(value: str) -> list[str]:
    """A rule's `versions` parameter ('2.1.4, 2.1.0') as a list."""
    return [v.strip() for v in value.split(",") if v.strip()]
