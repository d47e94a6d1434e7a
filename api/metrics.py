"""Prometheus metrics (`prometheus_client`): what `/metrics` answers.

- Per request, counted as it is answered: `renovation_http_requests_total` and
  `renovation_http_request_duration_seconds` by method, endpoint (the URL rule, e.g.
  `/api/v1/projects/<int:project_id>`, never the raw path: ids and junk would make a series
  each) and status.
- At scrape time, read from the database and Redis (custom collectors; nothing is counted per
  request for them): RQ jobs per queue and state, stale tallies and the age of the oldest,
  notice deliveries by status, and whether each source answered.

Request counters live in each process. With `PROMETHEUS_MULTIPROC_DIR` set (before the
process starts; `prometheus_client` reads it when imported), every gunicorn worker writes them
to files there and a scrape of any worker sums them all.
"""

from __future__ import annotations

import logging
import os
import time

from flask import Flask, current_app, g, request
from prometheus_client import (
    CollectorRegistry,
    Counter,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy import text

from api.core import db, utcnow
from api.jobs import queue_counts
from notices.queries import deliveries_by_status
from voting.queries.tally import stale_tallies

log = logging.getLogger(__name__)

UNMATCHED = "<unmatched>"  # the endpoint label of a request no URL rule matched (404, 405)


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


class ScrapeCollector:
    """The gauges read when Prometheus scrapes, inside the scrape's request.

    A source that fails (the database, Redis) is reported as down in
    `renovation_metrics_source_up` and its gauges are left out of that scrape; the scrape
    itself still answers."""

    def describe(self):
        return []  # nothing to check when registered: no query outside a scrape

    def collect(self):
        up = GaugeMetricFamily(
            "renovation_metrics_source_up",
            "1 if the source answered this scrape, 0 if its figures are missing",
            labels=["source"],
        )
        sources = [("database", self._database)]
        if current_app.extensions["redis"] is not None:
            sources.append(("redis", self._redis))
        for name, read in sources:
            try:
                families = list(read())
            except Exception as exc:
                log.warning("metrics: %s did not answer: %s", name, type(exc).__name__)
                up.add_metric([name], 0)
                continue
            finally:
                if name == "database":
                    db.session.rollback()
            up.add_metric([name], 1)
            yield from families
        yield up

    def _database(self):
        if db.engine.dialect.name == "postgresql":  # a scrape never waits on a slow query
            db.session.execute(text("SET LOCAL statement_timeout = 2000"))
        now = utcnow()
        stale = stale_tallies()
        count = GaugeMetricFamily(
            "renovation_tallies_stale",
            "consultations whose tally misses ballots or the close (the reconcile recounts them)",
            value=len(stale),
        )
        oldest = min((since for _, since in stale), default=None)
        age = GaugeMetricFamily(
            "renovation_tallies_stale_max_age_seconds",
            "seconds since the oldest stale tally was computed (0 when none is stale)",
            value=max((now - oldest).total_seconds(), 0.0) if oldest else 0.0,
        )
        deliveries = GaugeMetricFamily(
            "renovation_notice_deliveries",
            "notice deliveries (one resident, one notice) by status",
            labels=["status"],
        )
        for status, number in deliveries_by_status().items():
            deliveries.add_metric([status], number)
        return [count, age, deliveries]

    def _redis(self):
        jobs = GaugeMetricFamily(
            "renovation_rq_jobs",
            "RQ jobs per queue and state (queued: the queue's depth; failed: kept for a look)",
            labels=["queue", "state"],
        )
        for (queue, state), number in queue_counts(current_app.extensions["redis"]).items():
            jobs.add_metric([queue, state], number)
        return [jobs]


class Metrics:
    """One app's metrics: its registry, the request counters, the scrape collectors."""

    def __init__(self):
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "renovation_http_requests",
            "HTTP requests answered, by method, endpoint (URL rule) and status",
            ("method", "endpoint", "status"),
            registry=self.registry,
        )
        self.latency = Histogram(
            "renovation_http_request_duration_seconds",
            "time to answer an HTTP request, by method, endpoint (URL rule) and status",
            ("method", "endpoint", "status"),
            registry=self.registry,
        )
        self.scrape = ScrapeCollector()
        if multiprocess_dir() is None:
            for collector in (ProcessCollector, PlatformCollector, GCCollector):
                collector(registry=self.registry)
            self.registry.register(self.scrape)

    def registry_to_scrape(self) -> CollectorRegistry:
        """This process's registry, or with `PROMETHEUS_MULTIPROC_DIR` one that sums every
        process's files (built per scrape, as `prometheus_client` asks)."""
        if multiprocess_dir() is None:
            return self.registry
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        registry.register(self.scrape)
        return registry


def _start_timer():
    g.metrics_started = time.perf_counter()


def _count(response):
    started = g.pop("metrics_started", None)
    if started is not None:
        rule = request.url_rule.rule if request.url_rule is not None else UNMATCHED
        labels = (request.method, rule, str(response.status_code))
        metrics = current_app.extensions["metrics"]
        metrics.requests.labels(*labels).inc()
        metrics.latency.labels(*labels).observe(time.perf_counter() - started)
    return response


def install(app: Flask) -> None:
    """Count and time every request of `app`, from before anything else runs."""
    app.extensions["metrics"] = Metrics()
    app.before_request_funcs.setdefault(None, []).insert(0, _start_timer)
    app.after_request(_count)
