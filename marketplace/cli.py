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

    @app.cli.command("refresh-availability")
    @click.option("--batch-size", default=50, show_default=True)
    @click.option(
        "--stale-only",
        is_flag=True,
        help="Only listings whose summary has a day whose first slot has passed, and approved "
        "listings without a search row (cheap; run every few minutes so `soonest` "
        "ordering stays exact).",
    )
    def refresh_availability(batch_size: int, stale_only: bool) -> None:
        """Sweep lapsed holds and roll every approved listing's availability summary forward.

        Safe beside live traffic: each listing is refreshed under its own lock, in short
        transactions of `batch-size` listings.
        """
        import sqlalchemy as sa

        from marketplace.availability.models import AvailabilityDay
        from marketplace.bookings.service import expire_all_lapsed_holds
        from marketplace.db import mark_listing_changed, utc_now
        from marketplace.payments.providers import get_gateway
        from marketplace.practitioners.models import Practitioner
        from marketplace.search.models import SearchListing

        expired = expire_all_lapsed_holds(utc_now(), get_gateway())
        db.session.commit()
        if stale_only:
            stale = sa.select(AvailabilityDay.practitioner_id).where(
                AvailabilityDay.first_bookable_until < utc_now()
            )
            # And approved listings without a search row (after an upgrade rebuilt them).
            unindexed = sa.select(Practitioner.id).where(
                Practitioner.is_public,
                ~sa.exists().where(SearchListing.practitioner_id == Practitioner.id),
            )
            listing_ids = sorted(
                set(db.session.scalars(stale.distinct())) | set(db.session.scalars(unindexed))
            )
        else:
            listing_ids = db.session.scalars(
                sa.select(Practitioner.id).where(Practitioner.is_public).order_by(Practitioner.id)
            ).all()
        for start in range(0, len(listing_ids), batch_size):
            now = utc_now()
            for listing_id in listing_ids[start : start + batch_size]:
                mark_listing_changed(db.session, listing_id, now)
            db.session.commit()  # rewrites the batch's rows, in id order
        click.echo(f"Expired {len(expired)} lapsed holds; refreshed {len(listing_ids)} listings.")

    @app.cli.command("seed-demo")
    @click.option("--if-empty", is_flag=True, help="Seed only a database without any users.")
    def seed_demo_command(if_empty: bool) -> None:
        """Load the demo marketplace (idempotent): listings in five cities, demo accounts."""
        import sqlalchemy as sa

        from marketplace.accounts.models import User
        from marketplace.db import utc_now
        from marketplace.demo import seed_demo

        if app.config.get("SESSION_COOKIE_SECURE"):
            raise click.ClickException("Demo data has public passwords: not in production.")
        if if_empty and db.session.scalar(sa.select(sa.func.count()).select_from(User)):
            click.echo("The database already has users; demo data not loaded.")
            return
        result = seed_demo(utc_now())
        db.session.commit()
        if not result.created:
            click.echo("Demo data is already loaded.")
            return
        click.echo("Demo marketplace loaded. Sign in with:")
        for role, email, password in result.credentials:
            click.echo(f"  {role:<13} {email}  {password}")

    @app.cli.command("worker")
    @click.option("--burst", is_flag=True, help="Deliver what is queued and due, then exit.")
    @click.option(
        "--sweep-interval",
        type=click.FloatRange(min=0, min_open=True),
        default=None,
        help="Seconds between sweeps for due rows (default OUTBOX_SWEEP_SECONDS).",
    )
    def worker_command(burst: bool, sweep_interval: float | None) -> None:
        """Deliver the email outbox: an RQ worker when REDIS_URL is set, plus a periodic sweep.

        Without REDIS_URL it only sweeps, delivering due rows (retries, reminders) here.
        """
        import threading

        from marketplace.notifications.delivery import sweep_until

        interval = sweep_interval or app.config["OUTBOX_SWEEP_SECONDS"]
        if app.config.get("REDIS_URL"):
            from marketplace.notifications.queue import run_worker

            run_worker(app, burst=burst, sweep_seconds=interval)
            return
        sweep_until(app, interval, threading.Event(), burst=burst)

    @app.cli.command("outbox-sweep")
    def outbox_sweep_command() -> None:
        """Queue (or, without Redis, deliver here) every outbox row that is due and not sent."""
        from marketplace.notifications.delivery import sweep

        count = sweep()
        click.echo(f"Swept {count} due messages.")
