"""Release metadata: one version, the classifiers of the Pythons scripts/matrix tests."""

from __future__ import annotations

import configparser
import runpy
from importlib import metadata
from pathlib import Path

import etcdmap

ROOT = Path(__file__).resolve().parent.parent


def _setup_cfg() -> configparser.ConfigParser:
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    return config


def test_version_is_the_installed_metadata_of_setup_cfg() -> None:
    assert etcdmap.__version__ == metadata.version("etcdmap")
    assert etcdmap.__version__ == _setup_cfg()["metadata"]["version"]


def test_classifiers_name_the_pythons_the_matrix_tests() -> None:
    pythons = runpy.run_path(str(ROOT / "scripts" / "matrix"), run_name="matrix")["PYTHONS"]
    classifiers = _setup_cfg()["metadata"]["classifiers"]
    listed = {c.rsplit("::", 1)[1].strip() for c in classifiers.splitlines() if ":: 3." in c}
    assert listed == set(pythons)
    assert _setup_cfg()["options"]["python_requires"] == f">={pythons[0]}"
