"""Command-line interface: `flask --app competency <command>` or the `competency` script."""

from __future__ import annotations

import sys

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext

from competency.extensions import db
from competency.services.errors import ServiceError


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(2)


@click.command("init-db")
@with_appcontext
def init_db_command() -> None:
    """Create or upgrade the database schema by applying every migration."""
    from flask_migrate import upgrade

    upgrade()
    click.echo(f"database ready: {db.engine.url.render_as_string(hide_password=True)}")


@click.command("seed-demo")
@click.option(
    "--allow-production", is_flag=True, help="Load demo accounts even when COMPETENCY_ENV=production."
)
@with_appcontext
def seed_demo_command(allow_production: bool) -> None:
    """Load the demo content once (running it again adds nothing)."""
    from competency.services.demo import seed_demo

    if current_app.config["ENV_NAME"] == "production" and not allow_production:
        _fail("refusing to create demo accounts with known passwords in production (--allow-production)")
    seed_demo(log=lambda line: click.echo(f"  + {line}"))
    click.echo("demo content loaded")


@click.group("users")
def users_group() -> None:
    """Manage accounts."""


@users_group.command("create")
@click.argument("name")
@click.option("--role", required=True, help="platform_admin, institution_admin, trainer, teacher or student")
@click.option("--password", required=True)
@click.option(
    "--institution", "institution_name", default=None, help="Institution name (all roles but platform_admin)"
)
@click.option("--display-name", default=None)
@with_appcontext
def users_create(
    name: str, role: str, password: str, institution_name: str | None, display_name: str | None
) -> None:
    """Create an account."""
    from competency.services import accounts

    try:
        institution = accounts.find_institution(institution_name) if institution_name else None
        user = accounts.create_user(name, password, role, display_name=display_name, institution=institution)
    except ServiceError as exc:
        db.session.rollback()
        _fail(f"{exc.field}: {exc.message}" if exc.field else exc.message)
    click.echo(f"created {user.role} {user.username} (id {user.id})")


def register_commands(app: Flask) -> None:
    from competency.i18n_cli import translate_group

    app.cli.add_command(init_db_command)
    app.cli.add_command(seed_demo_command)
    app.cli.add_command(users_group)
    app.cli.add_command(translate_group)


def _create_app_for_cli() -> Flask:
    from competency.app import create_app
    from competency.config import ConfigError

    try:
        return create_app()
    except ConfigError as exc:
        _fail(str(exc))


def main() -> None:
    """Entry point of the `competency` console script."""
    FlaskGroup(create_app=_create_app_for_cli, add_default_commands=True)(prog_name="competency")
