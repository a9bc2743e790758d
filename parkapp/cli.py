"""Project CLI commands (Flask-Security-Too adds `flask users` and `flask roles`)."""

import click
from flask.cli import with_appcontext


def register(app):
    """Attach the commands to the app."""
    app.cli.add_command(seed_demo)
    app.cli.add_command(ensure_roles_command)
    app.cli.add_command(analytics_rebuild)


@click.command("seed-demo")
@click.option("--if-empty", is_flag=True, help="Do nothing when the database already has lots.")
@click.option("--seed", default=7, show_default=True, help="Random seed for the booking history.")
@with_appcontext
def seed_demo(if_empty, seed):
    """Create demo lots, users and a few weeks of booking history."""
    from parkapp import demo

    if if_empty and demo.has_data():
        click.echo("Demo data already present; nothing to do.")
        return
    accounts = demo.seed(seed)
    click.echo("Demo data created. These passwords are shown once:")
    for email, password, role in accounts:
        click.echo(f"  {role:<9} {email:<28} {password}")
    click.echo("Promo codes to try on a lot's page:")
    for line in demo.promo_code_notes():
        click.echo(f"  {line}")


@click.command("ensure-roles")
@with_appcontext
def ensure_roles_command():
    """Create the admin, operator and user roles if missing."""
    from parkapp.accounts.users import ensure_roles

    ensure_roles()
    click.echo("Roles: admin, operator, user.")


@click.command("analytics-rebuild")
@with_appcontext
def analytics_rebuild():
    """Roll up every lot's analytics days again (after loading bookings with plain SQL)."""
    from parkapp.analytics import rollups as analytics_rollups

    lots = analytics_rollups.rebuild()
    click.echo(f"Analytics rolled up again; lots: {lots}.")
