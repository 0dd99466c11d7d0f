"""``wallet-api ledger verify``: passes on a good ledger, names what is broken otherwise."""

from __future__ import annotations

import sqlalchemy as sa

from tests.support.wallet import ledger_verify_command as verify
from tests.support.wallet import top_up


def test_verify_passes_on_a_good_ledger(api, app):
    anna = api.register("Anna")
    top_up(api, anna, 1_000)
    code, output = verify(app)
    assert code == 0, output
    assert "ok    every cached balance equals the sum of its entries" in output
    assert "ledger verify: all invariants hold" in output
    assert "FAIL" not in output


def _set_wallet_balance(app, user_id: str, delta: int) -> None:
    from wallet_api.extensions import db

    with app.app_context():
        db.session.execute(
            sa.text("UPDATE ledger_accounts SET balance = balance + :d WHERE key = :k"),
            {"d": delta, "k": f"wallet:{user_id}"},
        )
        db.session.commit()


def test_verify_fails_and_names_a_tampered_balance(api, app):
    anna = api.register("Anna")
    top_up(api, anna, 1_000)
    _set_wallet_balance(app, anna.id, 250)
    try:
        code, output = verify(app)
        assert code == 1, output
        assert "FAIL  every cached balance equals the sum of its entries" in output
        assert f"wallet:{anna.id}: cached 1250, entries 1000" in output
        assert "ledger verify: FAILED" in output
    finally:
        _set_wallet_balance(app, anna.id, -250)  # the suite checks the ledger after each test
    assert verify(app)[0] == 0
