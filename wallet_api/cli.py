"""The ``wallet-api`` command: Flask's CLI with the service's own commands.

Built in: ``run`` (Flask), ``db upgrade`` and friends (Flask-Migrate), ``openapi write``
and ``openapi print`` (flask-smorest).
"""

from __future__ import annotations

import sys

import click
from flask import Flask
from flask.cli import FlaskGroup

from wallet_api.extensions import db


def main() -> None:
    cli = FlaskGroup(
        create_app=lambda: __import__("wallet_api").create_app(),
        help="Bean Wallet service commands.",
    )
    cli.main(prog_name="wallet-api")


def register_commands(app: Flask) -> None:
    @app.cli.command("create-admin")
    @click.option("--email", required=True)
    @click.option("--first-name", default="Admin", show_default=True)
    @click.option("--handle", default=None, help="Defaults to the email's local part.")
    @click.password_option(envvar="WALLET_ADMIN_PASSWORD")
    def create_admin(email: str, first_name: str, handle: str | None, password: str) -> None:
        """Create the first admin (or make an existing account an admin)."""
        from wallet_api.auth import service as auth
        from wallet_api.auth.models import Role

        email = email.strip().lower()
        user = auth.find_user_by_email(email)
        if user is None:
            user = auth.register_user(
                email=email,
                password=password,
                first_name=first_name,
                handle=(handle or email.split("@")[0]).lower(),
                role=Role.ADMIN,
            )
        else:
            auth.set_role(user, Role.ADMIN)
        db.session.commit()
        click.echo(f"admin: {user.email} ({user.id})")

    @app.cli.command("seed-demo")
    def seed_demo() -> None:
        """Load a demo store, menu and accounts (safe to run again; not in production)."""
        from wallet_api.demo import DEMO_LOGINS, seed_demo_data

        if app.config["WALLET_ENV"] == "production":
            # The demo admin's password and the scanner's secret are published (README, the
            # output below): in production they would be anyone's way in.
            raise click.ClickException(
                "seed-demo refuses to run with WALLET_ENV=production: the demo accounts "
                "have published passwords. Use create-admin instead."
            )
        from wallet_api.stores.demo import seed_stores

        seed_demo_data()
        scanner = seed_stores()  # already seeded above; safe again, and returns the scanner
        db.session.commit()
        click.echo("Demo data is loaded. Sign in with:")
        for role, email, password in DEMO_LOGINS:
            click.echo(f"  {role:<9} {email}  /  {password}")
        click.echo(f"Scanner of {scanner.store.name} (POST /v1/auth/device-token):")
        click.echo(f"  device_id {scanner.device.id}  /  device_secret {scanner.secret}")

    ledger = click.Group("ledger", help="Ledger checks.")
    app.cli.add_command(ledger)

    @ledger.command("verify")
    def verify() -> None:
        """Check the ledger invariants; exits 1 on any violation."""
        from wallet_api.ledger.service import verify_ledger

        failed = False
        for check in verify_ledger():
            click.echo(f"{'ok  ' if check.ok else 'FAIL'}  {check.name}")
            for violation in check.violations:
                click.echo(f"        {violation}")
            failed = failed or not check.ok
        click.echo("ledger verify: " + ("FAILED" if failed else "all invariants hold"))
        if failed:
            sys.exit(1)

    from wallet_api.gifts.cli import gifts

    app.cli.add_command(gifts)

    idempotency = click.Group("idempotency", help="Idempotency keys.")
    app.cli.add_command(idempotency)

    @idempotency.command("purge")
    def purge() -> None:
        """Delete idempotency keys older than 48 hours."""
        from wallet_api.extensions.idempotency import purge_expired_keys

        removed = purge_expired_keys()
        db.session.commit()
        click.echo(f"removed {removed} idempotency keys")
