#!/bin/sh
# Apply database migrations, then run the container's command (gunicorn by default).
set -e

if [ "${SKIP_MIGRATIONS:-0}" != "1" ]; then
    flask --app wsgi db upgrade
fi

exec "$@"
