"""Cross-cutting request middleware owned by the project core."""

from __future__ import annotations

import re
import uuid

from django.urls import Resolver404, get_resolver

from portal.logging import request_id_var

_VALID_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class RequestIdMiddleware:
    """Give each request an id (or keep a sane one from the proxy) for logs and audit entries."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        request.request_id = incoming if _VALID_ID.match(incoming) else uuid.uuid4().hex
        token = request_id_var.set(request.request_id)
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        response["X-Request-ID"] = request.request_id
        return response


class AgentApiMiddleware:
    """Serve the agent API without the browser's middleware.

    Agents authenticate with their device token, and each agent view opens its device's
    tenant scope itself; sessions, CSRF, users, 2FA, messages, htmx and the request's tenant
    scope do nothing for them but cost time on the hottest endpoints (check-in, job claim).
    Placed after the request id and SecurityMiddleware, so those still apply. A path that
    is not an agent route goes on through the whole stack (and gets its 404 there).
    """

    def __init__(self, get_response):
        from portal import agent_urls  # its views import models: not before the apps are ready

        self.get_response = get_response
        self.prefix = agent_urls.PREFIX
        self.resolver = get_resolver(agent_urls.__name__)

    def __call__(self, request):
        if not request.path_info.startswith(self.prefix):
            return self.get_response(request)
        try:
            match = self.resolver.resolve(request.path_info)
        except Resolver404:
            return self.get_response(request)
        request.resolver_match = match
        response = match.func(request, *match.args, **match.kwargs)
        if callable(getattr(response, "render", None)):  # DRF's Response, as Django's handler does
            response = response.render()
        if not response.streaming and not response.has_header("Content-Length"):
            response["Content-Length"] = len(response.content)  # as CommonMiddleware would
        return response
