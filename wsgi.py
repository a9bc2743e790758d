"""WSGI entry point for gunicorn: `gunicorn wsgi:app`."""

from parkapp import create_app

app = create_app()
