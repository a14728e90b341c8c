"""Report schedules: when each runs next (in the tenant's zone, across DST changes, with the
clock passed in), what period its report covers, who receives it, and the schedule pages."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from reports.models import DeliveryState, ReportDelivery, ReportSchedule
from reports.schedules import next_run, period_for, recipients
from tenants.models import AuditEntry, Tenant
from tenants.roles import TenantRole
from tests.factories import MembershipFactory, UserFactory
from tests.fixtures.personas import sign_in

UTC = dt.UTC


def at(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def weekly(zone: str, weekday: int, time: dt.time, **extra) -> ReportSchedule:
    """An unsaved schedule of an unsaved tenant: next_run needs no database."""
    tenant = Tenant(name="Client", slug="client", time_zone=zone)
    return ReportSchedule(tenant=tenant, kind="executive", cadence="weekly", weekday=weekday, time_of_day=time, **extra)


def monthly(zone: str, day: int, time: dt.time = dt.time(8, 0), **extra) -> ReportSchedule:
    tenant = Tenant(name="Client", slug="client", time_zone=zone)
    return ReportSchedule(tenant=tenant, kind="monthly", cadence="monthly", day_of_month=day, time_of_day=time, **extra)


def runs(schedule: ReportSchedule, now: dt.datetime, count: int) -> list[dt.datetime]:
    """The next `count` runs, each computed from the one before (as the scheduler does)."""
    found = []
    for _ in range(count):
        now = next_run(schedule, now)
        found.append(now)
    return found


# ---- weekly -----------------------------------------------------------------------------------------


def test_weekly_in_berlin_keeps_its_wall_clock_time_when_summer_time_starts():
    # Summer time starts in the EU on Sunday 29 March 2026: 08:00 is 07:00 UTC before, 06:00 after.
    schedule = weekly("Europe/Berlin", 0, dt.time(8, 0))
    assert runs(schedule, at(2026, 3, 18, 12, 0), 3) == [
        at(2026, 3, 23, 7, 0),
        at(2026, 3, 30, 6, 0),
        at(2026, 4, 6, 6, 0),
    ]


def test_weekly_in_berlin_keeps_its_wall_clock_time_when_summer_time_ends():
    # Summer time ends on Sunday 25 October 2026.
    schedule = weekly("Europe/Berlin", 4, dt.time(17, 30))
    assert runs(schedule, at(2026, 10, 20, 0, 0), 2) == [at(2026, 10, 23, 15, 30), at(2026, 10, 30, 16, 30)]


def test_a_run_exactly_now_is_past_and_the_next_is_a_week_later():
    schedule = weekly("Europe/Berlin", 0, dt.time(8, 0))
    assert next_run(schedule, at(2026, 3, 23, 7, 0)) == at(2026, 3, 30, 6, 0)
    assert next_run(schedule, at(2026, 3, 23, 6, 59, 59)) == at(2026, 3, 23, 7, 0)


def test_weekly_in_new_york_in_the_spring_forward_gap_runs_just_after_the_gap():
    # Sunday 8 March 2026: New York's clocks jump from 02:00 to 03:00; 02:30 does not exist.
    schedule = weekly("America/New_York", 6, dt.time(2, 30))
    assert runs(schedule, at(2026, 3, 2, 0, 0), 3) == [
        at(2026, 3, 8, 7, 0),  # 03:00 EDT
        at(2026, 3, 15, 6, 30),  # 02:30 EDT
        at(2026, 3, 22, 6, 30),
    ]


def test_weekly_in_new_york_in_the_repeated_hour_runs_once_at_the_first():
    # Sunday 1 November 2026: 01:00 to 02:00 happens twice in New York (EDT, then EST).
    schedule = weekly("America/New_York", 6, dt.time(1, 30))
    first = next_run(schedule, at(2026, 10, 30, 0, 0))
    assert first == at(2026, 11, 1, 5, 30)  # 01:30 EDT
    # The second 01:30 (06:30 UTC) is not another run: the next is a week later, in EST.
    assert next_run(schedule, first) == at(2026, 11, 8, 6, 30)


def test_the_local_day_counts_not_the_utc_day():
    # Monday 08:00 in Auckland (UTC+12 in June) is Sunday 20:00 UTC.
    schedule = weekly("Pacific/Auckland", 0, dt.time(8, 0))
    assert next_run(schedule, at(2026, 6, 14, 19, 59)) == at(2026, 6, 14, 20, 0)
    assert next_run(schedule, at(2026, 6, 14, 20, 0)) == at(2026, 6, 21, 20, 0)


# ---- monthly ----------------------------------------------------------------------------------------


def test_monthly_on_the_31st_runs_on_the_last_day_of_shorter_months():
    schedule = monthly("Europe/Berlin", 31)
    assert runs(schedule, at(2027, 1, 1, 0, 0), 5) == [
        at(2027, 1, 31, 7, 0),
        at(2027, 2, 28, 7, 0),
        at(2027, 3, 31, 6, 0),  # summer time since 28 March
        at(2027, 4, 30, 6, 0),
        at(2027, 5, 31, 6, 0),
    ]


def test_monthly_on_the_30th_runs_on_the_29th_of_february_in_a_leap_year():
    schedule = monthly("America/New_York", 30, dt.time(9, 0))
    assert runs(schedule, at(2028, 2, 1, 0, 0), 2) == [at(2028, 2, 29, 14, 0), at(2028, 3, 30, 13, 0)]


def test_monthly_across_new_year_and_the_dst_change_in_berlin():
    schedule = monthly("Europe/Berlin", 1)
    # 00:30 on 1 January in Berlin is still 31 December in UTC.
    assert next_run(schedule, at(2026, 12, 31, 23, 30)) == at(2027, 1, 1, 7, 0)
    assert runs(schedule, at(2026, 3, 1, 6, 59), 2) == [at(2026, 3, 1, 7, 0), at(2026, 4, 1, 6, 0)]


def test_a_day_already_past_this_month_runs_next_month():
    schedule = monthly("Europe/Berlin", 15, dt.time(6, 0))
    assert next_run(schedule, at(2026, 11, 21, 12, 0)) == at(2026, 12, 15, 5, 0)


def test_after_each_deployment_and_disabled_schedules_have_no_next_run():
    tenant = Tenant(name="Client", slug="client", time_zone="Europe/Berlin")
    after = ReportSchedule(tenant=tenant, kind="deployment", cadence="deployment")
    assert next_run(after, at(2026, 11, 21, 12, 0)) is None
    assert next_run(weekly("Europe/Berlin", 0, dt.time(8, 0), enabled=False), at(2026, 11, 21, 12, 0)) is None


def test_the_clock_must_be_aware():
    with pytest.raises(ValueError, match="aware"):
        next_run(weekly("Europe/Berlin", 0, dt.time(8, 0)), dt.datetime(2026, 11, 21, 12, 0))


# ---- periods ---------------------------------------------------------------------------------------------


def test_a_weekly_run_covers_the_seven_days_before_its_local_run_day():
    schedule = weekly("Pacific/Auckland", 0, dt.time(8, 0))
    # Sunday 20:00 UTC is Monday 08:00 in Auckland: the week is the Monday to Sunday before.
    assert period_for(schedule, schedule.tenant, at(2026, 6, 14, 20, 0)) == (
        dt.date(2026, 6, 8),
        dt.date(2026, 6, 14),
    )


def test_a_monthly_run_covers_the_last_complete_month_in_the_tenant_zone():
    schedule = monthly("Europe/Berlin", 1)
    # 23:30 UTC on 31 December is already 1 January in Berlin: December is complete.
    assert period_for(schedule, schedule.tenant, at(2026, 12, 31, 23, 30)) == (
        dt.date(2026, 12, 1),
        dt.date(2026, 12, 31),
    )
    assert period_for(None, schedule.tenant, at(2026, 3, 1, 7, 0)) == (
        dt.date(2026, 2, 1),
        dt.date(2026, 2, 28),
    )


# ---- recipients -------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_recipients_are_the_active_client_owners_and_the_extra_addresses_once_each(world):
    second = UserFactory(email="second-owner@alpha.test")
    MembershipFactory(tenant=world.tenant_a, user=second, role=TenantRole.CLIENT_OWNER)
    gone = UserFactory(email="left@alpha.test", is_active=False)
    MembershipFactory(tenant=world.tenant_a, user=gone, role=TenantRole.CLIENT_OWNER)
    schedule = ReportSchedule.objects.create(
        tenant=world.tenant_a,
        kind="monthly",
        cadence="monthly",
        day_of_month=1,
        extra_recipients=["cfo@alpha.example", "Owner@Alpha.test", "cfo@alpha.example"],
    )
    # Viewers, technicians, inactive owners and tenant B's owner are not among them.
    assert recipients(schedule) == ["owner@alpha.test", "second-owner@alpha.test", "cfo@alpha.example"]
    schedule.include_client_owners = False
    assert recipients(schedule) == ["cfo@alpha.example", "Owner@Alpha.test"]


# ---- the pages ----------------------------------------------------------------------------------------------


def schedule_url(name, tenant, **kwargs):
    return reverse(name, kwargs={"tenant_slug": tenant.slug, **kwargs})


FORM = {
    "kind": "monthly",
    "cadence": "monthly",
    "day_of_month": "31",
    "time_of_day": "07:30",
    "include_client_owners": "on",
    "extra_recipients": "cfo@alpha.example;\nit@alpha.example",
    "enabled": "on",
}


@pytest.mark.django_db
def test_a_technician_adds_a_schedule_and_its_next_run_is_in_the_tenant_zone(client, world):
    sign_in(client, world.tech_a)
    response = client.post(schedule_url("report_schedule_create", world.tenant_a), FORM)
    assert response.status_code == 302
    schedule = ReportSchedule.objects.get(tenant=world.tenant_a)
    assert schedule.extra_recipients == ["cfo@alpha.example", "it@alpha.example"]
    assert schedule.created_by == world.tech_a and schedule.weekday is None
    # The next run is strictly after the real clock, on the month's last day at 07:30 in Berlin.
    local = schedule.next_run_at.astimezone(world.tenant_a.time_zone)
    assert (local.hour, local.minute) == (7, 30)
    assert (local + dt.timedelta(days=1)).day == 1
    entry = AuditEntry.objects.get(object_type="reports.reportschedule", action="create")
    assert entry.actor_label == world.tech_a.email and "next_run_at" not in entry.changes
    page = client.get(schedule_url("report_schedule_list", world.tenant_a)).content.decode()
    assert f"{local:%Y-%m-%d %H:%M}" in page and "Monthly on the 31st at 07:30" in page


@pytest.mark.parametrize(
    "change, field",
    [
        ({"kind": "deployment"}, "cadence"),  # a deployment summary goes after each deployment
        ({"cadence": "deployment"}, "cadence"),
        ({"day_of_month": ""}, "day_of_month"),
        ({"day_of_month": "32"}, "day_of_month"),
        ({"cadence": "weekly"}, "weekday"),
        ({"extra_recipients": "cfo@alpha.example, not-an-address"}, "extra_recipients"),
        ({"include_client_owners": "", "extra_recipients": ""}, "extra_recipients"),
    ],
)
@pytest.mark.django_db
def test_a_schedule_that_cannot_run_is_refused(client, world, change, field):
    sign_in(client, world.tech_a)
    response = client.post(schedule_url("report_schedule_create", world.tenant_a), {**FORM, **change})
    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert not ReportSchedule.objects.exists()


@pytest.mark.django_db
def test_editing_a_schedule_moves_its_next_run_and_deleting_keeps_its_log(client, world):
    sign_in(client, world.tech_all)
    client.post(schedule_url("report_schedule_create", world.tenant_a), FORM)
    schedule = ReportSchedule.objects.get()
    change = {**FORM, "kind": "deployment", "cadence": "deployment"}
    response = client.post(schedule_url("report_schedule_edit", world.tenant_a, pk=schedule.pk), change)
    assert response.status_code == 302
    schedule.refresh_from_db()
    assert (schedule.cadence, schedule.next_run_at, schedule.day_of_month) == ("deployment", None, None)
    ReportDelivery.objects.create(
        tenant=world.tenant_a, schedule=schedule, kind="deployment", scheduled_for=schedule.created_at
    )
    response = client.post(schedule_url("report_schedule_delete", world.tenant_a, pk=schedule.pk))
    assert response.status_code == 302 and not ReportSchedule.objects.exists()
    delivery = ReportDelivery.objects.get()
    assert delivery.schedule is None and delivery.state == DeliveryState.PENDING


@pytest.mark.django_db
def test_another_tenants_schedule_is_not_found(client, world):
    other = ReportSchedule.objects.create(tenant=world.tenant_b, kind="monthly", cadence="monthly", day_of_month=1)
    sign_in(client, world.tech_all)
    url = schedule_url("report_schedule_edit", world.tenant_a, pk=other.pk)
    assert client.get(url).status_code == 404
    assert client.post(url, FORM).status_code == 404
    other.refresh_from_db()
    assert other.day_of_month == 1


def berlin_tenant_with(world, **schedule_fields) -> tuple[Tenant, ReportSchedule]:
    tenant = Tenant.objects.get(pk=world.tenant_a.pk)  # loaded, as an edit form or the API does
    assert str(tenant.time_zone) == "Europe/Berlin"
    fields = {"kind": "monthly", "cadence": "weekly", "weekday": 0, "time_of_day": dt.time(8, 0), "enabled": True}
    return tenant, ReportSchedule.objects.create(tenant=tenant, **{**fields, **schedule_fields})


@pytest.mark.django_db
def test_a_tenant_moving_to_another_zone_keeps_its_schedules_wall_clock_time(world):
    tenant, schedule = berlin_tenant_with(world)
    schedule.next_run_at = next_run(schedule, dt.datetime.now(dt.UTC) + dt.timedelta(days=1))
    schedule.save()
    pending_day = schedule.next_run_at.astimezone(ZoneInfo("Europe/Berlin")).date()

    tenant.time_zone = "America/New_York"
    tenant.save()

    schedule.refresh_from_db()
    local = schedule.next_run_at.astimezone(ZoneInfo("America/New_York"))
    assert (local.date(), local.hour, local.minute) == (pending_day, 8, 0)  # the same run, not the next
    marker = schedule.next_run_at + dt.timedelta(minutes=1)
    ReportSchedule.objects.filter(pk=schedule.pk).update(next_run_at=marker)
    tenant.notes = "no zone change"
    tenant.save()  # other edits leave the schedule alone
    assert ReportSchedule.objects.get(pk=schedule.pk).next_run_at == marker


@pytest.mark.django_db
def test_a_run_the_new_zone_has_already_passed_goes_at_once_and_a_due_run_is_left_alone(world):
    now = dt.datetime.now(dt.UTC)
    # A run half an hour from now in Berlin is, at the same wall-clock time in Auckland, about
    # twelve hours ago: it goes now, not a week later.
    soon = (now + dt.timedelta(minutes=30)).astimezone(ZoneInfo("Europe/Berlin")).replace(second=0, microsecond=0)
    tenant, pending = berlin_tenant_with(world, weekday=soon.weekday(), time_of_day=soon.time())
    ReportSchedule.objects.filter(pk=pending.pk).update(next_run_at=soon)
    due = ReportSchedule.objects.create(
        tenant=tenant, kind="monthly", cadence="monthly", day_of_month=1, time_of_day=dt.time(6, 0), enabled=True
    )
    ReportSchedule.objects.filter(pk=due.pk).update(next_run_at=now - dt.timedelta(minutes=1))

    tenant.time_zone = "Pacific/Auckland"
    tenant.save()

    pending.refresh_from_db()
    assert now <= pending.next_run_at <= dt.datetime.now(dt.UTC)
    assert ReportSchedule.objects.get(pk=due.pk).next_run_at == now - dt.timedelta(minutes=1)
