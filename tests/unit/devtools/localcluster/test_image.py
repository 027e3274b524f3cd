"""The image build's offline inputs: every requirement is in the wheelhouse list, and pip may use nothing else."""

from __future__ import annotations

import configparser
import tomllib
from pathlib import Path

from devtools.localcluster import image

REPO = Path(__file__).resolve().parents[4]


def test_wheelhouse_covers_the_build_system_and_every_runtime_dependency() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    wanted = [*project["build-system"]["requires"], *project["project"]["dependencies"]]
    assert image._requirements(REPO) == wanted


def test_base_image_pip_installs_from_the_wheelhouse_only() -> None:
    conf = configparser.ConfigParser()
    conf.read_string(image._PIP_CONF)
    assert conf["global"]["no-index"] == "true"
    assert conf["global"]["find-links"] == "/opt/wheelhouse"
    assert "COPY wheels /opt/wheelhouse" in image._BASE_CONTAINERFILE
    assert "COPY pip.conf /etc/pip.conf" in image._BASE_CONTAINERFILE


def test_base_has_what_the_dockerfile_runs() -> None:
    # `python -m venv`, groupadd/useradd, and TLS roots for the SDKs.
    assert {"python3-venv", "python-is-python3", "passwd", "ca-certificates"} <= set(image.BASE_PACKAGES)
