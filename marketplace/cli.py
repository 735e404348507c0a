"""Flask CLI commands: `flask --app wsgi <command>`."""

import click
from flask import Flask

from marketplace.accounts.schemas import PASSWORD_MIN_LENGTH
from marketplace.extensions import db


def register(app: Flask) -> None:
    @app.cli.command("create-admin")
    @click.argument("email")
    @click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
    @click.option("--name", default="Administrator")
    def create_admin(email: str, password: str, name: str) -> None:
        """Create an admin account, or make an existing user an admin."""
        from marketplace.accounts.service import ensure_admin

        if len(password) < PASSWORD_MIN_LENGTH:
            raise click.BadParameter(
                f"at least {PASSWORD_MIN_LENGTH} characters", param_hint="--password"
            )
        user, created = ensure_admin(email, password, name)
        db.session.commit()
        click.echo(f"{'Created' if created else 'Promoted'} admin {user.email}")
