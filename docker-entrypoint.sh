#!/bin/sh
# Empty the Prometheus multiprocess folder, apply database migrations, then run the
# container's command (gunicorn by default; a Celery worker or beat with SKIP_MIGRATIONS=1).
set -e

if [ -n "${PROMETHEUS_MULTIPROC_DIR:-}" ]; then
    # A restarted container keeps /tmp: last run's values must not be added in.
    mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
    find "$PROMETHEUS_MULTIPROC_DIR" -maxdepth 1 -name '*.db' -delete
fi

if [ "${SKIP_MIGRATIONS:-0}" != "1" ]; then
    flask --app wsgi db upgrade
fi

exec "$@"
