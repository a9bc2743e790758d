# parkapp production image: gunicorn serving wsgi:app on port 5000.
# Migrations run at start (docker-entrypoint.sh); set SKIP_MIGRATIONS=1 to skip them,
# e.g. for a Celery worker container built from the same image:
#   docker run IMAGE celery -A celery_worker.celery worker --loglevel=info
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
    && mkdir -p instance \
    && chown -R parkapp:parkapp instance

ENV PARKAPP_CONFIG=production
USER parkapp
EXPOSE 5000

ENTRYPOINT ["/app/docker-entrypoint.sh"]
CMD ["gunicorn", "-w", "4", "-b", "0.0.0.0:5000", "wsgi:app"]
