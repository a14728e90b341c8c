"""Maintenance windows as instants: recurrences, DST, blackouts, rings, always-open.

Every expected instant below is worked out by hand from the zone rules:
Europe/Berlin is UTC+1 (CET) and UTC+2 (CEST), changing 2026-03-29 02:00 -> 03:00 and
2026-10-25 03:00 -> 02:00; America/New_York is UTC-5 (EST) and UTC-4 (EDT), changing
2026-03-08 02:00 -> 03:00 and 2026-11-01 02:00 -> 01:00.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from deployments.models import BlackoutPeriod, MaintenanceWindow, Ring
from deployments.windows import (
    Opening,
    local_instant,
    next_opening,
    nth_weekday,
    openings,
    patch_tuesday,
    upcoming,
)
from tests.factories import TenantFactory

pytestmark = pytest.mark.django_db

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
MON, TUE, WED, THU, FRI, SAT, SUN = range(7)


@pytest.fixture
def berlin():
    return TenantFactory(time_zone="Europe/Berlin")


@pytest.fixture
def new_york():
    return TenantFactory(time_zone="America/New_York")


def utc(year, month, day, hour=0, minute=0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def make_window(tenant, name="Nightly", *, rings=(), **fields) -> MaintenanceWindow:
    values = {
        "purpose": "install",
        "recurrence": "weekly",
        "weekdays": [SUN],
        "start_time": time(2, 30),
        "duration_minutes": 60,
    }
    values.update(fields)
    window = MaintenanceWindow.objects.create(tenant=tenant, name=name, **values)
    if rings:
        window.rings.set(rings)
    return window


def blackout(tenant, starts_on, ends_on, reason="Month-end close") -> BlackoutPeriod:
    return BlackoutPeriod.objects.create(tenant=tenant, starts_on=starts_on, ends_on=ends_on, reason=reason)


def spans(found) -> list[tuple[datetime, datetime | None]]:
    return [(o.starts_at, o.ends_at) for o in found]


def local_starts(tenant, start, end, **kwargs) -> list[datetime]:
    zone = ZoneInfo(str(tenant.time_zone))
    return [o.starts_at.astimezone(zone).replace(tzinfo=None) for o in openings(tenant, start=start, end=end, **kwargs)]


# --- DST ---------------------------------------------------------------------------------


def test_a_start_in_the_berlin_spring_forward_gap_moves_to_the_end_of_the_gap(berlin):
    window = make_window(berlin, weekdays=[SUN], start_time=time(2, 30), duration_minutes=60)

    found = openings(berlin, start=utc(2026, 3, 20), end=utc(2026, 4, 7))

    assert spans(found) == [
        (utc(2026, 3, 22, 1, 30), utc(2026, 3, 22, 2, 30)),  # 02:30 CET
        (utc(2026, 3, 29, 1, 0), utc(2026, 3, 29, 2, 0)),  # 02:30 does not exist: 03:00 CEST
        (utc(2026, 4, 5, 0, 30), utc(2026, 4, 5, 1, 30)),  # 02:30 CEST
    ]
    assert found[1].starts_at.astimezone(BERLIN).time() == time(3, 0)
    assert all(o.window == window for o in found)


def test_a_start_in_the_new_york_spring_forward_gap_moves_to_the_end_of_the_gap(new_york):
    make_window(new_york, weekdays=[SUN], start_time=time(2, 30), duration_minutes=60)

    found = openings(new_york, start=utc(2026, 3, 1), end=utc(2026, 3, 16))

    assert spans(found) == [
        (utc(2026, 3, 1, 7, 30), utc(2026, 3, 1, 8, 30)),  # 02:30 EST
        (utc(2026, 3, 8, 7, 0), utc(2026, 3, 8, 8, 0)),  # 02:30 does not exist: 03:00 EDT
        (utc(2026, 3, 15, 6, 30), utc(2026, 3, 15, 7, 30)),  # 02:30 EDT
    ]


def test_an_ambiguous_new_york_start_uses_the_first_occurrence(new_york):
    make_window(new_york, weekdays=[SUN], start_time=time(1, 30), duration_minutes=60)

    found = openings(new_york, start=utc(2026, 10, 31), end=utc(2026, 11, 2))

    # 01:30 EDT; an hour of real time later the clock shows 01:30 again (EST).
    assert spans(found) == [(utc(2026, 11, 1, 5, 30), utc(2026, 11, 1, 6, 30))]
    assert found[0].ends_at.astimezone(NEW_YORK).replace(tzinfo=None) == datetime(2026, 11, 1, 1, 30)


def test_an_ambiguous_berlin_start_uses_the_first_occurrence(berlin):
    make_window(berlin, weekdays=[SUN], start_time=time(2, 30), duration_minutes=60)

    found = openings(berlin, start=utc(2026, 10, 24), end=utc(2026, 10, 26))

    assert spans(found) == [(utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 1, 30))]  # 02:30 CEST to 02:30 CET


@pytest.mark.parametrize(
    ("zone", "start", "expected"),
    [
        # Saturday 22:00 for six hours of real time, the night the clocks go forward / back.
        ("Europe/Berlin", utc(2026, 3, 27), (utc(2026, 3, 28, 21), utc(2026, 3, 29, 3), time(5, 0))),
        ("Europe/Berlin", utc(2026, 10, 23), (utc(2026, 10, 24, 20), utc(2026, 10, 25, 2), time(3, 0))),
        ("America/New_York", utc(2026, 3, 6), (utc(2026, 3, 8, 3), utc(2026, 3, 8, 9), time(5, 0))),
        ("America/New_York", utc(2026, 10, 30), (utc(2026, 11, 1, 2), utc(2026, 11, 1, 8), time(3, 0))),
    ],
)
def test_a_window_across_the_change_lasts_its_real_duration(zone, start, expected):
    tenant = TenantFactory(time_zone=zone)
    make_window(tenant, weekdays=[SAT], start_time=time(22, 0), duration_minutes=6 * 60)

    [found] = openings(tenant, start=start, end=start + timedelta(days=3))

    starts_at, ends_at, local_end = expected
    assert (found.starts_at, found.ends_at) == (starts_at, ends_at)
    assert found.ends_at - found.starts_at == timedelta(hours=6)
    assert found.starts_at.astimezone(ZoneInfo(zone)).time() == time(22, 0)
    assert found.ends_at.astimezone(ZoneInfo(zone)).time() == local_end


@pytest.mark.parametrize(
    ("zone", "before", "after"),
    [
        ("Europe/Berlin", utc(2026, 3, 25, 1), utc(2026, 4, 1, 0)),
        ("Europe/Berlin", utc(2026, 10, 21, 0), utc(2026, 10, 28, 1)),
        ("America/New_York", utc(2026, 3, 4, 7), utc(2026, 3, 11, 6)),
        ("America/New_York", utc(2026, 10, 28, 6), utc(2026, 11, 4, 7)),
    ],
)
def test_a_weekly_window_keeps_its_local_time_and_shifts_in_utc(zone, before, after):
    tenant = TenantFactory(time_zone=zone)
    make_window(tenant, weekdays=[WED], start_time=time(2, 0), duration_minutes=120)

    found = openings(tenant, start=before - timedelta(hours=1), end=after + timedelta(hours=1))

    assert [o.starts_at for o in found] == [before, after]
    assert abs((after - before) - timedelta(days=7)) == timedelta(hours=1)
    assert {o.starts_at.astimezone(ZoneInfo(zone)).time() for o in found} == {time(2, 0)}
    assert {o.ends_at - o.starts_at for o in found} == {timedelta(hours=2)}


@pytest.mark.parametrize(
    ("zone", "day", "at", "expected"),
    [
        ("Europe/Berlin", date(2026, 3, 29), time(2, 0), utc(2026, 3, 29, 1)),
        ("Europe/Berlin", date(2026, 3, 29), time(2, 59), utc(2026, 3, 29, 1)),
        ("Europe/Berlin", date(2026, 3, 29), time(3, 0), utc(2026, 3, 29, 1)),
        ("Europe/Berlin", date(2026, 10, 25), time(2, 0), utc(2026, 10, 25, 0)),
        ("America/New_York", date(2026, 3, 8), time(2, 0), utc(2026, 3, 8, 7)),
        ("America/New_York", date(2026, 11, 1), time(1, 0), utc(2026, 11, 1, 5)),
        ("America/New_York", date(2026, 11, 1), time(2, 0), utc(2026, 11, 1, 7)),
        # Lord Howe Island moves its clocks by half an hour: 02:00 -> 02:30 (UTC+11).
        ("Australia/Lord_Howe", date(2026, 10, 4), time(2, 10), utc(2026, 10, 3, 15, 30)),
    ],
)
def test_local_instant(zone, day, at, expected):
    assert local_instant(day, at, ZoneInfo(zone)) == expected


# --- recurrences -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("year", "month", "expected"),
    [
        (2026, 1, date(2026, 1, 13)),
        (2026, 2, date(2026, 2, 10)),
        (2026, 3, date(2026, 3, 10)),
        (2026, 4, date(2026, 4, 14)),
        (2026, 9, date(2026, 9, 8)),  # the month starts on a Tuesday
        (2026, 11, date(2026, 11, 10)),
        (2026, 12, date(2026, 12, 8)),
        (2027, 1, date(2027, 1, 12)),
    ],
)
def test_patch_tuesday(year, month, expected):
    assert patch_tuesday(year, month) == expected
    assert expected.weekday() == TUE


def test_patch_tuesday_plus_three_days(berlin):
    make_window(berlin, recurrence="patch_tuesday", weekdays=[], offset_days=3, start_time=time(2, 0))

    starts = local_starts(berlin, utc(2026, 1, 1), utc(2026, 4, 1))

    assert starts == [datetime(2026, 1, 16, 2), datetime(2026, 2, 13, 2), datetime(2026, 3, 13, 2)]


def test_patch_tuesday_plus_twenty_days_crosses_into_the_next_month(berlin):
    make_window(berlin, recurrence="patch_tuesday", weekdays=[], offset_days=20, start_time=time(2, 0))

    # February's own occurrence falls in March; January's falls in February.
    assert local_starts(berlin, utc(2026, 2, 1), utc(2026, 3, 1)) == [datetime(2026, 2, 2, 2)]
    assert local_starts(berlin, utc(2026, 3, 1), utc(2026, 4, 1)) == [
        datetime(2026, 3, 2, 2),
        datetime(2026, 3, 30, 2),  # 02:00 CEST, the day after the change
    ]
    # December 2026 (8th + 20) lands in the next year.
    assert local_starts(berlin, utc(2026, 12, 20), utc(2027, 1, 10)) == [datetime(2026, 12, 28, 2)]
    assert local_starts(berlin, utc(2027, 1, 10), utc(2027, 2, 10)) == [datetime(2027, 2, 1, 2)]


def test_a_monthly_day_past_the_end_of_the_month_is_its_last_day(berlin):
    make_window(berlin, recurrence="monthly_day", weekdays=[], day_of_month=31, start_time=time(23, 0))

    starts = local_starts(berlin, utc(2026, 1, 1), utc(2026, 5, 2))

    assert starts == [
        datetime(2026, 1, 31, 23),
        datetime(2026, 2, 28, 23),
        datetime(2026, 3, 31, 23),
        datetime(2026, 4, 30, 23),
    ]


def test_the_last_friday_of_the_month(berlin):
    make_window(berlin, recurrence="monthly_nth", weekdays=[], nth=-1, nth_weekday=FRI, start_time=time(20, 0))

    starts = local_starts(berlin, utc(2026, 1, 1), utc(2026, 5, 1))

    assert starts == [
        datetime(2026, 1, 30, 20),
        datetime(2026, 2, 27, 20),
        datetime(2026, 3, 27, 20),
        datetime(2026, 4, 24, 20),
    ]


def test_a_month_without_a_fifth_monday_has_no_occurrence(berlin):
    make_window(berlin, recurrence="monthly_nth", weekdays=[], nth=5, nth_weekday=MON, start_time=time(1, 0))

    starts = local_starts(berlin, utc(2026, 1, 1), utc(2026, 7, 1))

    assert starts == [datetime(2026, 3, 30, 1), datetime(2026, 6, 29, 1)]


@pytest.mark.parametrize(
    ("nth", "weekday", "expected"),
    [
        (1, SUN, date(2026, 3, 1)),
        (2, MON, date(2026, 3, 9)),
        (5, MON, date(2026, 3, 30)),
        (5, TUE, date(2026, 3, 31)),
        (5, WED, None),
        (-1, TUE, date(2026, 3, 31)),
        (-1, WED, date(2026, 3, 25)),
    ],
)
def test_nth_weekday(nth, weekday, expected):
    assert nth_weekday(2026, 3, nth, weekday) == expected


def test_several_weekdays_and_inactive_windows(berlin):
    make_window(berlin, "Weeknights", weekdays=[MON, WED, FRI], start_time=time(1, 0))
    make_window(berlin, "Retired", weekdays=[TUE], start_time=time(1, 0), active=False)

    starts = local_starts(berlin, utc(2026, 5, 31, 12), utc(2026, 6, 7, 12))

    assert starts == [datetime(2026, 6, 1, 1), datetime(2026, 6, 3, 1), datetime(2026, 6, 5, 1)]


# --- blackouts ---------------------------------------------------------------------------


def test_occurrences_starting_on_blackout_days_are_skipped(berlin):
    make_window(berlin, "Daily", weekdays=list(range(7)), start_time=time(2, 0))
    blackout(berlin, date(2026, 6, 10), date(2026, 6, 12))

    starts = local_starts(berlin, utc(2026, 6, 7, 12), utc(2026, 6, 14, 12))

    assert starts == [datetime(2026, 6, d, 2) for d in (8, 9, 13, 14)]


def test_an_occurrence_running_into_a_blackout_is_cut_at_its_local_midnight(berlin):
    make_window(berlin, "Tuesday night", weekdays=[TUE], start_time=time(22, 0), duration_minutes=6 * 60)
    blackout(berlin, date(2026, 6, 10), date(2026, 6, 12))

    found = openings(berlin, start=utc(2026, 6, 1), end=utc(2026, 6, 20))

    assert spans(found) == [
        (utc(2026, 6, 2, 20), utc(2026, 6, 3, 2)),
        (utc(2026, 6, 9, 20), utc(2026, 6, 9, 22)),  # cut at 2026-06-10 00:00 CEST
        (utc(2026, 6, 16, 20), utc(2026, 6, 17, 2)),
    ]
    # Inside the blackout, the next opening is the first one after it.
    assert next_opening(berlin, after=utc(2026, 6, 9, 23)).starts_at == utc(2026, 6, 16, 20)


def test_a_blackout_longer_than_the_horizon_means_no_opening(berlin):
    make_window(berlin)
    blackout(berlin, date(2026, 1, 1), date(2027, 12, 31), reason="Migration freeze")

    assert next_opening(berlin, after=utc(2026, 1, 1)) is None


# --- rings -------------------------------------------------------------------------------


@pytest.fixture
def rings(berlin):
    return (
        Ring.objects.create(tenant=berlin, name="Pilot", position=1),
        Ring.objects.create(tenant=berlin, name="Broad", position=2),
    )


def test_windows_limited_to_rings_apply_only_to_those_rings(berlin, rings):
    pilot, broad = rings
    make_window(berlin, "Everyone", weekdays=[MON], start_time=time(2, 0))
    make_window(berlin, "Pilot midweek", weekdays=[WED], start_time=time(2, 0), rings=[pilot])
    week = {"start": utc(2026, 6, 1), "end": utc(2026, 6, 8)}

    assert local_starts(berlin, **week) == [datetime(2026, 6, 1, 2)]
    assert local_starts(berlin, **week, ring=broad) == [datetime(2026, 6, 1, 2)]
    assert local_starts(berlin, **week, ring=pilot) == [datetime(2026, 6, 1, 2), datetime(2026, 6, 3, 2)]
    assert local_starts(berlin, **week, ring=pilot.pk) == [datetime(2026, 6, 1, 2), datetime(2026, 6, 3, 2)]


def test_a_ring_without_its_own_or_a_shared_window_is_always_open(berlin, rings):
    pilot, broad = rings
    window = make_window(berlin, "Pilot midweek", weekdays=[WED], start_time=time(2, 0), rings=[pilot])
    after = utc(2026, 6, 1, 9)

    assert next_opening(berlin, after=after) == Opening(after, None, None)
    assert next_opening(berlin, after=after, ring=broad) == Opening(after, None, None)
    assert next_opening(berlin, after=after, ring=pilot) == Opening(utc(2026, 6, 3, 0), utc(2026, 6, 3, 1), window)


# --- always open, next_opening -----------------------------------------------------------


def test_a_tenant_without_windows_is_always_open(berlin, new_york):
    make_window(berlin, "Reboots", purpose="reboot")
    make_window(berlin, "Retired", active=False)
    make_window(new_york, "Other tenant's window")
    after = utc(2026, 6, 1, 9)

    assert next_opening(berlin, after=after) == Opening(after, None, None)
    assert next_opening(berlin, after=after, purpose="install") == Opening(after, None)
    assert openings(berlin, start=after, end=after + timedelta(days=7)) == [Opening(after, None, None)]
    assert next_opening(berlin, after=after, purpose="reboot").starts_at == utc(2026, 6, 7, 0, 30)


def test_always_open_still_closes_on_blackout_days(berlin):
    blackout(berlin, date(2026, 6, 10), date(2026, 6, 12))
    after = utc(2026, 6, 1, 9)

    assert next_opening(berlin, after=after) == Opening(after, utc(2026, 6, 9, 22))
    assert next_opening(berlin, after=utc(2026, 6, 11)) == Opening(utc(2026, 6, 12, 22), None)
    assert openings(berlin, start=after, end=utc(2026, 7, 1)) == [
        Opening(after, utc(2026, 6, 9, 22)),
        Opening(utc(2026, 6, 12, 22), None),
    ]


def test_after_inside_a_window_gives_the_rest_of_it(berlin):
    window = make_window(berlin, "Saturday night", weekdays=[SAT], start_time=time(22, 0), duration_minutes=6 * 60)

    inside = utc(2026, 6, 6, 21, 30)  # 23:30 CEST
    assert next_opening(berlin, after=inside) == Opening(inside, utc(2026, 6, 7, 2), window)
    assert next_opening(berlin, after=utc(2026, 6, 6, 20)) == Opening(utc(2026, 6, 6, 20), utc(2026, 6, 7, 2), window)
    assert next_opening(berlin, after=utc(2026, 6, 7, 2)) == Opening(utc(2026, 6, 13, 20), utc(2026, 6, 14, 2), window)
    assert next_opening(berlin, after=utc(2026, 6, 1)) == Opening(utc(2026, 6, 6, 20), utc(2026, 6, 7, 2), window)
    assert openings(berlin, start=inside, end=utc(2026, 6, 10)) == [Opening(inside, utc(2026, 6, 7, 2), window)]


def test_after_in_another_zone_is_the_same_instant(berlin):
    make_window(berlin, "Saturday night", weekdays=[SAT], start_time=time(22, 0), duration_minutes=6 * 60)

    found = next_opening(berlin, after=datetime(2026, 6, 6, 23, 30, tzinfo=BERLIN))

    assert found.starts_at == utc(2026, 6, 6, 21, 30)
    assert found.starts_at.tzinfo == UTC


def test_overlapping_and_touching_windows_merge(berlin):
    first = make_window(berlin, "Late", weekdays=[SAT], start_time=time(22, 0), duration_minutes=180)
    make_window(berlin, "Early", weekdays=[SUN], start_time=time(0, 30), duration_minutes=180)
    make_window(berlin, "Dawn", weekdays=[SUN], start_time=time(3, 30), duration_minutes=60)

    found = openings(berlin, start=utc(2026, 6, 1), end=utc(2026, 6, 8))

    assert found == [Opening(utc(2026, 6, 6, 20), utc(2026, 6, 7, 2, 30), first)]  # 22:00 to 04:30 CEST
    assert next_opening(berlin, after=utc(2026, 6, 1)) == found[0]


def test_next_opening_finds_a_window_far_ahead(berlin):
    window = make_window(berlin, "Yearly", recurrence="monthly_day", weekdays=[], day_of_month=1, start_time=time(3, 0))
    blackout(berlin, date(2026, 2, 1), date(2026, 12, 31))

    assert next_opening(berlin, after=utc(2026, 1, 2)) == Opening(utc(2027, 1, 1, 2), utc(2027, 1, 1, 3), window)


def test_naive_datetimes_are_refused(berlin):
    with pytest.raises(ValueError, match="aware"):
        next_opening(berlin, after=datetime(2026, 6, 1))


def test_each_call_reads_windows_and_blackouts_once(berlin, rings, django_assert_num_queries):
    pilot, _broad = rings
    make_window(berlin, "Yearly", recurrence="monthly_day", weekdays=[], day_of_month=1, start_time=time(3, 0))
    make_window(berlin, "Pilot", weekdays=[MON, THU], start_time=time(3, 0), rings=[pilot])
    make_window(berlin, "Reboot", purpose="reboot", weekdays=[SUN], start_time=time(4, 0))
    blackout(berlin, date(2026, 2, 1), date(2026, 11, 30))
    blackout(berlin, date(2026, 12, 20), date(2026, 12, 31))

    with django_assert_num_queries(2):
        assert next_opening(berlin, after=utc(2026, 1, 2)).starts_at == utc(2026, 12, 1, 2)
    with django_assert_num_queries(2):
        assert len(openings(berlin, start=utc(2026, 1, 1), end=utc(2027, 1, 1), ring=pilot)) == 15
    with django_assert_num_queries(3):
        assert len(upcoming(berlin, now=utc(2026, 12, 1), days=35)) > 5


# --- the calendar ------------------------------------------------------------------------


def test_upcoming_lists_install_and_reboot_occurrences_in_local_time(berlin, rings):
    pilot, _broad = rings
    install = make_window(
        berlin, "Saturday night", weekdays=[SAT], start_time=time(22, 0), duration_minutes=6 * 60, rings=[pilot]
    )
    reboot = make_window(berlin, "Sunday reboot", purpose="reboot", weekdays=[SUN], start_time=time(2, 30))
    blackout(berlin, date(2026, 4, 4), date(2026, 4, 4))

    entries = upcoming(berlin, now=utc(2026, 3, 20), days=18)

    assert [(e.purpose, e.window, e.local_start.replace(tzinfo=None)) for e in entries] == [
        ("install", install, datetime(2026, 3, 21, 22)),
        ("reboot", reboot, datetime(2026, 3, 22, 2, 30)),
        ("install", install, datetime(2026, 3, 28, 22)),
        ("reboot", reboot, datetime(2026, 3, 29, 3, 0)),  # the gap: 02:30 does not exist
        ("reboot", reboot, datetime(2026, 4, 5, 2, 30)),  # Saturday 4 April is blacked out
    ]
    night_of_change = entries[2]
    assert night_of_change.local_end.replace(tzinfo=None) == datetime(2026, 3, 29, 5, 0)
    assert night_of_change.duration == timedelta(hours=6)
    assert night_of_change.local_start.tzinfo == BERLIN
    assert night_of_change.ring_names == ("Pilot",)
    assert night_of_change.name == "Saturday night"
    assert entries[1].ring_names == ()
    assert not any(e.cut_by_blackout for e in entries)


def test_upcoming_marks_occurrences_cut_by_a_blackout(berlin):
    make_window(berlin, "Friday night", weekdays=[FRI], start_time=time(22, 0), duration_minutes=6 * 60)
    blackout(berlin, date(2026, 6, 6), date(2026, 6, 7))

    [entry] = upcoming(berlin, now=utc(2026, 6, 1), days=7)

    assert entry.cut_by_blackout
    assert entry.local_end.replace(tzinfo=None) == datetime(2026, 6, 6, 0, 0)
