"""Celery entry point: `celery -A celery_worker.celery worker -B`."""

from parkapp import create_app

celery = create_app().extensions["celery"]
