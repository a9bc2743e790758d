"""parkapp: parking management and booking."""

import os

from flask import Flask

from config import CONFIGS, INSTANCE_DIR


def create_app(config_name=None, overrides=None):
    """Build the Flask application for the named configuration (tests may override keys)."""
    config_name = config_name or os.environ.get("PARKAPP_CONFIG", "development")
    config = CONFIGS[config_name]
    if hasattr(config, "check"):
        config.check()
    app = Flask(
        __name__,
        template_folder="../templates",
        static_folder="../static",
        instance_path=str(INSTANCE_DIR),
    )
    app.config.from_object(config)
    app.config.update(overrides or {})
    INSTANCE_DIR.mkdir(exist_ok=True)
    register_observability(app)
    register_input_checks(app)
    register_extensions(app)
    register_hooks()
    register_blueprints(app)
    register_api(app)
    register_errorhandlers(app)
    register_cli(app)
    celery_init_app(app)
    return app


def register_input_checks(app):
    """Depth-limited JSON bodies and storable text everywhere (parkapp.web.inputs)."""
    from parkapp.web import inputs

    inputs.init_app(app)


def register_observability(app):
    """JSON/text logs with request ids, Prometheus metrics, ProxyFix (parkapp/observability)."""
    from parkapp.observability import register_observability as register

    register(app)


def register_extensions(app):
    """Initialise every extension on the app."""
    from parkapp import auth_setup, dbsetup, security_headers
    from parkapp.core import mail as mailer
    from parkapp.core import redis_link
    from parkapp.extensions import cache, csrf, db, jwt, limiter, mail, migrate
    from parkapp.lots import live
    from parkapp.web import audit

    security_headers.init_app(app)
    db.init_app(app)
    dbsetup.configure_engine(app)
    migrate.init_app(app, db, directory=str(app.root_path + "/../migrations"), render_as_batch=True)
    mail.init_app(app)
    mailer.init_outbox(app)
    csrf.init_app(app)
    limiter.init_app(app)
    jwt.init_app(app)
    cache.init_app(app, config=dbsetup.cache_config(app))
    redis_link.init_app(app)
    live.init_app(app)
    audit.listen()
    auth_setup.init_security(app)


def register_hooks():
    """Let the higher domains subscribe to the lower ones' hooks."""
    from parkapp.analytics import rollups
    from parkapp.billing import membership_payments
    from parkapp.tasks import exports as export_tasks
    from parkapp.tasks import mail as mail_tasks
    from parkapp.waitlist import subscriptions

    rollups.listen()
    subscriptions.subscribe()
    export_tasks.subscribe()
    membership_payments.listen()
    mail_tasks.subscribe()


def register_blueprints(app):
    """Register the page blueprints: auth, user, admin, check."""
    from parkapp import links, templating
    from parkapp.admin import bp as admin_bp
    from parkapp.auth.views import bp as auth_bp
    from parkapp.check import bp as check_bp
    from parkapp.user import bp as user_bp

    for bp in (auth_bp, user_bp, admin_bp, check_bp):
        app.register_blueprint(bp)
    links.register()
    templating.register(app)


def register_api(app):
    """Register the REST API under /api/v1."""
    from flask_restx import apidoc

    from parkapp.api import api, api_bp
    from parkapp.extensions import csrf

    csrf.exempt(api_bp)
    app.register_blueprint(api_bp)
    app.add_url_rule("/api/docs", "api_docs", lambda: apidoc.ui_for(api))


def register_errorhandlers(app):
    """Install the central HTML/JSON error handlers."""
    from parkapp.errors import register

    register(app)


def register_cli(app):
    """Add the project's CLI commands."""
    from parkapp.cli import register

    register(app)


def celery_init_app(app):
    """Attach a Celery app whose tasks run inside the Flask app context."""
    from parkapp.tasks import celery_init_app as init

    return init(app)
