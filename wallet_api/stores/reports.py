"""A store's day in its own time zone: what the store's tills did that day.

The figures come from the domains that own them, each registered here: the counter's
sales, refunds, top items, promotions and feedback (``counter/reports.py``), loyalty's
apologies. Stores imports neither, since both build on stores.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from wallet_api.clock import utcnow
from wallet_api.extensions.auth import Principal
from wallet_api.ledger.service import currency
from wallet_api.stores.errors import NotStoreStaff
from wallet_api.stores.models import Store
from wallet_api.stores.service import acts_for

# Some fields of DailyReportSchema for a store's [start, end).
DayFigures = Callable[[Store, datetime, datetime], Mapping[str, Any]]
_day_figures: list[DayFigures] = []


def add_to_daily_report(figures: DayFigures) -> None:
    if figures not in _day_figures:  # a second app in one process registers it again
        _day_figures.append(figures)


def daily_report_figures() -> list[DayFigures]:
    return list(_day_figures)


def day_bounds(store: Store, day: date) -> tuple[datetime, datetime]:
    """Local midnight to local midnight in UTC; a day of a DST change has 23 or 25 hours."""
    zone = ZoneInfo(store.timezone)
    start = datetime.combine(day, time.min, zone)
    end = datetime.combine(day + timedelta(days=1), time.min, zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def daily_report(principal: Principal, store: Store, day: date | None) -> dict[str, Any]:
    if not acts_for(principal, store.id):
        raise NotStoreStaff("Only staff of this store and admins read its reports.")
    day = day or utcnow().astimezone(ZoneInfo(store.timezone)).date()
    start, end = day_bounds(store, day)
    report: dict[str, Any] = {
        "store": store,
        "date": day,
        "timezone": store.timezone,
        "currency": currency(),
        "start": start,
        "end": end,
    }
    for figures in _day_figures:
        report.update(figures(store, start, end))
    return report
