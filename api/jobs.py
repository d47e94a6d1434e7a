"""Where background jobs go: RQ queues on Redis, or this process when Redis is not set.

Queues are named by purpose: `default`, `tallies`, `notices`. Jobs take ids, run inside an app
context, and raise on failure so that RQ records it (and retries where the job asks for it).
"""

from __future__ import annotations

import logging
import math
import time
import uuid

from flask import Flask
from redis import Redis
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.retry import Retry
from rq import Queue, SimpleWorker
from rq.exceptions import NoSuchJobError
from rq.job import Job

from api.core import PendingJob, db, periodic
from api.core.trace import request_id_bound

log = logging.getLogger(__name__)

QUEUES = ("tallies", "notices", "default")
DEDUPE_TTL_SECONDS = 60  # a lost job's marker expires; the reconciler covers the gap


def redis_options(timeout: float) -> dict:
    """The options of every Redis client the app builds (RQ's queues, the tally markers,
    WeChat's token storage, the rate limiter's storage): connecting and each answer wait at
    most `timeout` seconds and a timeout is not tried again, so a hung Redis costs a call that
    long and no more. A refused or dropped connection (Redis restarting) is tried once more."""
    return {
        "socket_timeout": timeout,
        "socket_connect_timeout": timeout,
        "retry": Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
    }


def connect_redis(url: str, timeout: float) -> Redis:
    """A Redis client on `url` with `redis_options(timeout)`."""
    return Redis.from_url(url, **redis_options(timeout))


class RQRunner:
    """Sends jobs to RQ on Redis."""

    inline = False

    def __init__(self, redis: Redis):
        self.redis = redis

    def queue(self, name: str) -> Queue:
        return Queue(name, connection=self.redis)

    def submit(self, job: PendingJob):
        """Enqueue; a Redis failure is logged, not raised: the commit it follows stands, and
        the reconciler recomputes whatever the lost job would have."""
        options = dict(job.options)
        if job.request_id:
            options["meta"] = {**options.get("meta", {}), "request_id": job.request_id}
        options["job_id"] = job.job_id or (
            f"{job.func.__name__}-{uuid.uuid4().hex[:16]}" if job.dedupe_key else None
        )
        try:
            if job.dedupe_key and not self.redis.set(
                job.dedupe_key, options["job_id"], nx=True, ex=DEDUPE_TTL_SECONDS
            ):
                return None  # one is queued already and has not started
            return self.queue(job.queue).enqueue(job.func, *job.args, **options)
        except RedisError as exc:
            log.warning("could not enqueue %s: %s", job.func.__name__, type(exc).__name__)
            return None

    def release(self, key: str, settle_seconds: float = 0.0) -> None:
        if settle_seconds > 0:
            time.sleep(settle_seconds)
        try:
            self.redis.delete(key)
        except RedisError as exc:  # the marker expires by itself
            log.warning("could not release %s: %s", key, type(exc).__name__)

    def schedule(self, when, func, args, queue, job_id):
        try:
            try:
                Job.fetch(job_id, connection=self.redis)
                return  # already scheduled (or ran): never reuse a job id
            except NoSuchJobError:
                pass
            self.queue(queue).enqueue_at(when, func, *args, job_id=job_id)
        except RedisError as exc:
            log.warning("could not schedule %s: %s", job_id, type(exc).__name__)


class InlineRunner:
    """Runs jobs in this process right after the commit (the embedded default).

    A failing job is logged and does not undo the request that asked for it: the data it
    works from is already committed, and the reconciler recomputes anything derived.
    """

    inline = True
    redis = None

    def submit(self, job: PendingJob):
        name = getattr(job.func, "__name__", job.func)
        with request_id_bound(job.request_id):
            started = time.perf_counter()
            try:
                job.func(*job.args)
            except Exception:
                db.session.rollback()
                log.exception("in-process job %s failed", name)
            else:
                took = (time.perf_counter() - started) * 1000
                log.info("in-process job %s done in %.0f ms", name, took)
        return None

    def release(self, key: str, settle_seconds: float = 0.0) -> None:
        pass

    def schedule(self, when, func, args, queue, job_id):
        pass


