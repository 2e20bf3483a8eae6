"""Client metrics and logs: hooks for ``Client(..., hooks=...)`` / ``AsyncClient(..., hooks=...)``.

Off by default: a client without hooks builds its gRPC channels without interceptors, so
calls cost exactly what they cost without this module. With hooks, every RPC (unary calls,
watch, keep-alive and snapshot streams) is reported through gRPC client interceptors, plus
the client's retries and watch resumes.

- ``PrometheusMetrics`` (needs ``prometheus_client``: ``pip install etcdmap[metrics]``)
  counts RPCs by method and outcome, their latencies, retries, watch resumes and mirror lag.
- ``LoggingHooks`` logs each RPC on the ``etcdmap.rpc`` logger with structured ``extra``
  fields (``rpc_method``, ``rpc_code``, ``rpc_seconds``).
- Subclass ``ClientHooks`` for anything else, e.g. OpenTelemetry spans (add the trace
  context to ``metadata`` in ``rpc_started``).

Example::

    registry = prometheus_client.CollectorRegistry()
    client = Client(endpoints, hooks=[PrometheusMetrics(registry)])

Loggers, one per component: ``etcdmap.client`` (endpoints, auto-sync), ``etcdmap.watch``,
``etcdmap.lease``, ``etcdmap.leasing``, ``etcdmap.rpc`` (``LoggingHooks``).
"""

from __future__ import annotations

import logging
from typing import Any

from ._core.hooks import ClientHooks
from ._core.public import publish

__all__ = ["ClientHooks", "LoggingHooks", "PrometheusMetrics"]


class PrometheusMetrics(ClientHooks):
    """Prometheus metrics of one or more clients.

    Metrics (``etcdmap_`` with the default namespace):
    ``rpc_started_total{method}``, ``rpc_handled_total{method, code}``,
    ``rpc_duration_seconds{method}`` (histogram; a stream's whole life for streams),
    ``rpc_retries_total{method, code}``, ``watch_resumes_total{endpoint}``,
    ``mirror_lag_revisions{mirror}`` (gauge). ``method`` is etcd's ``Service/Method``
    (``KV/Range``), ``code`` the gRPC status (``OK``, ``UNAVAILABLE``, ...).

    Parameters
    ----------
    registry:
        The ``prometheus_client.CollectorRegistry`` to register with (the default global
        ``REGISTRY`` when None). Register one ``PrometheusMetrics`` per registry and share
        it between clients.
    namespace:
        Prefix of the metric names.
    """

    def __init__(self, registry: Any = None, *, namespace: str = "etcdmap") -> None:
        try:
            import prometheus_client as prom
        except ImportError:
            raise ImportError(
                "PrometheusMetrics needs prometheus_client: pip install etcdmap[metrics]"
            ) from None
        kw: dict[str, Any] = {"namespace": namespace}
        if registry is not None:
            kw["registry"] = registry
        self.started = prom.Counter(
            "rpc_started", "etcd RPCs started, by method", ["method"], **kw
        )
        self.handled = prom.Counter(
            "rpc_handled", "etcd RPCs completed, by method and gRPC status code",
            ["method", "code"], **kw,
        )
        self.duration = prom.Histogram(
            "rpc_duration_seconds", "etcd RPC latency (streams: lifetime), by method",
            ["method"], **kw,
        )
        self.retries = prom.Counter(
            "rpc_retries", "etcd RPCs sent again by the retry policy, by method and cause",
            ["method", "code"], **kw,
        )
        self.watch_resumes = prom.Counter(
            "watch_resumes", "watch streams re-opened after a failure, by endpoint",
            ["endpoint"], **kw,
        )
        self.mirror_lag_revisions = prom.Gauge(
            "mirror_lag_revisions", "revisions a mirror is behind the newest it knows of",
            ["mirror"], **kw,
        )

    def rpc_started(self, method: str, metadata: list[tuple[str, str]]) -> object:
        self.started.labels(method).inc()
        return None

    def rpc_finished(self, method: str, code: str, seconds: float, state: object) -> None:
        self.handled.labels(method, code).inc()
        self.duration.labels(method).observe(seconds)

    def rpc_retried(self, method: str, code: str) -> None:
        self.retries.labels(method, code).inc()

    def watch_resumed(self, endpoint: str) -> None:
        self.watch_resumes.labels(endpoint).inc()

    def mirror_lag(self, name: str, revisions: int) -> None:
        self.mirror_lag_revisions.labels(name).set(revisions)


class LoggingHooks(ClientHooks):
    """Log every RPC, retry and watch resume on ``logger`` (``etcdmap.rpc``) at ``level``
    (DEBUG; failed RPCs, retries and resumes at INFO), with the facts as ``extra`` fields
    for structured log handlers: ``rpc_method``, ``rpc_code``, ``rpc_seconds``,
    ``etcd_endpoint``."""

    def __init__(self, logger: str | logging.Logger = "etcdmap.rpc", level: int = logging.DEBUG):
        self.log = logging.getLogger(logger) if isinstance(logger, str) else logger
        self.level = level

    def rpc_finished(self, method: str, code: str, seconds: float, state: object) -> None:
        level = self.level if code == "OK" else max(self.level, logging.INFO)
        if self.log.isEnabledFor(level):
            self.log.log(
                level, "%s %s in %.3fs", method, code, seconds,
                extra={"rpc_method": method, "rpc_code": code, "rpc_seconds": seconds},
            )

    def rpc_retried(self, method: str, code: str) -> None:
        self.log.info(
            "%s retried after %s", method, code, extra={"rpc_method": method, "rpc_code": code}
        )

    def watch_resumed(self, endpoint: str) -> None:
        self.log.info(
            "watch stream resumed on %s", endpoint, extra={"etcd_endpoint": endpoint}
        )


publish(__name__)
