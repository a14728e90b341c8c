"""When a tenant's devices may install updates or reboot: maintenance windows as instants.

A MaintenanceWindow is wall-clock time in the tenant's zone ("Saturdays at 22:00 for six
hours", "Patch Tuesday + 3 days at 02:00"). This module turns windows into concrete
openings, aware UTC datetimes the schedulers can compare with `now`:

- The local start stays the same wall-clock time across DST changes, so the UTC start of a
  weekly window shifts by an hour at the change. A start that does not exist that night
  (the spring-forward gap) moves forward to the first valid instant after the gap (02:30 on
  a night that jumps from 02:00 to 03:00 starts at 03:00). A start that happens twice (the
  fall-back hour) uses the first (fold=0).
- The duration is real elapsed time: a six-hour window is six hours long even on the night
  the clocks change, so its local end moves by an hour.
- An occurrence whose local start date falls in a blackout (inclusive dates) is skipped; one
  that starts before a blackout and runs into it is cut at the blackout's local midnight.
- Windows limited to rings apply only to those rings; a question about no ring in
  particular (`ring=None`) sees only the windows for all rings.
- A tenant without an active window for that purpose (and ring) is always open, except on
  blackout days: the openings are then the gaps between blackouts, the last open-ended.
- Overlapping or touching openings are merged; a merged opening names the window of its
  earliest occurrence.

Each public call reads the windows and the blackouts once, then computes in Python.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from math import ceil
from zoneinfo import ZoneInfo

from django.db.models import Q

from deployments.models import BlackoutPeriod, MaintenanceWindow, WindowPurpose, WindowRecurrence

__all__ = [
    "HORIZON",
    "CalendarEntry",
    "Opening",
    "local_instant",
    "next_opening",
    "nth_weekday",
    "openings",
    "patch_tuesday",
    "upcoming",
]

# next_opening looks this far ahead before it gives up.
HORIZON = timedelta(days=400)
# next_opening computes the schedule in steps of this size, so the usual answer (within a
# week or two) does not compute a year of occurrences.
_STEP = timedelta(days=35)
_TUESDAY = 1


@dataclass(frozen=True)
class Opening:
    """A span when work may run: aware UTC datetimes; `ends_at` None means open-ended.

    `window` is the MaintenanceWindow the opening comes from (the earliest one when several
    merged), None when the tenant has no window and is therefore always open.
    """

    starts_at: datetime
    ends_at: datetime | None
    window: MaintenanceWindow | None = None

    def contains(self, moment: datetime) -> bool:
        return self.starts_at <= moment and (self.ends_at is None or moment < self.ends_at)


@dataclass(frozen=True)
class CalendarEntry:
    """One occurrence of a window for the calendar page, with local times for display."""

    purpose: str
    window: MaintenanceWindow
    starts_at: datetime
    ends_at: datetime
    local_start: datetime
    local_end: datetime
    ring_names: tuple[str, ...]
    cut_by_blackout: bool

    @property
    def name(self) -> str:
        return self.window.name

    @property
    def duration(self) -> timedelta:
        return self.ends_at - self.starts_at


# --- calendar arithmetic ---------------------------------------------------------------


def patch_tuesday(year: int, month: int) -> date:
    """Microsoft's monthly release day: the second Tuesday of the month."""
    second = nth_weekday(year, month, 2, _TUESDAY)
    assert second is not None  # every month has a second Tuesday
    return second


def nth_weekday(year: int, month: int, nth: int, weekday: int) -> date | None:
    """The `nth` `weekday` (Monday = 0) of the month, `nth` = -1 the last; None if there is none."""
    first_weekday, days = calendar.monthrange(year, month)
    if nth == -1:
        last_weekday = (first_weekday + days - 1) % 7
        return date(year, month, days - (last_weekday - weekday) % 7)
    if not 1 <= nth <= 5:
        return None
    day = 1 + (weekday - first_weekday) % 7 + 7 * (nth - 1)
    return date(year, month, day) if day <= days else None


def _months(first: date, last: date) -> Iterator[tuple[int, int]]:
    year, month = first.year, first.month
    while (year, month) <= (last.year, last.month):
        yield year, month
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)


def _days(window: MaintenanceWindow, first: date, last: date) -> Iterator[date]:
    """The local dates in [first, last] on which `window` starts."""
    kind = window.recurrence
    if kind == WindowRecurrence.WEEKLY:
        wanted = set(window.weekdays or ())
        if not wanted:
            return
        day = first
        while day <= last:
            if day.weekday() in wanted:
                yield day
            day += timedelta(days=1)
        return
    if kind == WindowRecurrence.PATCH_TUESDAY:
        offset = timedelta(days=window.offset_days)
        for year, month in _months(first - offset, last - offset):
            day = patch_tuesday(year, month) + offset
            if first <= day <= last:
                yield day
        return
    for year, month in _months(first, last):
        if kind == WindowRecurrence.MONTHLY_DAY:
            if window.day_of_month is None:
                return
            day = date(year, month, min(window.day_of_month, calendar.monthrange(year, month)[1]))
        elif kind == WindowRecurrence.MONTHLY_NTH:
            if window.nth is None or window.nth_weekday is None:
                return
            day = nth_weekday(year, month, window.nth, window.nth_weekday)
        else:
            return
        if day is not None and first <= day <= last:
            yield day