class AppWorker(SimpleWorker):
    """An RQ worker that runs each job inside a fresh app context of `app`.

    SimpleWorker runs jobs in the worker process itself: no fork per job, so the database
    connection pool is never shared across processes, and a job costs no fork.

    With `keep_periodic`, the worker keeps the periodic jobs alive: as it starts, and then every
    `app.config["PERIODIC_CHECK_SECONDS"]` between jobs (it wakes from waiting for one to do
    so), it asks for the next run of each (`api.core.periodic.schedule_all`, a no-op for a run
    already asked for) and restarts RQ's scheduler process if it has died (it dies with its
    Redis connection). A Redis flushed or restarted without persistence loses every scheduled
    run; they resume within a check and a period, without restarting the worker.
    """

    def __init__(self, *args, app: Flask, keep_periodic: bool = False, **kwargs):
        self.app = app
        self.keep_periodic = keep_periodic
        self.periodic_check_seconds = app.config["PERIODIC_CHECK_SECONDS"]
        self._periodic_checked_at: float | None = None
        self._burst = False
        super().__init__(*args, **kwargs)

    def work(self, burst: bool = False, *args, **kwargs):
        self._burst = burst
        return super().work(burst, *args, **kwargs)

    @property
    def dequeue_timeout(self) -> int:
        """How long one wait for a job lasts: no longer than a periodic check, so that an
        idle worker still checks."""
        timeout = super().dequeue_timeout
        if self.keep_periodic:
            timeout = min(timeout, math.ceil(self.periodic_check_seconds))
        return max(1, timeout)

    def _periodic_check_due(self) -> bool:
        return self.keep_periodic and (
            self._periodic_checked_at is None
            or time.monotonic() - self._periodic_checked_at >= self.periodic_check_seconds
        )

    @property
    def should_run_maintenance_tasks(self) -> bool:
        return super().should_run_maintenance_tasks or self._periodic_check_due()

    def run_maintenance_tasks(self) -> None:
        if self._periodic_check_due():
            self.keep_periodic_jobs()
        if super().should_run_maintenance_tasks:
            super().run_maintenance_tasks()

    def keep_periodic_jobs(self) -> None:
        """Restart a dead scheduler; ask for the next run of every periodic job."""
        # The first check comes as the worker starts, just after work() started the scheduler
        # (or found another worker's running); a burst worker runs none.
        first, self._periodic_checked_at = self._periodic_checked_at is None, time.monotonic()
        scheduler = self.scheduler
        process = getattr(scheduler, "_process", None)
        dead = process is None or not process.is_alive()
        if scheduler is not None and dead and not first and not self._burst:
            try:
                scheduler.acquire_locks(auto_start=True)  # as RQ does every 10 minutes
            except RedisError as exc:
                log.warning("could not restart the scheduler: %s", type(exc).__name__)
        with self.app.app_context():
            periodic.schedule_all()

    def perform_job(self, job, queue, *args, **kwargs):
        # RQ 3 passes an `execution` as well; pass through whatever this RQ version gives.
        # The job's log lines (its own and RQ's "Job OK" or traceback) carry the id of the
        # request that enqueued it.
        with self.app.app_context(), request_id_bound(job.meta.get("request_id")):
            try:
                return super().perform_job(job, queue, *args, **kwargs)
            finally:
                db.session.remove()


def make_worker(
    app: Flask, queues=QUEUES, name: str | None = None, keep_periodic: bool = False
) -> AppWorker:
    """A worker on `queues` of the app's Redis; with `keep_periodic`, it also keeps the
    periodic jobs scheduled (see `AppWorker`)."""
    runner = app.extensions["jobs"]
    if runner.inline:
        raise RuntimeError("REDIS_URL is not set: jobs run in-process and need no worker")
    # The worker's own client: RQ lengthens its answer timeout to outlast the blocking pop,
    # which must not lengthen the app's (the jobs it runs still use the app's short one).
    connection = connect_redis(app.config["REDIS_URL"], app.config["REDIS_TIMEOUT_SECONDS"])
    return AppWorker(
        [Queue(q, connection=connection) for q in queues],
        connection=connection,
        app=app,
        name=name,
        keep_periodic=keep_periodic,
    )


def describe_queues(runner: RQRunner) -> list[str]:
    """One line per queue and registry, then one per failed or scheduled job."""
    lines = []
    for name in QUEUES:
        queue = runner.queue(name)
        registries = {
            "queued": queue.count,
            "started": queue.started_job_registry.count,
            "scheduled": queue.scheduled_job_registry.count,
            "failed": queue.failed_job_registry.count,
        }
        lines.append(f"{name}: " + ", ".join(f"{k} {v}" for k, v in registries.items()))
        for job_id in queue.failed_job_registry.get_job_ids()[:20]:
            job = Job.fetch(job_id, connection=runner.redis)
            result = job.latest_result()
            last_line = (result.exc_string or "").strip().splitlines()[-1:] if result else []
            lines.append(f"  failed {job_id} {job.func_name}: {' '.join(last_line)}")
        for job_id in queue.scheduled_job_registry.get_job_ids()[:20]:
            lines.append(f"  scheduled {job_id}")
    return lines


def queue_counts(redis: Redis) -> dict[tuple[str, str], int]:
    """Jobs per (queue, state) in one round trip, read-only: RQ's own `count` cleans the
    registries first, a write that a scrape should not do."""
    asked = []
    pipe = redis.pipeline(transaction=False)
    for name in QUEUES:
        queue = Queue(name, connection=redis)
        pipe.llen(queue.key)
        asked.append((name, "queued"))
        for state, registry in (
            ("started", queue.started_job_registry),
            ("scheduled", queue.scheduled_job_registry),
            ("deferred", queue.deferred_job_registry),
            ("failed", queue.failed_job_registry),
        ):
            pipe.zcard(registry.key)
            asked.append((name, state))
    return dict(zip(asked, pipe.execute(), strict=True))
