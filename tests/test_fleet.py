"""The fleet test (issue 21): 40 mirrors of one prefix in 2 processes with a writer at 20
puts a second for 2 s, direct to the server and then through one etcd gRPC proxy. Every
mirror converges (its content equals a get at its revision) both ways; the server holds one
watcher per mirror direct, and about one for the whole fleet through the proxy (its
``etcd_debugging_mvcc_watcher_total``). bench/_scale_fleet.py runs the same fleet at 200
mirrors and reports the figures (docs/scale.md). About 20 s; deselect with -m 'not fleet'.
"""

from __future__ import annotations

import pytest

from etcdmap.testing import EtcdProxy, EtcdServer
from etcdmap.testing._fleet import Fleet, Meter, fill, run_fleet

pytestmark = [pytest.mark.fleet, pytest.mark.timeout(90)]

PREFIX = "/test-fleet/"


def test_a_fleet_through_a_proxy_converges_on_about_one_server_watcher(
    etcd_server: EtcdServer,
) -> None:
    fill(etcd_server.endpoints, PREFIX, 200, 100)
    writes = etcd_server.endpoints
    with EtcdProxy(etcd_server) as proxy:
        direct = run_fleet(
            Fleet(etcd_server.endpoints, writes, PREFIX, mirrors=40, processes=2, seconds=2),
            Meter(etcd_server.metrics_url), timeout=60,
        )  # fmt: skip
        proxied = run_fleet(
            Fleet(proxy.endpoints, writes, PREFIX, mirrors=40, processes=2, seconds=2),
            Meter(etcd_server.metrics_url, proxy.metrics_url), timeout=60,
        )  # fmt: skip
    for figures in (direct, proxied):
        assert figures.converged == 40, figures
        assert figures.puts == 40 and figures.missed == 0, figures
        assert figures.states == {"ready": 40}, figures
    assert direct.watchers_end - direct.watchers_before == 40, direct
    # About one server watcher for the prefix: the proxy shares a server watcher with a
    # watch that starts no earlier than the next revision it has to deliver (a mirror
    # watches from its copy's next one), and merges a group of fewer than 5 into another.
    assert 1 <= proxied.watchers_end - proxied.watchers_before <= 2, proxied