# --- wall-clock time to instants -------------------------------------------------------


def local_instant(day: date, at: time, zone: tzinfo) -> datetime:
    """The UTC instant of wall-clock `at` on `day` in `zone`.

    Ambiguous (fall-back) times take the first occurrence; times in a spring-forward gap
    move forward to the first instant after the gap.
    """
    naive = datetime.combine(day, at.replace(tzinfo=None, fold=0))
    first = naive.replace(tzinfo=zone).astimezone(UTC)
    if first.astimezone(zone).replace(tzinfo=None) == naive:
        return first
    # In a gap: fold=1 reads the wall clock with the offset after the change, giving an
    # instant before the transition; fold=0 (above) gives one after it. Find the transition.
    before = int(naive.replace(tzinfo=zone, fold=1).astimezone(UTC).timestamp())
    after = int(first.timestamp())
    offset_after = first.astimezone(zone).utcoffset()
    while after - before > 1:
        middle = (before + after) // 2
        if datetime.fromtimestamp(middle, UTC).astimezone(zone).utcoffset() == offset_after:
            after = middle
        else:
            before = middle
    return datetime.fromtimestamp(after, UTC)


def tenant_zone(tenant) -> tzinfo:
    """The tenant's time zone (a Tenant's field is a ZoneInfo; a cached copy may hold its name)."""
    zone = tenant.time_zone
    return zone if isinstance(zone, tzinfo) else ZoneInfo(str(zone))


def _require_aware(**moments: datetime) -> None:
    for name, moment in moments.items():
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError(f"{name} must be an aware datetime")


# --- one tenant's schedule -------------------------------------------------------------


@dataclass(frozen=True)
class _Occurrence:
    window: MaintenanceWindow
    starts_at: datetime
    ends_at: datetime
    cut: bool


class _Schedule:
    """A tenant's windows of one purpose and its blackouts, loaded once."""

    def __init__(self, zone: tzinfo, windows: Iterable[MaintenanceWindow], blackouts: Iterable[BlackoutPeriod]):
        self.zone = zone
        self.windows = list(windows)
        self.blackouts = _merge_days((b.starts_on, b.ends_on) for b in blackouts)
        longest = max((w.duration_minutes for w in self.windows), default=0)
        # Occurrences that started this many days before a query can still reach into it.
        self.lookback = timedelta(days=ceil(longest / (24 * 60)) + 1)

    @classmethod
    def load(cls, tenant, *, purpose: str, ring, since: datetime) -> _Schedule:
        zone = tenant_zone(tenant)
        windows = MaintenanceWindow.objects.filter(tenant_id=tenant.pk, active=True, purpose=purpose)
        ring_id = getattr(ring, "pk", ring)
        if ring_id is None:
            windows = windows.filter(rings__isnull=True)
        else:
            windows = windows.filter(Q(rings__isnull=True) | Q(rings=ring_id)).distinct()
        windows = list(windows)
        first_day = since.astimezone(zone).date() - timedelta(days=8)
        blackouts = BlackoutPeriod.objects.filter(tenant_id=tenant.pk, ends_on__gte=first_day)
        return cls(zone, windows, blackouts)

    # blackouts

    def blacked_out(self, day: date) -> bool:
        return any(first <= day <= last for first, last in self.blackouts)

    def next_blackout(self, day: date) -> date | None:
        """The first blackout day after `day`."""
        return next((first for first, _last in self.blackouts if first > day), None)

    def midnight(self, day: date) -> datetime:
        return local_instant(day, time(0), self.zone)

    # occurrences

    def occurrences(self, start: datetime, end: datetime) -> list[_Occurrence]:
        """Occurrences of the windows that overlap [start, end), blackouts applied."""
        first_day = start.astimezone(self.zone).date() - self.lookback
        last_day = end.astimezone(self.zone).date()
        found = []
        for window in self.windows:
            for day in _days(window, first_day, last_day):
                starts_at = local_instant(day, window.start_time, self.zone)
                ends_at = starts_at + timedelta(minutes=window.duration_minutes)
                start_day = starts_at.astimezone(self.zone).date()
                if self.blacked_out(start_day):
                    continue
                blackout = self.next_blackout(start_day)
                cut = blackout is not None and self.midnight(blackout) < ends_at
                if cut:
                    ends_at = self.midnight(blackout)
                if starts_at < end and ends_at > start:
                    found.append(_Occurrence(window, starts_at, ends_at, cut))
        found.sort(key=lambda o: (o.starts_at, o.ends_at, o.window.pk))
        return found

    def openings(self, start: datetime, end: datetime) -> list[Opening]:
        """Merged openings overlapping [start, end), the first starting no earlier than `start`."""
        if not self.windows:
            spans = self._between_blackouts(start, end)
        else:
            spans = _merge(Opening(o.starts_at, o.ends_at, o.window) for o in self.occurrences(start, end))
        return [replace(s, starts_at=max(s.starts_at, start)) for s in spans]

    def _between_blackouts(self, start: datetime, end: datetime) -> list[Opening]:
        """Always open, except on blackout days."""
        spans = []
        cursor = start
        for first, last in self.blackouts:
            closes, reopens = self.midnight(first), self.midnight(last + timedelta(days=1))
            if reopens <= cursor:
                continue
            if closes > cursor:
                spans.append(Opening(cursor, closes))
            cursor = reopens
            if cursor >= end:
                break
        if cursor < end:
            spans.append(Opening(cursor, None))
        return [s for s in spans if s.starts_at < end]

    def next_opening(self, after: datetime) -> Opening | None:
        limit = after + HORIZON
        chunk_start = after
        while chunk_start < limit:
            chunk_end = min(chunk_start + _STEP, limit)
            found = self.openings(chunk_start, chunk_end)
            if found:
                return self._extend(found[0], limit)
            chunk_start = chunk_end
        return None

    def _extend(self, opening: Opening, limit: datetime) -> Opening:
        """Follow an opening that reaches past the computed chunk to its real end."""
        while opening.ends_at is not None and opening.ends_at < limit + _STEP:
            following = self.openings(opening.ends_at, opening.ends_at + _STEP)
            if not following or following[0].starts_at > opening.ends_at:
                break
            opening = replace(opening, ends_at=following[0].ends_at)
        return opening


