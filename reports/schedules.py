"""When a report schedule runs next, what period its report covers, and who receives it.

Everything here is computed from the schedule and a clock passed in, without the database
(except `recipients`, which reads the tenant's client owners).

Wall-clock times are the tenant's (`Tenant.time_zone`), with the same rules as maintenance
windows (deployments.windows.local_instant): 08:00 stays 08:00 across daylight-saving changes; a
time in the spring-forward gap moves to the first instant after the gap; a time that happens
twice (fall back) runs at its first occurrence. A monthly schedule on a day the month lacks
(the 31st in April, the 29th in February) runs on the month's last day.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterator

from deployments.windows import local_instant
from deployments.windows import tenant_zone as zone
from reports.models import ReportSchedule, ScheduleCadence
from reports.services import default_period

__all__ = ["next_run", "period_for", "recipients", "zone"]


def _month_day(year: int, month: int, day: int) -> dt.date:
    return dt.date(year, month, min(day, calendar.monthrange(year, month)[1]))


def _days(schedule: ReportSchedule, first: dt.date) -> Iterator[dt.date]:
    """The schedule's local run days from `first` on, in order."""
    if schedule.cadence == ScheduleCadence.WEEKLY:
        day = first + dt.timedelta(days=(schedule.weekday - first.weekday()) % 7)
        while True:
            yield day
            day += dt.timedelta(days=7)
    elif schedule.cadence == ScheduleCadence.MONTHLY:
        year, month = first.year, first.month
        while True:
            day = _month_day(year, month, schedule.day_of_month)
            if day >= first:
                yield day
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)


def next_run(schedule: ReportSchedule, now: dt.datetime) -> dt.datetime | None:
    """The first run strictly after `now` (aware, UTC); None for a disabled schedule or one that
    runs after each deployment (those are started by the deployment, not the clock)."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be an aware datetime")
    if not schedule.enabled or schedule.cadence not in (ScheduleCadence.WEEKLY, ScheduleCadence.MONTHLY):
        return None
    tz = zone(schedule.tenant)
    # From the day before: a late time in a gap (some zones skip the hour before midnight)
    # moves into the next day; `> now` drops whatever is past.
    for day in _days(schedule, now.astimezone(tz).date() - dt.timedelta(days=1)):
        at = local_instant(day, schedule.time_of_day, tz)
        if at > now:
            return at
    return None  # unreachable: both cadences repeat forever


def period_for(schedule: ReportSchedule | None, tenant, run_at: dt.datetime) -> tuple[dt.date, dt.date]:
    """The days a monthly or executive report of this run covers, in the tenant's time zone.

    A weekly run covers the seven days before its run day; a monthly run (and a delivery whose
    schedule is gone) the last complete calendar month.
    """
    if schedule is not None and schedule.cadence == ScheduleCadence.WEEKLY:
        today = run_at.astimezone(zone(tenant)).date()
        return today - dt.timedelta(days=7), today - dt.timedelta(days=1)
    return default_period(tenant, run_at)


def recipients(schedule: ReportSchedule) -> list[str]:
    """The client owners (active users, if the schedule includes them) and the extra addresses,
    each once (compared without regard to case), in that order."""
    from patches.emails import client_owner_addresses

    found = client_owner_addresses(schedule.tenant) if schedule.include_client_owners else []
    seen, result = set(), []
    for address in [*found, *schedule.extra_recipients]:
        address = address.strip()
        if address and address.lower() not in seen:
            seen.add(address.lower())
            result.append(address)
    return result
