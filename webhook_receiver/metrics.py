"""Prometheus metrics of one receiver (own registry, so tests can build several apps)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector

_PREFIX = "aiops_rca_receiver"


class ReceiverMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.requests = Counter(
            f"{_PREFIX}_requests", "Requests by endpoint and outcome (created, duplicate, spooled, ignored, "
            "unauthorized, too_large, bad_json, unrecognized, unavailable, ...).",
            ["endpoint", "outcome"], registry=self.registry,
        )
        self.latency = Histogram(
            f"{_PREFIX}_request_duration_seconds", "Time from request to response, by endpoint.",
            ["endpoint"], registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.incidents_created = Counter(
            f"{_PREFIX}_incidents_created", "Incidents created on the API server, by source.",
            ["source"], registry=self.registry,
        )
        self.duplicates = Counter(
            f"{_PREFIX}_duplicates", "Alerts for an Incident that already existed, by how that was known "
            "(cache, inflight, api, spool).", ["via"], registry=self.registry,
        )
        self.refires = Counter(
            f"{_PREFIX}_refires", "Alerts that re-fired after their run's Incident was resolved: a new occurrence "
            "linked to it was created.", registry=self.registry,
        )
        self.spooled = Counter(
            f"{_PREFIX}_spooled", "Alerts written to the spool because the API server was unreachable or slow.",
            registry=self.registry,
        )
        self.replayed = Counter(
            f"{_PREFIX}_replayed", "Spooled alerts delivered to the API server, by result (created, duplicate, "
            "rejected).", ["result"], registry=self.registry,
        )
        self.spool_depth = Gauge(
            f"{_PREFIX}_spool_depth", "Alerts waiting in the spool.", registry=self.registry,
        )
        self.spool_bytes = Gauge(
            f"{_PREFIX}_spool_bytes", "Bytes of the alerts waiting in the spool.", registry=self.registry,
        )
        self.spool_limit = Gauge(
            f"{_PREFIX}_spool_limit", "The spool's bounds: most alerts (unit=files) and bytes (unit=bytes) it holds; "
            "when either is reached alerts are answered 503 with Retry-After.", ["unit"], registry=self.registry,
        )
        # process_resident_memory_bytes and friends: the receiver's own memory, for outage dashboards.
        ProcessCollector(registry=self.registry)
