from __future__ import annotations

from devtools.localcluster.build import deb_src_entry

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
