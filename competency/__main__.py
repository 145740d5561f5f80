"""The `competency` console script (and `python -m competency`): the Flask CLI with the app's commands.

It lives apart from `competency.cli` because the app factory registers those commands: the commands module
must not import the factory back.
"""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import FlaskGroup

from competency.app import create_app
from competency.config import ConfigError


def _create_app_for_cli() -> Flask:
    try:
        return create_app()
    except ConfigError as exc:
        click.echo(f"error: {exc}", err=True)
        raise SystemExit(2) from exc


def main() -> None:
    """Entry point of the `competency` console script."""
    FlaskGroup(create_app=_create_app_for_cli, add_default_commands=True)(prog_name="competency")


if __name__ == "__main__":
    main()
