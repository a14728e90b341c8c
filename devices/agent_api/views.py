"""The agent API (/api/agent/v1/): enroll, check-in, inventory, offered updates, token rotation.

These views sit outside the session/tenant middleware: an agent authenticates with its
device token, and each view opens the database scope of that device's tenant itself.
The check-in touches only Redis unless something has to change.
"""

from __future__ import annotations

import json

from django.conf import settings
from django.http import JsonResponse
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework.parsers import JSONParser
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from devices import agent_cache, hooks, presence
from devices.agent_api import serializers as s
from devices.agent_api.auth import authenticate_device, device_from_database, token_digest
from devices.agent_api.errors import AgentError, PayloadInvalid, validate, validate_items
from devices.agent_cache import AgentDevice
from devices.inventory import apply_inventory, inventory_hash
from devices.offered import apply_updates, updates_hash
from devices.services import enroll_device, rotate_device_token
from portal import signing
from portal.db_scope import tenant_scope
from tenants import audit
from tenants.middleware import client_ip


class AgentView(APIView):
    """Base: JSON only, no session or CSRF, a body-size limit, errors as the protocol says."""

    authentication_classes: list = []
    permission_classes: list = []
    throttle_classes: list = []
    parser_classes = [JSONParser]
    renderer_classes = [JSONRenderer]

    def initial(self, request, *args, **kwargs):
        length = request.META.get("CONTENT_LENGTH") or "0"
        limit = settings.AGENT_MAX_BODY_BYTES
        if not length.isdigit() or int(length) > limit:
            raise AgentError(413, f"The body is larger than {limit} bytes.")
        super().initial(request, *args, **kwargs)

    def handle_exception(self, exc):
        if isinstance(exc, (AgentError, PayloadInvalid)):
            return exc.response()
        from rest_framework.exceptions import ParseError

        if isinstance(exc, ParseError):
            return Response({"errors": {"body": [str(exc.detail)]}}, status=400)
        return super().handle_exception(exc)

    def body(self, request) -> dict:
        data = request.data
        if not isinstance(data, dict):
            raise PayloadInvalid({"body": ["Expected a JSON object."]})
        return data

    def actor(self, request, label: str) -> audit.Actor:
        return audit.Actor(None, f"agent:{label}", "agent", client_ip(request))


def _now_iso() -> str:
    return timezone.now().isoformat().replace("+00:00", "Z")


class EnrollView(AgentView):
    @extend_schema(
        request=s.EnrollSerializer,
        responses={201: s.EnrollResponseSerializer},
        tags=["agent"],
        summary="Enroll a machine with a tenant's enrollment token",
    )
    def post(self, request):
        data = validate(s.EnrollSerializer, self.body(request))
        with audit.acting_as(self.actor(request, data["hostname"])):
            device, raw_token = enroll_device(data, ip=client_ip(request))
        return Response(
            {
                "device_id": str(device.uid),
                "device_token": raw_token,
                "checkin_interval": device.checkin_interval,
                "server_time": _now_iso(),
                # The agent pins this key and runs only scripts it signed (portal/signing.py).
                "script_signing_key": signing.public_jwk(),
            },
            status=201,
        )


def checkin(request, data: dict) -> dict:
    """The check-in itself: authenticate, buffer the heartbeat, say what the server needs."""
    digest = token_digest(request)
    seen = {
        "agent_version": data.get("agent_version") or "",
        "ip": client_ip(request),
        "reboot_required": data.get("reboot_required"),
        "uptime": data.get("uptime_seconds"),
    }
    cached = presence.authenticate_and_record(agent_cache.key(digest), **seen)
    if cached is not None:
        device = agent_cache.decode(cached)
    else:
        device = device_from_database(digest)
        presence.record_checkin(device.id, **seen)
    return {
        "checkin_interval": device.checkin_interval,
        "send_inventory": data.get("inventory_hash") != device.inventory_hash or not device.inventory_hash,
        "send_updates": data.get("updates_hash") != device.updates_hash or not device.updates_hash,
        "jobs": hooks.checkin_jobs(device),  # one Redis read unless the device has jobs due
        "server_time": _now_iso(),
    }


def serve_json_post(request, handle) -> JsonResponse:
    """A hot agent POST served without DRF: size limit, JSON object body, `handle(request, body)`.

    Errors answer as the DRF views do: 413 for an oversize body, 400 naming the field, and
    an AgentError's own status.
    """
    try:
        length = request.META.get("CONTENT_LENGTH") or "0"
        if not length.isdigit() or int(length) > settings.AGENT_MAX_BODY_BYTES:
            raise AgentError(413, f"The body is larger than {settings.AGENT_MAX_BODY_BYTES} bytes.")
        try:
            body = json.loads(request.body or b"{}")
        except ValueError as exc:
            raise PayloadInvalid({"body": [f"JSON parse error - {exc}"]}) from None
        if not isinstance(body, dict):
            raise PayloadInvalid({"body": ["Expected a JSON object."]})
        answer = handle(request, body)
    except AgentError as exc:
        return JsonResponse({"detail": exc.detail}, status=exc.status)
    except PayloadInvalid as exc:
        return JsonResponse({"errors": exc.errors}, status=400)
    return JsonResponse(answer)


