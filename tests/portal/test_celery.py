"""Tasks run on a real Celery worker over the real Redis broker, inside an RLS scope."""

from __future__ import annotations

import pytest
from celery import shared_task
from django.db import connection

from portal.celery import app
from tests.fixtures.personas import sign_in

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@shared_task
def visible_site_names(tenant_id=None):
    # Deliberately unfiltered: row-level security decides what this task can see.
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM tenants_site ORDER BY name")
        return [row[0] for row in cursor.fetchall()]


def test_configuration_is_json_only_with_time_limits_and_late_acks():
    assert app.conf.task_serializer == "json"
    assert app.conf.accept_content == ["json"]
    assert app.conf.task_time_limit and app.conf.task_soft_time_limit < app.conf.task_time_limit
    assert visible_site_names.acks_late and visible_site_names.reject_on_worker_lost


def test_a_task_with_a_tenant_sees_only_that_tenant(celery_worker, world):
    assert visible_site_names.delay(tenant_id=world.tenant_b.pk).get(timeout=20) == ["Bravo HQ"]
    assert visible_site_names.delay().get(timeout=20) == ["Alpha HQ", "Bravo HQ"]


def test_invitation_is_sent_by_the_worker_over_smtp(celery_worker, smtp_server, client, world):
    sign_in(client, world.msp_admin)
    response = client.post(
        f"/t/{world.tenant_a.slug}/members/new/", {"email": "new@alpha.test", "role": "client_viewer"}
    )
    assert response.status_code == 302
    (message,) = smtp_server.wait_for(1, timeout=20)
    assert message["To"] == "new@alpha.test"
    assert "Alpha Dental" in message["Subject"]
    assert "/account/password-reset/" in message.get_body(("plain",)).get_content()


def test_beat_schedules_live_in_the_database():
    from django.conf import settings

    assert settings.CELERY_BEAT_SCHEDULER == "django_celery_beat.schedulers:DatabaseScheduler"


def test_every_beat_entry_names_a_registered_task():
    """A typo in a task name would only show as a beat entry that never runs."""
    from django.conf import settings

    from portal.celery import app

    app.loader.import_default_modules()
    missing = {
        name: entry["task"] for name, entry in settings.CELERY_BEAT_SCHEDULE.items() if entry["task"] not in app.tasks
    }
    assert missing == {}
    # The safety net for matching work lost with the broker (tests/faults restart Redis).
    assert settings.CELERY_BEAT_SCHEDULE["reconcile-findings"]["task"] == "patches.tasks.match_everything"


def test_healthz_sees_the_worker(celery_worker, client):
    assert client.get("/healthz").json()["checks"]["celery"].startswith("ok")
