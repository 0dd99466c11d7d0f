"""The till: scans, charges, refunds and feedback on charges.

A new kind of code plugs in from its own package, in its ``register(api)``:
``register_code_kind(CodeKind(kind=..., prefix=..., resolve=..., charge=...,
problems=..., charge_problems=...))`` (``registry.py``). The resolver turns a scanned text
into a ``ScannedCode``; the charge handler settles a ``Sale`` and hands it to
``service.sell``, the one recipe of every charge. The problems are documented on the
scan and charge operations, so the counter registers after the kinds (``DOMAINS``).
Other domains act on charges through ``on_charge_recorded``, ``on_refund`` and
``on_feedback``. The counter imports none of the packages that plug in.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from wallet_api.extensions import Api


def register(api: Api) -> None:
    from wallet_api.counter.reports import charges_of_the_day
    from wallet_api.counter.routes import blp
    from wallet_api.stores.reports import add_to_daily_report

    add_to_daily_report(charges_of_the_day)
    api.register_blueprint(blp)
