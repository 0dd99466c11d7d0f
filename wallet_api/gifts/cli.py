"""``wallet-api gifts expire``: expired gifts go back to their givers, once."""

from __future__ import annotations

import click

from wallet_api.clock import utcnow
from wallet_api.extensions import db
from wallet_api.extensions.problems import ApiError
from wallet_api.transfers.service import format_money

gifts = click.Group("gifts", help="Gifts.")


@gifts.command("expire")
def expire() -> None:
    """Refund every expired, unredeemed gift to its giver (safe to run again, and at once).

    Each gift is one transaction: its conditional status change and its refund commit
    together, so a gift another run (or a till) settled first is skipped, and a gift that
    cannot be refunded now (a closed wallet) is reported and left for a later run.
    """
    from wallet_api.gifts import service

    now = utcnow()
    refunded = skipped = failed = 0
    total = 0
    for gift_id in service.expired_gift_ids(now):
        try:
            gift = service.expire_gift(gift_id, now)
        except ApiError as exc:
            db.session.rollback()
            failed += 1
            click.echo(f"could not refund gift {gift_id}: {exc.detail}")
            continue
        if gift is None:
            db.session.rollback()
            skipped += 1
            continue
        db.session.commit()
        refunded += 1
        total += gift.amount
        money = format_money(gift.amount, gift.currency)
        click.echo(
            f"refunded gift {gift.id}: {money} to {gift.giver.first_name} (@{gift.giver.handle})"
        )
    db.session.commit()
    click.echo(
        f"gifts expire: {refunded} refunded ({total} cents), {skipped} settled meanwhile, "
        f"{failed} failed"
    )