def _checkin_body(request, body: dict) -> dict:
    token_digest(request)  # a missing or malformed token is a 401 before anything else
    return checkin(request, validate(s.CheckInSerializer, body))


class CheckInView(AgentView):
    """The heartbeat of every agent, the hottest endpoint there is.

    POST is served straight from Django (`dispatch`), without DRF's request and response
    wrapping, which would cost about a third of the request; the DRF method below
    documents the same contract for the OpenAPI schema and runs the same code.
    """

    def dispatch(self, request, *args, **kwargs):
        if request.method != "POST":
            return super().dispatch(request, *args, **kwargs)
        return serve_json_post(request, _checkin_body)

    @extend_schema(
        request=s.CheckInSerializer,
        responses=s.CheckInResponseSerializer,
        tags=["agent"],
        summary="Heartbeat: report status, learn what the server needs and which jobs are due",
    )
    def post(self, request):
        token_digest(request)
        return Response(checkin(request, validate(s.CheckInSerializer, self.body(request))))


def _locked_device(agent_device: AgentDevice):
    from devices.models import Device

    # One upload per device at a time: the row lock orders concurrent uploads.
    return Device.objects.select_for_update().get(pk=agent_device.id)


class InventoryView(AgentView):
    @extend_schema(
        request=s.InventorySerializer,
        responses=s.StatusResponseSerializer,
        tags=["agent"],
        summary="Installed software: hash first, the full list only when it changed",
    )
    def post(self, request):
        agent_device = authenticate_device(request)
        data = validate(s.InventorySerializer, self.body(request))
        fmt, digest, packages = data["format"], data["hash"], data.get("packages")
        if digest == agent_device.inventory_hash:
            return Response({"status": "unchanged"})  # one comparison, nothing else
        if packages is None:
            return Response({"status": "send_full"})
        if len(packages) > s.MAX_PACKAGES:
            raise AgentError(413, f"At most {s.MAX_PACKAGES} packages per upload.")
        validate_items(s.PACKAGE_SERIALIZERS, packages, "format", "packages", fixed_key=fmt)
        if inventory_hash(fmt, packages) != digest:
            raise PayloadInvalid({"hash": ["Does not match the packages sent (see PROTOCOL.md, the inventory hash)."]})
        with tenant_scope([agent_device.tenant_id]), audit.acting_as(self.actor(request, agent_device.uid)):
            device = _locked_device(agent_device)
            result = apply_inventory(device, fmt, packages, digest)
        agent_device.inventory_hash = digest
        agent_cache.store(token_digest(request), agent_device)
        return Response(result.as_json())


class UpdatesView(AgentView):
    @extend_schema(
        request=s.UpdatesSerializer,
        responses=s.StatusResponseSerializer,
        tags=["agent"],
        summary="Updates the OS offers (apt, dnf, Windows Update, winget): hash first",
    )
    def post(self, request):
        agent_device = authenticate_device(request)
        data = validate(s.UpdatesSerializer, self.body(request))
        digest, updates = data["hash"], data.get("updates")
        if digest == agent_device.updates_hash:
            return Response({"status": "unchanged"})
        if updates is None:
            return Response({"status": "send_full"})
        if len(updates) > s.MAX_UPDATES:
            raise AgentError(413, f"At most {s.MAX_UPDATES} updates per upload.")
        validate_items(s.UPDATE_SERIALIZERS, updates, "kind", "updates")
        if updates_hash(updates) != digest:
            raise PayloadInvalid({"hash": ["Does not match the updates sent (see PROTOCOL.md, the updates hash)."]})
        with tenant_scope([agent_device.tenant_id]), audit.acting_as(self.actor(request, agent_device.uid)):
            device = _locked_device(agent_device)
            result = apply_updates(device, updates, digest)
        agent_device.updates_hash = digest
        agent_cache.store(token_digest(request), agent_device)
        return Response(result)


class RotateTokenView(AgentView):
    @extend_schema(
        request=None,
        responses=s.RotateResponseSerializer,
        tags=["agent"],
        summary="Replace this device's token; the old one stops working at once",
    )
    def post(self, request):
        agent_device = authenticate_device(request)
        with tenant_scope([agent_device.tenant_id]), audit.acting_as(self.actor(request, agent_device.uid)):
            from devices.models import Device

            raw = rotate_device_token(Device.objects.get(pk=agent_device.id))
        return Response({"device_token": raw})
