# Generated from tests/_async/test_outcomes.py by scripts/unasync: do not edit.
"""What a failed write's error says about its outcome, against a real etcd: a write that may
have been applied raises an ``OutcomeUnknownError``, one that never left a
``ConnectionFailedError``. (The SIGKILL churn of a cluster is in tests/test_write_outcomes.py.)

Written for AsyncClient; tests/_sync/test_outcomes.py is generated from it by scripts/unasync.
"""

from __future__ import annotations

import os
import signal

import pytest

import etcdmap
from etcdmap import Client
from etcdmap.testing import EtcdServer


def test_a_write_to_a_frozen_server_has_an_unknown_outcome(
    etcd_server: EtcdServer, etcd_prefix: str
) -> None:
    pid = getattr(etcd_server, "pid", None)
    if pid is None:
        pytest.skip("needs a local etcd to freeze")
    with Client(etcd_server.endpoints) as client:
        client.put(etcd_prefix + "warm", "1")  # the connection is up: the put goes out
        os.kill(pid, signal.SIGSTOP)
        try:
            with pytest.raises(etcdmap.OutcomeUnknownError) as caught:
                client.put(etcd_prefix + "k", "v", timeout=0.5)
        finally:
            os.kill(pid, signal.SIGCONT)
        assert isinstance(caught.value, etcdmap.DeadlineExceededError)
        assert isinstance(caught.value, TimeoutError)
        assert "may or may not have been applied" in str(caught.value)
        assert (client.get(etcd_prefix + "warm", timeout=10)).kvs


def test_a_write_that_never_left_is_a_connection_failure(etcd_prefix: str) -> None:
    with Client("127.0.0.1:1", timeout=5) as client:
        with pytest.raises(etcdmap.ConnectionFailedError) as caught:
            client.put(etcd_prefix + "k", "v")
    assert not isinstance(caught.value, etcdmap.OutcomeUnknownError)
    assert "never sent" in str(caught.value)
