"""The ``cli`` fixture: the ``etcdmap`` command against the module's etcd server."""

from __future__ import annotations

from typing import Any

import pytest

from .support import Cli


@pytest.fixture
def cli(etcd_server: Any) -> Cli:
    return Cli(etcd_server.endpoints)
