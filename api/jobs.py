"""Where background jobs go: RQ queues on Redis, or this process when Redis is not set.

Queues are named by purpose: `default`, `tallies`, `notices`. Jobs take ids, run inside an app
context, and raise on failure so that RQ records it (and retries where the job asks for it).
"""

from __future__ import annotations

import logging

from flask import Flask
from redis import Redis
from rq import Queue, SimpleWorker

from api.core import PendingJob, db

log = logging.getLogger(__name__)

QUEUES = ("tallies", "notices", "default")


class RQRunner:
    """Sends jobs to RQ on Redis."""

    inline = False

    def __init__(self, redis: Redis):
        self.redis = redis

    def queue(self, name: str) -> Queue:
        return Queue(name, connection=self.redis)

    def submit(self, job: PendingJob):
        options = dict(job.options)
        if job.job_id:
            options["job_id"] = job.job_id
        return self.queue(job.queue).enqueue(job.func, *job.args, **options)


class InlineRunner:
    """Runs jobs in this process right after the commit (the embedded default).

    A failing job is logged and does not undo the request that asked for it: the data it
    works from is already committed, and the reconciler recomputes anything derived.
    """

    inline = True
    redis = None

    def submit(self, job: PendingJob):
        try:
            job.func(*job.args)
        except Exception:
            db.session.rollback()
            log.exception("in-process job %s failed", getattr(job.func, "__name__", job.func))
        return None


class AppWorker(SimpleWorker):
    """An RQ worker that runs each job inside a fresh app context of `app`.

    SimpleWorker runs jobs in the worker process itself: no fork per job, so the database
    connection pool is never shared across processes, and a job costs no fork.
    """

    def __init__(self, *args, app: Flask, **kwargs):
        super().__init__(*args, **kwargs)
        self.app = app

    def perform_job(self, job, queue):
        with self.app.app_context():
            try:
                return super().perform_job(job, queue)
            finally:
                db.session.remove()


def make_worker(app: Flask, queues=QUEUES, name: str | None = None) -> AppWorker:
    runner = app.extensions["jobs"]
    if runner.inline:
        raise RuntimeError("REDIS_URL is not set: jobs run in-process and need no worker")
    return AppWorker(
        [Queue(q, connection=runner.redis) for q in queues],
        connection=runner.redis,
        app=app,
        name=name,
    )