def _merge_days(spans: Iterable[tuple[date, date]]) -> list[tuple[date, date]]:
    """Blackout date ranges, sorted, with overlapping and adjacent ranges joined."""
    merged: list[tuple[date, date]] = []
    for first, last in sorted(spans):
        if merged and first <= merged[-1][1] + timedelta(days=1):
            merged[-1] = (merged[-1][0], max(merged[-1][1], last))
        else:
            merged.append((first, last))
    return merged


def _merge(spans: Iterable[Opening]) -> list[Opening]:
    """Sorted openings with overlapping and touching ones joined."""
    merged: list[Opening] = []
    for span in sorted(spans, key=lambda s: s.starts_at):
        if merged and span.starts_at <= merged[-1].ends_at:
            if span.ends_at > merged[-1].ends_at:
                merged[-1] = replace(merged[-1], ends_at=span.ends_at)
        else:
            merged.append(span)
    return merged


# --- the interface ---------------------------------------------------------------------


def openings(
    tenant, *, start: datetime, end: datetime, purpose: str = WindowPurpose.INSTALL, ring=None
) -> list[Opening]:
    """The openings of `tenant` that overlap [start, end), sorted and merged.

    The first opening starts no earlier than `start` (one already running is given from
    `start`); ends are not clipped, so the last may reach beyond `end`. `ring` is a Ring, a
    ring id or None.
    """
    _require_aware(start=start, end=end)
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    if end <= start:
        return []
    return _Schedule.load(tenant, purpose=purpose, ring=ring, since=start).openings(start, end)


def next_opening(tenant, *, after: datetime, purpose: str = WindowPurpose.INSTALL, ring=None) -> Opening | None:
    """The first opening at or after `after`: if `after` falls inside one, from `after` to its end.

    None when nothing opens within HORIZON (400 days), e.g. a blackout that long.
    """
    _require_aware(after=after)
    after = after.astimezone(UTC)
    return _Schedule.load(tenant, purpose=purpose, ring=ring, since=after).next_opening(after)


def upcoming(tenant, *, now: datetime, days: int = 35) -> list[CalendarEntry]:
    """Install and reboot window occurrences from `now` for `days` days, for the calendar page.

    Every active window of the tenant, whatever its rings, one entry per occurrence (not
    merged), blackouts applied, sorted by start. Occurrences already running are included.
    """
    _require_aware(now=now)
    zone = tenant_zone(tenant)
    end = now + timedelta(days=days)
    windows = list(MaintenanceWindow.objects.filter(tenant_id=tenant.pk, active=True).prefetch_related("rings"))
    first_day = now.astimezone(zone).date() - timedelta(days=8)
    blackouts = list(BlackoutPeriod.objects.filter(tenant_id=tenant.pk, ends_on__gte=first_day))
    entries = []
    for purpose in WindowPurpose.values:
        schedule = _Schedule(zone, [w for w in windows if w.purpose == purpose], blackouts)
        for occurrence in schedule.occurrences(now, end):
            window = occurrence.window
            entries.append(
                CalendarEntry(
                    purpose=purpose,
                    window=window,
                    starts_at=occurrence.starts_at,
                    ends_at=occurrence.ends_at,
                    local_start=occurrence.starts_at.astimezone(zone),
                    local_end=occurrence.ends_at.astimezone(zone),
                    ring_names=tuple(ring.name for ring in window.rings.all()),
                    cut_by_blackout=occurrence.cut,
                )
            )
    entries.sort(key=lambda e: (e.starts_at, e.purpose, e.window.name))
    return entries
