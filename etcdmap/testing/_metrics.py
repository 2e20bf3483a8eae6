"""Reading the Prometheus ``/metrics`` page of an etcd process (a server or a gRPC proxy).

Private to the project's tests and benchmarks: ``scrape`` reads every sample of a plain
``http://`` metrics URL (``EtcdServer.metrics_url``), ``total`` sums the samples of one
metric whose labels match, e.g. the Range RPCs a server handled::

    total(scrape(server.metrics_url), "grpc_server_handled_total", grpc_method="Range")
"""

from __future__ import annotations

import re
import urllib.request

__all__ = ["scrape", "total"]

#: ``name{label="value",...} 12.5`` (the labels optional; no timestamps in etcd's output).
_SAMPLE = re.compile(r"^([A-Za-z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)$")
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def scrape(url: str, timeout: float = 5.0) -> list[tuple[str, dict[str, str], float]]:
    """Every sample at ``url`` as ``(name, labels, value)``; ``OSError`` if it does not
    answer within ``timeout`` seconds."""
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - our server
        text = response.read().decode()
    samples = []
    for line in text.splitlines():
        match = _SAMPLE.match(line)
        if match is not None:
            name, labels, value = match.groups()
            samples.append((name, dict(_LABEL.findall(labels or "")), float(value)))
    return samples


def total(
    samples: list[tuple[str, dict[str, str], float]], name: str, **labels: str
) -> float:
    """The sum of the samples of metric ``name`` that carry every label of ``labels``."""
    return sum(
        value
        for sample, have, value in samples
        if sample == name and all(have.get(key) == want for key, want in labels.items())
    )
