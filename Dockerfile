# parkapp production image: gunicorn serving wsgi:app on port 5000 (gunicorn.conf.py sets up
# the shared Prometheus metrics folder). Migrations run at start (docker-entrypoint.sh); set
# SKIP_MIGRATIONS=1 to skip them, e.g. for a Celery worker or beat container built from the
# same image (docker-compose.yml runs all of them; docs/deploy.md):
#   docker run IMAGE celery -A celery_worker.celery worker --loglevel info
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Dependencies first so the layer is cached until requirements.txt changes.
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .
RUN chmod +x docker-entrypoint.sh \
    && useradd --system --create-home --uid 10001 parkapp \
    && mkdir -p instance/exports \
    && chown -R parkapp:parkapp instance

ENV PARKAPP_CONFIG=production \
    LOG_FORMAT=json \
    PROMETHEUS_MULTIPROC_DIR=/tmp/parkapp-metrics
USER parkapp
EXPOSE 5000

# Ready = the database (and Redis, when configured) answer; python: the slim image has no curl.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:5000/readyz', timeout=3)"]

ENTRYPOINT ["/app/docker-entrypoint.sh"]
CMD ["gunicorn", "-w", "4", "-k", "gthread", "--threads", "16", "-b", "0.0.0.0:5000", "wsgi:app"]
