"""Celery side: the request id travels in task headers; tasks are counted; logs stay ours.

Signals rather than code in the Task class, so any publish (a view, a retry, another task)
stamps the header, and beat and the worker keep the log format the app configured.
"""

import logging

from celery import signals

from parkapp.observability import metrics, request_id

HEADER = "request_id"  # Celery message header; workers see it as task.request.request_id
log = logging.getLogger(__name__)
_settings = {"log_level": "", "worker_metrics_port": 0, "multiproc_dir": ""}


def connect(app):
    """Connect the receivers once per process (dispatch_uid makes repeats no-ops)."""
    # Signals are process-wide; the app built last (the worker's only one) sets these.
    _settings.update(
        log_level=app.config.get("LOG_LEVEL"),
        worker_metrics_port=app.config.get("WORKER_METRICS_PORT", 0),
        multiproc_dir=app.config.get("PROMETHEUS_MULTIPROC_DIR"),
    )
    signals.before_task_publish.connect(_stamp, weak=False, dispatch_uid="parkapp.obs.stamp")
    signals.task_prerun.connect(_bind, weak=False, dispatch_uid="parkapp.obs.bind")
    signals.task_postrun.connect(_count_run, weak=False, dispatch_uid="parkapp.obs.run")
    signals.task_failure.connect(_count_failure, weak=False, dispatch_uid="parkapp.obs.fail")
    signals.setup_logging.connect(_keep_logging, weak=False, dispatch_uid="parkapp.obs.logs")
    signals.worker_init.connect(_serve_metrics, weak=False, dispatch_uid="parkapp.obs.serve")


def _stamp(headers=None, **_):
    rid = request_id.current()
    if rid and headers is not None:
        headers.setdefault(HEADER, rid)


def _bind(task=None, **_):
    # An eager task runs inside the caller, whose id is already bound. A worker's task gets
    # its message's id, or none: the last task's id must not linger on the next one.
    if task is None or task.request.is_eager:
        return
    request_id.bind(getattr(task.request, HEADER, None))


def _count_run(task=None, state=None, **_):
    if task is not None:
        metrics.TASKS_RUN.labels(task.name, state or "UNKNOWN").inc()


def _count_failure(sender=None, **_):
    if sender is not None:
        metrics.TASKS_FAILED.labels(sender.name).inc()


def _keep_logging(loglevel=None, **_):
    # Any receiver here stops Celery from replacing the root handler the app factory set.
    # The worker's --loglevel applies only when LOG_LEVEL was not given.
    if loglevel and not _settings["log_level"]:
        logging.getLogger().setLevel(loglevel)


def _serve_metrics(**_):
    """With WORKER_METRICS_PORT, the worker's main process serves /metrics for its pool."""
    port = _settings["worker_metrics_port"]
    if port:
        metrics.serve_worker_metrics(port, _settings["multiproc_dir"])
        log.info("worker metrics on :%s/metrics", port)
