"""Celery wired the way Flask documents it: tasks run inside the app context."""

from celery import Celery, Task


def celery_init_app(app):
    """Create the Celery app from app.config["CELERY"] and store it on the Flask app."""

    class FlaskTask(Task):
        def __call__(self, *args, **kwargs):
            with app.app_context():
                return self.run(*args, **kwargs)

    celery_app = Celery(app.name, task_cls=FlaskTask)
    celery_app.config_from_object(app.config["CELERY"])
    celery_app.set_default()
    app.extensions["celery"] = celery_app
    return celery_app
