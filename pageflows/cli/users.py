"""`pageflows users hash`: the line to add to pageflows.toml for a console user.

Prompts for the password twice (never an argument: it would stay in the
shell's history) and prints a `[[users]]` table with its scrypt hash.
"""

from __future__ import annotations

import click
from werkzeug.security import generate_password_hash

from pageflows.service.users import NAME

MIN_PASSWORD = 10


@click.group("users")
def users() -> None:
    """People who may sign in to the web console ([[users]] in pageflows.toml)."""


@users.command("hash")
@click.argument("name")
@click.password_option("--password", prompt="Password", help="Asked for when not given.")
def hash_command(name: str, password: str) -> None:
    """Print the [[users]] table for NAME with the password's hash, for pageflows.toml."""
    if not NAME.match(name):
        raise click.BadParameter("1-64 letters, digits or . _ @ -", param_hint="NAME")
    if len(password) < MIN_PASSWORD:
        raise click.ClickException(f"use a password of {MIN_PASSWORD} characters or more")
    click.echo("[[users]]")
    click.echo(f'name = "{name}"')
    click.echo(f'password_hash = "{generate_password_hash(password)}"')
