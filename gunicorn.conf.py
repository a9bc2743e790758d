"""gunicorn settings, read from the project root by `gunicorn wsgi:app`: shared metrics, and
psycopg2 made cooperative under gevent workers (`-k gevent`, psycogreen).

Each worker process keeps its Prometheus values in files under PROMETHEUS_MULTIPROC_DIR and
/metrics adds every worker's up, so a scrape is right whichever worker answers it. Without
the variable, a private folder is made for this gunicorn and removed when it stops; a given
folder is emptied at start, since a previous run's files would be added in.
"""

import os
import shutil
import tempfile
from pathlib import Path

_made_here = None
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    # Set before any worker imports the app: prometheus_client reads it at import.
    _made_here = tempfile.mkdtemp(prefix="parkapp-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = _made_here


def on_starting(server):
    """Start from an empty metrics folder."""
    folder = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.db"):
        stale.unlink()


def child_exit(server, worker):
    """Drop a dead worker's live gauges (its counters stay in the totals)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def post_worker_init(worker):
    """Under gevent workers, let psycopg2 wait cooperatively (psycogreen), so that one
    request waiting on PostgreSQL does not stop the worker's other requests."""
    if type(worker).__name__.startswith("Gevent"):
        from psycogreen.gevent import patch_psycopg

        patch_psycopg()


def on_exit(server):
    """Remove the folder if this gunicorn made it."""
    if _made_here:
        shutil.rmtree(_made_here, ignore_errors=True)
