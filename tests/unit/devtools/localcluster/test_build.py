from __future__ import annotations

from pathlib import Path

import pytest

from devtools.localcluster.build import (
    KERNEL_TUNABLES,
    OPENAPI_ZERO_VALUES,
    BuildError,
    SourcePatch,
    _patch_source,
    deb_src_entry,
    patched_text,
)

SOURCES = """Types: deb
URIs: http://mirror.example/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://mirror.example/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
"""


def test_deb_src_mirrors_the_main_archive_only() -> None:
    out = deb_src_entry(SOURCES)
    assert out.count("Types: deb-src") == 1
    assert "URIs: http://mirror.example/debian\n" in out
    assert "security" not in out
    assert "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg" in out


# As the lines read in Debian's Kubernetes 1.20.2 source.
TYPE_GO = """func (t *typeValidator) Validate(data interface{}) *Result {
\tresult := new(Result)
\tresult.Inc()
\tif data == nil || reflect.DeepEqual(reflect.Zero(reflect.TypeOf(data)), reflect.ValueOf(data)) {
\t\t// nil or zero value for the passed structure require Type: null
"""
CONTAINER_MANAGER_GO = """\tif !f.cpuHardcapping {
\t\tcm.status.SoftRequirements = fmt.Errorf("CPU hardcapping unsupported")
\t}
\tb := KernelTunableModify
\tif cm.GetNodeConfig().ProtectKernelDefaults {
\t\tb = KernelTunableError
"""


@pytest.mark.parametrize(("patch", "source", "line", "patched_line"), [
    pytest.param(OPENAPI_ZERO_VALUES, TYPE_GO,
                 "\tif data == nil || reflect.DeepEqual(reflect.Zero(reflect.TypeOf(data)), reflect.ValueOf(data)) {\n",
                 "\tif data == nil { // aiops-rca: zero values are not null"
                 " (Go >= 1.18 boxes them like reflect.Zero)\n",
                 id="openapi-zero-values-are-not-null"),
    pytest.param(KERNEL_TUNABLES, CONTAINER_MANAGER_GO,
                 "\tb := KernelTunableModify\n",
                 "\tb := KernelTunableWarn // aiops-rca: never change the host's kernel settings\n",
                 id="kubelet-warns-about-kernel-tunables"),
])
def test_a_patch_changes_only_its_line(patch: SourcePatch, source: str, line: str, patched_line: str) -> None:
    text = patched_text(patch, patch.files[0], source)
    assert text == source.replace(line, patched_line)
    assert text != source
    assert patched_text(patch, patch.files[0], text) is None  # already patched: left alone


def test_a_file_without_the_line_fails_the_build_naming_it() -> None:
    with pytest.raises(BuildError, match=r"^pkg/x\.go: the kernel tunables switch to patch was not found$"):
        patched_text(KERNEL_TUNABLES, "pkg/x.go", "\tb := SomethingElse\n")


def test_patching_a_tree_writes_each_file_once(tmp_path: Path) -> None:
    for relative in OPENAPI_ZERO_VALUES.files:
        (tmp_path / relative).parent.mkdir(parents=True)
        (tmp_path / relative).write_text(TYPE_GO)
    said: list[str] = []
    _patch_source(tmp_path, OPENAPI_ZERO_VALUES, said.append)
    _patch_source(tmp_path, OPENAPI_ZERO_VALUES, said.append)
    assert said == [f"patching {relative}: empty strings, 0 and false are values, not null"
                    for relative in OPENAPI_ZERO_VALUES.files]
    assert all(OPENAPI_ZERO_VALUES.new in (tmp_path / r).read_text() for r in OPENAPI_ZERO_VALUES.files)
