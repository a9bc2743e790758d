#!/usr/bin/env bash
# Start the whole app: a Celery worker with embedded beat in the background and the
# gunicorn web server. Stops both when either exits or on Ctrl-C / SIGTERM.
# Port: $PORT (default 5000). Run from anywhere; paths are relative to the project root.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
PORT="${PORT:-5000}"
mkdir -p instance  # the embedded (no Redis) Celery broker keeps its SQLite files here

worker_pid=""
web_pid=""

stop() {
    local pid
    for pid in "$web_pid" "$worker_pid"; do
        if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
            kill -TERM "$pid" 2>/dev/null || true
        fi
    done
    for pid in "$web_pid" "$worker_pid"; do
        if [[ -n "$pid" ]]; then
            wait "$pid" 2>/dev/null || true
        fi
    done
}

on_exit() {
    local rc=$?
    trap - INT TERM EXIT
    stop
    exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "run-all: starting celery worker + beat"
.venv/bin/celery -A celery_worker.celery worker -B --loglevel=info --concurrency 2 &
worker_pid=$!

echo "run-all: starting gunicorn on http://127.0.0.1:${PORT}"
# gunicorn is the app's foreground process; it runs as a job so that the traps above
# fire at once on a signal instead of after gunicorn has exited.
# gthread: a live availability stream holds a thread, never a whole worker (docs/deploy.md).
.venv/bin/gunicorn -w 2 -k gthread --threads 16 -b "127.0.0.1:${PORT}" wsgi:app &
web_pid=$!

# Return as soon as either process exits; the EXIT trap then stops the other one.
set +e
wait -n "$web_pid" "$worker_pid"
rc=$?
set -e
if ! kill -0 "$web_pid" 2>/dev/null; then
    echo "run-all: gunicorn exited (status $rc); stopping the worker" >&2
else
    echo "run-all: celery worker exited (status $rc); stopping gunicorn" >&2
fi
exit "$rc"
