"""The agent API is served ahead of the browser middleware, with the request id and security headers kept."""

from __future__ import annotations

import pytest
from django.urls import resolve, reverse

from tests.devices.agent_helpers import enroll, post

pytestmark = pytest.mark.django_db


def test_an_agent_request_skips_the_browser_middleware_but_keeps_the_security_headers(client, world):
    body = enroll(client, world.tenant_a)
    client.cookies.clear()

    response = post(client, "checkin", {"agent_version": "1.0.0"}, body["device_token"], HTTP_X_REQUEST_ID="req-42")

    assert response.status_code == 200
    assert response.json()["checkin_interval"] == body["checkin_interval"]
    assert response["X-Request-ID"] == "req-42"
    assert response["X-Content-Type-Options"] == "nosniff"  # SecurityMiddleware still runs
    assert response["Content-Length"] == str(len(response.content))
    assert "X-Frame-Options" not in response  # the browser middleware did not


def test_an_unknown_agent_path_gets_the_whole_stack_and_its_404(client):
    response = client.post("/api/agent/v1/no-such-thing", "{}", content_type="application/json")

    assert response.status_code == 404
    assert response["X-Frame-Options"] == "DENY"  # the browser middleware ran


def test_the_agent_routes_stay_in_the_root_urlconf_for_reverse_and_the_schema():
    assert reverse("agent_jobs_claim") == "/api/agent/v1/jobs/claim"
    assert resolve("/api/agent/v1/checkin").url_name == "agent_checkin"
