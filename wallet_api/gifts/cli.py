"""``wallet-api gifts expire``: expired gifts go back to their givers, once."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import datetime

import click
from flask.cli import AppGroup

from wallet_api.clock import utcnow
from wallet_api.extensions import db
from wallet_api.extensions.money import format_money
from wallet_api.extensions.problems import ApiError

# An AppGroup runs its commands inside the app context, also under Flask's test runner.
gifts = AppGroup("gifts", help="Gifts.")


def run_expiry(now: datetime, echo: Callable[[str], None]) -> Counter[str]:
    """Refund every gift expired at ``now``, one transaction per gift; count what happened.

    Each gift's conditional status change and its refund commit together, so a gift that
    another run (or a till, a moment before the expiry) settled first is skipped, and one
    that cannot be refunded now (a closed wallet) is reported and left for a later run.
    """
    from wallet_api.gifts import service

    counts: Counter[str] = Counter()
    for gift_id in service.expired_gift_ids(now):
        db.session.rollback()  # a fresh transaction per gift
        try:
            gift = service.expire_gift(gift_id, now)
        except ApiError as exc:
            db.session.rollback()
            counts["failed"] += 1
            echo(f"could not refund gift {gift_id}: {exc.detail}")
            continue
        if gift is None:
            db.session.rollback()
            counts["settled meanwhile"] += 1
            continue
        db.session.commit()
        counts["refunded"] += 1
        counts["cents"] += gift.amount
        giver = gift.giver
        money = format_money(gift.amount, gift.currency)
        echo(f"refunded gift {gift.id}: {money} to {giver.first_name} (@{giver.handle})")
    db.session.rollback()
    return counts


@gifts.command("expire")
def expire() -> None:
    """Refund every expired, unredeemed gift to its giver (safe to run again, and at once)."""
    counts = run_expiry(utcnow(), click.echo)
    click.echo(
        f"gifts expire: {counts['refunded']} refunded ({counts['cents']} cents), "
        f"{counts['settled meanwhile']} settled meanwhile, {counts['failed']} failed"
    )
