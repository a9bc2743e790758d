"""Queue depth, read at scrape time: export jobs waiting and the Celery queue in Redis."""

import logging

import redis
from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from parkapp.extensions import db
from parkapp.models import ExportJob, JobStatus

log = logging.getLogger(__name__)
CELERY_QUEUE = "celery"  # the default queue; kombu keeps it as a Redis list of that name


class QueueCollector:
    """Asks the database and Redis on each scrape; runs inside the /metrics request."""

    def __init__(self, app):
        self.app = app

    def collect(self):
        """Yield the queue gauges; a source that does not answer is left out."""
        waiting = self._pending_exports()
        if waiting is not None:
            pending = GaugeMetricFamily(
                "parkapp_exports_pending", "Export jobs not yet started (status pending)."
            )
            pending.add_metric([], waiting)
            yield pending
        depth = self._celery_depth()
        if depth is not None:
            queue = GaugeMetricFamily(
                "parkapp_celery_queue_length", "Tasks waiting in the broker.", labels=["queue"]
            )
            queue.add_metric([CELERY_QUEUE], depth)
            yield queue

    def _pending_exports(self):
        try:
            return db.session.scalar(
                select(func.count(ExportJob.id)).where(ExportJob.status == JobStatus.PENDING)
            )
        except SQLAlchemyError as exc:
            db.session.rollback()
            log.warning("metrics: pending exports unavailable: %s", exc)
            return None

    def _celery_depth(self):
        url = self.app.config["CELERY"].get("broker_url", "")
        if not url.startswith(("redis://", "rediss://")):
            return None
        try:
            client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
            return client.llen(CELERY_QUEUE)
        except redis.RedisError as exc:
            log.warning("metrics: Redis queue length unavailable: %s", exc)
            return None


def registry(app):
    """A fresh registry with the queue collector for one scrape."""
    fresh = CollectorRegistry(auto_describe=False)
    fresh.register(QueueCollector(app))
    return fresh
